package dev.cumulus;

import dev.cumulus.internal.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * A {@link ManualClock} that can inject faults into the runtime from outside: the runtime calls its
 * clock on paths a test cannot otherwise reach (starting a worker arms a timeout timer; a worker reads
 * the clock between taking an invocation from the queue and starting it). A fault is armed once and
 * fires on the next matching call; {@link #injected()} counts those that fired, so a test can check
 * that its fault really hit the runtime rather than passing vacuously.
 */
final class FaultyClock implements Clock {
  /** Thrown by an injected fault: an {@link Error}, so code that only catches exceptions misses it. */
  static final class InjectedFault extends Error {
    private static final long serialVersionUID = 1L;

    InjectedFault(String where) {
      super("fault injected by the test into " + where, null, false, false);
    }
  }

  /** The current thread is one of a function's workers (or metered threads). */
  static final Predicate<Thread> FUNCTION_THREAD = t -> t.getName().startsWith("cumulus-fn-");

  private final ManualClock time = new ManualClock();
  private final AtomicInteger failSchedules = new AtomicInteger();
  private final AtomicReference<Predicate<Thread>> failNanoTime = new AtomicReference<>();
  private final List<Pause> pauses = new CopyOnWriteArrayList<>();
  private final AtomicInteger injected = new AtomicInteger();
  private volatile boolean shutdown;

  /** Where a thread can be held. */
  enum Point {
    /** In {@link #nanoTime()}, after reading the time: the thread goes on with a stale reading. */
    NANO_TIME,
    /** In {@link #schedule}, before the timer exists. */
    SCHEDULE
  }

  /** A thread held at a point until {@link #resume()}, the clock's shutdown, or 30 s. */
  static final class Pause {
    private final Point point;
    private final Predicate<Thread> where;
    private final AtomicBoolean armed = new AtomicBoolean(true);
    private final CountDownLatch paused = new CountDownLatch(1);
    private final CountDownLatch resume = new CountDownLatch(1);

    private Pause(Point point, Predicate<Thread> where) {
      this.point = point;
      this.where = where;
    }

    /** Waits until a thread is held here. */
    void awaitPaused() throws InterruptedException {
      if (!paused.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("no thread reached the pause at " + point + " within 30 s");
      }
    }

    boolean isPaused() {
      return paused.getCount() == 0;
    }

    void resume() {
      resume.countDown();
    }

    private boolean take(Point at, Thread t) {
      return point == at && where.test(t) && armed.compareAndSet(true, false);
    }

    private void hold() {
      paused.countDown();
      try {
        resume.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The next {@code n} precise timers ({@link #schedule}) throw {@link InjectedFault}. */
  void failNextSchedules(int n) {
    failSchedules.set(n);
  }

  /** The next {@link #nanoTime()} on a thread that matches throws {@link InjectedFault}. */
  void failNextNanoTimeOn(Predicate<Thread> where) {
    failNanoTime.set(where);
  }

  /** Holds the next thread that matches {@code where} when it reaches {@code point}. */
  Pause pauseNext(Point point, Predicate<Thread> where) {
    Pause p = new Pause(point, where);
    pauses.add(p);
    return p;
  }

  /** The thread that runs this test method, or one it started under that name. */
  static Predicate<Thread> named(String name) {
    return t -> t.getName().equals(name);
  }

  /** How many armed faults fired (pauses included). */
  int injected() {
    return injected.get();
  }

  boolean isShutdown() {
    return shutdown;
  }

  ManualClock time() {
    return time;
  }

  void advance(Duration d) {
    time.advance(d);
  }

  int pendingPreciseTimers() {
    return time.pendingPreciseTimers();
  }

  @Override
  public long nanoTime() {
    Thread current = Thread.currentThread();
    Predicate<Thread> fail = failNanoTime.get();
    if (fail != null && fail.test(current) && failNanoTime.compareAndSet(fail, null)) {
      injected.incrementAndGet();
      throw new InjectedFault("Clock.nanoTime on " + current.getName());
    }
    long now = time.nanoTime();
    holdIfPaused(Point.NANO_TIME, current);
    return now;
  }

  @Override
  public Timer schedule(Runnable task, long delayNanos) {
    if (failSchedules.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      injected.incrementAndGet();
      throw new InjectedFault("Clock.schedule on " + Thread.currentThread().getName());
    }
    holdIfPaused(Point.SCHEDULE, Thread.currentThread());
    return time.schedule(task, delayNanos);
  }

  private void holdIfPaused(Point point, Thread current) {
    for (Pause p : pauses) {
      if (!shutdown && p.take(point, current)) {
        injected.incrementAndGet();
        p.hold();
        return;
      }
    }
  }

  @Override
  public Timer scheduleIdle(Runnable task, long delayNanos) {
    return time.scheduleIdle(task, delayNanos);
  }

  @Override
  public void shutdown() {
    shutdown = true;
    for (Pause p : pauses) {
      p.resume(); // the runtime stopped its clock: whatever is held goes on now
    }
    time.shutdown();
  }
}
