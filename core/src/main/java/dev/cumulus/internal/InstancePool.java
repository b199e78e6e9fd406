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
 * <p>The count of live instances crossing zero is the function scaling from zero or back to it
 * ({@link Scaling}): told under the pool's lock, so that the two reach listeners in the order they
 * happened. Only the crossings take the lock: a cold start from zero, the last instance going.
 *
 * <p>Caffeine's expiry was considered: it would add a map and a scheduler per function but not the
 * LIFO order we need, and this needs one stack and one timer.
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
  private final long keepAliveNanos;
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
   * @param scaling told when the count of live instances crosses zero
   */
  InstancePool(String name, Clock clock, long keepAliveNanos, int minInstances, Supplier<?> init,
      Function<Runnable, CompletableFuture<Void>> metered, Scaling scaling) {
    this.name = name;
    this.clock = clock;
    this.keepAliveNanos = keepAliveNanos;
    this.minInstances = minInstances;
    this.init = init;
    this.metered = metered;
    this.scaling = scaling;
  }

  /** Counts one more live instance; the first one is the function scaling from zero. */
  private void addLive() {
    if (live.incrementAndGet() == 1) {
      crossedZero(false);
    }
  }

  /** Counts {@code n} instances fewer (lock held); the last one going is the function scaling to zero. */
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
    for (Idle t; (t = top.get()) != null; ) {
      if (top.compareAndSet(t, t.next)) {
        return t.instance;
      }
    }
    addLive(); // counted now so that warmInstances includes the instance being created
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
      addLive();
      release(created);
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
        addLive();
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
      release(created);
    }
  }

  /** Returns an instance; it becomes the most recently used idle one, or is closed if the pool is. */
  void release(Object instance) {
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
    long due = since + keepAliveNanos;
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
      List<Idle> expired = new ArrayList<>();
      for (Idle i : idle) {
        if (i.since + keepAliveNanos <= now) {
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
}
