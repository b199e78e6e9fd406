package dev.cumulus.internal;

import dev.cumulus.FunctionFailedException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * A virtual thread that drains its function's queue: it takes the next invocation when it finishes
 * one, keeps its instance warm between them, and ends when the queue stays empty. Non-blocking work
 * is therefore drained by a few workers; blocking work gets one worker per concurrent invocation.
 */
final class Worker implements Runnable, Carriers.SegmentObserver {
  private static final VarHandle CURRENT;
  private static final VarHandle BLOCKED;
  /** Above this much mounted time an invocation's CPU share is read from the carrier's clock. */
  private static final long EXACT_READ_NANOS = 100_000;
  /**
   * A worker that has held its carrier this long yields it between invocations, so that a function
   * draining a long queue of CPU work cannot starve others sharing the carriers.
   */
  private static final long SLICE_NANOS = 2_000_000;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      CURRENT = lookup.findVarHandle(Worker.class, "current", Invocation.class);
      BLOCKED = lookup.findVarHandle(Worker.class, "blocked", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final Deployment deployment;
  final Tally tally = new Tally();
  /** Taken by the runtime to end a running invocation, and by the worker when that happened. */
  final ReentrantLock endLock = new ReentrantLock();
  @Nullable Thread thread;
  /** Whether it ran an invocation: only then may it hand its slot to a waiting function. */
  boolean ranAny;

  @SuppressWarnings("unused") // CURRENT
  private volatile @Nullable Invocation current;
  private @Nullable Object instance;
  private int samples;
  /** 1 while the thread is unmounted in the middle of an invocation (it blocked). */
  @SuppressWarnings("unused") // BLOCKED
  private volatile int blocked;
  private boolean yielding;

  // The segment now mounted; written by the carrier before the thread runs, read by the thread.
  private @Nullable Carrier segmentCarrier;
  private long segmentStart;
  private long segmentCpuAtStart;

  Worker(Deployment deployment) {
    this.deployment = deployment;
  }

  @Override
  public void run() {
    Deployment d = deployment;
    try {
      Invocation inv;
      while ((inv = d.next(this)) != null) {
        runOne(inv);
      }
    } finally {
      if (BLOCKED.compareAndSet(this, 1, 0)) {
        d.unblocked();
      }
      Object i = instance;
      instance = null;
      d.workerEnded(this, i);
    }
  }

  @Nullable Invocation current() {
    return (Invocation) CURRENT.getAcquire(this);
  }

  private void runOne(Invocation inv) {
    Deployment d = deployment;
    if (inv.isDone()) { // cancelled by its caller, or abandoned by close, before it started
      if (inv.isCancelled()) {
        tally.cancelled++;
      }
      d.finishedOne();
      return;
    }
    long start = System.nanoTime();
    inv.start(start, d.tick(start));
    CURRENT.setRelease(this, inv);
    ranAny = true;
    d.started(inv);
    tally.queueWaitNanos += Math.max(0, start - inv.enqueuedNanos);

    Object result = null;
    Throwable failure = null;
    try {
      Object target = instance;
      if (target == null) {
        target = coldStart();
      }
      result = d.handler.apply(target, inv.input);
    } catch (Throwable t) {
      failure = t;
    }
    long end = System.nanoTime();
    long wall = end - start;
    boolean ours = inv.finish(); // false: the runtime already ended it (timeout, budget, close)
    long cpu = d.exact ? cpuOf(inv, end) : 0;
    tally.wallNanos += wall;
    tally.billedMillis += Tally.billed(wall);
    if (d.exact) {
      tally.billedCpuMillis += Tally.billed(cpu);
    }
    if (end - d.nextSamplingCheck > 0) {
      d.adjustSampling(end);
    }
    int mask = d.sampleMask;
    int weight = (++samples & mask) == 0 ? mask + 1 : 0;
    d.latency.record(end - inv.enqueuedNanos, end, weight);
    if (d.exact) {
      d.cpuPerInvocation.record(cpu, end, weight);
    }
    if (ours) {
      // Counted before the future completes, so that its caller's next stats() includes it.
      if (failure == null) {
        tally.successes++;
        d.finishedOne();
        inv.complete(result);
      } else {
        tally.failures++;
        d.finishedOne();
        inv.completeExceptionally(failure instanceof FunctionFailedException f && d.name.equals(f.functionName())
            ? f : new FunctionFailedException(d.name, failure));
      }
    } else {
      // The runtime ended it and counted it; wait until it has delivered its interrupt, then
      // absorb that interrupt so it cannot hit the next invocation.
      endLock.lock();
      try {
        CURRENT.setRelease(this, null);
        d.overdueReturned();
      } finally {
        endLock.unlock();
      }
      d.finishedOne();
    }
    Thread.interrupted();
    if (d.parallelism > 0 && end - segmentStart > SLICE_NANOS) {
      yielding = true;
      Thread.yield();
    }
  }

  /** Ends {@code inv} on behalf of the runtime, interrupting the handler if it still runs it. */
  boolean end(Invocation inv, Runnable count) {
    endLock.lock();
    try {
      if (!inv.abandon()) {
        return false;
      }
      count.run();
      Thread t = thread;
      if (t != null && current() == inv) {
        t.interrupt();
      }
      return true;
    } finally {
      endLock.unlock();
    }
  }

  private Object coldStart() {
    Deployment d = deployment;
    Object warm = d.instances.acquire();
    if (warm != null) {
      instance = warm;
      return warm;
    }
    long t0 = System.nanoTime();
    try {
      Object created = d.init.get();
      if (created == null) {
        throw new NullPointerException("init of function '" + d.name + "' returned null");
      }
      tally.coldStarts++;
      tally.initNanos += System.nanoTime() - t0;
      instance = created;
      return created;
    } catch (Throwable t) {
      tally.initNanos += System.nanoTime() - t0;
      d.instances.createFailed();
      throw new FunctionFailedException(d.name,
          "init of a new instance of function '" + d.name + "' failed: " + t, t);
    }
  }

  /**
   * The invocation's CPU time: its share of the segments that ended while it ran (scaled by their
   * CPU/wall ratio on the carrier) plus its part of the segment running now. A short part is taken
   * at face value (a mounted virtual thread runs without pause); a long one is scaled by the
   * carrier's clock, read once.
   */
  private long cpuOf(Invocation inv, long end) {
    long portion = end - Math.max(inv.startNanos, segmentStart);
    long cpu = inv.cpuOfEndedSegments();
    Carrier c = segmentCarrier;
    if (portion > EXACT_READ_NANOS && c != null) {
      long segmentCpu = CpuClock.threadCpu(c.threadId()) - segmentCpuAtStart;
      long segmentWall = end - segmentStart;
      if (segmentCpu >= 0 && segmentWall > 0) {
        return cpu + (long) (segmentCpu * ((double) portion / segmentWall));
      }
    }
    return cpu + Math.max(0, portion);
  }

  /** CPU used so far by {@code inv} if this worker runs it, for CPU budgets; -1 if not running. */
  long cpuSoFar(Invocation inv) {
    if (current() != inv || !inv.isRunning()) {
      return -1;
    }
    long cpu = inv.cpuOfEndedSegments();
    Carrier c = segmentCarrier;
    if (c != null) {
      long live = c.liveCpu(deployment.meter);
      if (live > 0) {
        long now = System.nanoTime();
        long segmentWall = now - segmentStart;
        long portion = now - Math.max(inv.startNanos, segmentStart);
        cpu += segmentWall <= 0 ? live : (long) (live * Math.min(1.0, (double) portion / segmentWall));
      }
    }
    return cpu;
  }

  @Override
  public void segmentStarted(Carrier carrier, long startNanos, long cpuNanos) {
    segmentCarrier = carrier;
    segmentStart = startNanos;
    segmentCpuAtStart = cpuNanos;
    if (BLOCKED.compareAndSet(this, 1, 0)) {
      deployment.unblocked();
    }
  }

  @Override
  public void segmentEnded(long startNanos, long endNanos, long cpuNanos) {
    Invocation inv = current();
    if (inv == null || !inv.isRunning()) {
      return;
    }
    // The thread unmounted in the middle of an invocation: it blocked.
    if (cpuNanos > 0 && endNanos > startNanos) {
      long portion = endNanos - Math.max(startNanos, inv.startNanos);
      if (portion > 0) {
        inv.addSegmentCpu((long) (cpuNanos * ((double) portion / (endNanos - startNanos))));
      }
    }
    if (BLOCKED.compareAndSet(this, 0, 1)) {
      deployment.blocked();
    }
  }

  @Override
  public boolean consumeYield() {
    if (yielding) {
      yielding = false;
      return true;
    }
    return false;
  }
}
