package dev.cumulus.internal;

/**
 * Time as the runtime sees it: a monotonic nanosecond reading and one-shot timers. Production uses
 * {@link SystemClock}; tests drive a manual clock so that keep-alives and timeouts need no real
 * waiting.
 */
public interface Clock {
  /** Returns a monotonic time in nanoseconds (only differences are meaningful). @return the time */
  long nanoTime();

  /**
   * Runs {@code task} once, {@code delayNanos} from now, on a timer thread that busy functions
   * cannot starve (timeouts, CPU budgets, the drain deadline). The task must be short and must not
   * block: hand anything longer to a virtual thread.
   *
   * @param task what to run
   * @param delayNanos how long from now; zero or negative means as soon as possible
   * @return a handle that cancels the task if it has not run yet
   */
  Timer schedule(Runnable task, long delayNanos);

  /**
   * Runs {@code task} once, about {@code delayNanos} from now, for housekeeping of an idle runtime
   * (the expiry of idle instances): it may run late while functions keep the carriers busy, and the
   * wait holds no platform thread.
   *
   * @param task what to run
   * @param delayNanos how long from now
   * @return a handle that cancels the task if it has not run yet
   */
  Timer scheduleIdle(Runnable task, long delayNanos);

  /** Releases the clock's resources; timers not yet run are dropped. */
  void shutdown();

  /**
   * After {@link #shutdown()}: waits until the clock's own threads have ended, for at most
   * {@code nanos}; at once from a thread of the clock. A clock without threads of its own returns at
   * once.
   *
   * @param nanos the longest wait
   * @return whether its threads have ended
   */
  default boolean awaitTermination(long nanos) {
    return true;
  }

  /** A scheduled task that can be cancelled. */
  interface Timer {
    /** Cancels the task if it has not run yet; does nothing otherwise. */
    void cancel();
  }
}
