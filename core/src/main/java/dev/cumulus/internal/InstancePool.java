package dev.cumulus.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The instances of one function. A worker takes the most recently used idle instance (so the surplus
 * ages out at the bottom of the stack) or, when none is idle, reserves the right to create one (a
 * cold start). Idle instances beyond {@code minInstances} are closed after {@code keepAlive}: one
 * timer per pool, armed only while such an instance exists.
 *
 * <p>{@code minInstances} is kept, not only made at registration: whenever an instance goes (a call
 * that timed out or was abandoned discards its instance, an init fails, a handler throws an
 * {@code Error}), the pool creates replacements in the background, on a thread metered as the
 * function's, retrying a failing init with a growing pause.
 *
 * <p>The idle instances are a lock-free stack: taking and returning one is a CAS on its top, so the
 * thousands of workers of a burst that start and end together never wait for one another here.
 * The rare passes (expiry, close) take the whole stack off at once, under the pool's lock, and put
 * back, in new nodes, what stays.
 *
 * <p>Caffeine's expiry was considered: it would add a map and a scheduler per function but not the
 * LIFO order we need, and this needs one stack and one timer.
 *
 * <p>The count of live instances crossing zero is the function scaling from zero or back to it
 * ({@link Scaling}): told under the pool's lock, so that the two reach listeners in the order they
 * happened. Only the crossings take the lock: a cold start from zero, the last instance going.
 */
final class InstancePool {
  /** Told when the count of live instances leaves zero or comes back to it (under the pool's lock). */
  @FunctionalInterface
  interface Scaling {
    /** Tells nobody. */
    Scaling NONE = toZero -> {};

    /**
     * The count of live instances crossed zero.
     *
     * @param toZero true: the last instance went; false: the first one is being created
     */
    void crossedZero(boolean toZero);
  }

  private static final System.Logger LOG = System.getLogger("dev.cumulus");
  private static final long FIRST_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long MAX_RETRY_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final String name;
  private final ReentrantLock lock = new ReentrantLock();
  /** The most recently returned idle instance; each links to the one returned before it. */
  private final AtomicReference<@Nullable Idle> top = new AtomicReference<>();
  private final Clock clock;
  /**
   * How long an idle instance is kept: the fixed keep-alive, or what the adaptive policy decided
   * when the function last became idle. Read by the expiry.
   */
  private volatile long keepNanos;
  private final int minInstances;
  private final Supplier<?> init;
  /** Runs a task on a thread metered as the function's; the future settles when it ends. */
  private final Function<Runnable, CompletableFuture<Void>> metered;
  private final Scaling scaling;
  private final AtomicLong provisionNanos = new AtomicLong();
  private final CompletableFuture<Void> allClosed = new CompletableFuture<>();
  /** Closes running now, on their threads (futures compare by identity, as wanted here). */
  private final Set<CompletableFuture<Void>> inFlight = ConcurrentHashMap.newKeySet();
  /** Instances alive, busy or idle. */
  private final AtomicInteger live = new AtomicInteger();
  /** Instances handed to a thread to be closed, not closed yet. */
  private int closing;
  private volatile boolean closed;
  /** Whether lost instances are replaced: until the function is unregistered or the runtime closes. */
  private boolean keepMinimum = true;
  private boolean replenishing;
  private long retryNanos = FIRST_RETRY_NANOS;
  /** Set under the lock; read without it by {@link #release}, which arms it only when unset. */
  private volatile Clock.@Nullable Timer expiry;
  private long expiryAt;

  // Adaptive keep-alive (KeepAlive.adaptive()): null, and never touched, for a fixed keep-alive.
  /** The function's idle times and the policy drawn from them; under the lock. */
  private final @Nullable IdleHistogram idleTimes;
  /**
   * Instances in use (low 32 bits) and a count of the function's busy/idle transitions (high 32
   * bits), so that the policy applies transitions that race in the order they happened.
   */
  private final AtomicLong busy = new AtomicLong();
  /**
   * Under the lock: the number of the last transition applied (the low 32 bits of its count, which
   * wraps: numbers are compared by their difference), and when the function last became idle (0:
   * busy).
   */
  private int lastTransition;
  private long idleSince;
  /**
   * Under the lock: the pending pre-warm timer, if any, and what it does when due: wait for
   * {@code preWarmAfterNanos} of idleness, then bring the instances back to {@code preWarmTarget}
   * and keep them {@code preWarmKeepNanos}.
   */
  private Clock.@Nullable Timer preWarm;
  private long preWarmDueAt;
  private long preWarmAfterNanos;
  private long preWarmKeepNanos;
  private int preWarmTarget;
  private final AtomicLong preWarms = new AtomicLong();

  /** A node of the idle stack; never pushed twice, so a stale top cannot be taken again (no ABA). */
  private static final class Idle {
    final Object instance;
    final long since;
    @Nullable Idle next;

    Idle(Object instance, long since) {
      this.instance = instance;
      this.since = since;
    }
  }

  /**
   * @param metered runs a task on a thread metered as the function's (closing and creating
   *     instances); it must not block the caller for long
   */
  InstancePool(String name, Clock clock, long keepAliveNanos, int minInstances, Supplier<?> init,
      Function<Runnable, CompletableFuture<Void>> metered, Scaling scaling) {
    this(name, clock, keepAliveNanos, null, minInstances, init, metered, scaling);
  }

  /**
   * @param idleTimes the adaptive keep-alive's histogram, or null for a fixed keep-alive
   * @param scaling told when the count of live instances crosses zero
   */
  InstancePool(String name, Clock clock, long keepAliveNanos, @Nullable IdleHistogram idleTimes, int minInstances,
      Supplier<?> init, Function<Runnable, CompletableFuture<Void>> metered, Scaling scaling) {
    this.name = name;
    this.clock = clock;
    this.keepNanos = keepAliveNanos;
    this.idleTimes = idleTimes;
    this.minInstances = minInstances;
    this.init = init;
    this.metered = metered;
    this.scaling = scaling;
  }

  /** Counts {@code n} more live instances; the first one is the function scaling from zero. */
  private void addLive(int n) {
    if (live.getAndAdd(n) == 0 && n > 0) {
      crossedZero(false);
    }
  }

  /** Counts {@code n} instances fewer; the last one going is the function scaling to zero. */
  private void removeLive(int n) {
    if (live.addAndGet(-n) == 0 && n > 0) {
      crossedZero(true);
    }
  }

  private void crossedZero(boolean toZero) {
    lock.lock(); // held already on every path but a cold start from zero and provisioning
    try {
      scaling.crossedZero(toZero);
    } finally {
      lock.unlock();
    }
  }

  /** A warm instance, or {@code null}: then the caller creates one and reports a failure. */
  @Nullable Object acquire() {
    if (idleTimes != null) {
      inUse(1);
    }
    for (Idle t; (t = top.get()) != null; ) {
      if (top.compareAndSet(t, t.next)) {
        return t.instance;
      }
    }
    addLive(1); // counted now so that warmInstances includes the instance being created
    return null;
  }

  /** Runs the function's init: a new instance, never null. */
  Object create() {
    Object created = init.get();
    if (created == null) {
      throw new NullPointerException("init of function '" + name + "' returned null");
    }
    return created;
  }

  /** The creation reserved by {@link #acquire} failed. */
  void createFailed() {
    lost(null);
  }

  /** Drops an instance that may be broken (interrupted mid-work, or its handler threw an Error). */
  void discard(Object instance) {
    lost(instance);
  }

  private void lost(@Nullable Object instance) {
    if (idleTimes != null) {
      inUse(-1);
    }
    dropped(instance);
  }

  /** An instance counted as live is gone (or was never made): closes it, replaces it if needed. */
  private void dropped(@Nullable Object instance) {
    boolean replenish;
    lock.lock();
    try {
      removeLive(1);
      if (instance != null) {
        closing++;
      }
      replenish = needsReplenishing();
    } finally {
      lock.unlock();
    }
    if (instance != null) {
      close(List.of(instance));
    }
    if (replenish) {
      startReplenishing();
    }
    checkAllClosed();
  }

  /** Creates {@code minInstances} instances now, on the calling thread (registration). */
  void provision() {
    for (int i = 0; i < minInstances; i++) {
      long t0 = System.nanoTime();
      Object created;
      try {
        created = create();
      } finally {
        provisionNanos.addAndGet(System.nanoTime() - t0);
      }
      addLive(1);
      addIdle(created);
    }
  }

  /** Under the lock: whether fewer than {@code minInstances} live and no replenishing is under way. */
  private boolean needsReplenishing() {
    if (closed || !keepMinimum || replenishing || live.get() >= minInstances) {
      return false;
    }
    replenishing = true;
    return true;
  }

  /** Starts replenishing on a metered thread (its failures are caught and retried inside). */
  private void startReplenishing() {
    CompletableFuture<Void> unused = metered.apply(this::replenish);
  }

  /** Creates instances until {@code minInstances} live; on a metered thread. */
  private void replenish() {
    for (;;) {
      lock.lock();
      try {
        if (closed || !keepMinimum || live.get() >= minInstances) {
          replenishing = false;
          retryNanos = FIRST_RETRY_NANOS;
          return;
        }
        addLive(1);
      } finally {
        lock.unlock();
      }
      long t0 = System.nanoTime();
      Object created;
      try {
        created = create();
      } catch (Throwable e) {
        long pause;
        lock.lock();
        try {
          removeLive(1);
          pause = retryNanos;
          retryNanos = Math.min(MAX_RETRY_NANOS, retryNanos * 2);
        } finally {
          lock.unlock();
        }
        LOG.log(System.Logger.Level.WARNING, "creating an instance of function '" + name
            + "' to keep minInstances " + minInstances + " failed; trying again in "
            + TimeUnit.NANOSECONDS.toMillis(pause) + " ms", e);
        Clock.Timer unused = clock.scheduleIdle(this::startReplenishing, pause);
        return; // still replenishing: the retry goes on
      } finally {
        provisionNanos.addAndGet(System.nanoTime() - t0);
      }
      addIdle(created);
    }
  }

  /**
   * Returns an instance a worker took with {@link #acquire}: it becomes the most recently used idle
   * one, or is closed if the pool is.
   */
  void release(Object instance) {
    addIdle(instance);
    if (idleTimes != null) {
      inUse(-1);
    }
  }

  /** Puts an instance on the idle stack (or closes it, if the pool is closed). */
  private void addIdle(Object instance) {
    if (closed) {
      closeReturned(instance);
      return;
    }
    Idle node = new Idle(instance, clock.nanoTime());
    push(node, node);
    if (closed) {
      // The pool closed while this was returned: whatever close took, this may have come after.
      closeIdle();
    } else if (expiry == null && live.get() > minInstances) {
      lock.lock();
      try {
        long oldest = node.since; // the least recently used idle instance is due first
        for (Idle i = top.get(); i != null; i = i.next) {
          oldest = Math.min(oldest, i.since);
        }
        armExpiry(oldest);
      } finally {
        lock.unlock();
      }
    }
  }

  /** Pushes the chain {@code first} .. {@code last} (linked through {@code next}) on the idle stack. */
  private void push(Idle first, Idle last) {
    for (;;) {
      Idle t = top.get();
      last.next = t;
      if (top.compareAndSet(t, first)) {
        return;
      }
    }
  }

  private void closeReturned(Object instance) {
    lock.lock();
    try {
      removeLive(1);
      closing++;
    } finally {
      lock.unlock();
    }
    close(List.of(instance));
  }

  /** The function leaves (unregistered, or the runtime closes): instances it loses are not replaced. */
  void stopKeepingMinimum() {
    lock.lock();
    try {
      keepMinimum = false;
    } finally {
      lock.unlock();
    }
  }

  /** Instances alive now, busy or idle. */
  int live() {
    return Math.max(0, live.get());
  }

  /** Wall time spent creating instances outside calls (provisioning, replenishing). */
  long provisionNanos() {
    return provisionNanos.get();
  }

  /**
   * Closes every idle instance now and every busy one when it is returned.
   *
   * @return settles once the pool is closed and no instance is alive or closing
   */
  CompletableFuture<Void> close() {
    closed = true;
    if (idleTimes != null) {
      lock.lock();
      try {
        cancelPreWarm();
      } finally {
        lock.unlock();
      }
    }
    closeIdle();
    checkAllClosed();
    return allClosed;
  }

  /** The pool is closed: takes every idle instance off the stack and closes it. */
  private void closeIdle() {
    List<Object> doomed = new ArrayList<>();
    lock.lock();
    try {
      for (Idle i = top.getAndSet(null); i != null; i = i.next) {
        doomed.add(i.instance);
      }
      removeLive(doomed.size());
      closing += doomed.size();
      Clock.Timer e = expiry;
      if (e != null) {
        e.cancel();
        expiry = null;
      }
    } finally {
      lock.unlock();
    }
    if (!doomed.isEmpty()) {
      close(doomed);
    }
  }

  @SuppressWarnings("UndefinedEquals") // a future is its own identity: that is the key here
  private void removeInFlight(CompletableFuture<Void> done) {
    inFlight.remove(done);
  }

  /** Settles once the closes running now have ended. */
  CompletableFuture<Void> closesInFlight() {
    return CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new));
  }

  /** Closes instances on a metered thread; never blocks the caller. */
  private void close(List<Object> instances) {
    Runnable closeAll = () -> {
      for (Object instance : instances) {
        if (instance instanceof AutoCloseable closeable) {
          try {
            closeable.close();
          } catch (Throwable e) {
            LOG.log(System.Logger.Level.WARNING, "closing an instance of function '" + name + "' failed", e);
          }
        }
      }
    };
    CompletableFuture<Void> done = instances.stream().anyMatch(i -> i instanceof AutoCloseable)
        ? metered.apply(closeAll) : CompletableFuture.completedFuture(null);
    inFlight.add(done);
    CompletableFuture<Void> unused = done.whenComplete((v, e) -> {
      removeInFlight(done);
      lock.lock();
      try {
        closing -= instances.size();
      } finally {
        lock.unlock();
      }
      checkAllClosed();
    });
  }

  private void checkAllClosed() {
    boolean done;
    lock.lock();
    try {
      done = closed && live.get() == 0 && closing == 0;
    } finally {
      lock.unlock();
    }
    if (done) {
      allClosed.complete(null);
    }
  }

  /** Lock held: arms the expiry for an idle instance returned at {@code since}, unless one is due earlier. */
  private void armExpiry(long since) {
    long due = since + keepNanos;
    Clock.Timer e = expiry;
    if (closed || live.get() <= minInstances || (e != null && expiryAt <= due)) {
      return;
    }
    if (e != null) {
      e.cancel();
    }
    expiryAt = due;
    expiry = clock.scheduleIdle(this::expire, due - clock.nanoTime());
  }

  /**
   * Closes the idle instances unused for {@code keepAlive}, least recently used first, while more
   * than {@code minInstances} live: takes the stack off, and puts back what stays, in new nodes
   * (above any returned meanwhile).
   */
  private void expire() {
    List<Object> doomed = new ArrayList<>();
    lock.lock();
    try {
      expiry = null;
      List<Idle> idle = new ArrayList<>(); // most recently returned first
      for (Idle i = top.getAndSet(null); i != null; i = i.next) {
        idle.add(i);
      }
      long now = clock.nanoTime();
      long keep = keepNanos;
      List<Idle> expired = new ArrayList<>();
      for (Idle i : idle) {
        if (i.since + keep <= now) {
          expired.add(i);
        }
      }
      expired.sort(Comparator.comparingLong(i -> i.since));
      Set<Idle> gone = Collections.newSetFromMap(new IdentityHashMap<>());
      for (Idle i : expired) {
        if (live.get() <= minInstances) {
          break;
        }
        gone.add(i);
        doomed.add(i.instance);
        removeLive(1);
        closing++;
      }
      Idle first = null;
      Idle last = null;
      long oldest = Long.MAX_VALUE;
      for (Idle i : idle) {
        if (!gone.contains(i)) {
          Idle copy = new Idle(i.instance, i.since);
          if (last == null) {
            first = copy;
          } else {
            last.next = copy;
          }
          last = copy;
          oldest = Math.min(oldest, i.since);
        }
      }
      if (first != null && last != null) {
        push(first, last);
        armExpiry(oldest);
      }
    } finally {
      lock.unlock();
    }
    if (closed) {
      closeIdle(); // close took the stack before this put it back
    }
    if (!doomed.isEmpty()) {
      close(doomed);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Adaptive keep-alive: the function's busy and idle periods, and what the policy does at each

  /** Instances created ahead of a call by the adaptive keep-alive. */
  long preWarms() {
    return preWarms.get();
  }

  /** An instance was taken (+1) or given back or lost (-1): a busy/idle transition when it crosses 0. */
  private void inUse(int delta) {
    for (;;) {
      long s = busy.get();
      int inUse = (int) s + delta;
      boolean transition = delta > 0 ? inUse == 1 : inUse == 0;
      // The count and the transition's number change in one step, so that two transitions that
      // race (an idle and the busy right after it) are applied in their order: a stale one is dropped.
      long next = ((s >>> 32) + (transition ? 1 : 0)) << 32 | (inUse & 0xFFFF_FFFFL);
      if (busy.compareAndSet(s, next)) {
        if (transition) {
          transition(inUse > 0, (int) (next >>> 32));
        }
        return;
      }
    }
  }

  private void transition(boolean nowBusy, int number) {
    IdleHistogram h = idleTimes;
    if (h == null) {
      return;
    }
    lock.lock();
    try {
      // A function called in a loop counts 2^32 transitions within hours: compare by difference.
      if (number - lastTransition <= 0 || closed) {
        return;
      }
      lastTransition = number;
      long now = clock.nanoTime();
      if (nowBusy) {
        if (idleSince != 0) {
          h.record(now - idleSince);
          idleSince = 0;
        }
        return; // a pending pre-warm stays: when due, it sees the function busy, or idle since later
      }
      idleSince = now == 0 ? 1 : now;
      IdleHistogram.Decision d = h.decide();
      long keep;
      if (d.preWarms() && d.preWarmAfterNanos() > h.sameBurstNanos()) {
        // Nothing is likely before the head: unload once the burst is over (an idle time under
        // sameBurstNanos is not a gap), load again when the head has passed, keep until the tail.
        keep = h.sameBurstNanos();
        preWarmAfterNanos = d.preWarmAfterNanos();
        preWarmKeepNanos = d.keepNanos();
        preWarmTarget = live.get(); // all idle now
        // One timer per function, however often it goes idle: a function called in a loop between
        // its gaps would otherwise arm and cancel one per call. A timer due later than this idle
        // period's head (the head moved down) is replaced; one due earlier waits again when due.
        long due = idleSince + preWarmAfterNanos;
        if (preWarm == null || preWarmDueAt - due > 0) {
          cancelPreWarm();
          preWarmDueAt = due;
          preWarm = clock.scheduleIdle(this::preWarmDue, preWarmAfterNanos);
        }
      } else {
        keep = d.preWarms() ? d.preWarmAfterNanos() + d.keepNanos() : d.keepNanos(); // until the tail
        cancelPreWarm();
      }
      if (keepNanos != keep) {
        // Only on a change: a function called in a loop goes idle on every call, and its expiry
        // timer, armed for the oldest idle instance, is still right.
        keepNanos = keep;
        rearmExpiry();
      }
    } finally {
      lock.unlock();
    }
  }

  /** Lock held: cancels the pending pre-warm, if any. */
  private void cancelPreWarm() {
    Clock.Timer p = preWarm;
    if (p != null) {
      p.cancel();
      preWarm = null;
    }
  }

  /** Lock held: the keep-alive changed; the expiry is armed for the oldest idle instance. */
  private void rearmExpiry() {
    Clock.Timer e = expiry;
    if (e != null) {
      e.cancel();
      expiry = null;
    }
    long oldest = Long.MAX_VALUE;
    for (Idle i = top.get(); i != null; i = i.next) {
      oldest = Math.min(oldest, i.since);
    }
    if (oldest != Long.MAX_VALUE) {
      armExpiry(oldest);
    }
  }

  /**
   * The pre-warm timer: if the function has been idle for the head of its idle times, creates
   * again the instances it had when it became idle, on a thread metered as the function's, and
   * keeps them until the tail; if it became idle again since, waits for the head from then; if it
   * is busy, does nothing (its next idle period schedules again). On the idle timer: it only starts
   * that thread.
   */
  private void preWarmDue() {
    int count;
    lock.lock();
    try {
      preWarm = null;
      if (closed || !keepMinimum || idleSince == 0) {
        return; // closed, leaving, or busy
      }
      long now = clock.nanoTime();
      long wait = idleSince + preWarmAfterNanos - now;
      if (wait > 0) {
        preWarmDueAt = now + wait;
        preWarm = clock.scheduleIdle(this::preWarmDue, wait);
        return;
      }
      keepNanos = preWarmKeepNanos;
      rearmExpiry();
      count = preWarmTarget - live.get();
      if (count <= 0) {
        return;
      }
      addLive(count); // counted now, as the instances being created are
    } finally {
      lock.unlock();
    }
    CompletableFuture<Void> unused = metered.apply(() -> {
      for (int i = 0; i < count; i++) {
        long t0 = System.nanoTime();
        Object created;
        try {
          created = create();
        } catch (Throwable e) {
          provisionNanos.addAndGet(System.nanoTime() - t0);
          LOG.log(System.Logger.Level.WARNING, "pre-warming an instance of function '" + name + "' failed", e);
          for (int left = count - i; left > 0; left--) {
            dropped(null);
          }
          return;
        }
        provisionNanos.addAndGet(System.nanoTime() - t0);
        preWarms.incrementAndGet();
        addIdle(created);
      }
    });
  }
}
