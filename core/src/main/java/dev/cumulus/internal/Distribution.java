package dev.cumulus.internal;

import dev.cumulus.Percentiles;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.TimeWindowMax;
import io.micrometer.core.instrument.distribution.TimeWindowPercentileHistogram;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Percentiles of a duration over a sliding window, from Micrometer's time-window HdrHistogram (a
 * ring of histograms rotated as time passes), plus the window's exact maximum from Micrometer's
 * {@link TimeWindowMax}.
 *
 * <p>Callers may feed the percentiles a sample (workers take at most one invocation per 50 µs,
 * chosen when it starts); the maximum sees every value. To keep that cheap, a
 * value no larger than one already recorded since the last rotation of the maximum's window is
 * skipped: it cannot change the maximum. Rotations happen on a fixed grid from the moment the
 * window was created, so the hint expires exactly at the next grid line.
 */
final class Distribution {
  static final Duration WINDOW = Duration.ofMinutes(1);
  private static final int BUFFERS = 3;
  private static final long ROTATE_NANOS = WINDOW.toNanos() / BUFFERS;

  private record Hint(long value, long since, long until) {}

  private final io.micrometer.core.instrument.Clock clock;
  private final TimeWindowPercentileHistogram histogram;
  private final TimeWindowMax max;
  private final LongAdder samples = new LongAdder();
  private final long originNanos;
  private final AtomicReference<Hint> hint = new AtomicReference<>(new Hint(0, 0, 0));

  Distribution(io.micrometer.core.instrument.Clock clock) {
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
  }

  /**
   * Records a value.
   *
   * @param nanos the value
   * @param now the runtime clock's time when the value was taken
   * @param sampled whether it feeds the percentiles too (else only the maximum)
   */
  void record(long nanos, long now, boolean sampled) {
    if (sampled) {
      histogram.recordLong(nanos);
      samples.increment();
    }
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

  Percentiles snapshot() {
    long n = samples.sum();
    if (n == 0) {
      return Percentiles.EMPTY;
    }
    double maxNanos = max.poll(TimeUnit.NANOSECONDS);
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
