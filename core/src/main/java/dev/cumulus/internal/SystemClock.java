package dev.cumulus.internal;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * {@link System#nanoTime()} and two kinds of one-shot timers, neither of which keeps a thread when
 * nothing is pending:
 *
 * <ul>
 *   <li>{@link #schedule}: a platform thread, {@code cumulus-timer-N}, so that timeouts and CPU
 *       budgets fire even while CPU-bound functions occupy every carrier. Its timers exist only
 *       while invocations run, and the thread ends {@code keepAlive} after the last one.
 *   <li>{@link #scheduleIdle}: a virtual thread parked until the earliest deadline (no periodic
 *       wake-up, no platform thread held), started with the first such timer and ended when none is
 *       left. Used for the expiry of idle instances, which may wait 30 s on an otherwise idle
 *       runtime.
 * </ul>
 */
final class SystemClock implements Clock {
  private static final System.Logger LOG = System.getLogger("dev.cumulus");
  private static final AtomicInteger TIMER_THREADS = new AtomicInteger();
  private static final AtomicLong SEQUENCE = new AtomicLong();

  private final ScheduledThreadPoolExecutor precise;
  /** The platform timer threads started and not seen ended yet (its one thread comes and goes). */
  private final Set<Thread> preciseThreads = ConcurrentHashMap.newKeySet();
  private final DelayQueue<IdleTask> idle = new DelayQueue<>();
  private final AtomicBoolean idleRunning = new AtomicBoolean();
  private final ThreadFactory idleThreads;
  private volatile @Nullable Thread idleThread;
  private volatile boolean shutdown;

  /**
   * Creates the clock.
   *
   * @param keepAliveNanos how long the platform timer thread stays after its last timer
   * @param idleThreads makes the virtual thread that waits for idle timers
   */
  SystemClock(long keepAliveNanos, ThreadFactory idleThreads) {
    this.idleThreads = idleThreads;
    this.precise = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "cumulus-timer-" + TIMER_THREADS.incrementAndGet());
      t.setDaemon(true);
      preciseThreads.removeIf(old -> old.getState() == Thread.State.TERMINATED);
      preciseThreads.add(t);
      return t;
    });
    precise.setKeepAliveTime(Math.max(1, keepAliveNanos), TimeUnit.NANOSECONDS);
    precise.allowCoreThreadTimeOut(true);
    precise.setRemoveOnCancelPolicy(true);
    precise.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public Timer schedule(Runnable task, long delayNanos) {
    try {
      ScheduledFuture<?> f = precise.schedule(() -> {
        try {
          task.run();
        } catch (Throwable e) {
          LOG.log(System.Logger.Level.ERROR, "a Cumulus timer task failed", e);
        }
      }, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
      return () -> f.cancel(false);
    } catch (RejectedExecutionException e) { // shut down
      return () -> {};
    }
  }

  @Override
  public Timer scheduleIdle(Runnable task, long delayNanos) {
    if (shutdown) {
      return () -> {};
    }
    IdleTask t = new IdleTask(task, System.nanoTime() + Math.max(0, delayNanos));
    idle.add(t);
    if (!idleRunning.get() && idleRunning.compareAndSet(false, true)) {
      Thread thread = idleThreads.newThread(this::runIdleTimers);
      idleThread = thread;
      thread.start();
    } else if (idle.peek() == t) {
      wakeIdleThread(); // an earlier deadline than the one it waits for
    }
    return t::cancel;
  }

  @Override
  public void shutdown() {
    shutdown = true;
    precise.shutdownNow();
    idle.clear();
    wakeIdleThread();
  }

  @Override
  public boolean awaitTermination(long nanos) {
    if (preciseThreads.contains(Thread.currentThread())) {
      return false; // a timer task closing the runtime: its own thread ends after it
    }
    long deadline = System.nanoTime() + nanos;
    try {
      if (!precise.awaitTermination(nanos, TimeUnit.NANOSECONDS)) {
        return false;
      }
      for (Thread t : preciseThreads) { // left the executor; ended a moment later
        long left = deadline - System.nanoTime();
        if (left <= 0 ? t.isAlive() : !t.join(Duration.ofNanos(left))) {
          return false;
        }
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void wakeIdleThread() {
    Thread t = idleThread;
    if (t != null) {
      t.interrupt();
    }
  }

  private void runIdleTimers() {
    for (;;) {
      Thread.interrupted(); // a wake-up only means: look at the queue again
      IdleTask head = idle.peek();
      if (head == null || shutdown) {
        idleRunning.set(false);
        // A timer added after the peek may have seen this thread as running: take it over.
        if (idle.peek() == null || shutdown || !idleRunning.compareAndSet(false, true)) {
          return;
        }
        continue;
      }
      IdleTask due;
      try {
        due = idle.poll(head.getDelay(TimeUnit.NANOSECONDS), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        continue;
      }
      if (due != null && !due.cancelled) {
        try {
          due.body.run();
        } catch (Throwable e) {
          LOG.log(System.Logger.Level.ERROR, "a Cumulus timer task failed", e);
        }
      }
    }
  }

  private final class IdleTask implements Delayed {
    final Runnable body;
    final long due;
    final long sequence = SEQUENCE.incrementAndGet();
    volatile boolean cancelled;

    IdleTask(Runnable body, long due) {
      this.body = body;
      this.due = due;
    }

    void cancel() {
      cancelled = true;
      boolean wasHead = idle.peek() == this;
      idle.remove(this);
      if (wasHead) {
        wakeIdleThread(); // so that it does not sleep until a deadline nobody waits for
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - System.nanoTime(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      IdleTask o = (IdleTask) other;
      int c = Long.compare(due - o.due, 0);
      return c != 0 ? c : Long.compare(sequence, o.sequence);
    }
  }
}
