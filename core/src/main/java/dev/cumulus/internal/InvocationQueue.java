package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The FIFO queue of a function's accepted invocations: unbounded (admission bounds it), many
 * producers, many consumers, linked through the invocations themselves. Producers swap the tail
 * (one atomic exchange, wait-free) and then link the previous tail to the new one with a release
 * store; consumers advance the head with a CAS. The consumed invocation becomes the head's
 * placeholder until the next poll, which links the old placeholder to itself (as
 * {@code ConcurrentLinkedQueue} and JCTools do), so a consumed invocation a caller still holds
 * references nothing queued after it.
 *
 * <p>Why not {@link java.util.concurrent.ConcurrentLinkedQueue}: when workers keep up with callers
 * the queue is almost always nearly empty, and there its head and tail fields (side by side in one
 * object) and each node's item and link are written by the caller and the worker in turn, and each
 * call costs a node. Here head and tail sit on cache lines of their own, and nothing is allocated.
 * Another discipline (weighted round-robin between tenants, say) replaces this class alone: its
 * users only offer, poll and ask whether it is empty, and the deadline watch takes out the oldest
 * invocations when they waited past the function's queue timeout ({@link #expire}).
 */
final class InvocationQueue {
  private static final VarHandle HEAD;
  private static final VarHandle TAIL;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      HEAD = lookup.findVarHandle(InvocationQueue.class, "head", Invocation.class);
      TAIL = lookup.findVarHandle(InvocationQueue.class, "tail", Invocation.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @SuppressWarnings("unused")
  private long p01, p02, p03, p04, p05, p06, p07;
  /** The last consumed invocation (or the initial placeholder); the next one is its successor. */
  @SuppressWarnings("unused") // HEAD
  private volatile Invocation head;
  @SuppressWarnings("unused")
  private long p11, p12, p13, p14, p15, p16, p17;
  @SuppressWarnings("unused") // TAIL
  private volatile Invocation tail;
  @SuppressWarnings("unused")
  private long p21, p22, p23, p24, p25, p26, p27;

  private final FunctionId function;
  /** The placeholder the queue started with, or last put in place of a consumed invocation. */
  private volatile Invocation placeholder;

  InvocationQueue(FunctionId function) {
    this.function = function;
    Invocation empty = new Invocation(null, 0, 0, function, null);
    placeholder = empty;
    head = empty;
    tail = empty;
  }

  /** Appends {@code inv}, which must never have been queued before. */
  void offer(Invocation inv) {
    Invocation previous = (Invocation) TAIL.getAndSet(this, inv);
    // Between the exchange and this store, consumers see the queue as not empty but cannot yet
    // reach inv: poll then waits for the link (a few instructions), it never loses an invocation.
    previous.linkNext(inv);
  }

  /** Removes and returns the oldest invocation, or {@code null} if the queue is empty. */
  @SuppressWarnings("ThreadPriorityCheck") // a producer descheduled mid-offer: let it run
  @Nullable Invocation poll() {
    for (int spins = 0; ; spins++) {
      Invocation h = (Invocation) HEAD.getAcquire(this);
      Invocation next = h.next();
      if (next == null) {
        if (TAIL.getAcquire(this) == h) {
          return null; // empty
        }
        // A producer swapped the tail but has not linked it yet (it is between two instructions,
        // unless its thread was descheduled there: then give up the carrier now and then).
        if ((spins & 63) == 63) {
          Thread.yield();
        } else {
          Thread.onSpinWait();
        }
        continue;
      }
      if (next == h) {
        continue; // h was consumed meanwhile (it links to itself): read the head again
      }
      if (HEAD.compareAndSet(this, h, next)) {
        h.unlink();
        return next;
      }
    }
  }

  /**
   * Returns the oldest invocation without removing it, or {@code null} if the queue is empty or its
   * oldest invocation is being linked right now (never waits for a producer).
   */
  @SuppressWarnings("ReferenceEquality") // nodes are their identity
  @Nullable Invocation peek() {
    for (;;) {
      Invocation h = (Invocation) HEAD.getAcquire(this);
      Invocation next = h.next();
      if (next != h) {
        return next;
      }
      // h was consumed meanwhile (it links to itself): read the head again
    }
  }

  /**
   * Removes {@code first} if it is still the oldest invocation, as {@link #poll()} would have;
   * false if a consumer took it (or anything) first.
   */
  @SuppressWarnings("ReferenceEquality") // nodes are their identity
  boolean removeFirst(Invocation first) {
    Invocation h = (Invocation) HEAD.getAcquire(this);
    if (h.next() != first || !HEAD.compareAndSet(this, h, first)) {
      return false;
    }
    h.unlink();
    return true;
  }

  /**
   * Takes out, oldest first, the invocations that have waited {@code timeoutNanos} or more at
   * {@code now} (runtime clock) and hands each to {@code expired}.
   *
   * @return how long until the oldest one left has waited that long, or {@code Long.MAX_VALUE} if
   *     none is left
   */
  long expire(long now, long timeoutNanos, Consumer<Invocation> expired) {
    for (;;) {
      Invocation first = peek();
      if (first == null) {
        return Long.MAX_VALUE;
      }
      long waited = now - first.enqueuedTick;
      if (waited < timeoutNanos) {
        return timeoutNanos - waited;
      }
      if (removeFirst(first)) {
        expired.accept(first);
      } // else a worker took it (or the one before it) meanwhile: look at the head again
    }
  }

  /**
   * If the queue is empty, puts a fresh placeholder in place of the consumed invocation it keeps as
   * its head, so that an idle function holds no call (nor its result). Called by a worker that runs
   * out of work; a producer or a poller racing with it only ever sees an empty queue or the new
   * placeholder.
   */
  @SuppressWarnings("ReferenceEquality") // nodes are their identity
  void forgetLast() {
    Invocation h = (Invocation) HEAD.getAcquire(this);
    if (h == placeholder || h.next() != null || TAIL.getAcquire(this) != h) {
      return; // nothing consumed to forget, or not empty
    }
    Invocation empty = new Invocation(null, 0, 0, function, null);
    // Producers only swap the tail: once it is the new placeholder, nothing links to h any more.
    if (TAIL.compareAndSet(this, h, empty)) {
      placeholder = empty;
      HEAD.setRelease(this, empty);
      h.unlink(); // a poller still looking at h reads the head again
    }
  }

  /** Whether no invocation is queued (one being offered right now counts as queued). */
  @SuppressWarnings("ReferenceEquality") // nodes are their identity
  boolean isEmpty() {
    return HEAD.getAcquire(this) == TAIL.getAcquire(this);
  }
}
