package dev.cumulus.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * Cumulus's own carrier threads, {@code cumulus-carrier-N}: a {@link ForkJoinPool} in FIFO mode (as
 * the JDK's virtual-thread scheduler) whose threads start on demand and end after a keep-alive
 * without work, so an idle runtime holds none.
 *
 * <p>Virtual threads are started with this pool as their scheduler through the JDK's internal
 * virtual-thread builder (the only way the JDK offers today, hence the {@code --add-opens} the
 * runtime needs for {@link dev.cumulus.MeteringMode#EXACT}). Every time such a virtual thread mounts,
 * it runs inside a {@link Segment} that reads the carrier's CPU and allocation clocks before and
 * after and charges the difference to the function the thread works for: two clock reads per
 * mounted segment, however many invocations the segment runs.
 *
 * <p>A busy carrier runs segments back to back (blocking work mounts and unmounts once or twice per
 * invocation), and reading a thread's CPU clock is a system call (about 0.7 µs on a virtual machine).
 * So a segment that starts within {@value #REUSE_NANOS} ns of the carrier's previous segment's end
 * starts from that end's CPU reading instead of reading again: one CPU read per segment instead of
 * two, and the few microseconds of scheduling between them are charged to the next segment rather
 * than to nobody.
 */
final class Carriers {
  private static final AtomicInteger THREAD_NUMBERS = new AtomicInteger();
  private static final @Nullable MethodHandle BUILDER = findBuilder();
  /** The longest gap between two segments on a carrier over which a CPU reading is reused. */
  static final long REUSE_NANOS = 20_000;

  private final ForkJoinPool pool;
  private final AtomicReferenceArray<@Nullable Carrier> byIndex;
  private final int parallelism;
  private final boolean metered;

  /**
   * @param metered whether segments read the CPU and allocation clocks (exact metering)
   */
  Carriers(int parallelism, long keepAliveNanos, boolean metered) {
    this.parallelism = parallelism;
    this.metered = metered;
    // Room for a carrier that is ending while its replacement starts.
    this.byIndex = new AtomicReferenceArray<>(slots(parallelism));
    this.pool = new ForkJoinPool(parallelism, this::newCarrier, Carriers::uncaught,
        /* asyncMode= */ true, /* corePoolSize= */ 0, /* maximumPoolSize= */ parallelism,
        /* minimumRunnable= */ 1, p -> true, Math.max(1, keepAliveNanos), TimeUnit.NANOSECONDS);
  }

  /** How many meter cells a function needs: one per carrier slot. */
  static int slots(int parallelism) {
    return parallelism * 2 + 2;
  }

  int slots() {
    return byIndex.length();
  }

  int parallelism() {
    return parallelism;
  }

  /** Why exact metering cannot work in this JVM, or {@code null} if it can. */
  static @Nullable String unavailableReason() {
    if (BUILDER == null) {
      return "the JDK's virtual-thread builder is not accessible; start the JVM with"
          + " --add-opens java.base/java.lang=ALL-UNNAMED (or =dev.cumulus.core on the module path)";
    }
    if (!CpuClock.CPU_SUPPORTED) {
      return "this JVM does not measure thread CPU time (ThreadMXBean)";
    }
    return null;
  }

  /** Whether virtual threads can be started on Cumulus carriers (metered or not). */
  static boolean canStartThreads() {
    return BUILDER != null;
  }

  /**
   * Creates an unstarted virtual thread that runs {@code body} on these carriers and charges every
   * mounted segment to {@code meter}, telling {@code observer} (if any) where each segment ended.
   */
  Thread newThread(String name, FunctionMeter meter, @Nullable SegmentObserver observer, Runnable body) {
    MethodHandle virtualThreadBuilder = BUILDER;
    if (virtualThreadBuilder == null) {
      throw new IllegalStateException("cannot start a virtual thread on Cumulus carriers: " + unavailableReason());
    }
    Scheduler scheduler = new Scheduler(pool, metered ? meter : null, observer);
    try {
      Thread.Builder.OfVirtual builder =
          (Thread.Builder.OfVirtual) virtualThreadBuilder.invokeExact((Executor) scheduler);
      return builder.name(name).unstarted(body);
    } catch (Throwable e) {
      throw new IllegalStateException("cannot start a virtual thread on Cumulus carriers", e);
    }
  }

  /** The carrier in {@code slot}, or {@code null} if none is alive there. */
  @Nullable Carrier carrier(int slot) {
    return byIndex.get(slot);
  }

  /** Threads alive now. */
  int liveThreads() {
    int n = 0;
    for (int i = 0; i < byIndex.length(); i++) {
      if (byIndex.get(i) != null) {
        n++;
      }
    }
    return n;
  }

  /** CPU time used so far by the live carriers. */
  long cpuNanos() {
    long sum = 0;
    for (int i = 0; i < byIndex.length(); i++) {
      Carrier c = byIndex.get(i);
      if (c != null) {
        sum += Math.max(0, CpuClock.threadCpu(c.threadId()));
      }
    }
    return sum;
  }


  private @Nullable Carrier newCarrier(ForkJoinPool p) {
    for (int i = 0; i < byIndex.length(); i++) {
      if (byIndex.get(i) == null) {
        Carrier c = new Carrier(p, this, i, "cumulus-carrier-" + THREAD_NUMBERS.incrementAndGet());
        if (byIndex.compareAndSet(i, null, c)) {
          return c;
        }
      }
    }
    // Every slot is held by a carrier that is still ending; the pool retries later.
    return null;
  }

  void released(Carrier c) {
    byIndex.compareAndSet(c.index, c, null);
  }

  private static void uncaught(Thread t, Throwable e) {
    System.getLogger("dev.cumulus").log(System.Logger.Level.ERROR,
        "uncaught exception on Cumulus carrier " + t.getName(), e);
  }

  private static @Nullable MethodHandle findBuilder() {
    try {
      Class<?> type = Class.forName("java.lang.ThreadBuilders$VirtualThreadBuilder");
      var constructor = type.getDeclaredConstructor(Executor.class);
      constructor.setAccessible(true);
      MethodHandle handle = MethodHandles.lookup().unreflectConstructor(constructor);
      return handle.asType(MethodType.methodType(Thread.Builder.OfVirtual.class, Executor.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      // InaccessibleObjectException without --add-opens; NoSuchMethod on a JDK that removed it.
      return null;
    }
  }

  /**
   * Receives, on the carrier, where each mounted segment of a virtual thread starts and ends. These
   * calls run on a carrier: they must never block (no lock a virtual thread could hold while it is
   * unmounted), or a carrier could wait for a thread that needs that carrier.
   */
  interface SegmentObserver {
    /**
     * Called on the carrier after a segment; the virtual thread may already run elsewhere.
     *
     * @param token what {@link #segmentStarted} returned for this segment
     * @param startNanos {@link System#nanoTime()} at mount
     * @param endNanos {@link System#nanoTime()} at unmount
     * @param cpuNanos CPU time the segment used (0 when not metered)
     */
    void segmentEnded(long token, long startNanos, long endNanos, long cpuNanos);

    /**
     * Called on the carrier just before the segment runs, with its clocks at mount.
     *
     * @return a token handed back to {@link #segmentEnded} for this segment
     */
    long segmentStarted(Carrier carrier, long startNanos, long cpuNanos);

    /**
     * Whether the thread is yielding its carrier on purpose (and clears that): then its next
     * segment is queued behind the work submitted from outside, instead of on the carrier's own
     * queue where it would run again at once.
     */
    boolean consumeYield();
  }

  /** The scheduler of one virtual thread: wraps each of its continuation runs in a segment. */
  private static final class Scheduler implements Executor {
    private final ForkJoinPool pool;
    private final @Nullable FunctionMeter meter;
    private final @Nullable SegmentObserver observer;

    Scheduler(ForkJoinPool pool, @Nullable FunctionMeter meter, @Nullable SegmentObserver observer) {
      this.pool = pool;
      this.meter = meter;
      this.observer = observer;
    }

    @Override
    public void execute(Runnable continuation) {
      Segment segment = new Segment(continuation, this);
      if (observer != null && observer.consumeYield()) {
        pool.externalSubmit(segment);
      } else {
        pool.execute(segment);
      }
    }
  }

  /** One mounted run of a virtual thread, metered on the carrier that runs it. */
  @SuppressWarnings("serial")
  private static final class Segment extends ForkJoinTask<Void> {
    private final Runnable continuation;
    private final Scheduler scheduler; // its meter (null: not metered) and observer

    Segment(Runnable continuation, Scheduler scheduler) {
      this.continuation = continuation;
      this.scheduler = scheduler;
    }

    @Override
    protected boolean exec() {
      Carrier carrier = (Carrier) Thread.currentThread();
      FunctionMeter m = scheduler.meter;
      SegmentObserver observer = scheduler.observer;
      long cpu0 = 0;
      long allocated0 = 0;
      long t0 = System.nanoTime();
      if (m != null) {
        cpu0 = carrier.lastSegmentCpu > 0 && t0 - carrier.lastSegmentEnd < REUSE_NANOS
            ? carrier.lastSegmentCpu : CpuClock.currentThreadCpu();
        allocated0 = CpuClock.currentThreadAllocated();
        carrier.mount(m, observer, cpu0, allocated0);
      }
      long token = observer == null ? 0 : observer.segmentStarted(carrier, t0, cpu0);
      try {
        continuation.run();
      } finally {
        long cpu = 0;
        long t1 = System.nanoTime();
        if (m != null) {
          long cpu1 = CpuClock.currentThreadCpu();
          cpu = cpu1 - cpu0;
          carrier.lastSegmentCpu = cpu1;
          carrier.lastSegmentEnd = t1;
          carrier.unmount(m, cpu, CpuClock.currentThreadAllocated() - allocated0);
        }
        if (observer != null) {
          observer.segmentEnded(token, t0, t1, cpu);
        }
      }
      return true;
    }

    @Override
    public @Nullable Void getRawResult() {
      return null;
    }

    @Override
    protected void setRawResult(@Nullable Void value) {}
  }
}
