package dev.cumulus.internal;

import dev.cumulus.CpuBudgetExceededException;
import dev.cumulus.CumulusException;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.FunctionTimeoutException;
import dev.cumulus.InvalidInputException;
import dev.cumulus.Percentiles;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.ThrottledException;
import dev.cumulus.UnknownFunctionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A registered function at run time: its admission (bounded FIFO queue in front of a concurrency
 * limit), its draining workers, its warm instances, its timeout watch and its counters.
 *
 * <p>Three counters drive everything: {@code accepted} (calls admitted), {@code started} (taken
 * from the queue by a worker) and {@code finished}. Queued = accepted - started; running =
 * started - finished; a worker is free when it is not running an invocation. A call starts a new
 * worker only if more invocations wait than there are free workers, and fewer workers than
 * carriers are runnable; a worker that blocks in the middle of an invocation frees its carrier and
 * lets another start ({@link #blocked()}). So non-blocking work is drained by a few long-lived
 * workers and blocking work grows one worker per waiting invocation, up to the limit.
 *
 * <p>Running invocations never outnumber workers, so "more wait than there are free workers" is
 * {@code accepted - finished > workers}: admission and worker starts need no {@code started}, which
 * is counted per worker (in its {@link Tally}) and summed for stats. On the hot path a call touches
 * {@code accepted} and the queue's tail; a worker the queue's head and {@code finished}.
 *
 * <p>What runs on a carrier ({@link #blocked()} and what it calls) takes no lock: a lock can be held
 * by a virtual thread that is unmounted, waiting for a carrier.
 */
public final class Deployment implements Fn<@Nullable Object, @Nullable Object> {
  /**
   * How long an idle worker spins for more work before it ends (a few microseconds at most), when
   * it may be the one to take the next call; with more workers than carriers (blocking work) the
   * others take it, and a worker that finds the queue empty ends at once.
   */
  private static final int LINGER_SPINS = 64;
  private static final long MIN_BUDGET_CHECK_NANOS = 1_000_000;

  final String name;
  final Supplier<?> init;
  final BiFunction<Object, Object, Object> handler;
  final InstancePool instances;
  final FunctionMeter meter;
  final Distribution latency;
  final Distribution cpuPerInvocation;
  final boolean exact;
  /** Carriers shared by the runtime's virtual threads; 0 on the JDK's default scheduler. */
  final int parallelism;
  /** Up to this many workers, a worker that runs out of work lingers ({@link #LINGER_SPINS}). */
  private final int lingerWorkers;

  private final Engine engine;
  private final FnSpec<@Nullable Object, @Nullable Object> spec;
  private final Class<?> inputType;
  /** Checks more of the input than its type (an Object[] of arguments); null for most functions. */
  private final @Nullable InputCheck inputCheck;
  private final int reserved; // 0 = shares the unreserved capacity
  private final int limit;
  private final int queueCapacity;
  private final long timeoutNanos;
  private final long budgetNanos;
  private final String threadName;

  private final InvocationQueue queue = new InvocationQueue();
  private final Counter accepted = new Counter();
  private final Counter finished = new Counter();
  /** A value {@code finished} had (a lower bound of it), kept by admission to skip reading it. */
  private final Counter finishedSeen = new Counter();
  /** Accepted invocations settled without a worker (given up, or no worker could start). */
  private final AtomicLong settledInQueue = new AtomicLong();
  private final AtomicInteger workers = new AtomicInteger();
  /** Workers unmounted in the middle of an invocation (sleeping, waiting for I/O or a lock). */
  private final AtomicInteger blocked = new AtomicInteger();
  /** Of those, the ones blocked in a dependent stage of a finished invocation's future. */
  private final AtomicInteger blockedCompleting = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();
  private final AtomicBoolean waitingForCapacity = new AtomicBoolean();

  private final LongAdder throttles = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final AtomicLong timeouts = new AtomicLong();
  private final AtomicLong otherFailures = new AtomicLong();
  private final AtomicInteger overdue = new AtomicInteger();
  private final AtomicLong provisionNanos = new AtomicLong();
  /** Accepted calls later abandoned by close: counted once, as rejected. */
  private final AtomicLong abandoned = new AtomicLong();

  /** Live workers; added to without a lock (carriers spawn), removed with their tally under it. */
  private final Set<Worker> live = ConcurrentHashMap.newKeySet();
  /** Guards {@link #totals} and removals from {@link #live}, so a stats reader counts a tally once. */
  private final ReentrantLock lock = new ReentrantLock();
  private final Tally totals = new Tally();

  /** Micrometer timers fed every latency, for percentile histograms asked of the metrics binder. */
  private volatile io.micrometer.core.instrument.Timer[] latencyTimers = NO_TIMERS;
  private static final io.micrometer.core.instrument.Timer[] NO_TIMERS = {};

  /** When the timeout watch next runs (0: none pending). One watch per function, only while busy. */
  private final AtomicLong watchDue = new AtomicLong();
  private volatile Clock.@Nullable Timer watchTimer;

  private volatile boolean draining;
  private volatile boolean retired;
  /** Set when close() gives up on this function: nothing accepted from then on may run. */
  private volatile boolean abandoning;
  private final CompletableFuture<Void> drained = new CompletableFuture<>();

  @SuppressWarnings("unchecked")
  Deployment(Engine engine, FnSpec<?, ?> spec, Supplier<?> init, BiFunction<Object, Object, Object> handler) {
    this.engine = engine;
    this.spec = (FnSpec<@Nullable Object, @Nullable Object>) spec;
    this.name = spec.name();
    this.init = init;
    this.handler = handler;
    this.inputType = spec.inputType();
    this.inputCheck = handler instanceof InputCheck check ? check : null;
    this.reserved = spec.maxConcurrency().orElse(0);
    this.limit = reserved > 0 ? reserved : Integer.MAX_VALUE;
    this.queueCapacity = spec.queueCapacity();
    this.timeoutNanos = spec.timeout().toNanos();
    this.budgetNanos = spec.cpuBudget().map(Duration::toNanos).orElse(0L);
    this.threadName = "cumulus-fn-" + name;
    this.exact = engine.exact();
    this.parallelism = engine.parallelism();
    this.lingerWorkers = parallelism > 0 ? parallelism : Runtime.getRuntime().availableProcessors();
    this.meter = new FunctionMeter(name, engine.meterSlots());
    io.micrometer.core.instrument.Clock mc = Distribution.micrometerClock(engine.clock());
    this.latency = new Distribution(mc);
    this.cpuPerInvocation = new Distribution(mc);
    this.instances = new InstancePool(engine.clock(), spec.keepAlive().toNanos(), spec.minInstances(),
        doomed -> engine.closeInstances(this, doomed), this);
  }

  int reserved() {
    return reserved;
  }

  /** The runtime's listener of lifecycle events ({@link LifecycleListener#NONE} when nobody listens). */
  LifecycleListener lifecycle() {
    return engine.lifecycle();
  }

  // Figures of the moment for events, read without a lock: calls crossing this instant may or may
  // not be in them. Running invocations never outnumber workers.

  int inFlightNow() {
    return (int) Math.max(0, Math.min(workers.get(), accepted.get() - finished.get()));
  }

  int queuedNow() {
    return (int) Math.max(0, accepted.get() - finished.get() - workers.get());
  }

  int warmNow() {
    return instances.live();
  }

  /** The concurrency this function may reach: its reservation, or what the others leave unreserved. */
  public int concurrencyLimit() {
    return reserved > 0 ? reserved : Math.max(0, engine.capacity().unreservedLimit());
  }

  // ---------------------------------------------------------------------------------------------
  // Fn

  @Override
  public String name() {
    return name;
  }

  @Override
  public FnSpec<@Nullable Object, @Nullable Object> spec() {
    return spec;
  }

  @Override
  public @Nullable Object invoke(@Nullable Object input) {
    return await(name, invokeAsync(input));
  }

  @Override
  public CompletableFuture<@Nullable Object> invokeAsync(@Nullable Object input) {
    InvalidInputException invalid = checkInput(input);
    if (invalid != null) {
      return CompletableFuture.failedFuture(invalid);
    }
    return submit(input);
  }

  /** Waits for an invocation on behalf of a synchronous caller and rethrows its failure as is. */
  static @Nullable Object await(String name, CompletableFuture<@Nullable Object> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new CumulusException(name, "invocation of '" + name + "' failed", e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CumulusException(name, "interrupted while waiting for function '" + name + "'", e);
    } catch (java.util.concurrent.CancellationException e) {
      throw new CumulusException(name, "the invocation of '" + name + "' was cancelled", e);
    }
  }

  @Nullable InvalidInputException checkInput(@Nullable Object input) {
    if (input == null) {
      return inputType == Void.class ? null : new InvalidInputException(name, inputType, null);
    }
    if (inputType != Object.class && !inputType.isInstance(input)) {
      return new InvalidInputException(name, inputType, input.getClass());
    }
    return inputCheck == null ? null : inputCheck.check(name, input);
  }

  // ---------------------------------------------------------------------------------------------
  // Admission

  CompletableFuture<@Nullable Object> submit(@Nullable Object input) {
    if (retired) {
      return CompletableFuture.failedFuture(new UnknownFunctionException(name, List.of()));
    }
    if (engine.isClosing()) {
      rejected.increment();
      return CompletableFuture.failedFuture(closedException());
    }
    Invocation inv = new Invocation(input, System.nanoTime());
    for (;;) {
      long a = accepted.get();
      // Fast path: a finished count seen earlier is a lower bound (it only grows), so if the calls
      // not finished fit in the queue with it, they fit. Only near the limit is it read again.
      if ((a + 1 - finishedSeen.get() > queueCapacity && !admits(a)) || noCapacityAtAll()) {
        throttles.increment();
        engine.lifecycle().throttled(this);
        return CompletableFuture.failedFuture(throttled(workers.get()));
      }
      if (accepted.compareAndSet(a, a + 1)) {
        break;
      }
    }
    queue.offer(inv);
    if (abandoning && inv.withdraw()) {
      // close() gave up on this function between our check and the offer: refuse, visibly.
      giveUp(inv, closedException());
      return inv;
    }
    try {
      startWorkerIfNeeded();
    } catch (Throwable e) {
      // No worker could be started (out of memory, say): fail this call rather than strand it.
      if (inv.withdraw()) {
        settledInQueue.incrementAndGet();
        otherFailures.incrementAndGet();
        finished.incrementAndGet();
        inv.completeExceptionally(new CumulusException(name,
            "could not start a worker for function '" + name + "': " + e, e));
      }
    }
    return inv;
  }

  /**
   * An unreserved function of a runtime whose whole capacity is reserved by others can never run:
   * its calls are throttled at once rather than queued without end.
   */
  private boolean noCapacityAtAll() {
    return reserved == 0 && engine.capacity().unreservedLimit() <= 0;
  }

  /** Whether call number {@code a + 1} fits: in the queue, or on a free or startable worker. */
  private boolean admits(long a) {
    long f = finished.get();
    finishedSeen.set(f);
    int w = workers.get();
    // waiting - free = (a + 1 - started) - (w - (started - f)): the started count cancels out.
    long startable = Math.max(0, Math.min(limit - w, engine.capacity().available(reserved == 0)));
    return a + 1 - f - w <= queueCapacity + startable;
  }

  private RuntimeClosedException closedException() {
    return new RuntimeClosedException(name,
        "the Cumulus runtime is closed; function '" + name + "' accepts no more calls");
  }

  private ThrottledException throttled(int running) {
    Capacity c = engine.capacity();
    String why;
    if (reserved > 0) {
      why = running + " running (maxConcurrency " + reserved + ")";
    } else if (c.unreservedLimit() <= 0) {
      why = "no unreserved concurrency is left: the runtime's maxConcurrency " + c.max()
          + " is all reserved by other functions";
    } else {
      why = running + " running and the runtime's unreserved concurrency (" + c.unreservedLimit()
          + " of maxConcurrency " + c.max() + ") in use";
    }
    return new ThrottledException(name, "function '" + name + "' is throttled: " + why + " and "
        + queueCapacity + " waiting (queueCapacity " + queueCapacity + ")");
  }

  /**
   * A new worker would help: more invocations wait than there are free workers to take them, and
   * fewer workers than carriers are runnable (the others are blocked). Workers on every carrier
   * already make a new one useless for now; when one of them blocks, {@link #blocked()} asks again.
   * On the JDK's default scheduler blocking cannot be seen, so only the first condition applies.
   */
  boolean needsWorker() {
    // Cheapest test first: the worker and blocked counts change rarely, finished with every call.
    // waiting > free is (a - s) > w - (s - f) - bc: the started count cancels out.
    int w = workers.get();
    if (parallelism > 0 && w - blocked.get() >= parallelism) {
      return false;
    }
    return accepted.get() - finished.get() > w - blockedCompleting.get();
  }

  /**
   * A worker blocked (carrier side): its carrier is free now, and another worker may start.
   *
   * @param completing it blocked in a dependent stage of a finished invocation's future (say, one
   *     that calls this function again): not running an invocation, yet not free to take one
   */
  void blocked(boolean completing) {
    if (completing) {
      blockedCompleting.incrementAndGet();
    }
    blocked.incrementAndGet();
    startWorkerIfNeeded();
  }

  void unblocked(boolean completing) {
    blocked.decrementAndGet();
    if (completing) {
      blockedCompleting.decrementAndGet();
    }
  }

  /**
   * Starts a worker if one is needed and a slot is free; queues for capacity if only the runtime's
   * capacity is missing.
   */
  void startWorkerIfNeeded() {
    if (!tryStartWorker() && workers.get() < limit) {
      // Blocked by the runtime-wide capacity, not by our own limit: wait for a slot.
      engine.capacity().await(this);
    }
  }

  /**
   * Starts a worker if one is needed and a slot is free.
   *
   * @return false if a worker is needed but no slot was free
   */
  boolean tryStartWorker() {
    if (!needsWorker()) {
      return true;
    }
    if (!addWorkerSlot()) {
      return false;
    }
    spawn();
    return true;
  }

  private boolean addWorkerSlot() {
    for (;;) {
      int w = workers.get();
      if (w >= limit) {
        return false;
      }
      if (workers.compareAndSet(w, w + 1)) {
        break;
      }
    }
    if (engine.capacity().tryAcquire(reserved == 0)) {
      return true;
    }
    workers.decrementAndGet();
    return false;
  }

  private void releaseWorkerSlot() {
    workers.decrementAndGet();
    engine.capacity().release(reserved == 0);
  }

  boolean markWaiting() {
    return waitingForCapacity.compareAndSet(false, true);
  }

  void clearWaiting() {
    waitingForCapacity.set(false);
  }

  boolean isWaiting() {
    return waitingForCapacity.get();
  }

  /** Starts a worker holding a slot. Lock-free: this may run on a carrier. */
  private void spawn() {
    Worker w = new Worker(this);
    w.holdsSlot = true;
    live.add(w);
    try {
      armWatch(engine.clock().nanoTime() + firstCheckNanos());
      Thread t = engine.newThread(threadName, meter, w, w);
      w.thread = t;
      t.start();
    } catch (Throwable e) {
      live.remove(w);
      w.holdsSlot = false;
      releaseWorkerSlot();
      engine.log(System.Logger.Level.ERROR, "cannot start a worker for function '" + name + "'", e);
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Worker side

  /** The next invocation for {@code w}, or null when it should end (its slot is then released). */
  @Nullable Invocation next(Worker w) {
    for (;;) {
      if (w.ranAny && reserved == 0 && engine.capacity().othersWait(this)) {
        // Another function waits for the shared capacity: hand our slot over, queue behind it.
        releaseSlot(w);
        if (!queue.isEmpty() && needsWorker()) {
          engine.capacity().await(this);
        }
        return null;
      }
      Invocation inv = queue.poll();
      if (inv == null) {
        w.lastEndIsNow = false;
        int spins = workers.get() > lingerWorkers ? 0 : LINGER_SPINS;
        for (int i = 0; inv == null && i < spins; i++) {
          Thread.onSpinWait();
          inv = queue.poll();
        }
      }
      if (inv != null) {
        if (inv.isWithdrawn()) {
          continue; // taken back by its caller's thread, which settled it
        }
        if (abandoning) {
          if (inv.withdraw() || !inv.isWithdrawn()) {
            giveUp(inv, closedException());
          }
          continue;
        }
        w.tally.started++;
        return inv;
      }
      // Instance first, then slot: a call that sees the slot free and starts a new worker must
      // find the instance warm (else sequential calls could create a second instance).
      w.returnInstance();
      releaseSlot(w);
      // An invocation queued after our last poll may have seen this worker as free: take it back.
      if (queue.isEmpty() || !needsWorker()) {
        return null;
      }
      if (!addWorkerSlot()) {
        if (workers.get() < limit) {
          engine.capacity().await(this);
        }
        return null;
      }
      w.holdsSlot = true;
    }
  }

  private void releaseSlot(Worker w) {
    if (w.holdsSlot) {
      w.holdsSlot = false;
      releaseWorkerSlot();
    }
  }

  /** Fails an accepted invocation that close() gave up on before it started. */
  private void giveUp(Invocation inv, RuntimeClosedException e) {
    settledInQueue.incrementAndGet();
    rejected.increment();
    abandoned.incrementAndGet();
    finished.incrementAndGet();
    inv.completeExceptionally(e);
  }

  void started(Invocation inv) {
    // Running invocations never outnumber the workers, nor the calls not finished: while the
    // workers are no more than the peak, nothing is read that other threads write.
    int p = peak.get();
    int w = workers.get();
    if (w <= p) {
      return;
    }
    int running = (int) Math.min(w, accepted.get() - finished.get());
    while (running > p && !peak.compareAndSet(p, running)) {
      p = peak.get();
    }
  }

  void finishedOne() {
    finished.incrementAndGet();
  }

  long tick(long nanos) {
    return engine.systemClock() ? nanos : engine.clock().nanoTime();
  }

  /** Feeds the percentile-histogram timers, if any was asked for (none: an empty loop). */
  void recordLatency(long nanos) {
    for (io.micrometer.core.instrument.Timer t : latencyTimers) {
      try {
        t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
      } catch (Throwable e) {
        removeLatencyTimer(t); // a registry that throws loses its histogram, never a call
        engine.log(System.Logger.Level.WARNING, "recording the latency of function '" + name
            + "' in a Micrometer timer failed; that timer is no longer fed", e);
      }
    }
  }

  /** Feeds {@code timer} every invocation's latency from now on. @param timer the timer */
  public void addLatencyTimer(io.micrometer.core.instrument.Timer timer) {
    lock.lock();
    try {
      io.micrometer.core.instrument.Timer[] ts = java.util.Arrays.copyOf(latencyTimers, latencyTimers.length + 1);
      ts[ts.length - 1] = timer;
      latencyTimers = ts;
    } finally {
      lock.unlock();
    }
  }

  /** Stops feeding {@code timer}. @param timer the timer */
  public void removeLatencyTimer(io.micrometer.core.instrument.Timer timer) {
    lock.lock();
    try {
      latencyTimers = java.util.Arrays.stream(latencyTimers).filter(t -> t != timer)
          .toArray(io.micrometer.core.instrument.Timer[]::new);
    } finally {
      lock.unlock();
    }
  }

  void overdueReturned() {
    overdue.decrementAndGet();
  }

  void bookkeepingFailed(Throwable e) {
    engine.log(System.Logger.Level.ERROR, "metering an invocation of function '" + name + "' failed", e);
  }

  /** The runtime's own bookkeeping failed on a worker: keep the function serving, say so loudly. */
  void workerFailed(Worker w, Throwable e) {
    releaseSlot(w);
    engine.log(System.Logger.Level.ERROR, "a worker of function '" + name + "' failed", e);
    startWorkerIfNeeded();
  }

  void workerEnded(Worker w, @Nullable Object instance) {
    releaseSlot(w);
    lock.lock();
    try {
      w.tally.addTo(totals);
      live.remove(w);
    } finally {
      lock.unlock();
    }
    if (instance != null) {
      instances.release(instance);
    }
    if (live.isEmpty()) {
      disarmWatch(); // nothing left to watch: no timer while idle
      if (!live.isEmpty()) {
        armWatch(engine.clock().nanoTime() + firstCheckNanos()); // a worker started meanwhile
      }
    }
    if (draining || retired) {
      checkDrained();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Timeouts and CPU budgets: one timer per function, pending only while it has workers.

  private long firstCheckNanos() {
    return budgetNanos > 0 ? Math.min(timeoutNanos, budgetNanos) : timeoutNanos;
  }

  /** Makes sure the watch runs at {@code due} or earlier. Lock-free. */
  private void armWatch(long due) {
    long d = due == 0 ? 1 : due;
    for (;;) {
      long current = watchDue.get();
      if (current != 0 && current - d <= 0) {
        return; // an earlier (or the same) watch is pending
      }
      if (watchDue.compareAndSet(current, d)) {
        Clock.Timer previous = watchTimer;
        watchTimer = engine.clock().schedule(() -> watch(d), d - engine.clock().nanoTime());
        if (previous != null && current != 0) {
          previous.cancel();
        }
        return;
      }
    }
  }

  private void disarmWatch() {
    long current = watchDue.get();
    if (current != 0 && watchDue.compareAndSet(current, 0)) {
      Clock.Timer t = watchTimer;
      if (t != null) {
        t.cancel();
      }
    }
  }

  private void watch(long due) {
    if (!watchDue.compareAndSet(due, 0)) {
      return; // replaced by an earlier watch, or disarmed
    }
    long now = engine.clock().nanoTime();
    long next = Long.MAX_VALUE;
    for (Worker w : live) {
      Invocation inv = w.current();
      if (inv == null || !inv.isRunning()) {
        continue;
      }
      long deadline = inv.startTick + timeoutNanos;
      if (now - deadline >= 0) {
        timeOut(w, inv);
        continue;
      }
      next = Math.min(next, deadline);
      if (budgetNanos > 0) {
        if (inv.nextBudgetCheck == 0) {
          inv.nextBudgetCheck = inv.startTick + budgetNanos;
        }
        if (now - inv.nextBudgetCheck >= 0) {
          long used = w.cpuSoFar(inv);
          if (used >= budgetNanos) {
            exceedBudget(w, inv, used);
            continue;
          }
          inv.nextBudgetCheck = now + Math.max(MIN_BUDGET_CHECK_NANOS, budgetNanos - Math.max(0, used));
        }
        next = Math.min(next, inv.nextBudgetCheck);
      }
    }
    if (!live.isEmpty()) {
      armWatch(next == Long.MAX_VALUE ? now + firstCheckNanos() : next);
    }
  }

  private void timeOut(Worker w, Invocation inv) {
    if (w.end(inv, () -> {
      timeouts.incrementAndGet();
      overdue.incrementAndGet();
      engine.lifecycle().timedOut(this); // before the interrupt: the figures still hold it
    })) {
      engine.runSystem(() -> {
        inv.completeExceptionally(new FunctionTimeoutException(name, spec.timeout()));
        if (draining || retired) {
          checkDrained();
        }
      });
    }
  }

  private void exceedBudget(Worker w, Invocation inv, long used) {
    if (w.end(inv, () -> {
      otherFailures.incrementAndGet();
      overdue.incrementAndGet();
    })) {
      Duration budget = Duration.ofNanos(budgetNanos);
      engine.runSystem(() -> {
        inv.completeExceptionally(new CpuBudgetExceededException(name, budget, Duration.ofNanos(used)));
        if (draining || retired) {
          checkDrained();
        }
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Provisioning, draining, retiring

  /** Creates {@code minInstances} warm instances; runs on a metered thread of this function. */
  void provision() {
    for (int i = 0; i < spec.minInstances(); i++) {
      long t0 = System.nanoTime();
      Object created;
      try {
        created = init.get();
      } finally {
        provisionNanos.addAndGet(System.nanoTime() - t0);
      }
      if (created == null) {
        throw new NullPointerException("init of function '" + name + "' returned null");
      }
      instances.addProvisioned(created);
    }
  }

  /** Whether it was unregistered and has finished what it accepted. @return true if so */
  public boolean isGone() {
    return retired && drained.isDone();
  }

  /** Stops taking calls and completes the returned future once every accepted call has ended. */
  CompletableFuture<Void> drain() {
    draining = true;
    checkDrained();
    return drained;
  }

  /** Unregisters: later calls fail as unknown; what was accepted finishes; then instances close. */
  CompletableFuture<Void> retire() {
    retired = true;
    checkDrained();
    return drained;
  }


  /**
   * Drained: every accepted call's future is settled. An overdue invocation (timed out, its code
   * still running) counts as settled: its caller has its answer, and no drain can stop it; its
   * instance is closed when its code returns.
   */
  private void checkDrained() {
    int stillRunning = overdue.get();
    if (live.size() <= stillRunning && accepted.get() - finished.get() <= stillRunning
        && drained.complete(null) && retired) {
      instances.close();
    }
  }

  /** Fails what is still queued or running (the drain deadline passed). */
  void abandonAll() {
    abandoning = true;
    RuntimeClosedException closed = new RuntimeClosedException(name,
        "the Cumulus runtime closed before this invocation of '" + name + "' could finish");
    Invocation inv;
    while ((inv = queue.poll()) != null) {
      if (inv.withdraw() || !inv.isWithdrawn()) { // withdrawn ones were settled by their caller's thread
        giveUp(inv, closed);
      }
    }
    for (Worker w : live) {
      Invocation running = w.current();
      if (running != null && w.end(running, () -> {
        rejected.increment();
        abandoned.incrementAndGet();
        overdue.incrementAndGet();
      })) {
        running.completeExceptionally(closed);
      }
    }
    checkDrained();
  }

  boolean runsOn(Thread thread) {
    for (Worker w : live) {
      if (w.thread == thread) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Stats

  @Override
  public FunctionStats stats() {
    Tally sum = new Tally();
    lock.lock();
    try {
      totals.addTo(sum);
      for (Worker w : live) {
        w.tally.addTo(sum);
      }
    } finally {
      lock.unlock();
    }
    long[] usage = engine.readUsage(meter);
    long f = finished.get();
    long s = sum.started + settledInQueue.get();
    long a = accepted.get();
    long rejectedNow = rejected.sum();
    long throttled = throttles.sum();
    return new FunctionStats(name,
        a + throttled + rejectedNow - abandoned.get(),
        sum.successes,
        sum.failures + otherFailures.get(),
        timeouts.get(),
        throttled,
        rejectedNow,
        sum.cancelled,
        sum.coldStarts,
        (int) Math.max(0, s - f),
        (int) Math.max(0, a - s),
        instances.live(),
        peak.get(),
        Math.max(0, overdue.get()),
        Duration.ofNanos(usage[0]),
        Duration.ofNanos(sum.wallNanos),
        Duration.ofNanos(sum.queueWaitNanos),
        Duration.ofNanos(sum.initNanos + provisionNanos.get()),
        usage[1],
        sum.billedMillis,
        sum.billedCpuMillis,
        latency.snapshot(),
        exact ? cpuPerInvocation.snapshot() : Percentiles.EMPTY);
  }

  @Override
  public String toString() {
    return "Fn[" + name + "]";
  }
}
