package dev.cumulus.internal;

import dev.cumulus.Percentiles;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.TimeWindowMax;
import io.micrometer.core.instrument.distribution.TimeWindowPercentileHistogram;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Percentiles of a duration over a sliding window, from Micrometer's time-window HdrHistogram (a
 * ring of histograms rotated as time passes), plus the window's exact maximum.
 */
final class Distribution {
  static final Duration WINDOW = Duration.ofMinutes(1);
  private static final int BUFFERS = 3;

  private static final long HINT_NANOS = WINDOW.toNanos() / BUFFERS;

  private final TimeWindowPercentileHistogram histogram;
  private final TimeWindowMax max;
  private final LongAdder samples = new LongAdder();
  // Values at or below this were already offered to the max, which has not rotated since: skip
  // them without touching the shared max (a read of a field that rarely changes).
  private volatile long maxHint;
  private volatile long maxHintExpiry;

  Distribution(io.micrometer.core.instrument.Clock clock) {
    DistributionStatisticConfig config = DistributionStatisticConfig.builder()
        .percentiles(0.5, 0.9, 0.99)
        .percentilePrecision(2)
        .expiry(WINDOW)
        .bufferLength(BUFFERS)
        .build()
        .merge(DistributionStatisticConfig.DEFAULT);
    this.histogram = new TimeWindowPercentileHistogram(clock, config, false);
    this.max = new TimeWindowMax(clock, config);
  }

  /**
   * Records a value.
   *
   * @param nanos the value
   * @param now {@link System#nanoTime()}, for the maximum's window
   * @param weight 0 to feed only the maximum; else how many values this sample stands for
   */
  void record(long nanos, long now, int weight) {
    if (weight > 0) {
      histogram.recordLong(nanos);
      samples.add(weight);
    }
    if (nanos > maxHint || now - maxHintExpiry > 0) {
      max.record(nanos, TimeUnit.NANOSECONDS);
      if (now - maxHintExpiry > 0) {
        maxHintExpiry = now + HINT_NANOS;
        maxHint = nanos;
      } else if (nanos > maxHint) {
        maxHint = nanos;
      }
    }
  }

  Percentiles snapshot() {
    long n = samples.sum();
    if (n == 0) {
      return Percentiles.EMPTY;
    }
    double maxNanos = max.poll(TimeUnit.NANOSECONDS);
    HistogramSnapshot s = histogram.takeSnapshot(n, 0, maxNanos);
    ValueAtPercentile[] values = s.percentileValues();
    return new Percentiles(n, nanos(values[0].value()), nanos(values[1].value()),
        nanos(values[2].value()), nanos(maxNanos));
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
