package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * How long a function's idle warm instances are kept: a {@linkplain #fixed(Duration) fixed}
 * duration, or an {@linkplain #adaptive() adaptive} policy that learns the function's idle times and
 * keeps instances warm, or creates them ahead of the next call, when that call is likely.
 *
 * <pre>{@code
 * FnSpec.of("nightly-report", (String day) -> report(day))
 *     .keepAlive(KeepAlive.adaptive())
 *     .build();
 * }</pre>
 *
 * <p><b>Fixed</b> ({@code FnSpec.Builder.keepAlive(d)} is a short form of
 * {@code keepAlive(fixed(d))}): an idle instance is closed once it has been idle that long.
 *
 * <p><b>Adaptive</b>: the hybrid histogram policy of Shahrad et al., "Serverless in the Wild"
 * (USENIX ATC 2020), for one function. Every time the function becomes busy again (an instance is
 * taken while none was in use), how long it was idle goes into a histogram of its idle times: 240
 * bins of equal width over {@link Adaptive#range()} (1 minute for the default 4 hours, as in the
 * paper). Idle times under a second are not recorded: they separate calls of one burst, not bursts.
 * Old counts are halved as new ones come, so the histogram follows a pattern that changes. When the
 * function becomes idle:
 * <ul>
 *   <li>while the histogram is not representative, instances are kept for the
 *       {@linkplain Adaptive#fallback() fallback} duration, as a fixed keep-alive would: young (fewer
 *       than 10 idle times), too spread (the coefficient of variation of its bin counts under 2: no
 *       pattern), or more than 1 % of its idle times beyond the range;
 *   <li>otherwise, from its head (the 5th percentile's bin, less 10 %) and tail (the 99th
 *       percentile's bin, plus 10 %): if the head is past the first bin (and over a second), the
 *       idle instances are closed a second after the function became idle, created again
 *       ("pre-warmed", as many as there were) when the head has passed, and kept until the tail; if
 *       not, they are kept until the tail.
 * </ul>
 * A call that comes before its pre-warm has a cold start; one that comes after the tail finds the
 * instances gone, as after any keep-alive. Pre-warming keeps scale to zero: while a pre-warm is
 * pending, one timer waits for it (a parked virtual thread, as the expiry of idle instances does); a
 * pre-warmed instance, like any idle one, holds no thread. Pre-warmed instances are counted in
 * {@link FunctionStats#preWarms()}, their init time in {@code initTime}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public sealed interface KeepAlive permits KeepAlive.Fixed, KeepAlive.Adaptive {
  /**
   * A fixed keep-alive.
   *
   * @param duration how long an idle instance is kept, positive
   * @return the keep-alive
   * @throws NullPointerException if {@code duration} is null
   * @throws IllegalArgumentException if {@code duration} is not positive
   */
  static Fixed fixed(Duration duration) {
    return new Fixed(duration);
  }

  /**
   * An adaptive keep-alive with the defaults: a fallback of 30 s (the fixed default) and a
   * histogram range of 4 hours (the paper's).
   *
   * @return the keep-alive; refine it with {@link Adaptive#withFallback} and {@link Adaptive#withRange}
   */
  static Adaptive adaptive() {
    return Adaptive.DEFAULT;
  }

  /**
   * The keep-alive of an idle instance the function has not learnt otherwise: the fixed duration, or
   * an adaptive policy's fallback.
   *
   * @return the duration
   */
  Duration duration();

  /**
   * A fixed keep-alive: an idle instance is closed once it has been idle this long.
   *
   * @param duration how long an idle instance is kept
   */
  record Fixed(Duration duration) implements KeepAlive {
    /**
     * Checks the keep-alive.
     *
     * @throws NullPointerException if {@code duration} is null
     * @throws IllegalArgumentException if {@code duration} is not positive
     */
    public Fixed {
      Checks.positive("keepAlive", duration);
    }
  }

  /**
   * An adaptive keep-alive: the hybrid histogram policy. See {@link KeepAlive} for how it decides.
   * Immutable: each {@code with} method returns a new one.
   */
  final class Adaptive implements KeepAlive {
    /** Default {@link #fallback()}: the fixed default keep-alive. */
    public static final Duration DEFAULT_FALLBACK = Duration.ofSeconds(30);
    /** Default {@link #range()}: the paper's 4 hours. */
    public static final Duration DEFAULT_RANGE = Duration.ofHours(4);
    /** The shortest {@link #range()}: bins of about 40 ms (idle times under a second are not recorded). */
    public static final Duration MIN_RANGE = Duration.ofSeconds(10);
    /** The longest {@link #range()}. */
    public static final Duration MAX_RANGE = Duration.ofDays(30);
    static final Adaptive DEFAULT = new Adaptive(DEFAULT_FALLBACK, DEFAULT_RANGE);

    private final Duration fallback;
    private final Duration range;

    private Adaptive(Duration fallback, Duration range) {
      this.fallback = fallback;
      this.range = range;
    }

    /**
     * Returns a copy with another fallback: the keep-alive while the histogram is young, too spread
     * or more than 1 % beyond its range.
     *
     * @param fallback positive
     * @return the new keep-alive
     * @throws NullPointerException if {@code fallback} is null
     * @throws IllegalArgumentException if {@code fallback} is not positive
     */
    public Adaptive withFallback(Duration fallback) {
      return new Adaptive(Checks.positive("adaptive keepAlive fallback", fallback), range);
    }

    /**
     * Returns a copy whose histogram covers idle times up to {@code range} in 240 bins: the longest
     * keep-alive it can learn (longer idle times count as beyond it), and a bin width of
     * {@code range / 240}, the resolution of its head and tail.
     *
     * @param range between {@link #MIN_RANGE} and {@link #MAX_RANGE}
     * @return the new keep-alive
     * @throws NullPointerException if {@code range} is null
     * @throws IllegalArgumentException if {@code range} is out of bounds
     */
    public Adaptive withRange(Duration range) {
      Objects.requireNonNull(range, "adaptive keepAlive range");
      requireArgument(range.compareTo(MIN_RANGE) >= 0 && range.compareTo(MAX_RANGE) <= 0,
          "adaptive keepAlive range must be between %s and %s but was %s", MIN_RANGE, MAX_RANGE, range);
      return new Adaptive(fallback, range);
    }

    /** {@return the keep-alive while the function's idle times show no pattern yet} */
    public Duration fallback() {
      return fallback;
    }

    /** {@return the longest idle time the histogram covers} */
    public Duration range() {
      return range;
    }

    /** {@return the {@linkplain #fallback() fallback}} */
    @Override
    public Duration duration() {
      return fallback;
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Adaptive a && a.fallback.equals(fallback) && a.range.equals(range);
    }

    @Override
    public int hashCode() {
      return Objects.hash(fallback, range);
    }

    @Override
    public String toString() {
      return "Adaptive[fallback=" + fallback + ", range=" + range + "]";
    }
  }
}
