package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A concurrency limit learnt from latency: the gradient estimator of Netflix's concurrency-limits
 * ({@code GradientLimit}, with its windowing), for one function.
 *
 * <p>Every invocation that ends is a sample: its run time (queue wait excluded: that is ours, not
 * the downstream's) and how many of the function's invocations ran then. Samples faster than
 * {@value #MIN_RTT_NANOS} ns are ignored (they measure our own bookkeeping, not a downstream). Once a
 * window holds {@value #MIN_SAMPLES} samples and has lasted four average latencies (within 20 ms and
 * 1 s: long enough for a change of the limit to show in the latencies), the thread whose sample
 * closes it updates the limit ({@link #update}); the others go on adding to the next window. The
 * hot path is two striped adds and a read.
 *
 * <p>Why not the library itself: core depends on Micrometer, Caffeine and JSpecify only; the
 * library brings SLF4J, and its limiters are built to reject calls, where ours queue them. The
 * estimator is a few lines; what it needs around it (windows, the worker pool that obeys the
 * limit) is ours anyway.
 *
 * <p>Thread-safe. Deterministic for a given sequence of samples and times, so that tests drive it
 * with synthetic latencies on a fake clock.
 */
final class AdaptiveLimit {
  /** Samples faster than this say nothing about a downstream (Netflix's {@code minRttThreshold}). */
  static final long MIN_RTT_NANOS = 100_000;
  /** Samples a window needs before it may close. */
  static final int MIN_SAMPLES = 10;
  static final long MIN_WINDOW_NANOS = 20_000_000;
  static final long MAX_WINDOW_NANOS = 1_000_000_000;
  /** Windows between two probes of the no-load latency. */
  static final int PROBE_WINDOWS = 500;
  /** Windows before the first probe: the first windows may run above the downstream's capacity. */
  static final int FIRST_PROBE_WINDOWS = 5;
  /** How much of a decrease is taken per window. */
  static final double SMOOTHING = 0.2;
  /** After a probe, the limit doubles per window while the gradient stays at least this. */
  static final double SLOW_START_GRADIENT = 0.9;

  private static final VarHandle CLOSING;

  static {
    try {
      CLOSING = MethodHandles.lookup().findVarHandle(AdaptiveLimit.class, "closing", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final int min;
  private final int max;

  private final LongAdder count = new LongAdder();
  private final LongAdder sum = new LongAdder();
  /** The most invocations that ran at once in this window (approximate: a racy maximum). */
  private volatile int maxInflight;
  private volatile long windowEnd;
  /** 1 while a thread closes the window. */
  @SuppressWarnings("unused") // CLOSING
  private volatile int closing;

  // Estimator state: written only by the thread that closes a window (CLOSING held).
  private double estimate;
  private long noLoadNanos;
  private int windowsToProbe = FIRST_PROBE_WINDOWS;
  /**
   * Windows left in a probe: {@code 2} just after the limit was cut (that window still sees the
   * invocations started before the cut, and is skipped), {@code 1} for the window that measures.
   */
  private int probing;
  /** After a probe, the limit it cut: the limit doubles back towards it while latency stays low. */
  private double regrowTo;

  private volatile int limit;
  private volatile long lastLatencyNanos;
  private final AtomicLong windows = new AtomicLong();
  private final Listener listener;

  /** Told of every change of the limit, in order (by the thread that closes a window). */
  @FunctionalInterface
  interface Listener {
    /** Told nothing. */
    Listener NONE = (from, to) -> {};

    /**
     * The limit moved.
     *
     * @param from the limit before
     * @param to the limit now
     */
    void changed(int from, int to);
  }

  AdaptiveLimit(int min, int max, int initial, long startNanos) {
    this(min, max, initial, startNanos, Listener.NONE);
  }

  /**
   * @param min the lowest limit, at least 1
   * @param max the highest limit
   * @param initial where it starts, in {@code [min, max]}
   * @param startNanos the clock now: the first window starts here
   * @param listener told of each change, in order, while the window that made it is closing: it
   *     must be quick and must not throw
   */
  AdaptiveLimit(int min, int max, int initial, long startNanos, Listener listener) {
    this.listener = listener;
    this.min = min;
    this.max = max;
    this.estimate = initial;
    this.limit = initial;
    this.windowEnd = startNanos + MIN_WINDOW_NANOS;
  }

  /** The limit now. */
  int limit() {
    return limit;
  }

  /** The average latency of the last window, in ns (0 before the first). */
  long lastLatencyNanos() {
    return lastLatencyNanos;
  }

  /** Windows closed so far. */
  long windows() {
    return windows.get();
  }

  /** The no-load latency the estimator compares with, in ns (0 before the first window). */
  long noLoadNanos() {
    return noLoadNanos;
  }

  /**
   * Adds an invocation that ended.
   *
   * @param now the clock when it ended
   * @param rttNanos how long it ran
   * @param inflight how many of the function's invocations ran then (this one included)
   * @return whether this sample closed a window that changed the limit
   */
  boolean sample(long now, long rttNanos, int inflight) {
    if (rttNanos < MIN_RTT_NANOS) {
      return false;
    }
    sum.add(rttNanos);
    count.increment();
    if (inflight > maxInflight) {
      maxInflight = inflight; // racy, on purpose: a window's maximum need not be exact
    }
    if (now - windowEnd >= 0 && count.sum() >= MIN_SAMPLES && CLOSING.compareAndSet(this, 0, 1)) {
      int before = limit;
      try {
        closeWindow(now);
      } finally {
        CLOSING.setRelease(this, 0);
      }
      return limit != before;
    }
    return false;
  }

  private void closeWindow(long now) {
    if (now - windowEnd < 0) {
      return; // another thread closed it just before
    }
    long n = count.sumThenReset();
    long total = sum.sumThenReset();
    int inflight = maxInflight;
    maxInflight = 0;
    if (n == 0) {
      return;
    }
    long avg = total / n;
    windowEnd = now + Math.max(MIN_WINDOW_NANOS, Math.min(MAX_WINDOW_NANOS, 4 * avg));
    update(avg, inflight);
  }

  /**
   * One step of the estimator, for a window whose invocations took {@code avgNanos} on average
   * while at most {@code maxInflight} ran at once.
   */
  void update(long avgNanos, int maxInflight) {
    windows.incrementAndGet();
    lastLatencyNanos = avgNanos;
    double queue = Math.max(4, Math.sqrt(estimate));
    boolean unused = maxInflight + queue < estimate; // the function does not use the limit it has
    if (probing == 2) {
      probing = 1; // still draining what ran before the cut
      return;
    } else if (probing == 1) {
      probing = 0; // this window ran at the cut limit: its latency is the no-load latency
      noLoadNanos = avgNanos;
    } else if (--windowsToProbe <= 0 && !unused) {
      // Measure the no-load latency afresh, at a limit cut to the queue allowance, as Netflix's
      // estimator does: a baseline measured under load (the first windows may run above the
      // downstream's capacity; a downstream may slow down for good) would hold the limit wherever
      // it was measured. Growing back is quick: the limit doubles per window up to where it was,
      // while latency stays at the new baseline (TCP's slow start up to its threshold).
      windowsToProbe = PROBE_WINDOWS;
      probing = 2;
      regrowTo = estimate;
      set(Math.max(min, Math.min(estimate, queue)));
      return;
    } else if (noLoadNanos == 0 || avgNanos < noLoadNanos) {
      noLoadNanos = avgNanos;
    }
    if (unused) {
      return; // no reason to move a limit the function does not reach (nor to probe: it waits)
    }
    double gradient = Math.max(0.5, Math.min(1.0, (double) noLoadNanos / avgNanos));
    double next;
    if (regrowTo > estimate && gradient >= SLOW_START_GRADIENT) {
      next = Math.min(regrowTo, 2 * estimate);
    } else {
      regrowTo = 0;
      next = estimate * gradient + queue;
      if (next < estimate) {
        next = estimate * (1 - SMOOTHING) + next * SMOOTHING;
      }
    }
    set(Math.max(min, Math.min(max, next)));
  }

  private void set(double next) {
    estimate = next;
    int before = limit;
    limit = (int) next;
    if (limit != before) {
      listener.changed(before, limit);
    }
  }

  @Override
  public String toString() {
    return "AdaptiveLimit[limit=" + limit + ", noLoad=" + noLoadNanos / 1000 + " µs, last="
        + lastLatencyNanos / 1000 + " µs]";
  }
}
