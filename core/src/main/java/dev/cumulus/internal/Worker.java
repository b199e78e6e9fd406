package dev.cumulus.internal;

import dev.cumulus.CumulusException;
import dev.cumulus.FunctionFailedException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A virtual thread that drains its function's queue: it takes the next invocation when it finishes
 * one, keeps its instance warm between them, and ends when the queue stays empty. Non-blocking work
 * is therefore drained by a few workers; blocking work gets one worker per concurrent invocation.
 *
 * <p>On Cumulus carriers the worker is its own thread's scheduler and observes its segments: it
 * learns which carrier's lane to count on, and when it unmounts in the middle of an invocation and
 * is not runnable again already (it blocked; a yield is not blocking), its function may start another
 * worker on the freed carrier. Virtual threads that the function's code starts inherit this
 * scheduler; they run on the carriers metered as the function, but unobserved ({@link #execute}).
 *
 * <p>Every path that takes an invocation settles it: once {@link Invocation#start} succeeded, a throw
 * of the runtime's own code fails the invocation visibly before the worker ends.
 */
final class Worker implements Runnable, Executor, CarrierPool.SegmentObserver {
  private static final VarHandle CURRENT;
  private static final VarHandle SEGMENT;
  private static final VarHandle ENDED_CPU;
  private static final VarHandle SUBMISSIONS;
  private static final VarHandle OWN_CONTINUATION;
  /** An invocation's part of a segment this long ends with a reading of the carrier's CPU clock. */
  private static final long EXACT_PART_NANOS = Meter.READ_INTERVAL_NANOS;
  /**
   * A worker that has held its carrier this long yields it between invocations, so that a function
   * draining a long queue of CPU work cannot starve others sharing the carriers.
   */
  private static final long SLICE_NANOS = 2_000_000;
  /** {@link #segment} once the worker has ended: no segment may count it as blocked any more. */
  private static final long ENDED = -1;
  /** The worker on this thread when functions run on the JDK's own scheduler (no carrier to ask). */
  private static final ThreadLocal<Worker> UNCARRIED = new ThreadLocal<>();

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      CURRENT = lookup.findVarHandle(Worker.class, "current", Invocation.class);
      SEGMENT = lookup.findVarHandle(Worker.class, "segment", long.class);
      ENDED_CPU = lookup.findVarHandle(Worker.class, "cpuOfEndedParts", long.class);
      SUBMISSIONS = lookup.findVarHandle(Worker.class, "submissions", int.class);
      OWN_CONTINUATION = lookup.findVarHandle(Worker.class, "ownContinuation", Runnable.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * What a worker serves: its function's code, instances and figures, and the decisions that are
   * the function's to make (which invocation next, when to end, what blocking means).
   */
  abstract static class Pool {
    /** The function, as the runtime's listeners know it. */
    final Registration self;
    final String name;
    final Platform platform;
    final BiFunction<Object, Object, Object> handler;
    /** The code of a stateless function that takes its input alone, called directly; or null. */
    final @Nullable Function<@Nullable Object, @Nullable Object> function;
    final InstancePool instances;
    final Meter.Account account;
    final Distribution latency;
    final Distribution cpuPerInvocation;
    /** The function's adaptive concurrency limit, told every invocation's run time; or null. */
    final @Nullable AdaptiveLimit adaptive;

    Pool(Registration self, Platform platform, BiFunction<Object, Object, Object> handler,
        @Nullable Function<@Nullable Object, @Nullable Object> function, InstancePool instances, Meter.Account account,
        Distribution latency, Distribution cpuPerInvocation, @Nullable AdaptiveLimit adaptive) {
      this.self = self;
      this.name = self.name();
      this.platform = platform;
      this.handler = handler;
      this.function = function;
      this.instances = instances;
      this.account = account;
      this.latency = latency;
      this.cpuPerInvocation = cpuPerInvocation;
      this.adaptive = adaptive;
    }

    /** The next invocation for {@code w}, or null when it should end (its slot is then released). */
    abstract @Nullable Invocation next(Worker w);

    /** {@code w} started an invocation (it is {@code w}'s current one). */
    abstract void started(Worker w);

    /** Close gave up on the function: whether nothing may start any more. */
    abstract boolean abandoning();

    /** Ends an invocation that started after close gave up on the function. */
    abstract void abandon(Worker w, Invocation inv);

    /** A worker is (+1) or no longer (-1) completing a future whose dependents run on its thread. */
    abstract void completing(int delta);

    /** An invocation the runtime ended (timeout, budget, close) has returned from its code. */
    abstract void overdueReturned();

    /** A worker unmounted in the middle of its work (carrier side): its carrier is free. */
    abstract void blocked();

    abstract void unblocked();

    /** {@code w} ends; {@code instance} is its warm instance, to return, or null. */
    abstract void ended(Worker w, @Nullable Object instance);

    /** The runtime's own bookkeeping failed on {@code w}, which ends. */
    abstract void failed(Worker w, Throwable e);

    /** An invocation ran {@code wallNanos}, ending at {@code now}: a sample for {@link #adaptive}. */
    abstract void ran(AdaptiveLimit limit, long now, long wallNanos);
  }

  final Pool pool;
  @Nullable Thread thread;
  /** The next worker of its function's {@link LiveWorkers}. */
  volatile @Nullable Worker nextLive;
  /** Whether it ended (it may still be linked in its function's {@link LiveWorkers}). */
  volatile boolean ended;
  /** Whether it ran an invocation: only then may it hand its slot to a waiting function. */
  boolean ranAny;
  /** Whether it holds a worker slot (of its function's limit and of the runtime's capacity). */
  boolean holdsSlot;
  /** True only while it goes straight on to the next queued invocation (see {@link #lastEnd}). */
  boolean lastEndIsNow;

  @SuppressWarnings("unused") // CURRENT
  private volatile @Nullable Invocation current;
  /**
   * The generation of the segment mounted now (shifted left by one) and, in the low bit, whether
   * the worker is counted as blocked. A segment that ends late, after the thread already mounted
   * again elsewhere, carries an old generation and cannot mark the running worker as blocked.
   */
  @SuppressWarnings("unused") // SEGMENT
  private volatile long segment;
  /** The CPU of the current invocation's parts of segments that ended (carrier side). */
  @SuppressWarnings("unused") // ENDED_CPU
  private volatile long cpuOfEndedParts;
  /** How many times its thread was handed to a carrier (one at a time: the JDK submits it once per wake-up). */
  @SuppressWarnings("unused") // SUBMISSIONS
  private volatile int submissions;
  /** What the JDK submits to run its own thread (see {@link #execute}); null until it starts. */
  @SuppressWarnings("unused") // OWN_CONTINUATION
  private volatile @Nullable Runnable ownContinuation;
  /** {@link #submissions} when the mounted segment started (carrier side). */
  private int mountedAt;
  /** The runtime clock when the current invocation started (its deadline counts from here). */
  private volatile long startTick;
  private long startNanos;
  /** When the runtime next checks the current invocation's CPU budget, on the runtime clock. */
  long nextBudgetCheck;
  /** While it runs an invocation's code (init included). */
  private boolean busy;
  /** While it completes an invocation's future, which runs the future's dependent stages. */
  private boolean completing;
  private boolean sampled;
  private boolean yielding;
  private @Nullable Object instance;
  /**
   * When the last invocation ended. While {@link #lastEndIsNow} (nothing ran in between: no spin,
   * no dependent stage, no unmount), the next invocation starts at that time instead of reading
   * the clock again.
   */
  private long lastEnd;
  /** The lane of the carrier it is mounted on (the shared lane off Cumulus carriers). */
  private int lane;
  private long segmentStart;
  /** Where the mounted segment's part not yet read from the carrier's clock starts. */
  private long pieceStart;

  Worker(Pool pool) {
    this.pool = pool;
    this.lane = pool.platform.meter.sharedLane;
  }

  /** The invocation running on the calling thread, if it is a Cumulus worker's; else null. */
  static @Nullable Invocation runningHere() {
    Object owner = CarrierPool.currentOwner();
    if (owner == null && Thread.currentThread().isVirtual()) {
      owner = UNCARRIED.get();
    }
    return owner instanceof Worker w ? w.current() : null;
  }

  /**
   * As {@link #runningHere()}, for a caller about to wait for an invocation of {@code platform}: on
   * a runtime with carriers of its own only they are asked, so that a virtual thread of the JDK's
   * scheduler that waits (a caller's own thread) is not given a thread-local map for nothing.
   */
  static @Nullable Invocation runningHere(Platform platform) {
    Object owner = platform.carriers != null ? CarrierPool.currentOwner()
        : Thread.currentThread().isVirtual() ? UNCARRIED.get() : null;
    return owner instanceof Worker w ? w.current() : null;
  }

  /**
   * Whether the calling thread is one of {@code platform}'s: a worker of one of its functions, or on
   * its carriers any virtual thread (such as one a function's code started).
   */
  static boolean runsHere(Platform platform) {
    CarrierPool carriers = platform.carriers;
    if (carriers != null) {
      return carriers.runsCurrentThread();
    }
    Worker w = Thread.currentThread().isVirtual() ? UNCARRIED.get() : null;
    return w != null && w.pool.platform == platform;
  }

  /**
   * Drains the function's queue. The function's code is called from this frame itself, between
   * {@link #begin} and {@link #end}: a parked invocation keeps only this frame of the runtime's
   * under its code, which is most of what it costs over a parked virtual thread.
   */
  @Override
  public void run() {
    Pool p = pool;
    if (p.platform.carriers == null) {
      UNCARRIED.set(this);
    }
    try {
      Invocation inv;
      while ((inv = p.next(this)) != null) {
        if (!begin(inv)) {
          continue;
        }
        Object result = null;
        Throwable failure = null;
        busy = true;
        try {
          Object target = instance;
          if (target == null) {
            target = coldStart(inv);
          }
          Function<@Nullable Object, @Nullable Object> f = p.function;
          result = f != null ? f.apply(inv.input) : p.handler.apply(target, inv.input);
        } catch (Throwable t) {
          failure = t;
        }
        busy = false;
        end(inv, result, failure);
      }
    } catch (Throwable e) {
      p.failed(this, e); // only the runtime's own code gets here: handlers' failures are caught
    } finally {
      long s = (long) SEGMENT.getAndSet(this, ENDED);
      if (s != ENDED && (s & 1) == 1) {
        p.unblocked();
      }
      CURRENT.setRelease(this, null);
      Object i = instance;
      instance = null;
      p.ended(this, i);
    }
  }

  @Nullable Invocation current() {
    return (Invocation) CURRENT.getAcquire(this);
  }

  /** The runtime clock when the current invocation started. */
  long startTick() {
    return startTick;
  }

  /**
   * Starts {@code inv} on this worker.
   *
   * @return whether its code is to run now; false when its caller or the runtime settled it first
   */
  private boolean begin(Invocation inv) {
    Pool p = pool;
    // Straight on from the previous invocation: it starts when that one ended, or when it was
    // queued if that was later (its caller queued it as the previous one completed).
    long start = lastEndIsNow ? Math.max(lastEnd, inv.enqueuedNanos) : System.nanoTime();
    lastEndIsNow = false;
    Meter.Account account = p.account;
    if (!inv.start()) {
      // Its caller cancelled (or settled) it before it started, or the runtime took it back and
      // settled it: it never runs.
      if (!inv.isWithdrawn()) {
        account.add(lane, Meter.STARTED, 1);
        account.add(lane, Meter.CANCELLED, 1);
        account.add(lane, Meter.FINISHED, 1);
        TenantTally.count(inv, TenantTally.CANCELLED);
      }
      return false;
    }
    try {
      account.add(lane, Meter.STARTED, 1);
      startTick = p.platform.tick(start);
      startNanos = start;
      nextBudgetCheck = 0;
      ENDED_CPU.setOpaque(this, 0L);
      CURRENT.setRelease(this, inv);
      if (p.abandoning()) {
        // Close gave up on the function just as this was taken (its pass over the workers may
        // have seen it, or not): it does not run, and ends as an abandoned running one does.
        p.abandon(this, inv);
        returned(inv);
        return false;
      }
      ranAny = true;
      sampled = p.latency.sample(lane, start);
      p.started(this);
      account.add(lane, Meter.QUEUE_WAIT, Math.max(0, start - inv.enqueuedNanos));
      TenantTally.waited(inv, Math.max(0, start - inv.enqueuedNanos));
      return true;
    } catch (Throwable bookkeeping) {
      failed(inv, bookkeeping);
      throw bookkeeping;
    }
  }

  /** {@code inv}'s code returned {@code result} or threw {@code failure}. */
  private void end(Invocation inv, @Nullable Object result, @Nullable Throwable failure) {
    try {
      settle(inv, startNanos, System.nanoTime(), result, failure);
    } catch (Throwable bookkeeping) {
      failed(inv, bookkeeping);
      throw bookkeeping;
    }
  }

  /** The runtime's own code threw after {@code inv} started: fails it, visibly; the worker then ends. */
  private void failed(Invocation inv, Throwable bookkeeping) {
    busy = false;
    CURRENT.setRelease(this, null);
    if (inv.finish()) {
      pool.account.add(lane, Meter.FAILURES, 1);
      pool.account.add(lane, Meter.FINISHED, 1);
      TenantTally.count(inv, TenantTally.FAILURE);
      inv.completeExceptionally(new CumulusException(pool.name, "the Cumulus runtime failed while running"
          + " an invocation of function '" + pool.name + "': " + bookkeeping, bookkeeping));
    }
  }

  /** The code returned (or threw): count, record and complete, unless the runtime ended it first. */
  @SuppressWarnings("ThreadPriorityCheck") // the slice: give the carrier to others, on purpose
  private void settle(Invocation inv, long start, long end, @Nullable Object result, @Nullable Throwable failure) {
    Pool p = pool;
    boolean ours = inv.finish(); // false: the runtime already ended it (timeout, budget, close)
    long cpu = 0;
    try {
      cpu = record(inv, start, end);
    } catch (Throwable e) {
      p.platform.log(System.Logger.Level.ERROR, "metering an invocation of function '" + p.name + "' failed", e);
    }
    if (ours) {
      if (failure instanceof Error) {
        discardInstance(); // an Error may have left the instance broken
      }
      CURRENT.setRelease(this, null); // the worker holds nothing of a call that is over
      // Counted before the future completes, so that its caller's next stats() includes it, and
      // free before it completes, so that the caller's next call finds this worker free.
      p.account.add(lane, failure == null ? Meter.SUCCESSES : Meter.FAILURES, 1);
      p.account.add(lane, Meter.FINISHED, 1);
      TenantTally.count(inv, failure == null ? TenantTally.SUCCESS : TenantTally.FAILURE);
      lastEnd = end;
      Tally t = inv.tally;
      complete(inv, t == null || failure != null ? result : receiptOrResult(t, inv, start, end, cpu, result),
          failure);
    } else {
      discardInstance(); // interrupted in the middle of its work: not trusted again
      returned(inv);
    }
    Thread.interrupted();
    if (segmentStart != 0 && end - segmentStart > SLICE_NANOS && p.platform.carriers != null) {
      yielding = true;
      Thread.yield();
    }
  }

  /**
   * The runtime ended {@code inv} (and counted it): waits until it has delivered its interrupt, then
   * absorbs that interrupt so it cannot hit the next invocation.
   */
  private void returned(Invocation inv) {
    while (!inv.isEnded()) {
      Thread.onSpinWait();
    }
    Thread.interrupted();
    CURRENT.setRelease(this, null);
    pool.account.add(lane, Meter.FINISHED, 1);
    pool.overdueReturned();
  }

  /**
   * Completes the future, which runs the stages its caller attached on this thread. When there are
   * some, this worker is not free meanwhile: its function may start another for its queue.
   */
  private void complete(Invocation inv, @Nullable Object result, @Nullable Throwable failure) {
    Pool p = pool;
    boolean stages = inv.hasDependents();
    completing = true;
    if (stages) {
      p.completing(1);
    }
    try {
      if (failure == null) {
        inv.complete(result);
      } else {
        inv.completeExceptionally(failure instanceof FunctionFailedException f && p.name.equals(f.functionName())
            ? f : failed(p.name, inv, failure));
      }
    } finally {
      if (stages) {
        p.completing(-1);
      }
      completing = false;
    }
    lastEndIsNow = !stages; // stages ran on this thread: the next start reads the clock
  }

  /**
   * What the caller of {@code inv}, whose code threw {@code thrown}, gets. A function without a
   * declared input type takes any object, so a {@code ClassCastException} of its input's class most
   * likely means a call of the wrong type: the message says how to have such calls refused.
   */
  private static FunctionFailedException failed(String name, Invocation inv, Throwable thrown) {
    Object input = inv.input;
    if (thrown instanceof ClassCastException && !inv.function.typedInput && input != null
        && String.valueOf(thrown.getMessage()).contains(input.getClass().getName() + " cannot be cast")) {
      return new FunctionFailedException(name, "function '" + name + "' failed: " + thrown + "; its input was"
          + " a " + input.getClass().getName() + ", and '" + name + "' declares no inputType, so inputs are not"
          + " checked: declare it with FnSpec.Builder.inputType(Class) to have a call of the wrong type"
          + " refused before it runs (InvalidInputException)", thrown);
    }
    return new FunctionFailedException(name, thrown);
  }

  /**
   * What completes {@code inv}, whose code returned {@code result}: for a metered call, its receipt
   * (the figures just recorded for it alone); else the result. Out of line: plain calls never come
   * here unless their code asked for its context.
   */
  private @Nullable Object receiptOrResult(Tally t, Invocation inv, long start, long end, long cpu,
      @Nullable Object result) {
    return t.metered
        ? t.receipt(result, Math.max(0, start - inv.enqueuedNanos), end - start, cpu,
            pool.platform.meter.clocks ? Meter.billedMillis(cpu) : 0)
        : result;
  }

  /** Records the invocation's figures in its function's account. @return its CPU time */
  private long record(Invocation inv, long start, long end) {
    Pool p = pool;
    boolean clocks = p.platform.meter.clocks;
    long wall = end - start;
    long cpu = clocks ? cpuOf(end) : 0;
    int l = lane;
    p.account.add(l, Meter.WALL, wall);
    p.account.add(l, Meter.BILLED, Meter.billedMillis(wall));
    Tally t = inv.tally;
    if (t != null) {
      closeTally(t, l);
    }
    long now = p.platform.tick(end);
    p.latency.record(end - inv.enqueuedNanos, now, sampled, l);
    AdaptiveLimit adaptive = p.adaptive;
    if (adaptive != null) {
      p.ran(adaptive, now, wall);
    }
    if (clocks) {
      p.account.add(l, Meter.BILLED_CPU, Meter.billedMillis(cpu));
      p.cpuPerInvocation.record(cpu, now, sampled, l);
    }
    TenantTally.ran(inv, wall, cpu, clocks);
    return cpu;
  }

  /** The invocation's code returned: what it processed is final, and counted. */
  private void closeTally(Tally t, int l) {
    long bytes = t.close();
    if (bytes > 0) {
      pool.account.add(l, Meter.BYTES_PROCESSED, bytes);
    }
  }

  /**
   * The current invocation's CPU time: its parts of segments that ended, plus its part of the
   * segment mounted now. A short part is taken at its length (a mounted virtual thread runs
   * without pause); a long one ends with a reading of the carrier's clock.
   */
  private long cpuOf(long end) {
    long cpu = (long) ENDED_CPU.getOpaque(this);
    long from = Math.max(startNanos, pieceStart);
    long part = end - from;
    if (part >= EXACT_PART_NANOS && lane != pool.platform.meter.sharedLane) {
      long pieceWall = end - pieceStart;
      long pieceCpu = pool.platform.meter.lane(lane).readAt(end);
      pieceStart = end;
      return cpu + (pieceWall > 0 ? (long) (pieceCpu * ((double) part / pieceWall)) : pieceCpu);
    }
    return cpu + Math.max(0, part);
  }

  /** CPU used so far by {@code inv} if this worker runs it, for CPU budgets (timer thread); else -1. */
  long cpuSoFar(Invocation inv) {
    if (current() != inv || !inv.isRunning()) {
      return -1;
    }
    long cpu = (long) ENDED_CPU.getOpaque(this);
    int l = lane;
    if (l != pool.platform.meter.sharedLane) {
      long live = pool.platform.meter.lane(l).liveCpu(this, startNanos);
      if (live > 0) {
        cpu += live;
      }
    }
    return cpu;
  }

  private Object coldStart(Invocation inv) {
    Pool p = pool;
    Object warm = p.instances.acquire();
    if (warm != null) {
      instance = warm;
      return warm;
    }
    long t0 = System.nanoTime();
    Object created;
    try {
      created = p.instances.create();
    } catch (Throwable t) {
      pool.account.add(lane, Meter.INIT, System.nanoTime() - t0);
      p.instances.createFailed();
      throw new FunctionFailedException(p.name,
          "init of a new instance of function '" + p.name + "' failed: " + t, t);
    }
    long init = System.nanoTime() - t0;
    p.account.add(lane, Meter.COLD_STARTS, 1);
    p.account.add(lane, Meter.INIT, init);
    TenantTally.coldStart(inv);
    Tally t = inv.tally;
    if (t != null) {
      t.coldStart = true;
      t.initNanos = init;
    }
    p.platform.events.coldStart(p.self, init);
    instance = created;
    return created;
  }

  /** Gives the warm instance back to the pool before this worker may end (it can take it again). */
  void returnInstance() {
    Object i = instance;
    instance = null;
    if (i != null) {
      pool.instances.release(i);
    }
  }

  private void discardInstance() {
    Object i = instance;
    instance = null;
    if (i != null) {
      pool.instances.discard(i);
    }
  }

  /**
   * Ends {@code inv} on behalf of the runtime, interrupting the handler if it still runs it.
   *
   * @param count counts the ending; runs only if this call ends it
   * @return whether this call ended it (false: it had already ended)
   */
  boolean end(Invocation inv, Runnable count) {
    if (!inv.abandon()) {
      return false;
    }
    try {
      count.run();
      Thread t = thread;
      if (t != null && current() == inv) {
        t.interrupt(); // the worker waits for ended() below before it absorbs this
      }
    } finally {
      inv.ended();
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Its thread's scheduler and segment observer (carrier side)

  /**
   * Schedules a continuation of its own thread, observed, or of a virtual thread that the function's
   * code started, unobserved.
   *
   * <p>The JDK gives a virtual thread built without a scheduler its parent virtual thread's, so
   * every thread a handler starts with {@code Thread.ofVirtual()} (and the threads those start) has
   * this worker as its scheduler. Their segments are the function's work, metered to its account,
   * but they are not the worker's: observed, a child ending a segment while the worker runs would
   * count the worker as blocked, and its function would start workers (and instances) it does not
   * need. The JDK submits one {@code Runnable} per virtual thread, every time (its
   * {@code runContinuation}), and the first one submitted here is the worker's own: it is submitted
   * by {@code start()}, before the worker's code can start any thread.
   */
  @Override
  @SuppressWarnings("ReferenceEquality") // the JDK's task of a thread is known by its identity
  public void execute(Runnable continuation) {
    CarrierPool c = pool.platform.carriers;
    if (c == null) {
      throw new IllegalStateException("no Cumulus carriers");
    }
    Runnable own = (Runnable) OWN_CONTINUATION.getAcquire(this);
    if (own == null) {
      OWN_CONTINUATION.setRelease(this, continuation); // start(): nothing else can be submitted yet
    } else if (own != continuation) {
      c.schedule(continuation, pool.account, null); // a thread its function's code started
      return;
    }
    SUBMISSIONS.setRelease(this, (int) SUBMISSIONS.getOpaque(this) + 1);
    c.schedule(continuation, pool.account, this);
  }

  @Override
  public long segmentStarted(int lane, long startNanos) {
    lastEndIsNow = false;
    this.lane = lane;
    segmentStart = startNanos;
    pieceStart = startNanos;
    mountedAt = (int) SUBMISSIONS.getAcquire(this);
    for (;;) {
      long s = (long) SEGMENT.getVolatile(this);
      if (s == ENDED) {
        return ENDED;
      }
      long next = ((s >>> 1) + 1) << 1;
      if (SEGMENT.compareAndSet(this, s, next)) {
        if ((s & 1) == 1) {
          pool.unblocked();
        }
        return next;
      }
    }
  }

  @Override
  public void segmentEnded(long token, long pieceStart, long endNanos, long cpuNanos) {
    if (cpuNanos > 0 && endNanos > pieceStart && (busy || completing)) {
      // The thread unmounted in the middle of an invocation: charge it its part of the piece.
      long part = endNanos - Math.max(pieceStart, startNanos);
      if (part > 0) {
        ENDED_CPU.getAndAdd(this, (long) (cpuNanos * Math.min(1.0, (double) part / (endNanos - pieceStart))));
      }
    }
    // It blocked in an invocation, or in a dependent stage of its future: its carrier is free for
    // another worker. Not if it is runnable again already (it yielded, or its wake-up came first),
    // nor if a later segment of this thread has started meanwhile.
    boolean runnable = (int) SUBMISSIONS.getAcquire(this) != mountedAt;
    if ((busy || completing) && !runnable && token != ENDED && SEGMENT.compareAndSet(this, token, token | 1)) {
      pool.blocked();
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
