package dev.cumulus.internal;

import dev.cumulus.ConcurrencyLimit;
import dev.cumulus.CpuBudgetExceededException;
import dev.cumulus.CumulusException;
import dev.cumulus.FunctionTimeoutException;
import dev.cumulus.RuntimeClosedException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The workers of one function: when one more is needed, starting it, what each takes next, and
 * ending what runs past its deadline.
 *
 * <p>A call starts a new worker only if more invocations wait than there are workers that will come
 * back to the queue, and either fewer workers than carriers exist or some of them are blocked; a
 * worker that blocks in the middle of an invocation frees its carrier and lets another start
 * ({@link #blocked()}). So non-blocking work is drained by a few long-lived workers and blocking work
 * grows one worker per waiting invocation, up to the limit. The carriers are a heuristic, the queue
 * bound is not: when more wait than the queue may hold, workers start whatever the carriers do.
 *
 * <p>"More wait than workers will take" is {@code outstanding > workers - completing}: running
 * invocations never outnumber the workers running them, so the count of started invocations cancels
 * out and none is kept on the hot path. What runs on a carrier ({@link #blocked()} and what it calls)
 * takes no lock: a lock can be held by a virtual thread that is unmounted, waiting for a carrier.
 */
final class WorkerPool extends Worker.Pool implements Capacity.Waiter, DeadlineWatch.Watched {
  /**
   * How long an idle worker spins for more work before it ends (a few microseconds at most), when
   * it may be the one to take the next call; with more workers than carriers (blocking work) the
   * others take it, and a worker that finds the queue empty ends at once.
   */
  private static final int LINGER_SPINS = 64;
  /**
   * How long a worker that ran out of work stays parked, as the function's idle worker, before it
   * ends: a call in that time wakes it instead of starting a new worker (cheaper by microseconds, and
   * its instance stays warm). A parked virtual thread holds no carrier.
   */
  private static final long LINGER_NANOS = 1_000_000;
  private static final VarHandle IDLE;
  private static final VarHandle PEAK_WINDOWS;
  private static final PeakWindow[] NO_WINDOWS = {};

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      IDLE = lookup.findVarHandle(WorkerPool.class, "idle", Worker.class);
      PEAK_WINDOWS = lookup.findVarHandle(WorkerPool.class, "peakWindows", PeakWindow[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
  private static final long MIN_BUDGET_CHECK_NANOS = 1_000_000;
  /** One reservation in {@link #slots} (its slot is counted in the low bits as well). */
  private static final long RESERVATION = 1L << 32;
  /** A queued call whose queue timeout is further away than this is looked at again meanwhile. */
  private static final long MAX_QUEUE_CHECK_NANOS = 86_400_000_000_000L;
  /** A running invocation's timeout message says how long it waited queued, if this long or more. */
  private static final long QUEUE_WAIT_SHOWN_NANOS = 1_000_000;

  private final CallQueue queue;
  private final Outstanding outstanding;
  private final Capacity capacity;
  private final String threadName;
  /** Reserved concurrency; 0 = shares the runtime's unreserved capacity. */
  private final int reserved;
  /**
   * The most workers at once, unless the limit is adaptive: the reserved concurrency, or unbounded.
   * Read through {@link #limit()}; the one place that reads it when starting workers is
   * {@link #addWorkerSlot}.
   */
  private final int fixedLimit;
  private final int parallelism;
  /** Up to this many workers, a worker that runs out of work lingers ({@link #LINGER_SPINS}). */
  private final int lingerWorkers;
  private final Duration timeout;
  private final long timeoutNanos;
  private final long budgetNanos;
  /** How long a call may wait in the queue; null: as long as it takes. */
  private final @Nullable Duration queueTimeout;
  private final long queueTimeoutNanos;
  /** Called when work ends while the function's lifecycle waits for it (drain, retirement). */
  private final Runnable settled;
  /** Called whenever a worker comes back for more work: a slot may be free for the function's events. */
  private final Runnable freed;

  /**
   * Worker slots held, each in the function's limit and the runtime's capacity: in the low 32 bits,
   * every slot (workers, and slots admission took for calls it lets in beyond the queue); in the high
   * 32 bits, how many of those are reservations of admissions whose call is not accepted yet. One
   * word, so that admission reads both at once ({@link #takers}).
   */
  private final AtomicLong slots = new AtomicLong();
  /** Workers unmounted in the middle of their work (sleeping, waiting for I/O or a lock). */
  private final AtomicInteger blocked = new AtomicInteger();
  /** Workers completing a future whose dependent stages run on their thread: not free meanwhile. */
  private final AtomicInteger completing = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();
  /** Peak windows open now (load tests running): empty nearly always, read once per start. */
  @SuppressWarnings("unused") // PEAK_WINDOWS
  private volatile PeakWindow[] peakWindows = NO_WINDOWS;
  private final AtomicBoolean waitingForCapacity = new AtomicBoolean();
  /** Live workers (threads not ended), to find what runs past its deadline. */
  private final LiveWorkers live = new LiveWorkers();

  private final AtomicLong timeouts = new AtomicLong();
  /** Of the timeouts, calls that waited in the queue past the queue timeout (they never ran). */
  private final AtomicLong queueTimeouts = new AtomicLong();
  /** Invocations stopped for running over their CPU budget. */
  private final AtomicLong otherFailures = new AtomicLong();
  /** Accepted calls that close gave up on, queued or running. */
  private final AtomicLong abandoned = new AtomicLong();
  private final AtomicInteger overdue = new AtomicInteger();
  /** Set when close() gives up on this function: nothing accepted from then on may run. */
  private volatile boolean abandoning;
  /** A worker parked for more work ({@link #LINGER_NANOS}), or null. */
  @SuppressWarnings("unused") // IDLE
  private volatile @Nullable Worker idle;

  WorkerPool(Registration self, Platform platform, FunctionId id, BiFunction<Object, Object, Object> handler,
      @Nullable Function<@Nullable Object, @Nullable Object> function, InstancePool instances, Meter.Account account, Distribution latency, Distribution cpuPerInvocation,
      CallQueue queue, Outstanding outstanding, Duration timeout,
      long budgetNanos, @Nullable Duration queueTimeout, ConcurrencyLimit.@Nullable Adaptive adaptive, Runnable settled, Runnable freed) {
    super(self, platform, handler, function, instances, account, latency, cpuPerInvocation,
        adaptive == null ? null : adaptiveLimit(self, adaptive, platform));
    this.queue = queue;
    this.outstanding = outstanding;
    this.capacity = platform.capacity;
    this.threadName = "cumulus-fn-" + self.name();
    this.reserved = id.reserved;
    this.fixedLimit = reserved > 0 ? reserved : Integer.MAX_VALUE;
    this.parallelism = platform.parallelism();
    this.lingerWorkers = parallelism > 0 ? parallelism : Runtime.getRuntime().availableProcessors();
    this.timeout = timeout;
    this.timeoutNanos = timeout.toNanos();
    this.budgetNanos = budgetNanos;
    this.queueTimeout = queueTimeout;
    this.queueTimeoutNanos = queueTimeout == null ? 0 : queueTimeout.toNanos();
    this.settled = settled;
    this.freed = freed;
  }

  /** The estimator of an adaptive limit, within what the runtime's capacity allows. */
  private static AdaptiveLimit adaptiveLimit(Registration self, ConcurrencyLimit.Adaptive spec, Platform platform) {
    int max = Math.min(spec.max(), platform.capacity.max());
    int min = Math.min(spec.min(), max);
    // The runtime's listeners change as subscribers come and go: read them when the limit moves
    // (at most once per estimator window), never captured here.
    return new AdaptiveLimit(min, max, Math.max(min, Math.min(max, spec.initial())), platform.clock.nanoTime(),
        (from, to) -> platform.events.concurrencyLimitChanged(self, from, to));
  }

  // ---------------------------------------------------------------------------------------------
  // Taking work (caller side)

  /**
   * Queues an accepted invocation and makes sure a worker will take it. Settles it, visibly, if no
   * worker can be started for it or close gave up on the function meanwhile.
   *
   * @param slot admission let it in beyond {@code queueCapacity} on a worker slot it took
   *     ({@link #reserveSlot}): a worker is started with that slot, whatever the carriers do
   */
  void enqueue(Invocation inv, boolean slot) {
    queue.offer(inv);
    if (abandoning && inv.withdraw()) {
      // Close gave up on this function between admission and the offer, and its pass over the
      // queue may have missed this call: it is settled here (withdrawn by this thread, so nobody
      // else will; abandonQueued would withdraw it again, fail, and leave it stranded).
      if (slot) {
        releaseSlot();
      }
      abandoned.incrementAndGet();
      settleWithdrawn(inv, -1, closedBeforeFinishing());
      return;
    }
    wakeIdle(); // a parked idle worker takes this call: it still counts as a free worker
    try {
      if (slot) {
        spawn(); // releases the slot if it fails
      } else {
        startWorkerIfNeeded();
      }
    } catch (Throwable e) {
      if (inv.withdraw()) { // no worker could start (out of memory, say): fail it, do not strand it
        settleWithdrawn(inv, Meter.FAILURES, null);
        inv.completeExceptionally(new CumulusException(name,
            "could not start a worker for function '" + name + "': " + e, e));
      }
    }
  }

  /** Worker slots held now: workers, and slots admission took for calls it is letting in. */
  int workers() {
    return (int) slots.get();
  }

  /**
   * Workers that will take a queued call, for admission's queue bound ({@code accepted - finished -
   * takers <= queueCapacity}): the slots held, less the reservations of admissions whose calls are
   * not accepted yet (each is its own call's: counted here, another call would count on it too),
   * less the workers running a completed call's dependent stages, and no more than can run now: the
   * blocked ones (off their carriers) and one runnable per carrier. A worker started beyond the
   * carriers (two callers that both saw one free) waits for a carrier that CPU-bound work does not
   * give back: a call counted on it would wait past the queue.
   *
   * <p>Admission reads its accepted count before this: a reservation turns into a worker only after
   * its call is accepted (which fails admission's compare-and-set), so this never counts a slot whose
   * call it does not see.
   */
  int takers() {
    long s = slots.get();
    int free = (int) s - (int) (s >>> 32) - completing.get();
    return parallelism > 0 ? Math.min(free, blocked.get() + parallelism) : free;
  }

  /** The most workers at once now: the adaptive limit's value, or the fixed limit. */
  private int limit() {
    AdaptiveLimit a = adaptive;
    return a == null ? fixedLimit : a.limit();
  }

  /**
   * The most invocations the function may run at once now, for its stats: its adaptive limit's
   * value, its reserved concurrency, or what the runtime leaves unreserved.
   */
  int concurrencyLimit() {
    AdaptiveLimit a = adaptive;
    return a != null ? a.limit() : reserved > 0 ? reserved : Math.max(0, capacity.unreservedLimit());
  }

  /** Whether the function's concurrency limit is adaptive. */
  boolean adaptiveLimit() {
    return adaptive != null;
  }

  /**
   * Workers this function could still start for calls that find the queue full, for admission's
   * headroom: none while its runnable workers (not blocked) take every carrier, since a new one
   * could not run; else as many as its limit and the runtime's capacity allow. A call admitted on
   * this headroom gets its worker started at once ({@link #enqueue}), so the queue never holds
   * more than its capacity.
   */
  int startable() {
    int w = workers();
    if (parallelism > 0 && w - blocked.get() >= parallelism) {
      return 0;
    }
    return (int) Math.max(0, Math.min((long) limit() - w, capacity.available(reserved == 0)));
  }

  /**
   * Whether a call queued now would start at once rather than wait: a worker is free to take it, or
   * one could start for it (under the function's limit, a carrier not taken by runnable workers, a
   * slot of the runtime's capacity free). Lock-free, and a snapshot that may be stale; what the
   * function's event backlog asks before it submits an attempt.
   */
  boolean hasFreeSlot() {
    int w = workers();
    long busy = outstanding.now();
    if (busy < w - completing.get()) {
      return true;
    }
    int limit = limit();
    return w < limit && busy < limit && (parallelism == 0 || w - blocked.get() < parallelism)
        && capacity.available(reserved == 0) > 0;
  }

  /** Whether this function's runnable workers take every carrier (no new one could run). */
  boolean carriersTaken() {
    return parallelism > 0 && workers() - blocked.get() >= parallelism;
  }

  int parallelism() {
    return parallelism;
  }

  /**
   * Whether more workers could not run: {@code w} workers are at least one per carrier and none of
   * them is blocked. While some are blocked the function evidently blocks, and its calls each get a
   * worker (as a virtual thread per task would), started by whoever queues them.
   */
  private boolean carriersBusy(int w) {
    return parallelism > 0 && w >= parallelism && blocked.get() == 0;
  }

  /**
   * A new worker would help: more invocations wait than there are workers that will take them, and
   * fewer workers than carriers are runnable (the others are blocked), or the queue would hold more
   * than its capacity. On the JDK's default scheduler blocking cannot be seen, so only the first
   * condition applies.
   */
  @Override
  public boolean needsWorker() {
    // Cheapest tests first: workers, blocked and completing change rarely, outstanding with every
    // call. While this function's workers occupy every carrier, the queue holds what waits:
    // admission keeps it within its capacity (and starts a worker itself when it lets a call in
    // beyond it).
    int w = workers();
    if (carriersBusy(w)) {
      return false;
    }
    int free = w - completing.get();
    if (blocked.get() >= free) {
      return !queue.isEmpty(); // every free worker is blocked in a call: a queued call needs another
    }
    return outstanding.atMost() > free && outstanding.now() > free;
  }

  /**
   * Starts a worker if one is needed and a slot is free; queues for capacity if only the runtime's
   * capacity is missing.
   */
  void startWorkerIfNeeded() {
    if (!tryStartWorker() && workers() < limit()) {
      capacity.await(this); // blocked by the runtime-wide capacity, not by our own limit
      if (queueTimeoutNanos > 0 && live.size() == 0) {
        platform.watch.watch(this); // calls wait with no worker of ours: their queue timeout still runs
      }
    }
  }

  @Override
  public boolean tryStartWorker() {
    return !needsWorker() || startWorker();
  }

  /**
   * Starts a worker if a slot is free; false if none was. If the worker cannot be started (no
   * memory for a thread, say), the oldest queued call fails with the cause rather than wait for a
   * worker that will not come; false again if calls are still queued, so that the function tries
   * again when capacity next frees up.
   */
  private boolean startWorker() {
    if (!addWorkerSlot()) {
      return false;
    }
    try {
      spawn();
      return true;
    } catch (Throwable e) {
      failOldest(e);
      return queue.isEmpty();
    }
  }

  /** Fails the oldest queued call because no worker could be started for it. */
  private void failOldest(Throwable cause) {
    for (Invocation inv; (inv = queue.poll()) != null; ) {
      if (inv.withdraw()) {
        settleWithdrawn(inv, Meter.FAILURES, null);
        inv.completeExceptionally(new CumulusException(name,
            "could not start a worker for function '" + name + "': " + cause, cause));
        return;
      }
      if (!inv.isWithdrawn()) {
        settleWithdrawn(inv, Meter.CANCELLED, null); // its caller cancelled it: it never runs
      }
    }
  }

  /** Whether {@code tenant} waits less than its share of {@code capacity} places in the queue. */
  boolean belowFairShare(CallTenant tenant, int capacity) {
    return queue.belowFairShare(tenant, capacity);
  }

  /**
   * Takes a worker slot for a call admission lets in beyond the queue, as a reservation: it counts
   * in the function's limit and the runtime's capacity at once, but not among the {@link #takers}
   * until the call is accepted ({@link #reservationUsed}) or the slot given back
   * ({@link #releaseReservation}). False if no slot is free, or if a new worker could not run (this
   * function's runnable workers take every carrier): checked again in the slot's compare-and-set,
   * so that two calls that both saw the last carrier free do not both take it.
   */
  boolean reserveSlot() {
    return startable() > 0 && takeSlot(true);
  }

  /** The call a reservation was taken for is accepted: its slot is a worker's from now on. */
  void reservationUsed() {
    slots.getAndAdd(-RESERVATION);
  }

  /** Gives back a slot taken with {@link #reserveSlot} whose call was not accepted on it. */
  void releaseReservation() {
    slots.getAndAdd(-(RESERVATION + 1));
    capacity.release(reserved == 0);
  }

  /** Gives back a worker's slot. */
  private void releaseSlot() {
    slots.getAndDecrement();
    capacity.release(reserved == 0);
  }

  /** Takes a slot for a worker about to start; false at the function's limit or the runtime's. */
  private boolean addWorkerSlot() {
    // At its limit (blocking work at its maxConcurrency, say): the runtime's capacity is not touched.
    return workers() < limit() && takeSlot(false);
  }

  /**
   * Takes a slot of the runtime's capacity, then of the function's limit: so the slots counted here
   * are always held in both, and admission never counts a worker that an attempt about to fail on the
   * capacity counted for a moment. A slot of the capacity taken by an attempt that then finds the
   * function at its limit is given back (waking whoever waits for one).
   *
   * @param reservation for admission ({@link #reserveSlot}): counted as a reservation, and only if
   *     a new worker could run
   */
  private boolean takeSlot(boolean reservation) {
    boolean shared = reserved == 0;
    if (!capacity.tryAcquire(shared)) {
      return false;
    }
    for (;;) {
      long s = slots.get();
      int w = (int) s;
      if (w >= limit() || (reservation && parallelism > 0 && w - blocked.get() >= parallelism)) {
        capacity.release(shared);
        return false;
      }
      if (slots.compareAndSet(s, s + (reservation ? RESERVATION + 1 : 1))) {
        return true;
      }
    }
  }

  private void releaseSlot(Worker w) {
    if (w.holdsSlot) {
      w.holdsSlot = false;
      releaseSlot();
    }
  }

  /** Starts a worker holding a slot. Lock-free: this may run on a carrier. */
  private void spawn() {
    Worker w = new Worker(this);
    w.holdsSlot = true;
    boolean linked = false;
    try {
      boolean first = live.add(w);
      linked = true;
      if (first) {
        firstWorker();
      }
      Thread t = platform.newThread(threadName, account, platform.carriers != null ? w : null, w);
      w.thread = t;
      t.start();
    } catch (Throwable e) {
      releaseSlot(w);
      if (linked) {
        removeLive(w);
      }
      platform.log(System.Logger.Level.ERROR, "cannot start a worker for function '" + name + "'", e);
      throw e;
    }
  }

  private void firstWorker() {
    platform.watch.watch(this);
    platform.events.firstWorker(self);
  }

  private void removeLive(Worker w) {
    if (live.remove(w)) {
      platform.watch.unwatch(this, this::watched);
      platform.events.lastWorker(self);
      platform.functionIdle();
    }
  }

  /**
   * Whether the deadline watch must look at this function: it has workers, whose invocations have
   * deadlines, or calls wait in its queue with a queue timeout.
   */
  private boolean watched() {
    return live.size() > 0 || (queueTimeoutNanos > 0 && !queue.isEmpty());
  }

  @Override
  public boolean markWaiting() {
    return waitingForCapacity.compareAndSet(false, true);
  }

  @Override
  public void clearWaiting() {
    waitingForCapacity.set(false);
  }

  @Override
  public boolean isWaiting() {
    return waitingForCapacity.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Worker side

  @Override
  @Nullable Invocation next(Worker w) {
    freed.run(); // this worker is free: events waiting for a slot may be dispatched (one read if none)
    for (;;) {
      if (adaptive != null && w.holdsSlot && shedOverLimit()) {
        // The adaptive limit went down: this worker's slot goes, the others go on with the queue.
        w.holdsSlot = false;
        w.returnInstance();
        capacity.release(true);
        return null;
      }
      if (w.ranAny && reserved == 0 && capacity.othersWait(this)) {
        // Another function waits for the shared capacity: hand our slot over, queue behind it.
        w.returnInstance();
        releaseSlot(w);
        if (!queue.isEmpty() && needsWorker()) {
          capacity.await(this);
        }
        return null;
      }
      Invocation inv = queue.poll();
      if (inv == null) {
        w.lastEndIsNow = false;
        if (workers() <= lingerWorkers) {
          for (int i = 0; inv == null && i < LINGER_SPINS; i++) {
            Thread.onSpinWait();
            inv = queue.poll();
          }
          if (inv == null && !abandoning && !(reserved == 0 && capacity.othersWait(this))) {
            inv = linger(w);
          }
        }
      }
      if (inv != null) {
        if (inv.isWithdrawn()) {
          continue; // taken back by the runtime, which settled it
        }
        if (abandoning) {
          abandonQueued(inv);
          continue;
        }
        return inv;
      }
      // Instance first, then slot: a call that sees the slot free and starts a new worker must
      // find the instance warm (else sequential calls could create a second instance).
      w.returnInstance();
      releaseSlot(w);
      // An invocation queued after our last poll may have seen this worker as free: take it back.
      if (queue.isEmpty() || !needsWorker()) {
        queue.forgetLast(); // an idle function holds no call
        return null;
      }
      if (!addWorkerSlot()) {
        if (workers() < limit()) {
          capacity.await(this);
        }
        return null;
      }
      w.holdsSlot = true;
    }
  }

  /**
   * Takes one worker off when more hold a slot than the adaptive limit allows (a CAS, so that of
   * several workers that see the excess at once, only as many end as there are too many: the queue
   * is never left without a worker).
   */
  private boolean shedOverLimit() {
    for (;;) {
      long s = slots.get();
      if ((int) s <= limit()) {
        return false;
      }
      if (slots.compareAndSet(s, s - 1)) {
        return true;
      }
    }
  }

  /**
   * Parks {@code w} as the function's idle worker until a call is queued (its caller wakes it) or
   * {@link #LINGER_NANOS} pass; returns the next invocation, or null. Only one worker lingers.
   */
  private @Nullable Invocation linger(Worker w) {
    if (!IDLE.compareAndSet(this, null, w)) {
      return null;
    }
    queue.forgetLast(); // idle, however briefly: hold no call
    Invocation inv;
    try {
      long deadline = System.nanoTime() + LINGER_NANOS;
      // Registered, then polled: a caller that queued before the registration is seen here, one
      // that queued after it sees the registration and wakes us.
      while ((inv = queue.poll()) == null && idle == w) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        LockSupport.parkNanos(this, left);
      }
    } finally {
      IDLE.compareAndSet(this, w, null);
    }
    return inv != null ? inv : queue.poll();
  }

  @Override
  void started(Worker w) {
    // Running invocations never outnumber the workers, nor the calls not finished: while the
    // workers are no more than the peak, nothing is read that other threads write.
    int p = peak.get();
    int n = workers();
    PeakWindow[] open = peakWindows;
    if (open.length != 0) {
      offerToWindows(open, n);
    }
    if (n <= p) {
      return;
    }
    int running = (int) Math.min(n, outstanding.atMost()); // a bound that needs no sum
    while (running > p && !peak.compareAndSet(p, running)) {
      p = peak.get();
    }
  }

  private void offerToWindows(PeakWindow[] open, int n) {
    int running = -1;
    for (PeakWindow window : open) {
      if (n > window.current()) {
        if (running < 0) {
          running = (int) Math.min(n, outstanding.now());
        }
        window.offer(running);
      }
    }
  }

  /** Starts counting the most invocations that run at once from now on; close the window when done. */
  PeakWindow openPeakWindow() {
    PeakWindow window = new PeakWindow(this::closePeakWindow);
    for (;;) {
      PeakWindow[] open = peakWindows;
      PeakWindow[] more = Arrays.copyOf(open, open.length + 1);
      more[open.length] = window;
      if (PEAK_WINDOWS.compareAndSet(this, open, more)) {
        return window;
      }
    }
  }

  @SuppressWarnings("ReferenceEquality") // a window is its identity
  private void closePeakWindow(PeakWindow window) {
    for (;;) {
      PeakWindow[] open = peakWindows;
      PeakWindow[] fewer = Arrays.stream(open).filter(x -> x != window).toArray(PeakWindow[]::new);
      if (PEAK_WINDOWS.compareAndSet(this, open, fewer)) {
        return;
      }
    }
  }

  @Override
  boolean abandoning() {
    return abandoning;
  }

  @Override
  void abandon(Worker w, Invocation inv) {
    if (w.end(inv, () -> countAbandonedRunning(inv))) { // else close's own pass ended it first
      inv.completeExceptionally(closedBeforeFinishing());
    }
  }

  @Override
  void ran(AdaptiveLimit a, long now, long wallNanos) {
    int before = a.limit();
    if (a.sample(now, wallNanos, workers()) && a.limit() > before && !queue.isEmpty()) {
      startWorkerIfNeeded(); // room for more: calls waiting in the queue need not wait for the next one
    }
  }

  @Override
  void completing(int delta) {
    completing.addAndGet(delta);
    if (delta > 0 && !queue.isEmpty()) {
      startWorkerIfNeeded(); // this worker is busy with its caller's stages: the queue must not wait
    }
  }

  @Override
  void overdueReturned() {
    overdue.decrementAndGet();
    settled.run();
  }

  @Override
  void blocked() {
    blocked.incrementAndGet();
    if (!queue.isEmpty()) {
      startWorkerIfNeeded(); // calls queued behind this worker may need another on the freed carrier
    }
  }

  @Override
  void unblocked() {
    blocked.decrementAndGet();
  }

  @Override
  void ended(Worker w, @Nullable Object instance) {
    releaseSlot(w);
    if (instance != null) {
      instances.release(instance);
    }
    removeLive(w);
    settled.run();
  }

  @Override
  void failed(Worker w, Throwable e) {
    releaseSlot(w);
    platform.log(System.Logger.Level.ERROR, "a worker of function '" + name + "' failed", e);
    startWorkerIfNeeded();
  }

  // ---------------------------------------------------------------------------------------------
  // Deadlines: timeouts and CPU budgets (DeadlineWatch, on its timer thread)

  @Override
  public long firstCheckNanos() {
    long first = budgetNanos > 0 ? Math.min(timeoutNanos, budgetNanos) : timeoutNanos;
    return queueTimeoutNanos > 0 ? Math.min(first, queueTimeoutNanos) : first;
  }

  @Override
  public long check(long now) {
    long[] next = {now + firstCheckNanos()};
    live.forEach(w -> next[0] = Math.min(next[0], check(w, now)));
    if (queueTimeoutNanos > 0) {
      next[0] = Math.min(next[0], expireQueued(now));
      if (!watched()) {
        platform.watch.unwatch(this, this::watched); // watched for its queue alone, now empty
        return Long.MAX_VALUE;
      }
    }
    return next[0];
  }

  /**
   * Fails the calls that waited in the queue past the queue timeout (the oldest of each FIFO first:
   * the first one that has not is the next to look at); returns when to look again.
   */
  private long expireQueued(long now) {
    long before = queueTimeouts.get();
    long left = queue.expire(now, queueTimeoutNanos, inv -> {
      if (inv.withdraw()) {
        expire(inv, now - inv.enqueuedTick);
      } else if (!inv.isWithdrawn()) {
        settleWithdrawn(inv, Meter.CANCELLED, null); // its caller cancelled it: it never runs
      }
    });
    if (queueTimeouts.get() != before && queue.isEmpty()) {
      queue.forgetLast(); // hold no call that is over
    }
    return left == Long.MAX_VALUE ? Long.MAX_VALUE : now + Math.min(left, MAX_QUEUE_CHECK_NANOS);
  }

  /** Fails a call that waited in the queue past the queue timeout: it never ran, it is not billed. */
  private void expire(Invocation inv, long waited) {
    timeouts.incrementAndGet();
    queueTimeouts.incrementAndGet();
    TenantTally.queueTimedOut(inv);
    int shared = platform.meter.sharedLane;
    account.add(shared, Meter.STARTED, 1); // taken and finished before its caller hears of it
    account.add(shared, Meter.FINISHED, 1);
    Duration limit = java.util.Objects.requireNonNull(queueTimeout);
    FunctionTimeoutException e = new FunctionTimeoutException(name, limit, true, "function '" + name
        + "' timed out in its queue: the call waited " + DurationText.nanos(waited) + " (queueTimeout "
        + DurationText.of(limit) + ") and never started, as " + heldBy()
        + "; it did not run and is not billed");
    platform.runSystem(() -> {
      inv.completeExceptionally(e);
      settled.run();
    });
  }

  /** What holds the slots a queued call waits for, for its queue timeout's message. */
  private String heldBy() {
    int running = workers();
    int late = overdue();
    int adaptiveLimit = adaptiveLimit() ? concurrencyLimit() : 0;
    String held = reserved > 0 && running >= reserved
        ? "all " + reserved + " of its concurrency slots (maxConcurrency " + reserved + ") were taken"
        : adaptiveLimit > 0 && running >= adaptiveLimit
            ? "all " + adaptiveLimit + " of its concurrency slots (its adaptive concurrency limit now) were taken"
        : reserved == 0 && capacity.available(true) <= 0
            ? "the runtime's unreserved concurrency (" + capacity.unreservedLimit() + " of maxConcurrency "
                + capacity.max() + ") was all in use"
            : running + " of its calls were running";
    return late == 0 ? held
        : late == 1 ? held + ", 1 of them by a call past its timeout whose code has not returned (it ignores"
            + " the interrupt)"
        : held + ", " + late + " of them by calls past their timeout whose code has not returned (they ignore"
            + " the interrupt)";
  }

  /** Ends {@code w}'s invocation if it is overdue; returns when to look at it again. */
  private long check(Worker w, long now) {
    Invocation inv = w.current();
    if (inv == null || !inv.isRunning()) {
      return Long.MAX_VALUE;
    }
    long started = w.startTick();
    long deadline = started + timeoutNanos;
    if (now - deadline >= 0) {
      timeOut(w, inv);
      return Long.MAX_VALUE;
    }
    if (budgetNanos == 0) {
      return deadline;
    }
    if (w.nextBudgetCheck == 0) {
      w.nextBudgetCheck = started + budgetNanos;
    }
    if (now - w.nextBudgetCheck >= 0) {
      long used = w.cpuSoFar(inv);
      if (used >= budgetNanos) {
        exceedBudget(w, inv, used);
        return Long.MAX_VALUE;
      }
      w.nextBudgetCheck = now + Math.max(MIN_BUDGET_CHECK_NANOS, budgetNanos - Math.max(0, used));
    }
    return Math.min(deadline, w.nextBudgetCheck);
  }

  private void timeOut(Worker w, Invocation inv) {
    long waited = w.startTick() - inv.enqueuedTick;
    if (w.end(inv, () -> {
      timeouts.incrementAndGet();
      TenantTally.count(inv, TenantTally.TIMEOUT);
      overdue.incrementAndGet();
      platform.events.timedOut(self, timeout); // before the interrupt: the figures still hold it
    })) {
      FunctionTimeoutException e = waited < QUEUE_WAIT_SHOWN_NANOS ? new FunctionTimeoutException(name, timeout)
          : new FunctionTimeoutException(name, timeout, false, "function '" + name + "' timed out after "
              + DurationText.of(timeout) + " of running, having waited " + DurationText.nanos(waited)
              + " in its queue before it started");
      platform.runSystem(() -> {
        inv.completeExceptionally(e);
        settled.run();
      });
    }
  }

  private void exceedBudget(Worker w, Invocation inv, long used) {
    if (w.end(inv, () -> {
      otherFailures.incrementAndGet();
      TenantTally.count(inv, TenantTally.FAILURE);
      overdue.incrementAndGet();
    })) {
      Duration budget = Duration.ofNanos(budgetNanos);
      platform.runSystem(() -> {
        inv.completeExceptionally(new CpuBudgetExceededException(name, budget, Duration.ofNanos(used)));
        settled.run();
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Close

  /** Fails what is still queued or running (close's drain deadline passed). */
  void abandonAll() {
    abandoning = true;
    Invocation inv;
    while ((inv = queue.poll()) != null) {
      abandonQueued(inv);
    }
    RuntimeClosedException closed = closedBeforeFinishing();
    live.forEach(w -> {
      Invocation running = w.current();
      if (running != null && w.end(running, () -> countAbandonedRunning(running))) {
        running.completeExceptionally(closed);
      }
    });
    wakeIdle();
    if (queueTimeoutNanos > 0 && live.size() == 0) {
      platform.watch.unwatch(this, this::watched); // watched for its queue alone, now empty
    }
    settled.run();
  }

  private void countAbandonedRunning(Invocation inv) {
    TenantTally.count(inv, TenantTally.REJECTED);
    abandoned.incrementAndGet();
    overdue.incrementAndGet();
  }

  /**
   * Withdraws a queued invocation that its waiting caller's chain keeps from ever starting, and
   * fails it with {@code why}: it never runs, and is counted as cancelled (a call given up before it
   * started). False if a worker started it (or anyone settled it) first.
   */
  boolean refuseQueued(Invocation inv, CumulusException why) {
    if (!inv.withdraw()) {
      return false;
    }
    settleWithdrawn(inv, Meter.CANCELLED, why); // the worker that polls it skips it
    settled.run();
    return true;
  }

  /** Settles a queued invocation close gave up on (or that its caller cancelled meanwhile). */
  private void abandonQueued(Invocation inv) {
    if (inv.withdraw()) {
      abandoned.incrementAndGet();
      settleWithdrawn(inv, -1, closedBeforeFinishing());
    } else if (!inv.isWithdrawn()) {
      settleWithdrawn(inv, Meter.CANCELLED, null); // its caller cancelled it: it never runs
    }
  }

  /** Counts a withdrawn (or cancelled) invocation as taken and finished, and fails it if asked. */
  private void settleWithdrawn(Invocation inv, int counter, @Nullable RuntimeException failure) {
    int shared = platform.meter.sharedLane;
    account.add(shared, Meter.STARTED, 1);
    if (counter >= 0) {
      account.add(shared, counter, 1);
    }
    account.add(shared, Meter.FINISHED, 1);
    TenantTally.count(inv, counter == Meter.FAILURES ? TenantTally.FAILURE
        : counter == Meter.CANCELLED ? TenantTally.CANCELLED : TenantTally.REJECTED);
    if (failure != null) {
      inv.completeExceptionally(failure);
    }
  }

  private RuntimeClosedException closedBeforeFinishing() {
    return new RuntimeClosedException(name,
        "the Cumulus runtime closed before this invocation of '" + name + "' could finish");
  }

  /**
   * The pool's state now, for diagnostics (a failing test prints it): its counters, the queue's
   * accepted-minus-started, and each live worker's thread state and invocation. Racy reads, never on
   * a hot path.
   */
  String describe() {
    long accepted = outstanding.accepted.get();
    long started = account.sum(Meter.STARTED);
    long finished = account.sum(Meter.FINISHED);
    StringBuilder b = new StringBuilder()
        .append("slots=").append(workers())
        .append(" reservations=").append((int) (slots.get() >>> 32))
        .append(" takers=").append(takers())
        .append(" blocked=").append(blocked.get())
        .append(" completing=").append(completing.get())
        .append(" accepted=").append(accepted)
        .append(" started=").append(started)
        .append(" finished=").append(finished)
        .append(" queued=").append(accepted - started)
        .append(" queueEmpty=").append(queue.isEmpty())
        .append(" limit=").append(limit())
        .append(" parallelism=").append(parallelism)
        .append(" idle=").append(idle != null)
        .append(" waitingForCapacity=").append(waitingForCapacity.get())
        .append(" capacity[inUse=").append(capacity.inUse())
        .append(" max=").append(capacity.max())
        .append(" unreservedLimit=").append(capacity.unreservedLimit())
        .append(" available=").append(capacity.available(reserved == 0))
        .append("] live=").append(live.size()).append(" [");
    live.forEach(w -> {
      Thread t = w.thread;
      Invocation inv = w.current();
      b.append(' ').append(t == null ? "unstarted" : t.getState())
          .append(inv == null ? "/idle" : inv.isRunning() ? "/running" : "/ending")
          .append(w.holdsSlot ? "+slot" : "").append(w.ended ? "(ended)" : "");
    });
    return b.append(" ]").toString();
  }

  /** Runs {@code action} on each live worker (for diagnostics: racy reads of their state). */
  void forEachLive(Consumer<Worker> action) {
    live.forEach(action);
  }

  /** Workers of this function alive now (threads not ended). */
  int liveWorkers() {
    return live.size();
  }

  /** Wakes the worker parked for more work, if any: the function is leaving. */
  void wakeIdle() {
    Worker parked = idle;
    if (parked != null && IDLE.compareAndSet(this, parked, null)) {
      LockSupport.unpark(parked.thread);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Figures

  int peak() {
    return peak.get();
  }

  int overdue() {
    return Math.max(0, overdue.get());
  }

  long timeouts() {
    return timeouts.get();
  }

  long queueTimeouts() {
    return queueTimeouts.get();
  }

  long otherFailures() {
    return otherFailures.get();
  }

  long abandoned() {
    return abandoned.get();
  }
}
