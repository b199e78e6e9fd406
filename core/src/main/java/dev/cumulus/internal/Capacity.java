package dev.cumulus.internal;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The runtime-wide concurrency limit ("account limit"). Every running worker holds one slot. A
 * function with reserved concurrency uses slots set aside for it alone; the other functions share
 * what is left ({@code max - reserved}). Functions that need a slot while none is free wait here, in
 * arrival order, and a released slot goes to the first of them that can use it: a busy function
 * cannot starve an unreserved neighbour, because its workers hand their slot over while anyone else
 * waits.
 *
 * <p>Waiters are woken by a drain loop that one thread runs at a time (a work-in-progress counter,
 * as in reactive libraries): every release or new waiter while it runs makes it pass over the
 * waiters once more, so no slot is released unseen. A waiter that throws is logged and dropped from
 * this pass, never leaving the counters behind. Everything here is lock-free: it runs on carriers.
 */
final class Capacity {
  private static final System.Logger LOG = System.getLogger("dev.cumulus");

  /** A function that needs a worker slot. Its methods must not block. */
  interface Waiter {
    /** Starts a worker if one is needed and a slot is free; false if one is needed but none was free. */
    boolean tryStartWorker();

    /** Whether it still needs a worker. */
    boolean needsWorker();

    /** Marks it as waiting here; false if it already was. */
    boolean markWaiting();

    void clearWaiting();

    boolean isWaiting();
  }

  private final int max;
  /** Total slots in use (high 32 bits) and slots in use by unreserved functions (low 32 bits). */
  private final AtomicLong inUse = new AtomicLong();
  private final ConcurrentLinkedQueue<Waiter> waiters = new ConcurrentLinkedQueue<>();
  private final AtomicInteger waiting = new AtomicInteger();
  private final AtomicInteger wip = new AtomicInteger();
  private volatile int reserved;

  Capacity(int max) {
    this.max = max;
  }

  int max() {
    return max;
  }

  int reserved() {
    return reserved;
  }

  /** Sets aside (or, negative, gives back) reserved slots; callers hold the registration lock. */
  void reserve(int delta) {
    reserved += delta;
    if (delta < 0 && waiting.get() > 0) {
      wakeWaiters(); // a reservation given back is capacity for those waiting
    }
  }

  /** Slots held now, by every function. */
  int inUse() {
    return (int) (inUse.get() >>> 32);
  }

  int unreservedLimit() {
    return max - reserved;
  }

  /** Slots a function could still take right now (an estimate, for admission headroom). */
  int available(boolean shared) {
    long s = inUse.get();
    int total = max - (int) (s >>> 32);
    return shared ? Math.min(total, unreservedLimit() - (int) s) : total;
  }

  boolean tryAcquire(boolean shared) {
    for (;;) {
      long s = inUse.get();
      int total = (int) (s >>> 32);
      int unreserved = (int) s;
      if (total >= max || (shared && unreserved >= max - reserved)) {
        return false;
      }
      long next = ((long) (total + 1) << 32) | (unreserved + (shared ? 1 : 0));
      if (inUse.compareAndSet(s, next)) {
        return true;
      }
    }
  }

  void release(boolean shared) {
    inUse.addAndGet(-((1L << 32) + (shared ? 1 : 0)));
    if (waiting.get() > 0) {
      wakeWaiters();
    }
  }

  /** Whether a function other than {@code self} waits for a slot. */
  boolean othersWait(Waiter self) {
    int n = waiting.get();
    return n > (n > 0 && self.isWaiting() ? 1 : 0);
  }

  /** Queues {@code w} to get a worker when a slot frees up. */
  void await(Waiter w) {
    if (w.markWaiting()) {
      waiting.incrementAndGet();
      waiters.offer(w);
    }
    // A slot may have been released between the caller's failed attempt and the offer.
    wakeWaiters();
  }

  private void wakeWaiters() {
    if (wip.getAndIncrement() != 0) {
      return; // the thread in the loop will pass once more
    }
    int missed = 1;
    do {
      for (int n = waiting.get(); n > 0; n--) {
        Waiter w = waiters.poll();
        if (w == null) {
          break;
        }
        w.clearWaiting();
        // Still counted in `waiting` during the attempt, so that a release meanwhile calls us again.
        boolean again;
        try {
          again = !w.tryStartWorker() && w.needsWorker() && w.markWaiting();
        } catch (Throwable e) {
          LOG.log(System.Logger.Level.ERROR, "starting a worker for a function waiting for capacity failed", e);
          again = false;
        }
        if (again) {
          waiters.offer(w); // no slot of its kind is free: it keeps waiting, at the back
        } else {
          waiting.decrementAndGet();
        }
      }
      missed = wip.addAndGet(-missed);
    } while (missed != 0);
  }
}
