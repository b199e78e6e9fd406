package dev.cumulus.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 * <p>Caffeine's expiry was considered: it would add a map and a scheduler per function but not the
 * LIFO order we need, and this needs one lock-guarded deque and one timer.
 */
final class InstancePool {
  private static final System.Logger LOG = System.getLogger("dev.cumulus");
  private static final long FIRST_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long MAX_RETRY_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final String name;
  private final ReentrantLock lock = new ReentrantLock();
  private final ArrayDeque<Idle> idle = new ArrayDeque<>(); // first = most recently used
  private final Clock clock;
  private final long keepAliveNanos;
  private final int minInstances;
  private final Supplier<?> init;
  /** Runs a task on a thread metered as the function's; the future settles when it ends. */
  private final Function<Runnable, CompletableFuture<Void>> metered;
  private final AtomicLong provisionNanos = new AtomicLong();
  private final CompletableFuture<Void> allClosed = new CompletableFuture<>();
  /** Closes running now, on their threads (futures compare by identity, as wanted here). */
  private final Set<CompletableFuture<Void>> inFlight = ConcurrentHashMap.newKeySet();
  /** Instances alive, busy or idle; changed under the lock, but for a cold start with none idle. */
  private final AtomicInteger live = new AtomicInteger();
  /** Idle instances now (written under the lock): a cold start with none idle takes no lock. */
  private volatile int idleCount;
  /** Instances handed to a thread to be closed, not closed yet. */
  private int closing;
  private boolean closed;
  /** Whether lost instances are replaced: until the function is unregistered or the runtime closes. */
  private boolean keepMinimum = true;
  private boolean replenishing;
  private long retryNanos = FIRST_RETRY_NANOS;
  private Clock.@Nullable Timer expiry;
  private long expiryAt;

  private record Idle(Object instance, long since) {}

  /**
   * @param metered runs a task on a thread metered as the function's (closing and creating
   *     instances); it must not block the caller for long
   */
  InstancePool(String name, Clock clock, long keepAliveNanos, int minInstances, Supplier<?> init,
      Function<Runnable, CompletableFuture<Void>> metered) {
    this.name = name;
    this.clock = clock;
    this.keepAliveNanos = keepAliveNanos;
    this.minInstances = minInstances;
    this.init = init;
    this.metered = metered;
  }

  /** A warm instance, or {@code null}: then the caller creates one and reports a failure. */
  @Nullable Object acquire() {
    if (idleCount > 0) {
      lock.lock();
      try {
        Idle top = idle.pollFirst();
        if (top != null) {
          idleCount = idle.size();
          return top.instance;
        }
      } finally {
        lock.unlock();
      }
    }
    live.incrementAndGet(); // counted now so that warmInstances includes the instance being created
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
      live.decrementAndGet();
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
      live.incrementAndGet();
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
        live.incrementAndGet();
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
          live.decrementAndGet();
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
    boolean discard;
    lock.lock();
    try {
      discard = closed;
      if (discard) {
        live.decrementAndGet();
        closing++;
      } else {
        idle.addFirst(new Idle(instance, clock.nanoTime()));
        idleCount = idle.size();
        armExpiry();
      }
    } finally {
      lock.unlock();
    }
    if (discard) {
      close(List.of(instance));
    }
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
    List<Object> doomed = new ArrayList<>();
    lock.lock();
    try {
      closed = true;
      for (Idle i : idle) {
        doomed.add(i.instance);
      }
      live.addAndGet(-idle.size());
      closing += idle.size();
      idle.clear();
      idleCount = 0;
      if (expiry != null) {
        expiry.cancel();
        expiry = null;
      }
    } finally {
      lock.unlock();
    }
    if (!doomed.isEmpty()) {
      close(doomed);
    }
    checkAllClosed();
    return allClosed;
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

  private void armExpiry() {
    // lock held
    if (closed || live.get() <= minInstances || idle.isEmpty()) {
      return;
    }
    long due = idle.peekLast().since + keepAliveNanos;
    if (expiry != null && expiryAt <= due) {
      return;
    }
    if (expiry != null) {
      expiry.cancel();
    }
    expiryAt = due;
    expiry = clock.scheduleIdle(this::expire, due - clock.nanoTime());
  }

  private void expire() {
    List<Object> doomed = new ArrayList<>();
    lock.lock();
    try {
      expiry = null;
      long now = clock.nanoTime();
      while (live.get() > minInstances && !idle.isEmpty() && idle.peekLast().since + keepAliveNanos <= now) {
        doomed.add(idle.pollLast().instance);
        live.decrementAndGet();
        closing++;
      }
      idleCount = idle.size();
      armExpiry();
    } finally {
      lock.unlock();
    }
    if (!doomed.isEmpty()) {
      close(doomed);
    }
  }
}
