package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * How many invocations of one function may run at once: a {@linkplain #fixed(int) fixed} number,
 * reserved for the function alone, or an {@linkplain #adaptive() adaptive} limit that follows the
 * best concurrency for the function, learnt from the latency of its invocations.
 *
 * <pre>{@code
 * FnSpec.of("lookup", (String id) -> database.find(id))
 *     .concurrency(ConcurrencyLimit.adaptive().withMax(200))
 *     .build();
 * }</pre>
 *
 * <p><b>Fixed</b> ({@code FnSpec.Builder.maxConcurrency(n)} is a short form of
 * {@code concurrency(fixed(n))}): at most {@code n} run at once, and {@code n} slots of the runtime's
 * {@linkplain Cumulus.Builder#maxConcurrency(int) capacity} are reserved for the function, as the
 * platforms' reserved concurrency is.
 *
 * <p><b>Adaptive</b>: the limit moves between {@code min} and {@code max}. Once per window of
 * completed invocations (at least ten, over 20 ms to 1 s) it compares their average latency with the
 * lowest average seen ("no-load latency") and sets {@code limit × gradient + queue}, where
 * {@code gradient = noLoad / latency} (between 0.5 and 1) and {@code queue = max(4, √limit)}: while
 * latency stays flat the limit grows by {@code queue} a window, and once calls take longer because
 * more run at once (a downstream past its capacity) it settles about {@code queue} above the
 * concurrency where latency started to rise. Decreases are smoothed; a window in which fewer than
 * {@code limit − queue} ran is not a reason to grow; now and then the limit is halved for a window
 * to measure the no-load latency afresh. This is the gradient estimator of Netflix's
 * concurrency-limits ({@code GradientLimit}), which that library describes in detail.
 *
 * <p>An adaptive limit reserves nothing: the function draws on the runtime's unreserved capacity,
 * as a function without a limit of its own does, and the limit only caps how much of it the
 * function takes. A fixed reservation of {@code max} would keep capacity idle that the limit has
 * learnt the function cannot use, which is what the adaptive limit is for; use a fixed limit when a
 * function needs its slots guaranteed. The limit in force is {@link FunctionStats#concurrencyLimit()}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public sealed interface ConcurrencyLimit permits ConcurrencyLimit.Fixed, ConcurrencyLimit.Adaptive {
  /**
   * A fixed limit, reserved for the function.
   *
   * @param max the most invocations that run at once, at least 1
   * @return the limit
   * @throws IllegalArgumentException if {@code max} is not positive
   */
  static Fixed fixed(int max) {
    return new Fixed(max);
  }

  /**
   * An adaptive limit with the defaults: {@code min} {@value Adaptive#DEFAULT_MIN}, {@code max}
   * unbounded (the runtime's unreserved capacity bounds it), starting at
   * {@value Adaptive#DEFAULT_INITIAL} (or {@code min} or {@code max}, if that is nearer).
   *
   * @return the limit; refine it with {@link Adaptive#withMin}, {@link Adaptive#withMax} and
   *     {@link Adaptive#withInitial}
   */
  static Adaptive adaptive() {
    return Adaptive.DEFAULT;
  }

  /**
   * A fixed limit: at most {@code max} invocations at once, with {@code max} slots of the runtime's
   * capacity reserved for the function.
   *
   * @param max the most invocations that run at once
   */
  record Fixed(int max) implements ConcurrencyLimit {
    /**
     * Checks the limit.
     *
     * @throws IllegalArgumentException if {@code max} is not positive
     */
    public Fixed {
      requireArgument(max > 0, "maxConcurrency must be positive but was %s", max);
    }
  }

  /**
   * An adaptive limit: it moves between {@link #min()} and {@link #max()} with the latency of the
   * function's invocations, starting at {@link #initial()}. See {@link ConcurrencyLimit} for how.
   * Immutable: each {@code with} method returns a new limit.
   */
  final class Adaptive implements ConcurrencyLimit {
    /** Default lowest limit. */
    public static final int DEFAULT_MIN = 1;
    /** Default limit to start from. */
    public static final int DEFAULT_INITIAL = 20;
    /** {@link #max()} when unbounded: the runtime's capacity bounds the function. */
    public static final int UNBOUNDED = Integer.MAX_VALUE;
    private static final int UNSET = 0;
    static final Adaptive DEFAULT = new Adaptive(DEFAULT_MIN, UNBOUNDED, UNSET);

    private final int min;
    private final int max;
    /** The initial limit asked for, or {@link #UNSET}: then the default, within [min, max]. */
    private final int initial;

    private Adaptive(int min, int max, int initial) {
      this.min = min;
      this.max = max;
      this.initial = initial;
    }

    /**
     * Returns a copy with another lowest limit.
     *
     * @param min at least 1, at most {@link #max()} (and {@link #initial()} if that was set)
     * @return the new limit
     * @throws IllegalArgumentException if {@code min} is not positive, exceeds {@code max} or an
     *     initial limit that was set
     */
    public Adaptive withMin(int min) {
      requireArgument(min > 0, "adaptive concurrency min must be positive but was %s", min);
      requireArgument(min <= max, "adaptive concurrency min (%s) must not exceed its max (%s)", min, max);
      requireArgument(initial == UNSET || min <= initial,
          "adaptive concurrency min (%s) must not exceed its initial limit (%s)", min, initial);
      return new Adaptive(min, max, initial);
    }

    /**
     * Returns a copy with another highest limit.
     *
     * @param max at least {@link #min()} (and {@link #initial()} if that was set)
     * @return the new limit
     * @throws IllegalArgumentException if {@code max} is not positive, is below {@code min} or an
     *     initial limit that was set
     */
    public Adaptive withMax(int max) {
      requireArgument(max > 0, "adaptive concurrency max must be positive but was %s", max);
      requireArgument(max >= min, "adaptive concurrency max (%s) must not be below its min (%s)", max, min);
      requireArgument(initial == UNSET || initial <= max,
          "adaptive concurrency max (%s) must not be below its initial limit (%s)", max, initial);
      return new Adaptive(min, max, initial);
    }

    /**
     * Returns a copy that starts at another limit.
     *
     * @param initial between {@link #min()} and {@link #max()}
     * @return the new limit
     * @throws IllegalArgumentException if {@code initial} is outside {@code [min, max]}
     */
    public Adaptive withInitial(int initial) {
      requireArgument(initial >= min && initial <= max,
          "adaptive concurrency initial limit must be between its min (%s) and max (%s) but was %s",
          min, max == UNBOUNDED ? "unbounded" : max, initial);
      return new Adaptive(min, max, initial);
    }

    /** {@return the lowest the limit goes} */
    public int min() {
      return min;
    }

    /** {@return the highest the limit goes; {@link #UNBOUNDED} for no bound of its own} */
    public int max() {
      return max;
    }

    /** {@return the limit it starts at} */
    public int initial() {
      return initial != UNSET ? initial : Math.max(min, Math.min(max, DEFAULT_INITIAL));
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Adaptive a && a.min == min && a.max == max && a.initial() == initial();
    }

    @Override
    public int hashCode() {
      return Objects.hash(min, max, initial());
    }

    @Override
    public String toString() {
      return "Adaptive[min=" + min + ", max=" + (max == UNBOUNDED ? "unbounded" : max)
          + ", initial=" + initial() + "]";
    }
  }
}
