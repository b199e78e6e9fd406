package dev.cumulus.internal.event;

import dev.cumulus.internal.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The events waiting for their retry, over every function of a runtime, in one heap by due time,
 * under one clock timer armed for the earliest. However many retries are pending, the runtime holds
 * one timer and no thread per event (the clock's idle timer waits on a parked virtual thread).
 */
final class RetryTimer {
  private static final Comparator<Event> BY_DUE = (a, b) -> Long.compare(a.dueAt - b.dueAt, 0);

  private final Clock clock;
  private final ReentrantLock lock = new ReentrantLock();
  private final PriorityQueue<Event> heap = new PriorityQueue<>(BY_DUE);
  private Clock.@Nullable Timer timer;
  private long timerDue;
  /** Identifies the armed timer: a timer that fires after it was replaced does nothing. */
  private @Nullable Object armed;

  RetryTimer(Clock clock) {
    this.clock = clock;
  }

  /** Holds {@code e} until {@code e.dueAt}, then gives it back to its backlog. */
  void schedule(Event e) {
    lock.lock();
    try {
      heap.add(e);
      if (armed == null || e.dueAt - timerDue < 0) {
        arm(e.dueAt);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Takes back {@code e} if it is still waiting; false if its timer already fired. */
  boolean remove(Event e) {
    lock.lock();
    try {
      return heap.remove(e);
    } finally {
      lock.unlock();
    }
  }

  /** Takes back every retry of {@code backlog} still waiting (its function closes). */
  List<Event> removeAll(EventBacklog backlog) {
    List<Event> removed = new ArrayList<>();
    lock.lock();
    try {
      heap.removeIf(e -> {
        if (e.backlog == backlog) {
          removed.add(e);
          return true;
        }
        return false;
      });
      if (heap.isEmpty()) {
        disarm(); // no timer while nothing waits
      }
    } finally {
      lock.unlock();
    }
    return removed;
  }

  int size() {
    lock.lock();
    try {
      return heap.size();
    } finally {
      lock.unlock();
    }
  }

  private void arm(long due) {
    // lock held
    disarm();
    Object token = new Object();
    armed = token;
    timerDue = due;
    timer = clock.scheduleIdle(() -> fire(token), due - clock.nanoTime());
  }

  private void disarm() {
    // lock held
    Clock.Timer t = timer;
    if (t != null) {
      t.cancel();
    }
    timer = null;
    armed = null;
  }

  @SuppressWarnings("ReferenceEquality") // the token is an identity
  private void fire(Object token) {
    List<Event> due = new ArrayList<>();
    lock.lock();
    try {
      if (armed != token) {
        return; // replaced by an earlier timer, or disarmed
      }
      timer = null;
      armed = null;
      long now = clock.nanoTime();
      for (Event head = heap.peek(); head != null && head.dueAt - now <= 0; head = heap.peek()) {
        due.add(heap.poll());
      }
      Event next = heap.peek();
      if (next != null) {
        arm(next.dueAt);
      }
    } finally {
      lock.unlock();
    }
    for (Event e : due) {
      try {
        e.backlog.retryDue(e);
      } catch (Throwable t) {
        EventRuntime.LOG.log(System.Logger.Level.ERROR, "a retry of an event failed to start", t);
      }
    }
  }
}
