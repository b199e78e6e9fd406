package dev.cumulus.internal;

import dev.cumulus.Percentiles;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.TimeWindowMax;
import io.micrometer.core.instrument.distribution.TimeWindowPercentileHistogram;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Percentiles of a duration over a sliding window, from Micrometer's time-window HdrHistogram (a
 * ring of histograms rotated as time passes), plus the window's exact maximum.
 *
 * <p>The percentiles take a sample: at most one invocation per {@value #SAMPLE_EVERY_NANOS} ns per
 * carrier lane, chosen when it starts (so long calls are not favoured). The maximum sees every value,
 * and costs plain stores: each carrier lane keeps the maximum of each of the window's last three
 * periods (single writer: the lane's carrier), and a snapshot takes the largest of them. Values
 * recorded off Cumulus carriers (the JDK's scheduler) go to Micrometer's {@link TimeWindowMax},
 * skipping values no larger than one already recorded in the same period.
 *
 * <p>Micrometer {@link Timer}s can be fed every value too ({@link #addTimer}: a percentile histogram
 * the metrics binder was asked for); with none, that costs a read of an empty array.
 */
final class Distribution {
  static final Duration WINDOW = Duration.ofMinutes(1);
  /** At most one percentile sample per this long per carrier: 5 000 a second. */
  static final long SAMPLE_EVERY_NANOS = 200_000;
  private static final int BUFFERS = 3;
  private static final long ROTATE_NANOS = WINDOW.toNanos() / BUFFERS;
  private static final VarHandle CELLS = MethodHandles.arrayElementVarHandle(long[].class);
  private static final VarHandle TIMERS;

  static {
    try {
      TIMERS = MethodHandles.lookup().findVarHandle(Distribution.class, "timers", Timer[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
  /**
   * Per lane: the next sample time; the current period's start, end and ring entry (so that a
   * record in the same period needs no division); then (period start, max) for each of the
   * {@link #BUFFERS} periods.
   */
  private static final int NEXT_SAMPLE = 0;
  private static final int PERIOD_START = 1;
  private static final int PERIOD_END = 2;
  private static final int PERIOD_ENTRY = 3;
  private static final int RING = 4;
  private static final int STRIDE = 16; // 10 longs used; rows of different lanes share no cache line
  /** A period start that marks a ring entry being rewritten. */
  private static final long REWRITING = Long.MIN_VALUE;
  /** No sample taken yet: the next one is due whenever it comes. */
  private static final long NONE = Long.MIN_VALUE;

  private record Hint(long value, long since, long until) {}

  private final io.micrometer.core.instrument.Clock clock;
  private final TimeWindowPercentileHistogram histogram;
  private final TimeWindowMax max;
  private final LongAdder samples = new LongAdder();
  private final long originNanos;
  private final AtomicReference<Hint> hint = new AtomicReference<>(new Hint(0, 0, 0));
  private final long[] lanes;
  private final int sharedLane;
  private final AtomicLong sharedNextSample = new AtomicLong(NONE);
  private static final Timer[] NO_TIMERS = {};
  /** Timers fed every value (copy on write); empty nearly always. */
  private volatile Timer[] timers = NO_TIMERS;

  /**
   * @param clock the runtime's clock, as Micrometer's
   * @param sharedLane the meter's shared lane: lanes below it are carriers' (single writers)
   */
  Distribution(io.micrometer.core.instrument.Clock clock, int sharedLane) {
    this.clock = clock;
    DistributionStatisticConfig config = DistributionStatisticConfig.builder()
        .percentiles(0.5, 0.9, 0.99)
        .percentilePrecision(2)
        .expiry(WINDOW)
        .bufferLength(BUFFERS)
        .build()
        .merge(DistributionStatisticConfig.DEFAULT);
    // Micrometer rotates both on the grid wallTime0 + k * (expiry / buffers), in milliseconds.
    this.originNanos = TimeUnit.MILLISECONDS.toNanos(clock.wallTime());
    this.histogram = new TimeWindowPercentileHistogram(clock, config, false);
    this.max = new TimeWindowMax(clock, config);
    this.sharedLane = sharedLane;
    this.lanes = new long[(sharedLane + 1) * STRIDE];
    for (int lane = 0; lane < sharedLane; lane++) {
      lanes[(lane + 1) * STRIDE + NEXT_SAMPLE] = NONE;
      lanes[(lane + 1) * STRIDE + PERIOD_END] = lanes[(lane + 1) * STRIDE + PERIOD_START]; // none yet
    }
  }

  /**
   * Whether an invocation starting at {@code start} on {@code lane} feeds the percentiles; if so, the
   * lane's next sample is due {@value #SAMPLE_EVERY_NANOS} ns later.
   */
  boolean sample(int lane, long start) {
    if (lane == sharedLane) {
      long next = sharedNextSample.get();
      return (next == NONE || start - next >= 0) && sharedNextSample.compareAndSet(next, start + SAMPLE_EVERY_NANOS);
    }
    int i = (lane + 1) * STRIDE + NEXT_SAMPLE;
    long next = (long) CELLS.getOpaque(lanes, i);
    if (next != NONE && start - next < 0) {
      return false;
    }
    CELLS.setOpaque(lanes, i, start + SAMPLE_EVERY_NANOS);
    return true;
  }

  /**
   * Records a value.
   *
   * @param nanos the value
   * @param now the runtime clock's time when the value was taken
   * @param sampled whether it feeds the percentiles too (else only the maximum)
   * @param lane the lane of the carrier recording it (single writer), or the shared lane
   */
  void record(long nanos, long now, boolean sampled, int lane) {
    Timer[] feed = timers;
    if (feed.length != 0) {
      feed(feed, nanos);
    }
    if (sampled) {
      histogram.recordLong(nanos);
      samples.increment();
    }
    if (lane == sharedLane) {
      recordShared(nanos, now);
      return;
    }
    int row = (lane + 1) * STRIDE;
    long[] c = lanes; // this lane's row is written by its carrier alone: plain reads of it are current
    if (now - c[row + PERIOD_START] >= 0 && now - c[row + PERIOD_END] < 0) {
      int i = (int) c[row + PERIOD_ENTRY];
      if (nanos > c[i + 1]) {
        CELLS.setOpaque(c, i + 1, nanos);
      }
      return;
    }
    long since = gridLine(now);
    int i = row + RING + 2 * Math.floorMod(Math.floorDiv(since - originNanos, ROTATE_NANOS), BUFFERS);
    c[row + PERIOD_START] = since;
    c[row + PERIOD_END] = since + ROTATE_NANOS;
    c[row + PERIOD_ENTRY] = i;
    if ((long) CELLS.getOpaque(c, i) == since) {
      if (nanos > c[i + 1]) {
        CELLS.setOpaque(c, i + 1, nanos);
      }
      return;
    }
    // A new period for this entry: mark it, write its maximum, then its period (readers check both).
    CELLS.setOpaque(c, i, REWRITING);
    VarHandle.storeStoreFence();
    CELLS.setOpaque(c, i + 1, nanos);
    CELLS.setRelease(c, i, since);
  }

  /** Feeds the timers; one that throws is logged and dropped: a registry's failure costs its histogram, never a call. */
  private void feed(Timer[] feed, long nanos) {
    for (Timer t : feed) {
      try {
        t.record(nanos, TimeUnit.NANOSECONDS);
      } catch (Throwable e) {
        removeTimer(t);
        System.getLogger("dev.cumulus").log(System.Logger.Level.WARNING, "recording a value in the"
            + " Micrometer timer " + t.getId() + " failed; that timer is no longer fed", e);
      }
    }
  }

  /** Feeds {@code timer} every value recorded from now on. */
  void addTimer(Timer timer) {
    for (;;) {
      Timer[] now = timers;
      Timer[] more = java.util.Arrays.copyOf(now, now.length + 1);
      more[now.length] = timer;
      if (TIMERS.compareAndSet(this, now, more)) {
        return;
      }
    }
  }

  /** Stops feeding {@code timer}. */
  @SuppressWarnings("ReferenceEquality") // a timer is its identity here
  void removeTimer(Timer timer) {
    for (;;) {
      Timer[] now = timers;
      Timer[] fewer = java.util.Arrays.stream(now).filter(t -> t != timer).toArray(Timer[]::new);
      if (TIMERS.compareAndSet(this, now, fewer.length == 0 ? NO_TIMERS : fewer)) {
        return;
      }
    }
  }

  private void recordShared(long nanos, long now) {
    Hint h = hint.get();
    if (now - h.until < 0 && now - h.since >= 0 && nanos <= h.value) {
      return; // covered by a larger value recorded in the same rotation period
    }
    max.record(nanos, TimeUnit.NANOSECONDS);
    long since = gridLine(now);
    for (;;) {
      h = hint.get();
      Hint next;
      if (since == h.since) {
        if (nanos <= h.value) {
          return;
        }
        next = new Hint(nanos, since, h.until);
      } else if (since - h.since > 0) {
        next = new Hint(nanos, since, since + ROTATE_NANOS);
      } else {
        return; // recorded before the current period began: it proves nothing about it
      }
      if (hint.compareAndSet(h, next)) {
        return;
      }
    }
  }

  private long gridLine(long now) {
    long periods = Math.floorDiv(now - originNanos, ROTATE_NANOS);
    return originNanos + periods * ROTATE_NANOS;
  }

  /** The largest value of the window's periods, over every lane. */
  private double maxNanos() {
    double m = max.poll(TimeUnit.NANOSECONDS);
    long oldest = gridLine(clock.monotonicTime()) - (BUFFERS - 1) * ROTATE_NANOS;
    for (int lane = 0; lane < sharedLane; lane++) {
      for (int b = 0; b < BUFFERS; b++) {
        int i = (lane + 1) * STRIDE + RING + 2 * b;
        long since = (long) CELLS.getAcquire(lanes, i);
        long value = (long) CELLS.getOpaque(lanes, i + 1);
        VarHandle.loadLoadFence();
        if (since != REWRITING && since - oldest >= 0 && (long) CELLS.getOpaque(lanes, i) == since) {
          m = Math.max(m, (double) value);
        }
      }
    }
    return m;
  }

  Percentiles snapshot() {
    long n = samples.sum();
    if (n == 0) {
      return Percentiles.EMPTY;
    }
    double maxNanos = maxNanos();
    HistogramSnapshot s = histogram.takeSnapshot(n, 0, maxNanos);
    ValueAtPercentile[] values = s.percentileValues();
    // A percentile is read as its bucket's upper edge (within 1 %): never report it above the max.
    return new Percentiles(n, nanos(Math.min(values[0].value(), maxNanos)),
        nanos(Math.min(values[1].value(), maxNanos)), nanos(Math.min(values[2].value(), maxNanos)),
        nanos(maxNanos));
  }

  private static Duration nanos(double value) {
    return Duration.ofNanos(Math.round(value));
  }

  /** Adapts the runtime clock to Micrometer's, so that windows rotate on the clock tests drive. */
  static io.micrometer.core.instrument.Clock micrometerClock(Clock clock) {
    return new io.micrometer.core.instrument.Clock() {
      @Override
      public long wallTime() {
        return TimeUnit.NANOSECONDS.toMillis(clock.nanoTime());
      }

      @Override
      public long monotonicTime() {
        return clock.nanoTime();
      }
    };
  }
}
