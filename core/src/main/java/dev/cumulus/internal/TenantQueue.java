package dev.cumulus.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The calls of a function made for tenants, waiting: one FIFO lane per tenant with waiting calls,
 * served in weighted round-robin with the function's FIFO of calls without a tenant, which takes a
 * turn of weight 1 as if it were one more tenant. A lane of weight {@code w} is served up to
 * {@code w} calls in a row; a tenant whose first call arrives joins the round at its end, so it
 * waits at most one round (the sum of the other lanes' weights) for its first call, whatever the
 * others have queued. An emptied lane leaves the round and is forgotten: the lanes are as many as
 * the tenants with waiting calls.
 *
 * <p>Offers, polls and the fair-share test take one lock, held for a few field updates (nothing
 * under it blocks or calls out). {@link #isEmpty()} reads a counter without it, as the worker pool's
 * decisions on a carrier need. Lanes link the invocations through themselves, as
 * {@link InvocationQueue} does, and a consumed invocation links to itself.
 */
final class TenantQueue {
  /** One tenant's waiting calls. */
  private static final class Lane {
    final @Nullable String tenant;
    final int weight;
    @Nullable Invocation head;
    @Nullable Invocation tail;
    int count;
    /** The next lane of the round (a ring). */
    Lane next;

    Lane(@Nullable String tenant, int weight) {
      this.tenant = tenant;
      this.weight = weight;
      this.next = this;
    }
  }

  private final ReentrantLock lock = new ReentrantLock();
  /** Tenant lanes with waiting calls, by tenant. */
  private final Map<String, Lane> lanes = new HashMap<>();
  /** Stands for the FIFO of calls without a tenant: always in the round. */
  private final Lane untenanted = new Lane(null, 1);
  /** The lane whose turn it is, and the one before it in the round. */
  private Lane current = untenanted;
  private Lane previous = untenanted;
  /** Calls the current lane may still be served this turn. */
  private int credit = 1;
  /** The weights of the tenant lanes in the round, summed. */
  private int activeWeight;
  /** Tenant calls waiting: read without the lock. */
  private final AtomicInteger waiting = new AtomicInteger();

  /** Queues {@code inv}, made for {@code tenant}, at the end of its tenant's lane. */
  void offer(Invocation inv, CallTenant tenant) {
    lock.lock();
    try {
      Lane lane = lanes.get(tenant.name);
      if (lane == null) {
        lane = new Lane(tenant.name, tenant.weight);
        lanes.put(tenant.name, lane);
        activeWeight += lane.weight;
        // Joins the round at its end: just before the lane whose turn it is.
        previous.next = lane;
        lane.next = current;
        previous = lane;
      }
      Invocation tail = lane.tail;
      if (tail == null) {
        lane.head = inv;
      } else {
        tail.linkNext(inv);
      }
      lane.tail = inv;
      lane.count++;
      waiting.incrementAndGet();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The next call in the round: from the lane whose turn it is while it has credit and calls, else
   * from the next lane with calls; {@code fifo} is the lane of calls without a tenant. Null when
   * nothing waits.
   */
  @Nullable Invocation poll(InvocationQueue fifo) {
    lock.lock();
    try {
      // Each lane is visited at most twice: once to use what is left of its turn, once afresh.
      for (int visits = 2 * (lanes.size() + 1); visits > 0; visits--) {
        Lane lane = current;
        if (credit > 0) {
          Invocation inv = lane == untenanted ? fifo.poll() : take(lane);
          if (inv != null) {
            credit--;
            if (lane != untenanted && lane.count == 0) {
              leave(lane);
            }
            return inv;
          }
        }
        if (lane != untenanted && lane.count == 0) {
          leave(lane);
        } else {
          advance();
        }
      }
      return null;
    } finally {
      lock.unlock();
    }
  }

  private @Nullable Invocation take(Lane lane) {
    Invocation inv = lane.head;
    if (inv == null) {
      return null;
    }
    Invocation next = inv.next();
    lane.head = next;
    if (next == null) {
      lane.tail = null;
    }
    lane.count--;
    waiting.decrementAndGet();
    inv.unlink();
    return inv;
  }

  /** The turn passes to the next lane of the round. */
  private void advance() {
    previous = current;
    current = current.next;
    credit = current.weight;
  }

  /** {@code lane}, whose turn it is and which has no call left, leaves the round. */
  private void leave(Lane lane) {
    previous.next = lane.next;
    current = lane.next;
    credit = current.weight;
    lanes.remove(lane.tenant);
    activeWeight -= lane.weight;
  }

  /**
   * Whether {@code tenant} holds fewer waiting calls than its weighted share of {@code capacity}
   * places: its weight over the weights of the tenants with waiting calls (itself included) and of
   * the calls without a tenant, if some wait.
   */
  boolean belowFairShare(CallTenant tenant, int capacity, boolean untenantedWaiting) {
    lock.lock();
    try {
      Lane lane = lanes.get(tenant.name);
      int total = activeWeight + (lane == null ? tenant.weight : 0) + (untenantedWaiting ? 1 : 0);
      long share = Math.max(1, (long) capacity * tenant.weight / total);
      return (lane == null ? 0 : lane.count) < share;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes out, oldest first in each lane, the calls that have waited {@code timeoutNanos} or more
   * at {@code now} (runtime clock) and hands each to {@code expired}, outside the lock. A lane left
   * empty leaves the round when its turn comes, as after a poll.
   *
   * @return how long until the oldest call left has waited that long, or {@code Long.MAX_VALUE}
   */
  long expire(long now, long timeoutNanos, Consumer<Invocation> expired) {
    List<Invocation> out = new ArrayList<>();
    long next = Long.MAX_VALUE;
    lock.lock();
    try {
      for (Lane lane : lanes.values()) {
        for (Invocation head = lane.head; head != null; head = lane.head) {
          long waited = now - head.enqueuedTick;
          if (waited < timeoutNanos) {
            next = Math.min(next, timeoutNanos - waited);
            break;
          }
          out.add(take(lane));
        }
      }
    } finally {
      lock.unlock();
    }
    out.forEach(expired);
    return next;
  }

  /** Whether no tenant call waits (one being offered right now may not count yet). */
  boolean isEmpty() {
    return waiting.get() == 0;
  }
}
