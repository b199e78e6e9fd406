package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * One accepted call of a function: its input, when it was queued, the call it was made from (a
 * synchronous call from inside a function), and the future its caller holds. Its state decides, once,
 * who ends it: its worker (the code returned) or the runtime (timeout, CPU budget, close).
 *
 * <p>It is also its function's queue node ({@link InvocationQueue}): a consumed node links to itself,
 * so a caller that keeps this future keeps no later invocation reachable.
 *
 * <p>A function's code that waits for such a future ({@link #join()}, {@link #get()}) is a call of
 * its chain as a synchronous call is: if the invocation has not started and every slot it could
 * start in is held by that chain, the wait could never end, so the invocation is withdrawn and
 * fails at once ({@link Admission#refuseWait}); else the waiting invocation becomes this one's
 * caller while it waits, so that calls made from inside this one see the whole chain.
 */
final class Invocation extends CompletableFuture<@Nullable Object> {
  static final int QUEUED = 0;
  static final int RUNNING = 1;
  static final int DONE = 2;
  /** Ended by the runtime while it ran; its worker may not absorb the interrupt yet. */
  static final int ABANDONED = 3;
  /** Ended by the runtime, which has delivered its interrupt. */
  static final int ENDED = 4;
  static final int CANCELLED = 5;
  /** Taken back before any worker started it, by the runtime (close, no worker): settled there. */
  static final int WITHDRAWN = 6;

  /** How long a waiter spins on a running invocation before it parks: about a microsecond. */
  private static final int WAIT_SPINS = 32;
  private static final VarHandle STATE;
  private static final VarHandle NEXT;
  private static final VarHandle WAITER;
  private static final VarHandle CALLER;
  /** Longest chain followed through callers: links set by waits could, in a race, make a loop. */
  static final int CHAIN_LIMIT = 1 << 16;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      STATE = lookup.findVarHandle(Invocation.class, "state", int.class);
      NEXT = lookup.findVarHandle(Invocation.class, "next", Invocation.class);
      WAITER = lookup.findVarHandle(Invocation.class, "waiter", Thread.class);
      CALLER = lookup.findVarHandle(Invocation.class, "caller", Invocation.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final @Nullable Object input;
  final long enqueuedNanos;
  /** The runtime clock when it was queued (its queue timeout counts from here). */
  final long enqueuedTick;
  /** The function called, to follow a call chain. */
  final FunctionId function;
  /**
   * The running invocation that made this call and waits for it, or null; or, set while it waits
   * ({@link #join()}, {@link #get()}), one that waits for this invocation made asynchronously.
   */
  @SuppressWarnings("unused") // CALLER; written plainly once in the constructor
  private @Nullable Invocation caller;
  /** The tenant the call was made for, or null. */
  final @Nullable CallTenant tenant;
  /**
   * What its code reported and, for a metered call, its receipt's figures; null unless the call is
   * metered or its code asked for its context (made then, on its worker: see {@link #tally()}).
   */
  @Nullable Tally tally;

  @SuppressWarnings("unused") // STATE
  private volatile int state;
  @SuppressWarnings("unused") // NEXT
  private volatile @Nullable Invocation next;
  /** A caller parked in get or join until this completes. */
  @SuppressWarnings("unused") // WAITER
  private volatile @Nullable Thread waiter;

  Invocation(@Nullable Object input, long enqueuedNanos, long enqueuedTick, FunctionId function,
      @Nullable Invocation caller) {
    this(input, enqueuedNanos, enqueuedTick, function, caller, null);
  }

  Invocation(@Nullable Object input, long enqueuedNanos, long enqueuedTick, FunctionId function,
      @Nullable Invocation caller, @Nullable CallTenant tenant) {
    this.input = input;
    this.enqueuedNanos = enqueuedNanos;
    this.enqueuedTick = enqueuedTick;
    this.function = function;
    this.caller = caller;
    this.tenant = tenant;
  }

  /** The invocation that waits for this one, of the same call chain, or null. */
  @Nullable Invocation caller() {
    return (Invocation) CALLER.getAcquire(this);
  }

  /** A metered call: its worker completes it with a {@link dev.cumulus.Receipt} of the result. */
  static Invocation metered(@Nullable Object input, long enqueuedNanos, long enqueuedTick, FunctionId function,
      @Nullable Invocation caller, @Nullable CallTenant tenant) {
    Invocation inv = new Invocation(input, enqueuedNanos, enqueuedTick, function, caller, tenant);
    inv.tally = new Tally(function.name, true);
    return inv;
  }

  /** Its tally, made now if it has none; on its worker only (the thread that runs its code). */
  Tally tally() {
    Tally t = tally;
    if (t == null) {
      t = new Tally(function.name, false);
      tally = t;
    }
    return t;
  }

  /** A worker starts it; false if its caller cancelled or settled it, or the runtime took it back. */
  boolean start() {
    if (isDone()) {
      STATE.compareAndSet(this, QUEUED, CANCELLED); // settled by its caller: it never runs
      return false;
    }
    return STATE.compareAndSet(this, QUEUED, RUNNING);
  }

  /**
   * Cancelling before the invocation starts removes it: it never runs. Once it runs, cancelling
   * only completes this future (the usual {@code CompletableFuture} semantics).
   */
  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    STATE.compareAndSet(this, QUEUED, CANCELLED);
    boolean cancelled = super.cancel(mayInterruptIfRunning);
    wake();
    return cancelled;
  }

  @Override
  public boolean complete(@Nullable Object value) {
    boolean completed = super.complete(value);
    wake();
    return completed;
  }

  @Override
  public boolean completeExceptionally(Throwable failure) {
    boolean completed = super.completeExceptionally(failure);
    wake();
    return completed;
  }

  /**
   * Whether stages wait for this future: {@code get} and {@code join} park without adding one (see
   * below), so these are stages a caller attached, which run on the thread that completes it.
   */
  boolean hasDependents() {
    return getNumberOfDependents() != 0;
  }

  /**
   * Waits as {@link CompletableFuture#get()} does, but parks on this invocation instead of adding a
   * waiting node to the future: the worker that completes it then knows that no caller stage runs on
   * its thread, only a wake-up. A second concurrent waiter uses the future's own way.
   */
  @Override
  public @Nullable Object get() throws InterruptedException, java.util.concurrent.ExecutionException {
    Invocation linked = beforeWait();
    try {
      park();
    } finally {
      afterWait(linked);
    }
    return super.get();
  }

  private void park() throws InterruptedException {
    spinWhileRunning();
    if (!isDone() && WAITER.compareAndSet(this, null, Thread.currentThread())) {
      try {
        while (!isDone()) {
          LockSupport.park(this);
          if (Thread.interrupted()) {
            throw new InterruptedException();
          }
        }
      } finally {
        waiter = null;
      }
    }
  }

  /**
   * Before a wait without a time limit: if the waiting thread runs an invocation of this runtime,
   * withdraws and fails this one when the wait could never end, or links the waiting invocation as
   * this one's caller (returned, to unlink after the wait).
   */
  @SuppressWarnings("ReferenceEquality") // invocations are their identity
  private @Nullable Invocation beforeWait() {
    if (isDone()) {
      return null;
    }
    Invocation waiting = Worker.runningHere((Platform) function.runtime);
    Admission door = function.admission;
    if (waiting == null || waiting == this || door == null) {
      return null;
    }
    if (door.refuseWait(this, waiting)) {
      return null; // failed at once: the wait ends now
    }
    int steps = 0;
    for (Invocation c = waiting; c != null && steps < CHAIN_LIMIT; c = c.caller(), steps++) {
      if (c == this) {
        return null; // this one is in the waiting chain already: a link would make a loop
      }
    }
    return CALLER.compareAndSet(this, null, waiting) ? waiting : null;
  }

  private void afterWait(@Nullable Invocation linked) {
    if (linked != null) {
      CALLER.compareAndSet(this, linked, null); // it waits no more
    }
  }

  @Override
  public @Nullable Object get(long timeout, java.util.concurrent.TimeUnit unit)
      throws InterruptedException, java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
    long deadline = System.nanoTime() + unit.toNanos(timeout);
    if (!isDone() && WAITER.compareAndSet(this, null, Thread.currentThread())) {
      try {
        for (long left; !isDone() && (left = deadline - System.nanoTime()) > 0; ) {
          LockSupport.parkNanos(this, left);
          if (Thread.interrupted()) {
            throw new InterruptedException();
          }
        }
      } finally {
        waiter = null;
      }
    }
    return super.get(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /**
   * A caller that waits for an invocation already running spins a moment first: a short call ends
   * sooner than a park and an unpark take (microseconds each for a platform thread).
   */
  private void spinWhileRunning() {
    for (int i = 0; i < WAIT_SPINS && !isDone() && (int) STATE.getOpaque(this) == RUNNING; i++) {
      Thread.onSpinWait();
    }
  }

  /** Waits as {@link CompletableFuture#join()} does (not interruptible), parked on this invocation. */
  @Override
  public @Nullable Object join() {
    Invocation linked = beforeWait();
    try {
      spinWhileRunning();
      if (!isDone() && WAITER.compareAndSet(this, null, Thread.currentThread())) {
        boolean interrupted = false;
        try {
          while (!isDone()) {
            LockSupport.park(this);
            interrupted |= Thread.interrupted();
          }
        } finally {
          waiter = null;
          if (interrupted) {
            Thread.currentThread().interrupt();
          }
        }
      }
    } finally {
      afterWait(linked);
    }
    return super.join();
  }

  /**
   * Waits until this completes, for a synchronous caller: parks without adding a dependent, so the
   * worker that completes it runs nothing of the caller's. (Its chain was checked, and it is linked
   * as this one's caller, when the call was made.)
   *
   * @throws InterruptedException if the caller is interrupted while it waits (the call goes on)
   */
  void awaitDone() throws InterruptedException {
    if (!isDone()) {
      park();
    }
  }

  private void wake() {
    Thread t = waiter;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  /**
   * Takes a queued invocation back so that no worker starts it (the queue cannot remove from the
   * middle); a worker that polls it later skips it. False if a worker started it, or its caller
   * cancelled it, first.
   */
  boolean withdraw() {
    return STATE.compareAndSet(this, QUEUED, WITHDRAWN);
  }

  boolean isWithdrawn() {
    return (int) STATE.getAcquire(this) == WITHDRAWN;
  }

  boolean isRunning() {
    return (int) STATE.getAcquire(this) == RUNNING;
  }

  /** Whether it waits in its function's queue: not started, not settled. */
  boolean isQueued() {
    return (int) STATE.getAcquire(this) == QUEUED && !isDone();
  }

  /** The worker ends it; false if the runtime already did. */
  boolean finish() {
    return STATE.compareAndSet(this, RUNNING, DONE);
  }

  /** The runtime ends it while it runs; false if it already ended. */
  boolean abandon() {
    return STATE.compareAndSet(this, RUNNING, ABANDONED);
  }

  /** The runtime has delivered the interrupt of {@link #abandon}. */
  void ended() {
    STATE.setRelease(this, ENDED);
  }

  /** Whether the runtime has finished ending it (its interrupt, if any, was delivered). */
  boolean isEnded() {
    return (int) STATE.getAcquire(this) == ENDED;
  }

  // Queue links (InvocationQueue)

  @Nullable Invocation next() {
    return (Invocation) NEXT.getAcquire(this);
  }

  /** Links the invocation queued after this one: a release store, the only write of the link. */
  void linkNext(Invocation successor) {
    NEXT.setRelease(this, successor);
  }

  /** Marks this consumed node: it links to itself, holding nothing queued after it. */
  void unlink() {
    NEXT.setRelease(this, this);
  }
}
