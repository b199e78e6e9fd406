package dev.cumulus.internal;

import dev.cumulus.CumulusException;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.ThrottledException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * The door of one function: a call is accepted into its bounded FIFO queue, or throttled at once when
 * the queue is full and no worker can take it; a synchronous call from inside a function that could
 * only wait for itself is refused at once.
 *
 * <p>On the hot path a call reads flags that never change while the function serves, makes its
 * invocation, and takes one compare-and-set on {@code accepted} and one exchange on the queue's tail.
 * The queue bound is checked against a finished count seen earlier (a lower bound), so the finished
 * counts of the workers are summed only near the bound. There the queue is full when the calls not
 * finished outnumber by {@code queueCapacity} the workers that will take one
 * ({@link WorkerPool#takers}: not a slot another call reserved and is not counted with yet, not a
 * worker busy with a caller's dependent stage, not a worker that no carrier is left for). A call that
 * finds the queue full is let in only if it can take a worker slot of its own at once, for a worker
 * that could run; so no more than {@code queueCapacity} calls ever wait for a worker.
 */
final class Admission {
  /** The function, as the runtime's listeners know it. */
  private final Registration self;
  private final String name;
  private final FunctionId id;
  private final Platform platform;
  private final Capacity capacity;
  private final WorkerPool pool;
  private final Outstanding outstanding;
  private final int queueCapacity;
  private final LongAdder throttles = new LongAdder();
  /** Calls refused because the runtime is closing (they were never accepted). */
  private final LongAdder refused = new LongAdder();

  Admission(Registration self, FunctionId id, Platform platform, WorkerPool pool, Outstanding outstanding,
      int queueCapacity) {
    this.self = self;
    this.name = id.name;
    this.id = id;
    this.platform = platform;
    this.capacity = platform.capacity;
    this.pool = pool;
    this.outstanding = outstanding;
    this.queueCapacity = queueCapacity;
  }

  /**
   * Admits a call.
   *
   * @param input the input, already checked
   * @param caller the running invocation that makes this call synchronously, or null
   * @param tenant the tenant the call is made for, or null
   * @param event an attempt of an event: admitted while the runtime drains, and never throttled for
   *     a full queue (its backlog bounds events and submits one only while the function has a free
   *     slot, or when none of its attempts waits here already), so that event attempts never pile up
   *     ahead of synchronous callers in the queue
   * @param metered whether the caller wants a receipt: the invocation then completes with a
   *     {@link dev.cumulus.Receipt} of its result
   * @return the invocation, or a future failed with why it was not admitted
   */
  CompletableFuture<@Nullable Object> submit(@Nullable Object input, @Nullable Invocation caller,
      @Nullable CallTenant tenant, boolean event, boolean metered) {
    if (tenant != null) {
      tenant.tally.called();
    }
    if (!event && platform.isClosing()) {
      refused.increment();
      TenantTally.count(tenant, TenantTally.REJECTED);
      return CompletableFuture.failedFuture(new RuntimeClosedException(name,
          "the Cumulus runtime is closed; function '" + name + "' accepts no more calls"));
    }
    long now = System.nanoTime();
    long tick = platform.tick(now);
    Invocation inv = metered ? Invocation.metered(input, now, tick, id, caller, tenant)
        : new Invocation(input, now, tick, id, caller, tenant);
    Counter accepted = outstanding.accepted;
    boolean slot = false; // a worker slot taken for this call: it is let in beyond the queue
    for (;;) {
      long a = accepted.get();
      // Fast path: with the finished count seen last (a lower bound), the calls not finished fit
      // in the queue. Only near the bound are the workers' finished counts summed.
      boolean beyondQueue = false;
      long behindWorkers = 0;
      if (!event && a + 1 - outstanding.finishedSeen() > queueCapacity) {
        // Read after `a`: a slot reserved by another call is not counted until that call is.
        behindWorkers = a + 1 - outstanding.finished() - pool.takers();
        beyondQueue = behindWorkers > queueCapacity;
      }
      if (beyondQueue && !slot) {
        // The queue is full: the call is let in only with a worker of its own, whose slot (in the
        // function's limit and the runtime's capacity) it takes now, so that no other call counts
        // on the same one; or, made for a tenant that holds less than its share of the queue, as a
        // waiting call (so a flood from one tenant cannot fill the queue for all: it holds at most
        // twice its capacity then).
        if (pool.reserveSlot()) {
          slot = true;
        } else if (tenant == null || behindWorkers > 2L * queueCapacity || !pool.belowFairShare(tenant, queueCapacity)) {
          return throttle(tenant);
        }
      } else if (!beyondQueue && slot) {
        pool.releaseReservation();
        slot = false;
      }
      if (noCapacityAtAll()) {
        if (slot) {
          pool.releaseReservation();
        }
        return throttle(tenant);
      }
      if (accepted.compareAndSet(a, a + 1)) {
        if (slot) {
          pool.reservationUsed(); // counted now: call and slot together
        }
        break;
      }
    }
    pool.enqueue(inv, slot);
    return inv;
  }

  private CompletableFuture<@Nullable Object> throttle(@Nullable CallTenant tenant) {
    throttles.increment();
    TenantTally.count(tenant, TenantTally.THROTTLED);
    ThrottledException e = throttled();
    platform.events.throttled(self, String.valueOf(e.getMessage()));
    return CompletableFuture.failedFuture(e);
  }

  /**
   * An unreserved function of a runtime whose whole capacity is reserved by others can never run:
   * its calls are throttled at once rather than queued without end.
   */
  private boolean noCapacityAtAll() {
    return id.reserved == 0 && capacity.unreservedLimit() <= 0;
  }

  private ThrottledException throttled() {
    String why;
    if (id.reserved == 0 && capacity.unreservedLimit() <= 0) {
      why = "no unreserved concurrency is left: the runtime's maxConcurrency " + capacity.max()
          + " is all reserved by other functions";
    } else {
      // The queue is full; say what runs, and name a limit only if it is the one reached.
      int running = pool.workers();
      int adaptive = pool.adaptiveLimit() ? pool.concurrencyLimit() : 0;
      String limit = id.reserved > 0 && running >= id.reserved ? " (maxConcurrency " + id.reserved + ")"
          : adaptive > 0 && running >= adaptive ? " (adaptive concurrency limit now " + adaptive + ")"
          : pool.carriersTaken() ? " (on every carrier: " + pool.parallelism() + ")" : "";
      why = running + " running" + limit + " and " + queueCapacity + " waiting (queueCapacity "
          + queueCapacity + ")";
      if (id.reserved == 0 && capacity.available(true) <= 0) {
        why += "; the runtime's unreserved concurrency (" + capacity.unreservedLimit()
            + " of maxConcurrency " + capacity.max() + ") is all in use";
      }
    }
    return new ThrottledException(name, "function '" + name + "' is throttled: " + why);
  }

  /**
   * Why a synchronous call from {@code caller}'s chain to this function must not wait, or null if it
   * may: the chain is deeper than the runtime allows, or every slot this call could run in is held by
   * calls of the chain, each waiting for the next (a wait that would never end).
   */
  @Nullable CumulusException refuseFromChain(Invocation caller) {
    int depth = 1; // this call
    int steps = 0;
    for (Invocation c = caller; c != null && steps < Invocation.CHAIN_LIMIT; c = c.caller(), steps++) {
      depth++;
    }
    if (depth > platform.maxCallDepth) {
      return new CumulusException(name, "call chain too deep: calling '" + name + "' makes it " + depth
          + " calls deep (maxCallDepth " + platform.maxCallDepth + "): " + chain(caller)
          + "; a chain this deep is taken for runaway recursion", null);
    }
    String slots = slotsHeldBy(caller);
    if (slots == null) {
      return null;
    }
    return new CumulusException(name, "calling '" + name + "' from inside '" + caller.function.name
        + "' would wait forever: " + slots + " are held by calls of this chain, each waiting for the"
        + " next: " + chain(caller), null);
  }

  /**
   * Withdraws and fails {@code awaited}, a call of this function that has not started, if the
   * running invocation {@code waiting} is about to wait for it ({@code join}, {@code get}) while
   * every slot it could start in is held by {@code waiting}'s chain: that wait would never end. As
   * for a synchronous call (where the same chain would refuse the call itself), the chain's depth
   * is not checked: a call made asynchronously is no deeper for being waited for.
   *
   * @return whether it was failed (the wait ends at once)
   */
  boolean refuseWait(Invocation awaited, Invocation waiting) {
    if (!awaited.isQueued()) {
      return false; // running or settled: it ends without a slot of the chain
    }
    String slots = slotsHeldBy(waiting);
    if (slots == null) {
      return false;
    }
    return pool.refuseQueued(awaited, new CumulusException(name, "waiting for '" + name + "' from inside '"
        + waiting.function.name + "' (join or get of a future of invokeAsync) would wait forever: " + slots
        + " are held by calls of this chain, each waiting for the next: " + chain(waiting)
        + "; the call was withdrawn, never having run", null));
  }

  /**
   * The slots a call of this function from {@code caller}'s chain could start in, if the chain holds
   * them all (each of its calls waiting for the next); null if one could free up.
   */
  @SuppressWarnings("ReferenceEquality") // a FunctionId and a runtime are their identity
  private @Nullable String slotsHeldBy(Invocation caller) {
    int sameFunction = 0;
    int sameRuntime = 0;
    int unreserved = 0;
    int steps = 0;
    for (Invocation c = caller; c != null && steps < Invocation.CHAIN_LIMIT; c = c.caller(), steps++) {
      if (c.function == id) {
        sameFunction++;
      }
      if (c.function.runtime == id.runtime) {
        sameRuntime++;
        if (c.function.reserved == 0) {
          unreserved++;
        }
      }
    }
    int adaptive = pool.adaptiveLimit() ? pool.concurrencyLimit() : 0;
    if (id.reserved > 0 && sameFunction >= id.reserved) {
      return "all " + id.reserved + " of its concurrency slots (maxConcurrency " + id.reserved + ")";
    } else if (adaptive > 0 && sameFunction >= adaptive) {
      // Its limit learns only from calls that end, and none of these will: it cannot grow.
      return "all " + adaptive + " of its concurrency slots (its adaptive concurrency limit now)";
    } else if (id.reserved == 0 && unreserved >= capacity.unreservedLimit()) {
      return "all " + capacity.unreservedLimit() + " unreserved concurrency slots of the runtime";
    } else if (sameRuntime >= capacity.max()) {
      return "all " + capacity.max() + " concurrency slots of the runtime (maxConcurrency)";
    }
    return null;
  }

  /** {@code a → b → this}: the chain from its first call to this one. */
  private String chain(Invocation caller) {
    List<String> names = new ArrayList<>();
    int steps = 0;
    for (Invocation c = caller; c != null && steps < Invocation.CHAIN_LIMIT; c = c.caller(), steps++) {
      names.add(c.function.name);
    }
    Collections.reverse(names);
    names.add(name);
    return String.join(" → ", names);
  }

  long throttles() {
    return throttles.sum();
  }

  long refused() {
    return refused.sum();
  }
}
