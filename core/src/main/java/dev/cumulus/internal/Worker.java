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
 *
 * <p>On Cumulus carriers the worker also observes its own segments: when it unmounts in the middle
 * of an invocation (it blocked), its function may start another worker on the freed carrier.
 */
final class Worker implements Runnable, Carriers.SegmentObserver {
  private static final VarHandle CURRENT;
  private static final VarHandle SEGMENT;
  /** Above this much mounted time an invocation's CPU share is read from the carrier's clock. */
  private static final long EXACT_READ_NANOS = 100_000;
  /**
   * A worker that has held its carrier this long yields it between invocations, so that a function
   * draining a long queue of CPU work cannot starve others sharing the carriers.
   */
  private static final long SLICE_NANOS = 2_000_000;
  /** At most one sample per this long per worker: 20 000 a second. */
  private static final long SAMPLE_EVERY_NANOS = 50_000;
  /** {@link #segment} once the worker has ended: no segment may count it as blocked any more. */
  private static final long ENDED = -1;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      CURRENT = lookup.findVarHandle(Worker.class, "current", Invocation.class);
      SEGMENT = lookup.findVarHandle(Worker.class, "segment", long.class);
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
  /** Whether it holds a worker slot (of its function's limit and of the runtime's capacity). */
  boolean holdsSlot;

  @SuppressWarnings("unused") // CURRENT
  private volatile @Nullable Invocation current;
  /**
   * The generation of the segment mounted now (shifted left by two) and, in the low bits, whether
   * the worker is counted as blocked: {@code 01} blocked in an invocation, {@code 11} blocked while
   * completing an invocation's future (in a dependent stage: its invocation is over, so it counts as
   * free, but it cannot take work). A segment that ends late, after the thread already mounted
   * again elsewhere, carries an old generation and cannot mark the running worker as blocked.
   */
  @SuppressWarnings("unused") // SEGMENT
  private volatile long segment;
  /** While it runs an invocation's code (init included). */
  private boolean busy;
  /** While it completes an invocation's future, which runs the future's dependent stages. */
  private boolean completing;
  private @Nullable Object instance;
  /**
   * The next invocation to start at or after this time feeds the percentiles. Sampling by time caps
   * the cost at {@link #SAMPLE_EVERY_NANOS} per sample on a busy worker and records every call of a
   * quiet one; deciding at the start (not the end) keeps long calls from being favoured, as they
   * would be if the call that straddles a tick were the one taken.
   */
  private long nextSampleAt;
  private boolean sampled;
  private boolean yielding;
  /**
   * When the last invocation ended, and whether that is still "now": true only while this worker
   * goes straight on to the next queued invocation in the same segment, with no spinning, no
   * dependent stage of a caller run on its thread and no unmount in between. Then the next
   * invocation starts at that time instead of reading the clock again (one read per call saved).
   */
  private long lastEnd;
  boolean lastEndIsNow;

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
    } catch (Throwable e) {
      // Only the runtime's own bookkeeping can get here (the handler's failures are caught).
      d.workerFailed(this, e);
    } finally {
      long s = (long) SEGMENT.getAndSet(this, ENDED);
      if (s != ENDED && (s & 1) == 1) {
        d.unblocked((s & 2) != 0);
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
    long start = lastEndIsNow ? lastEnd : System.nanoTime();
    lastEndIsNow = false;
    if (inv.isDone() || !inv.start(start, d.tick(start))) {
      if (inv.isWithdrawn()) {
        tally.started--; // the runtime took it back and settled it: it was never this worker's
        return;
      }
      // Its caller cancelled (or completed) the future before it started: it never runs.
      tally.cancelled++;
      d.finishedOne();
      return;
    }
    busy = true;
    CURRENT.setRelease(this, inv);
    ranAny = true;
    sampled = start - nextSampleAt >= 0;
    if (sampled) {
      nextSampleAt = start + SAMPLE_EVERY_NANOS;
    }
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
    busy = false;
    boolean ours = inv.finish(); // false: the runtime already ended it (timeout, budget, close)
    try {
      try {
        record(inv, start, end);
      } catch (Throwable e) {
        d.bookkeepingFailed(e); // figures only; the invocation itself is settled below
      }
      if (ours) {
        // Counted before the future completes, so that its caller's next stats() includes it, and
        // free before it completes, so that the caller's next call finds this worker free.
        if (failure == null) {
          tally.successes++;
        } else {
          tally.failures++;
        }
        d.finishedOne();
        // Only this worker's bookkeeping runs before its next poll, unless the caller attached
        // stages (or waits): they run on this thread when the future completes.
        lastEndIsNow = inv.getNumberOfDependents() == 0;
        lastEnd = end;
        completing = true;
        if (failure == null) {
          inv.complete(result);
        } else {
          inv.completeExceptionally(failure instanceof FunctionFailedException f && d.name.equals(f.functionName())
              ? f : new FunctionFailedException(d.name, failure));
        }
      } else {
        // The runtime ended it and counted it; wait until it has delivered its interrupt, then
        // absorb that interrupt so it cannot hit the next invocation. The instance was interrupted
        // in the middle of its work: it is not trusted again.
        endLock.lock();
        try {
          CURRENT.setRelease(this, null);
          d.overdueReturned();
        } finally {
          endLock.unlock();
        }
        discardInstance();
        d.finishedOne();
      }
    } finally {
      completing = false;
      busy = false;
      Thread.interrupted();
    }
    if (d.parallelism > 0 && end - segmentStart > SLICE_NANOS) {
      yielding = true;
      Thread.yield();
    }
  }

  private void record(Invocation inv, long start, long end) {
    Deployment d = deployment;
    long wall = end - start;
    long cpu = d.exact ? cpuOf(inv, end) : 0;
    tally.wallNanos += wall;
    tally.billedMillis += Tally.billed(wall);
    if (d.exact) {
      tally.billedCpuMillis += Tally.billed(cpu);
    }
    long now = d.tick(end); // the clock the windows rotate on
    d.latency.record(end - inv.enqueuedNanos, now, sampled);
    d.recordLatency(end - inv.enqueuedNanos);
    if (d.exact) {
      d.cpuPerInvocation.record(cpu, now, sampled);
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
      long initNanos = System.nanoTime() - t0;
      tally.coldStarts++;
      tally.initNanos += initNanos;
      instance = created;
      d.lifecycle().coldStart(d, initNanos);
      return created;
    } catch (Throwable t) {
      tally.initNanos += System.nanoTime() - t0;
      d.instances.createFailed();
      throw new FunctionFailedException(d.name,
          "init of a new instance of function '" + d.name + "' failed: " + t, t);
    }
  }

  /** Gives the warm instance back to the pool before this worker may end (it can take it again). */
  void returnInstance() {
    Object i = instance;
    instance = null;
    if (i != null) {
      deployment.instances.release(i);
    }
  }

  private void discardInstance() {
    Object i = instance;
    instance = null;
    if (i != null) {
      deployment.instances.discard(i);
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
        return cpu + share(segmentCpu, portion, segmentWall);
      }
    }
    return cpu + Math.max(0, portion);
  }

  /**
   * The part of a segment's CPU that falls to an invocation mounted for {@code portion} of the
   * segment's {@code wall} time: a mounted virtual thread runs without pause, so CPU follows time.
   */
  private static long share(long segmentCpu, long portion, long wall) {
    return (long) (segmentCpu * Math.min(1.0, (double) portion / wall));
  }

  /** CPU used so far by {@code inv} if this worker runs it, for CPU budgets; -1 if not running. */
  long cpuSoFar(Invocation inv) {
    if (current() != inv || !inv.isRunning()) {
      return -1;
    }
    long cpu = inv.cpuOfEndedSegments();
    Carrier c = segmentCarrier;
    if (c != null) {
      long live = c.liveCpu(this); // -1 unless this very worker is mounted on c right now
      if (live > 0) {
        long now = System.nanoTime();
        long segmentWall = now - segmentStart;
        long portion = now - Math.max(inv.startNanos, segmentStart);
        cpu += segmentWall <= 0 ? live : share(live, portion, segmentWall);
      }
    }
    return cpu;
  }

  @Override
  public long segmentStarted(Carrier carrier, long startNanos, long cpuNanos) {
    lastEndIsNow = false;
    segmentCarrier = carrier;
    segmentStart = startNanos;
    segmentCpuAtStart = cpuNanos;
    for (;;) {
      long s = (long) SEGMENT.getVolatile(this);
      if (s == ENDED) {
        return ENDED;
      }
      long next = ((s >>> 2) + 1) << 2;
      if (SEGMENT.compareAndSet(this, s, next)) {
        if ((s & 1) == 1) {
          deployment.unblocked((s & 2) != 0);
        }
        return next;
      }
    }
  }

  @Override
  public void segmentEnded(long token, long startNanos, long endNanos, long cpuNanos) {
    Invocation inv = current();
    if (inv != null && inv.isRunning() && cpuNanos > 0 && endNanos > startNanos) {
      // The thread unmounted in the middle of an invocation: charge it its share of the segment.
      long portion = endNanos - Math.max(startNanos, inv.startNanos);
      if (portion > 0) {
        inv.addSegmentCpu(share(cpuNanos, portion, endNanos - startNanos));
      }
    }
    // It blocked in an invocation, or in a dependent stage of its future: its carrier is free for
    // another worker. Only if no later segment of this thread has started meanwhile.
    long kind = busy ? 1 : completing ? 3 : 0;
    if (kind != 0 && token != ENDED && SEGMENT.compareAndSet(this, token, token | kind)) {
      deployment.blocked(kind == 3);
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
