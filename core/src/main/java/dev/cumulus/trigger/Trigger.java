package dev.cumulus.trigger;

/**
 * A running trigger: it emits events of one function until it is closed, or until the function's
 * runtime closes (or the function is unregistered). Closing stops new events; events already
 * emitted still run and end as usual. Instances are thread-safe.
 */
public interface Trigger extends AutoCloseable {
  /** {@return the name of the function it emits events of} */
  String function();

  /** {@return whether it still emits events: not closed, and its runtime not closing} */
  boolean isOpen();

  /** {@return a snapshot of its counters} */
  Stats stats();

  /** Stops the trigger. Idempotent; never throws. */
  @Override
  void close();

  /**
   * A trigger's counters since it started. Immutable.
   *
   * @param emitted events it emitted (files taken, schedule runs)
   * @param succeeded of those, the ones that succeeded (for a directory trigger, counted once the
   *     file has moved to {@code processed/}, so a reader of the count finds it there)
   * @param deadLettered of those, the ones given up (dead letters, reason {@code SHUTDOWN} included;
   *     for a directory trigger, counted once the file has moved to {@code failed/})
   * @param coalesced schedule ticks that got no run of their own: they came while an earlier run
   *     was still pending (and were folded into one later run), or the function's backlog was full;
   *     zero for a directory trigger
   * @param errors problems reported and survived: files that vanished or could not be read or
   *     moved; events the function refused
   */
  record Stats(long emitted, long succeeded, long deadLettered, long coalesced, long errors) {}
}
