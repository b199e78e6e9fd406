package dev.cumulus.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The warm instances of one function. A worker takes the most recently used idle instance (so the
 * surplus ages out at the bottom of the stack) or, when none is idle, reserves the right to create a
 * new one (a cold start). Idle instances beyond {@code minInstances} are discarded after
 * {@code keepAlive}: one timer per pool, armed only while such an instance exists.
 *
 * <p>Caffeine's expiry was considered: it would add a map and a scheduler per function but not the
 * LIFO order we need, and this needs one lock-guarded deque and one timer.
 */
final class InstancePool {
  private final ReentrantLock lock = new ReentrantLock();
  private final ArrayDeque<Idle> idle = new ArrayDeque<>(); // first = most recently used
  private final Clock clock;
  private final long keepAliveNanos;
  private final int minInstances;
  private final Consumer<List<Object>> closer;
  private final Deployment owner;
  /** Instances alive, busy or idle. Written under the lock; volatile so that figures read it freely. */
  private volatile int live;
  private boolean closed;
  private Clock.@Nullable Timer expiry;
  private long expiryAt;

  private record Idle(Object instance, long since) {}

  /**
   * @param closer closes discarded instances; called outside the lock, must not block the caller
   *     for long (it hands the work to a virtual thread)
   * @param owner the function, whose lifecycle listener hears of scaling from and to zero
   */
  InstancePool(Clock clock, long keepAliveNanos, int minInstances, Consumer<List<Object>> closer,
      Deployment owner) {
    this.clock = clock;
    this.keepAliveNanos = keepAliveNanos;
    this.minInstances = minInstances;
    this.closer = closer;
    this.owner = owner;
  }

  /**
   * Changes the count of live instances (lock held): the one place where the function scales from
   * zero instances or back to zero, told to the lifecycle listener here, under the lock, so that
   * those events reach it in the order they happened.
   */
  @SuppressWarnings("NonAtomicVolatileUpdate") // written under the lock only
  private void addLive(int delta) {
    int before = live;
    live = before + delta;
    if (before == 0 && delta > 0) {
      owner.lifecycle().scaledFromZero(owner);
    } else if (before > 0 && before + delta == 0) {
      owner.lifecycle().scaledToZero(owner);
    }
  }

  /** A warm instance, or {@code null}: then the caller creates one and reports {@link #created}. */
  @Nullable Object acquire() {
    lock.lock();
    try {
      Idle top = idle.pollFirst();
      if (top != null) {
        return top.instance;
      }
      addLive(1); // counted now so that warmInstances includes the instance being created
      return null;
    } finally {
      lock.unlock();
    }
  }

  /** The creation reserved by {@link #acquire} failed. */
  void createFailed() {
    lock.lock();
    try {
      addLive(-1);
    } finally {
      lock.unlock();
    }
  }

  /** Drops an instance that may be broken (it was interrupted mid-work); it is closed. */
  void discard(Object instance) {
    lock.lock();
    try {
      addLive(-1);
    } finally {
      lock.unlock();
    }
    closer.accept(List.of(instance));
  }

  /** Adds an instance created outside {@link #acquire} (provisioning) as idle. */
  void addProvisioned(Object instance) {
    lock.lock();
    try {
      addLive(1);
    } finally {
      lock.unlock();
    }
    release(instance);
  }

  /** Returns an instance; it becomes the most recently used idle one, or is closed if the pool is. */
  void release(Object instance) {
    boolean discard;
    lock.lock();
    try {
      discard = closed;
      if (discard) {
        addLive(-1);
      } else {
        idle.addFirst(new Idle(instance, clock.nanoTime()));
        armExpiry();
      }
    } finally {
      lock.unlock();
    }
    if (discard) {
      closer.accept(List.of(instance));
    }
  }

  int live() {
    return live;
  }


  /** Discards every idle instance now and every busy one when it is returned. */
  void close() {
    List<Object> doomed = new ArrayList<>();
    lock.lock();
    try {
      closed = true;
      for (Idle i : idle) {
        doomed.add(i.instance);
      }
      addLive(-idle.size());
      idle.clear();
      if (expiry != null) {
        expiry.cancel();
        expiry = null;
      }
    } finally {
      lock.unlock();
    }
    if (!doomed.isEmpty()) {
      closer.accept(doomed);
    }
  }

  private void armExpiry() {
    // lock held
    if (closed || live <= minInstances || idle.isEmpty()) {
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
      while (live > minInstances && !idle.isEmpty() && idle.peekLast().since + keepAliveNanos <= now) {
        doomed.add(idle.pollLast().instance);
        addLive(-1);
      }
      armExpiry();
    } finally {
      lock.unlock();
    }
    if (!doomed.isEmpty()) {
      closer.accept(doomed);
    }
  }
}
