package dev.cumulus.internal;

import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link System#nanoTime()} and one-shot timers run by a single virtual thread that exists only
 * while a timer is pending. Between timers it is parked until the earliest deadline (no periodic
 * wake-up, no platform thread held), and it ends as soon as no timer is left; the next timer starts
 * a new one. So a runtime whose only pending work is, say, the expiry of idle instances holds no
 * platform thread and uses no CPU until then.
 */
public final class SystemClock implements Clock {
  private static final System.Logger LOG = System.getLogger("dev.cumulus");
  private static final AtomicLong SEQUENCE = new AtomicLong();

  private final DelayQueue<Task> queue = new DelayQueue<>();
  private final AtomicBoolean running = new AtomicBoolean();
  private final ThreadFactory threads;
  private volatile boolean shutdown;

  /**
   * Creates the clock.
   *
   * @param threads makes the (virtual) timer thread
   */
  public SystemClock(ThreadFactory threads) {
    this.threads = threads;
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public Timer schedule(Runnable task, long delayNanos) {
    if (shutdown) {
      return () -> {};
    }
    Task t = new Task(task, System.nanoTime() + Math.max(0, delayNanos));
    queue.add(t);
    if (!running.get() && running.compareAndSet(false, true)) {
      threads.newThread(this::runTimers).start();
    }
    return t::cancelIn;
  }

  @Override
  public void shutdown() {
    shutdown = true;
    queue.clear();
  }

  private void runTimers() {
    for (;;) {
      Task head = queue.peek();
      if (head == null || shutdown) {
        running.set(false);
        // A timer added after the peek may have seen this thread as running: take it over.
        if (queue.peek() == null || shutdown || !running.compareAndSet(false, true)) {
          return;
        }
        continue;
      }
      Task due;
      try {
        due = queue.poll(head.getDelay(TimeUnit.NANOSECONDS), TimeUnit.NANOSECONDS);
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

  private final class Task implements Delayed {
    final Runnable body;
    final long due;
    final long sequence = SEQUENCE.incrementAndGet();
    volatile boolean cancelled;

    Task(Runnable body, long due) {
      this.body = body;
      this.due = due;
    }

    void cancelIn() {
      cancelled = true;
      queue.remove(this);
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - System.nanoTime(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      Task o = (Task) other;
      int c = Long.compare(due - o.due, 0);
      return c != 0 ? c : Long.compare(sequence, o.sequence);
    }
  }
}
