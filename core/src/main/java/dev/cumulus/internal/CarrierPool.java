package dev.cumulus.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RejectedExecutionException;
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
 * runtime needs). Every time such a thread mounts, it runs inside a {@link Segment} that tells the
 * carrier's {@link Meter.Lane} which function it works for and when it started and ended, and tells
 * the thread's {@link SegmentObserver} (its worker) where it runs.
 */
final class CarrierPool {
  private static final AtomicInteger THREAD_NUMBERS = new AtomicInteger();
  private static final @Nullable MethodHandle BUILDER = findBuilder();
  private static final @Nullable MethodHandle CURRENT_CARRIER = findCurrentCarrier();

  private final ForkJoinPool pool;
  private final AtomicReferenceArray<@Nullable Carrier> byIndex;
  private final Meter meter;
  private final int parallelism;
  /** Carrier threads created and not seen ended yet (those ended are dropped as new ones come). */
  private final Set<Thread> threads = ConcurrentHashMap.newKeySet();

  /**
   * @param meter the meter whose lanes the carriers write; it has {@link #slots} lanes
   */
  CarrierPool(int parallelism, long keepAliveNanos, Meter meter) {
    this.parallelism = parallelism;
    this.meter = meter;
    this.byIndex = new AtomicReferenceArray<>(slots(parallelism));
    this.pool = new ForkJoinPool(parallelism, this::newCarrier, CarrierPool::uncaught,
        /* asyncMode= */ true, /* corePoolSize= */ 0, /* maximumPoolSize= */ parallelism,
        /* minimumRunnable= */ 1, p -> true, Math.max(1, keepAliveNanos), TimeUnit.NANOSECONDS);
  }

  /** Slots for carriers: room for carriers that are ending while their replacements start. */
  static int slots(int parallelism) {
    return parallelism * 2 + 2;
  }

  int parallelism() {
    return parallelism;
  }

  /** Why threads cannot be started on Cumulus carriers in this JVM, or {@code null} if they can. */
  static @Nullable String unavailableReason() {
    if (BUILDER == null || CURRENT_CARRIER == null) {
      return "the JDK's virtual-thread builder is not accessible; start the JVM with"
          + " --add-opens java.base/java.lang=ALL-UNNAMED (or =dev.cumulus.core on the module path)";
    }
    return null;
  }

  /**
   * What the current thread's carrier runs it for (its worker), if the current thread is a virtual
   * thread mounted on a Cumulus carrier; {@code null} otherwise.
   */
  static @Nullable Object currentOwner() {
    MethodHandle current = CURRENT_CARRIER;
    if (current == null || !Thread.currentThread().isVirtual()) {
      return null;
    }
    try {
      return (Thread) current.invokeExact() instanceof Carrier c ? c.lane.owner() : null;
    } catch (Throwable e) {
      return null;
    }
  }

  /**
   * Whether the current thread is a virtual thread mounted on one of this pool's carriers: a worker,
   * a thread a function's code started, or another of the runtime's own.
   */
  boolean runsCurrentThread() {
    MethodHandle current = CURRENT_CARRIER;
    if (current == null || !Thread.currentThread().isVirtual()) {
      return false;
    }
    try {
      return (Thread) current.invokeExact() instanceof Carrier c && c.owner == this;
    } catch (Throwable e) {
      return false;
    }
  }

  /**
   * Creates an unstarted virtual thread that runs {@code body} on these carriers; {@code scheduler}
   * is {@link #scheduler(Meter.Account)}'s, or a worker that calls {@link #schedule} itself.
   */
  Thread newThread(String name, Executor scheduler, Runnable body) {
    MethodHandle virtualThreadBuilder = BUILDER;
    if (virtualThreadBuilder == null) {
      throw new IllegalStateException("cannot start a virtual thread on Cumulus carriers: " + unavailableReason());
    }
    try {
      Thread.Builder.OfVirtual builder = (Thread.Builder.OfVirtual) virtualThreadBuilder.invokeExact(scheduler);
      return builder.name(name).unstarted(body);
    } catch (Throwable e) {
      throw new IllegalStateException("cannot start a virtual thread on Cumulus carriers", e);
    }
  }

  /** The scheduler of a virtual thread that runs for {@code account} with no observer. */
  Executor scheduler(Meter.Account account) {
    return continuation -> schedule(continuation, account, null);
  }

  /** Runs one mounted segment of a virtual thread on these carriers. */
  void schedule(Runnable continuation, Meter.Account account, @Nullable SegmentObserver observer) {
    Segment segment = new Segment(continuation, account, observer, meter.clocks);
    try {
      if (observer != null && observer.consumeYield()) {
        ForkJoinTask<Void> unused = pool.externalSubmit(segment);
      } else {
        pool.execute(segment);
      }
    } catch (RejectedExecutionException shutDown) {
      // The runtime closed while this thread still had work to finish (its code ignored the
      // interrupt): it finishes on a platform thread of its own, unmetered.
      Thread unused = Thread.ofPlatform().daemon().name("cumulus-straggler").start(continuation);
    }
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

  /** Accepts no more work: carriers end as soon as what they run is done. */
  void shutdown() {
    pool.shutdown();
  }

  /**
   * After {@link #shutdown()}: waits until every carrier thread has ended (not merely left the
   * pool), for at most {@code nanos}. Never call it from a carrier.
   *
   * @return whether they all ended in time
   */
  boolean awaitEnded(long nanos) {
    long deadline = System.nanoTime() + nanos;
    try {
      if (!pool.awaitTermination(nanos, TimeUnit.NANOSECONDS)) {
        return false;
      }
      for (Thread t : threads) {
        long left = deadline - System.nanoTime();
        if (left <= 0 ? t.isAlive() : !t.join(Duration.ofNanos(left))) {
          return false;
        }
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private @Nullable Carrier newCarrier(ForkJoinPool p) {
    for (int i = 0; i < byIndex.length(); i++) {
      if (byIndex.get(i) == null) {
        Carrier c = new Carrier(p, this, meter.lane(i), "cumulus-carrier-" + THREAD_NUMBERS.incrementAndGet());
        if (byIndex.compareAndSet(i, null, c)) {
          threads.removeIf(t -> t.getState() == Thread.State.TERMINATED);
          threads.add(c);
          return c;
        }
      }
    }
    return null; // every slot is held by a carrier that is still ending; the pool retries later
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
      return MethodHandles.lookup().unreflectConstructor(constructor)
          .asType(MethodType.methodType(Thread.Builder.OfVirtual.class, Executor.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      // InaccessibleObjectException without --add-opens; NoSuchMethod on a JDK that removed it.
      return null;
    }
  }

  private static @Nullable MethodHandle findCurrentCarrier() {
    try {
      return MethodHandles.privateLookupIn(Thread.class, MethodHandles.lookup())
          .findStatic(Thread.class, "currentCarrierThread", MethodType.methodType(Thread.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
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
     * Called on the carrier just before the segment runs.
     *
     * @param lane the carrier's lane
     * @param startNanos {@link System#nanoTime()} at mount
     * @return a token handed back to {@link #segmentEnded} for this segment
     */
    long segmentStarted(int lane, long startNanos);

    /**
     * Called on the carrier after a segment; the virtual thread may already run elsewhere.
     *
     * @param token what {@link #segmentStarted} returned for this segment
     * @param pieceStart where the segment's last metered part started
     * @param endNanos {@link System#nanoTime()} at unmount (0 when not metered)
     * @param cpuNanos CPU time of that part (0 when not metered)
     */
    void segmentEnded(long token, long pieceStart, long endNanos, long cpuNanos);

    /**
     * Whether the thread is yielding its carrier on purpose (and clears that): then its next
     * segment is queued behind the work submitted from outside, instead of on the carrier's own
     * queue where it would run again at once.
     */
    boolean consumeYield();
  }

  /** A carrier thread: it opens its lane when it starts and closes it when it ends. */
  private static final class Carrier extends ForkJoinWorkerThread {
    final Meter.Lane lane;
    private final CarrierPool owner;

    Carrier(ForkJoinPool pool, CarrierPool owner, Meter.Lane lane, String name) {
      super(null, pool, true);
      this.owner = owner;
      this.lane = lane;
      setName(name);
      setDaemon(true);
    }

    @Override
    protected void onStart() {
      super.onStart();
      lane.open(threadId(), owner.meter.clocks);
    }

    @Override
    protected void onTermination(@Nullable Throwable exception) {
      try {
        lane.close(owner.meter.clocks);
      } finally {
        owner.byIndex.compareAndSet(lane.index, this, null);
      }
    }
  }

  /** One mounted run of a virtual thread, metered on the carrier that runs it. */
  @SuppressWarnings("serial")
  private static final class Segment extends ForkJoinTask<Void> {
    private final Runnable continuation;
    private final Meter.Account account;
    private final @Nullable SegmentObserver observer;
    private final boolean clocks;

    Segment(Runnable continuation, Meter.Account account, @Nullable SegmentObserver observer, boolean clocks) {
      this.continuation = continuation;
      this.account = account;
      this.observer = observer;
      this.clocks = clocks;
    }

    @Override
    protected boolean exec() {
      Meter.Lane lane = ((Carrier) Thread.currentThread()).lane;
      SegmentObserver o = observer;
      long t0 = System.nanoTime();
      lane.mount(account, o, t0, clocks);
      long token = o == null ? 0 : o.segmentStarted(lane.index, t0);
      try {
        continuation.run();
      } finally {
        long pieceStart = lane.pieceStart();
        long t1 = clocks ? System.nanoTime() : 0;
        long cpu = lane.unmount(t1, clocks);
        if (o != null) {
          o.segmentEnded(token, pieceStart, t1, cpu);
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
