package dev.cumulus.internal;

/**
 * Per-invocation counters of one worker, written only by that worker with plain stores (nothing
 * shared on the hot path) and read by stats readers. A caller that saw an invocation complete also
 * sees its counts: the worker writes them before it completes the future, whose completion orders
 * them for the caller. When the worker ends it folds its tally into the function's totals.
 */
final class Tally {
  /** Invocations taken from the queue. */
  long started;
  long successes;
  long failures;
  long cancelled;
  long coldStarts;
  long wallNanos;
  long queueWaitNanos;
  long initNanos;
  long billedMillis;
  long billedCpuMillis;

  void addTo(Tally sum) {
    sum.started += started;
    sum.successes += successes;
    sum.failures += failures;
    sum.cancelled += cancelled;
    sum.coldStarts += coldStarts;
    sum.wallNanos += wallNanos;
    sum.queueWaitNanos += queueWaitNanos;
    sum.initNanos += initNanos;
    sum.billedMillis += billedMillis;
    sum.billedCpuMillis += billedCpuMillis;
  }

  static long billed(long nanos) {
    // Rounded up to a whole millisecond, at least one, as the platforms bill.
    return Math.max(1, (nanos + 999_999) / 1_000_000);
  }
}
