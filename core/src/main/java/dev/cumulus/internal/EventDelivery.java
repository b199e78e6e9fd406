package dev.cumulus.internal;

import dev.cumulus.CumulusEvent;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One subscription: a bounded buffer of events and the virtual thread that hands them to the
 * listener, one at a time, in the order they were offered. The thread is started when an event
 * arrives and nothing is being delivered, and ends as soon as the buffer is empty: an idle
 * subscription holds no thread.
 *
 * <p>Producers (callers, workers, the timer) only take a short lock to append; the listener always
 * runs on the delivery thread, outside the lock. A flood stays bounded: a throttle joins the
 * function's {@link Throttled} still waiting in the buffer, and a change of an adaptive limit its
 * {@link LimitChange}, if that is the function's latest event there; any other event that finds the
 * buffer full is dropped and counted.
 */
final class EventDelivery implements CumulusEvent.Subscription {
  /** An event still in the buffer that later ones of its kind and function join, until delivered. */
  private abstract static class Joinable {
    final String function;
    Instant at;
    int inFlight;
    int queued;
    int warm;

    Joinable(String function, Instant at, int inFlight, int queued, int warm) {
      this.function = function;
      this.at = at;
      this.inFlight = inFlight;
      this.queued = queued;
      this.warm = warm;
    }

    /** A later moment joins: the instant and the figures become its. */
    final void update(Instant at, int inFlight, int queued, int warm) {
      this.at = at;
      this.inFlight = inFlight;
      this.queued = queued;
      this.warm = warm;
    }

    abstract CumulusEvent freeze();
  }

  /** A {@link CumulusEvent.Throttled} still in the buffer, which later throttles join. */
  private static final class Throttled extends Joinable {
    long count = 1;

    Throttled(String function, Instant at, int inFlight, int queued, int warm) {
      super(function, at, inFlight, queued, warm);
    }

    @Override
    CumulusEvent freeze() {
      return new CumulusEvent.Throttled(function, at, inFlight, queued, warm, count);
    }
  }

  /** A {@link CumulusEvent.ConcurrencyLimitChanged} still in the buffer, which later changes join. */
  private static final class LimitChange extends Joinable {
    final int from;
    int to;
    int changes = 1;

    LimitChange(String function, Instant at, int inFlight, int queued, int warm, int from, int to) {
      super(function, at, inFlight, queued, warm);
      this.from = from;
      this.to = to;
    }

    @Override
    CumulusEvent freeze() {
      return new CumulusEvent.ConcurrencyLimitChanged(function, at, inFlight, queued, warm, from, to, changes);
    }
  }

  private final EventHub hub;
  private final Consumer<? super CumulusEvent> listener;
  private final int capacity;
  private final ReentrantLock lock = new ReentrantLock();
  /** Events and {@link Joinable} holders waiting, oldest first. Guarded by {@link #lock}. */
  private final ArrayDeque<Object> buffer = new ArrayDeque<>();
  /** Per function, its Joinable in the buffer if it is the latest of its events there. Guarded. */
  private final Map<String, Joinable> joinable = new HashMap<>();
  /** Whether a delivery thread runs (or is being started). Guarded. */
  private boolean delivering;
  private boolean closed;
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();

  EventDelivery(EventHub hub, Consumer<? super CumulusEvent> listener, int capacity) {
    this.hub = hub;
    this.listener = listener;
    this.capacity = capacity;
  }

  /** Appends {@code event} of {@code function}, or drops it if the buffer is full. */
  void offer(String function, CumulusEvent event) {
    boolean start;
    lock.lock();
    try {
      if (closed) {
        return;
      }
      joinable.remove(function); // later throttles must not join an event older than this one
      if (buffer.size() >= capacity) {
        drop();
        return;
      }
      buffer.addLast(event);
      start = startIfIdle();
    } finally {
      lock.unlock();
    }
    if (start) {
      startThread();
    }
  }

  /** Counts a throttle: it joins the function's waiting Throttled, or becomes one. */
  void throttled(String function, Instant at, int inFlight, int queued, int warm) {
    boolean start;
    lock.lock();
    try {
      if (closed) {
        return;
      }
      if (joinable.get(function) instanceof Throttled waiting) {
        waiting.count++;
        waiting.update(at, inFlight, queued, warm);
        return;
      }
      start = append(new Throttled(function, at, inFlight, queued, warm));
    } finally {
      lock.unlock();
    }
    if (start) {
      startThread();
    }
  }

  /** A change of an adaptive limit: it joins the function's waiting LimitChange, or becomes one. */
  void limitChanged(String function, Instant at, int inFlight, int queued, int warm, int from, int to) {
    boolean start;
    lock.lock();
    try {
      if (closed) {
        return;
      }
      if (joinable.get(function) instanceof LimitChange waiting) {
        waiting.to = to;
        waiting.changes++;
        waiting.update(at, inFlight, queued, warm);
        return;
      }
      start = append(new LimitChange(function, at, inFlight, queued, warm, from, to));
    } finally {
      lock.unlock();
    }
    if (start) {
      startThread();
    }
  }

  /**
   * Lock held. Appends a new holder as its function's latest event, or drops it if the buffer is
   * full; whether the caller must start a delivery thread.
   */
  private boolean append(Joinable j) {
    if (buffer.size() >= capacity) {
      joinable.remove(j.function); // a later one must not join an event older than the one dropped
      drop();
      return false;
    }
    buffer.addLast(j);
    joinable.put(j.function, j); // replaces a holder of the other kind: no longer the latest
    return startIfIdle();
  }

  private void drop() {
    dropped.incrementAndGet();
    hub.dropped();
  }

  /** Lock held. Whether the caller must start a delivery thread. */
  private boolean startIfIdle() {
    if (delivering) {
      return false;
    }
    delivering = true;
    return true;
  }

  private void startThread() {
    try {
      // The JDK's scheduler, not Cumulus's carriers: a listener's CPU is not a function's, and busy
      // functions cannot hold the delivery up.
      EventHub.startOffCarriers("cumulus-events", this::deliver);
    } catch (Throwable e) {
      lock.lock();
      try {
        delivering = false; // the next event tries again; nothing buffered is lost
      } finally {
        lock.unlock();
      }
      EventHub.LOG.log(System.Logger.Level.ERROR, "cannot start the delivery of Cumulus events", e);
    }
  }

  private void deliver() {
    for (;;) {
      CumulusEvent event;
      lock.lock();
      try {
        Object next = buffer.pollFirst();
        if (next == null) {
          delivering = false;
          return;
        }
        if (next instanceof Joinable j) {
          joinable.remove(j.function, j); // frozen now: later ones start a new one
          event = j.freeze();
        } else {
          event = (CumulusEvent) next;
        }
      } finally {
        lock.unlock();
      }
      delivered.incrementAndGet();
      try {
        listener.accept(event);
      } catch (Throwable e) {
        long n = failures.incrementAndGet();
        hub.failed();
        if (Long.bitCount(n) == 1) { // the 1st, 2nd, 4th, 8th, ...: a listener that always throws cannot flood the log
          EventHub.LOG.log(System.Logger.Level.WARNING, "a Cumulus event listener threw on " + event
              + " (failure " + n + " of this listener; it keeps receiving events)", e);
        }
      }
      Thread.interrupted(); // a listener that interrupted itself must not hit the next one
    }
  }

  /** Whether a delivery thread runs, or is being started. */
  boolean delivering() {
    lock.lock();
    try {
      return delivering;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public long delivered() {
    return delivered.get();
  }

  @Override
  public long failures() {
    return failures.get();
  }

  @Override
  public long dropped() {
    return dropped.get();
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      buffer.clear();
      joinable.clear();
    } finally {
      lock.unlock();
    }
    hub.unsubscribe(this);
  }

  @Override
  public String toString() {
    return "CumulusEvent.Subscription{delivered=" + delivered() + ", failures=" + failures()
        + ", dropped=" + dropped() + (closed ? ", closed" : "") + "}";
  }
}
