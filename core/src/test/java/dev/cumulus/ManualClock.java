package dev.cumulus;

import dev.cumulus.internal.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.locks.ReentrantLock;

/** A clock that moves only when a test advances it; due timers run in the advancing thread. */
final class ManualClock implements Clock {
  private final ReentrantLock lock = new ReentrantLock();
  private final PriorityQueue<Task> tasks = new PriorityQueue<>(Comparator.comparingLong((Task t) -> t.due).thenComparingLong(t -> t.seq));
  private long now = 1_000_000_000L;
  private long seq;

  private static final class Task implements Timer {
    final long due;
    final long seq;
    final Runnable body;
    final boolean idle;
    volatile boolean cancelled;

    Task(long due, long seq, Runnable body, boolean idle) {
      this.due = due;
      this.seq = seq;
      this.body = body;
      this.idle = idle;
    }

    @Override
    public void cancel() {
      cancelled = true;
    }
  }

  @Override
  public long nanoTime() {
    lock.lock();
    try {
      return now;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public Timer schedule(Runnable task, long delayNanos) {
    return add(task, delayNanos, false);
  }

  @Override
  public Timer scheduleIdle(Runnable task, long delayNanos) {
    return add(task, delayNanos, true);
  }

  private Timer add(Runnable task, long delayNanos, boolean idle) {
    lock.lock();
    try {
      Task t = new Task(now + Math.max(0, delayNanos), seq++, task, idle);
      tasks.add(t);
      return t;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void shutdown() {}

  /** Number of timers pending (not cancelled). */
  int pendingTimers() {
    lock.lock();
    try {
      return (int) tasks.stream().filter(t -> !t.cancelled).count();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Number of precise timers ({@link #schedule}: timeouts, CPU budgets, the drain deadline) pending,
   * not counting the idle housekeeping ones ({@link #scheduleIdle}: instance expiry). On the system
   * clock each of them keeps the platform timer thread alive.
   */
  int pendingPreciseTimers() {
    lock.lock();
    try {
      return (int) tasks.stream().filter(t -> !t.cancelled && !t.idle).count();
    } finally {
      lock.unlock();
    }
  }

  /** Moves time forward, running every timer that falls due, in order. */
  void advance(Duration d) {
    long target;
    lock.lock();
    try {
      target = now + d.toNanos();
    } finally {
      lock.unlock();
    }
    for (;;) {
      Task next;
      lock.lock();
      try {
        next = tasks.peek();
        if (next == null || next.due > target) {
          now = target;
          return;
        }
        tasks.poll();
        now = Math.max(now, next.due);
      } finally {
        lock.unlock();
      }
      if (!next.cancelled) {
        next.body.run();
      }
    }
  }

  List<Long> dueTimes() {
    lock.lock();
    try {
      List<Long> out = new ArrayList<>();
      for (Task t : tasks) {
        if (!t.cancelled) {
          out.add(t.due);
        }
      }
      return out;
    } finally {
      lock.unlock();
    }
  }
}
