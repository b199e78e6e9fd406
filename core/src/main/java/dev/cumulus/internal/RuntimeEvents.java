package dev.cumulus.internal;

import java.time.Duration;

/**
 * The moments of a function's life that observers care about, each signalled from one place in the
 * runtime: the seam for lifecycle events and meter binders. Every method has an empty default, and
 * {@link #NONE} is what a runtime uses when nothing listens. Called on the runtime's own threads
 * (carriers included): an implementation must be quick, must not block and must not throw.
 */
public interface RuntimeEvents {
  /** Listens to nothing. */
  RuntimeEvents NONE = new RuntimeEvents() {};

  /**
   * A function got its first worker: it scales up from zero.
   *
   * @param function the function's name
   */
  default void firstWorker(String function) {}

  /**
   * A function's last worker ended: it holds no thread (warm instances may remain).
   *
   * @param function the function's name
   */
  default void scaledToZero(String function) {}

  /**
   * A call created a new instance.
   *
   * @param function the function's name
   * @param initNanos how long its init ran, in nanoseconds (no object made for a listener that
   *     ignores it)
   */
  default void coldStart(String function, long initNanos) {}

  /**
   * A call was throttled.
   *
   * @param function the function's name
   * @param reason why, as the exception says
   */
  default void throttled(String function, String reason) {}

  /**
   * An invocation ran past its timeout: its caller got a timeout, its code was interrupted.
   *
   * @param function the function's name
   * @param timeout the function's timeout
   */
  default void timedOut(String function, Duration timeout) {}

  /**
   * A function's {@linkplain dev.cumulus.ConcurrencyLimit#adaptive() adaptive} concurrency limit
   * moved: at most once per window of its estimator (20 ms or more), in the order the changes were
   * made, by the thread of the invocation that closed the window.
   *
   * @param function the function's name
   * @param from the limit before
   * @param to the limit now, as {@code FunctionStats.concurrencyLimit()} shows it
   */
  default void concurrencyLimitChanged(String function, int from, int to) {}
}
