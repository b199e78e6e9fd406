package dev.cumulus;

import java.time.Duration;
import java.util.Objects;

/**
 * A distribution of durations over a sliding window: median, 90th and 99th percentile and maximum.
 * The percentiles come from an HdrHistogram (within 1 % of the true value) fed by every invocation
 * of a quiet function and, on a busy one, by at most one invocation per carrier every 200 µs (5 000 a
 * second), chosen when it starts; the maximum is exact, over every invocation.
 *
 * @param samples how many invocations fed the percentiles
 * @param p50 the median
 * @param p90 the 90th percentile
 * @param p99 the 99th percentile
 * @param max the largest value in the window
 */
public record Percentiles(long samples, Duration p50, Duration p90, Duration p99, Duration max) {
  /** No samples: every figure zero. */
  public static final Percentiles EMPTY =
      new Percentiles(0, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);

  /**
   * Checks the figures.
   *
   * @throws NullPointerException if a duration is null
   * @throws IllegalArgumentException if {@code samples} is negative
   */
  public Percentiles {
    Objects.requireNonNull(p50, "p50");
    Objects.requireNonNull(p90, "p90");
    Objects.requireNonNull(p99, "p99");
    Objects.requireNonNull(max, "max");
    Checks.requireArgument(samples >= 0, "samples must not be negative but was %s", samples);
  }

  @Override
  public String toString() {
    return "p50=" + Durations.format(p50) + " p90=" + Durations.format(p90) + " p99="
        + Durations.format(p99) + " max=" + Durations.format(max);
  }
}
