package dev.cumulus.internal.event;

import dev.cumulus.internal.CallTenant;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The events of one function waiting to be dispatched: a lock-free FIFO of the events emitted
 * without a tenant and, from the first event emitted for a tenant on, one FIFO lane per tenant with
 * waiting events, served in weighted round-robin with that FIFO as one more lane of weight 1, as the
 * function's call queue serves tenants' calls. So a flood of events from one tenant cannot make
 * another tenant's event wait behind it: that one waits at most one round. Until a tenant's event
 * comes, every operation costs the FIFO's own plus one read of a null field.
 *
 * <p>An event taken whose attempt was never made (throttled) goes back <b>first of all</b>: it had
 * its turn. A retry goes first in its own lane (it has waited already), not ahead of other tenants.
 *
 * <p>Thread-safe: offers come from emitters, the retry timer and attempts' completions; polls from
 * the backlog's single dispatcher. The lanes take one lock, held for a few field updates.
 */
final class EventQueue {
  private static final VarHandle LANES;

  static {
    try {
      LANES = MethodHandles.lookup().findVarHandle(EventQueue.class, "lanes", Lanes.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final ConcurrentLinkedDeque<Event> fifo = new ConcurrentLinkedDeque<>();
  /** Events taken whose attempt was never made: served before anything else. */
  private final ConcurrentLinkedDeque<Event> first = new ConcurrentLinkedDeque<>();
  @SuppressWarnings("unused") // LANES
  private volatile @Nullable Lanes lanes;

  /** Appends a new event: to the FIFO, or to the end of its tenant's lane. */
  void offer(Event e) {
    CallTenant t = e.tenant;
    if (t == null) {
      fifo.offerLast(e);
    } else {
      lanes().offer(e, t, false);
    }
  }

  /** Puts back a retry that is due: first in its own lane (or the FIFO). */
  void offerRetry(Event e) {
    CallTenant t = e.tenant;
    if (t == null) {
      fifo.offerFirst(e);
    } else {
      lanes().offer(e, t, true);
    }
  }

  /** Puts back an event taken whose attempt was never made: it is the next one taken. */
  void putBack(Event e) {
    first.offerFirst(e);
  }

  /** The next event to dispatch, or null if none waits. */
  @Nullable Event poll() {
    Event e = first.pollFirst();
    if (e != null) {
      return e;
    }
    Lanes l = lanes;
    return l == null ? fifo.pollFirst() : l.poll(fifo);
  }

  /** Removes {@code e} if it still waits (an emit or a retry racing with close); whether it did. */
  boolean remove(Event e) {
    if (first.removeFirstOccurrence(e)) {
      return true;
    }
    CallTenant t = e.tenant;
    if (t == null) {
      return fifo.removeFirstOccurrence(e);
    }
    Lanes l = lanes;
    return l != null && l.remove(e, t);
  }

  /**
   * Whether {@code tenant} has fewer events waiting than its weighted share of {@code capacity}:
   * its weight over the weights of the tenants with waiting events (itself included) and of the
   * events without a tenant, if some wait.
   */
  boolean belowFairShare(CallTenant tenant, int capacity) {
    return lanes().belowFairShare(tenant, capacity, !fifo.isEmpty());
  }

  private Lanes lanes() {
    Lanes l = lanes;
    if (l == null) {
      Lanes fresh = new Lanes();
      l = LANES.compareAndSet(this, null, fresh) ? fresh : lanes;
    }
    return Objects.requireNonNull(l);
  }

  /** The tenants' lanes and the round that serves them, under one lock. */
  private static final class Lanes {
    /** One tenant's waiting events, or (no tenant) the FIFO's place in the round. */
    private static final class Lane {
      final @Nullable String tenant;
      final int weight;
      final ArrayDeque<Event> events = new ArrayDeque<>();
      /** The next lane of the round (a ring). */
      Lane next;

      Lane(@Nullable String tenant, int weight) {
        this.tenant = tenant;
        this.weight = weight;
        this.next = this;
      }
    }

    private final ReentrantLock lock = new ReentrantLock();
    /** Tenant lanes in the round, by tenant. */
    private final Map<String, Lane> byTenant = new HashMap<>();
    /** Stands for the FIFO of events without a tenant: always in the round. */
    private final Lane untenanted = new Lane(null, 1);
    /** The lane whose turn it is, and the one before it in the round. */
    private Lane current = untenanted;
    private Lane previous = untenanted;
    /** Events the current lane may still be served this turn. */
    private int credit = 1;
    /** The weights of the tenant lanes in the round, summed. */
    private int activeWeight;

    void offer(Event e, CallTenant tenant, boolean front) {
      lock.lock();
      try {
        Lane lane = byTenant.get(tenant.name());
        if (lane == null) {
          lane = new Lane(tenant.name(), tenant.weight());
          byTenant.put(tenant.name(), lane);
          activeWeight += lane.weight;
          // Joins the round at its end: just before the lane whose turn it is.
          previous.next = lane;
          lane.next = current;
          previous = lane;
        }
        if (front) {
          lane.events.offerFirst(e);
        } else {
          lane.events.offerLast(e);
        }
      } finally {
        lock.unlock();
      }
    }

    @Nullable Event poll(ConcurrentLinkedDeque<Event> fifo) {
      lock.lock();
      try {
        // Each lane is visited at most twice: once to use what is left of its turn, once afresh.
        for (int visits = 2 * (byTenant.size() + 1); visits > 0; visits--) {
          Lane lane = current;
          if (credit > 0) {
            Event e = lane == untenanted ? fifo.pollFirst() : lane.events.pollFirst();
            if (e != null) {
              credit--;
              if (lane != untenanted && lane.events.isEmpty()) {
                leave(lane);
              }
              return e;
            }
          }
          if (lane != untenanted && lane.events.isEmpty()) {
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

    /** Removes a waiting event; an emptied lane stays in the round until its turn comes. */
    boolean remove(Event e, CallTenant tenant) {
      lock.lock();
      try {
        Lane lane = byTenant.get(tenant.name());
        return lane != null && lane.events.removeFirstOccurrence(e);
      } finally {
        lock.unlock();
      }
    }

    boolean belowFairShare(CallTenant tenant, int capacity, boolean untenantedWaiting) {
      lock.lock();
      try {
        Lane lane = byTenant.get(tenant.name());
        int total = activeWeight + (lane == null ? tenant.weight() : 0) + (untenantedWaiting ? 1 : 0);
        long share = Math.max(1, (long) capacity * tenant.weight() / total);
        return (lane == null ? 0 : lane.events.size()) < share;
      } finally {
        lock.unlock();
      }
    }

    /** The turn passes to the next lane of the round. */
    private void advance() {
      previous = current;
      current = current.next;
      credit = current.weight;
    }

    /** {@code lane}, whose turn it is and which has no event left, leaves the round. */
    private void leave(Lane lane) {
      previous.next = lane.next;
      current = lane.next;
      credit = current.weight;
      byTenant.remove(lane.tenant);
      activeWeight -= lane.weight;
    }
  }
}
