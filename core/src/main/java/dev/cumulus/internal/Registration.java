package dev.cumulus.internal;

/**
 * One registration of a function, as the runtime's listeners ({@link RuntimeEvents}) see it: its
 * name and its figures of the moment. A name registered again is another registration (compare them
 * by identity). The figures are read without a lock, from counters that only grow, so calls that
 * cross the very instant of a reading may or may not be in it. Implemented by the runtime only.
 */
public interface Registration {
  /**
   * Returns the function's name.
   *
   * @return the name it is registered under
   */
  String name();

  /**
   * Returns its invocations running now, overdue ones included.
   *
   * @return invocations running
   */
  int inFlightNow();

  /**
   * Returns its invocations waiting to start now.
   *
   * @return invocations queued
   */
  int queuedNow();

  /**
   * Returns its instances alive now, busy or idle, one being created included.
   *
   * @return instances alive
   */
  int warmNow();

  /**
   * Returns the most invocations it may run at once now, as {@code FunctionStats.concurrencyLimit()}
   * has it: the value of its adaptive limit at this moment, its reserved (fixed) concurrency, or what
   * the runtime leaves unreserved. A field read or two: meters read it at every scrape.
   *
   * @return the limit
   */
  int concurrencyLimit();

  /**
   * Returns whether it was unregistered and everything it accepted has ended (its usage is final).
   *
   * @return true once retired
   */
  boolean isGone();

  /**
   * Feeds {@code timer} the latency of every invocation from now on (a percentile histogram asked of
   * the metrics binder). A timer that throws is logged and no longer fed.
   *
   * @param timer the timer
   */
  void addLatencyTimer(io.micrometer.core.instrument.Timer timer);

  /**
   * Stops feeding {@code timer}.
   *
   * @param timer the timer
   */
  void removeLatencyTimer(io.micrometer.core.instrument.Timer timer);
}
