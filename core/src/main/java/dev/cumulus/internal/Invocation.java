package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * One accepted call of a function: its input, its timestamps and metered figures, and the future
 * its caller waits on. The state decides, exactly once, who ends a running invocation: its worker
 * (it returned) or the runtime (it timed out, ran over its CPU budget, or was abandoned by close).
 */
final class Invocation extends CompletableFuture<@Nullable Object> {
  static final int QUEUED = 0;
  static final int RUNNING = 1;
  static final int DONE = 2;
  static final int ABANDONED = 3;
  static final int CANCELLED = 4;
  /** Taken back before any worker started it, by the runtime (close, no worker): settled there. */
  static final int WITHDRAWN = 5;

  private static final VarHandle STATE;
  private static final VarHandle CPU;
  private static final VarHandle NEXT;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      STATE = lookup.findVarHandle(Invocation.class, "state", int.class);
      CPU = lookup.findVarHandle(Invocation.class, "cpuOfEndedSegments", long.class);
      NEXT = lookup.findVarHandle(Invocation.class, "next", Invocation.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final @Nullable Object input;
  final long enqueuedNanos;

  @SuppressWarnings("unused") // STATE
  private volatile int state;
  /** {@link System#nanoTime()} when it started. */
  long startNanos;
  /** The runtime clock when it started (equal to startNanos unless a test drives the clock). */
  long startTick;
  /** When the runtime next checks its CPU budget, on the runtime clock. */
  long nextBudgetCheck;
  @SuppressWarnings("unused") // CPU
  private volatile long cpuOfEndedSegments;
  /** The invocation queued after this one ({@link InvocationQueue}). */
  @SuppressWarnings("unused") // NEXT
  private volatile @Nullable Invocation next;

  Invocation(@Nullable Object input, long enqueuedNanos) {
    this.input = input;
    this.enqueuedNanos = enqueuedNanos;
  }

  /**
   * The worker starts it; false if its caller cancelled it first (then it never runs).
   */
  boolean start(long nanos, long tick) {
    startNanos = nanos;
    startTick = tick;
    return STATE.compareAndSet(this, QUEUED, RUNNING);
  }

  /**
   * Cancelling before the invocation starts removes it: it never runs. Once it runs, cancelling
   * only completes this future (the usual {@code CompletableFuture} semantics).
   */
  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    STATE.compareAndSet(this, QUEUED, CANCELLED);
    return super.cancel(mayInterruptIfRunning);
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

  /** The worker ends it; false if the runtime already did. */
  boolean finish() {
    return STATE.compareAndSet(this, RUNNING, DONE);
  }

  /** The runtime ends it while it runs; false if it already ended. */
  boolean abandon() {
    return STATE.compareAndSet(this, RUNNING, ABANDONED);
  }

  @Nullable Invocation next() {
    return (Invocation) NEXT.getAcquire(this);
  }

  void setNext(Invocation successor) {
    NEXT.setVolatile(this, successor);
  }

  /** Adds the CPU of a segment that ended while this invocation was running (carrier side). */
  void addSegmentCpu(long nanos) {
    CPU.getAndAdd(this, nanos);
  }

  long cpuOfEndedSegments() {
    return (long) CPU.getVolatile(this);
  }
}
