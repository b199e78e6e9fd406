package dev.cumulus.internal;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@link System#nanoTime()} and a single timer thread, {@code cumulus-timer-N}, that exists only
 * while a timer is pending: it ends after {@code keepAliveNanos} without work and a new one starts
 * with the next timer (core-thread timeout), so an idle runtime has no timer thread.
 */
public final class SystemClock implements Clock {
  private static final AtomicInteger THREADS = new AtomicInteger();

  private final ScheduledThreadPoolExecutor timers;

  /**
   * Creates the clock.
   *
   * @param keepAliveNanos how long the timer thread stays after its last timer
   */
  public SystemClock(long keepAliveNanos) {
    timers = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "cumulus-timer-" + THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    timers.setKeepAliveTime(Math.max(1, keepAliveNanos), TimeUnit.NANOSECONDS);
    timers.allowCoreThreadTimeOut(true);
    timers.setRemoveOnCancelPolicy(true);
    timers.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public Timer schedule(Runnable task, long delayNanos) {
    if (timers.isShutdown()) {
      return () -> {};
    }
    ScheduledFuture<?> future = timers.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
    return () -> future.cancel(false);
  }

  @Override
  public void shutdown() {
    timers.shutdownNow();
  }
}
