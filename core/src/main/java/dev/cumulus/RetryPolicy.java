package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * How an {@linkplain Fn#emit event} whose attempt failed is retried: how many times, after what
 * delay, for how long, and after which errors. Set it with {@link FnSpec.Builder#retry(RetryPolicy)}.
 *
 * <pre>{@code
 * RetryPolicy policy = RetryPolicy.exponential(5, Duration.ofMillis(100), Duration.ofSeconds(30))
 *     .withMaxEventAge(Duration.ofMinutes(10))
 *     .retryOn(e -> e instanceof java.io.IOException);
 * }</pre>
 *
 * <p>Delays grow exponentially with <em>full jitter</em>: the delay before retry {@code n} (1 for
 * the first retry) is drawn uniformly from {@code [0, min(maxDelay, initialDelay * 2^(n-1))]}, so
 * retries of events that failed together spread out instead of arriving together again. A delay
 * is a timer on the runtime's clock, never a sleeping thread.
 *
 * <p>An event is dead-lettered ({@link DeadLetterSink}) when its retries are exhausted
 * ({@link DeadLetter.Reason#RETRIES_EXHAUSTED}), when it is older than the maximum event age
 * before its turn to run comes ({@link DeadLetter.Reason#EXPIRED}; the age counts from when the
 * event was accepted, waiting for capacity included), or when {@link #retryOn} rejects the error
 * ({@link DeadLetter.Reason#NOT_RETRYABLE}).
 *
 * <p>The default, {@link #defaults()}, is the serverless platforms' default for asynchronous
 * invocations: {@code exponential(2, 1 s, 1 min).withMaxEventAge(6 h)}.
 *
 * <p>Instances are immutable and thread-safe; the {@code with...} methods return new instances.
 */
public final class RetryPolicy {
  /** Retries every error; compared by identity, to leave it out of {@code toString}. */
  @SuppressWarnings("UnnecessaryLambda")
  private static final Predicate<Throwable> ANY = e -> true;
  private static final RetryPolicy NONE = new RetryPolicy(0, Duration.ZERO, Duration.ZERO, null, ANY);
  private static final RetryPolicy DEFAULTS =
      exponential(2, Duration.ofSeconds(1), Duration.ofMinutes(1)).withMaxEventAge(Duration.ofHours(6));

  private final int maxRetries;
  private final Duration initialDelay;
  private final Duration maxDelay;
  private final @Nullable Duration maxEventAge;
  private final Predicate<? super Throwable> retryOn;

  private RetryPolicy(int maxRetries, Duration initialDelay, Duration maxDelay,
      @Nullable Duration maxEventAge, Predicate<? super Throwable> retryOn) {
    this.maxRetries = maxRetries;
    this.initialDelay = initialDelay;
    this.maxDelay = maxDelay;
    this.maxEventAge = maxEventAge;
    this.retryOn = retryOn;
  }

  /**
   * Returns the policy that never retries: an event whose only attempt fails is dead-lettered with
   * {@link DeadLetter.Reason#RETRIES_EXHAUSTED}. It sets no maximum event age.
   *
   * @return the policy
   */
  public static RetryPolicy none() {
    return NONE;
  }

  /**
   * Returns the default policy: {@code exponential(2, 1 s, 1 min).withMaxEventAge(6 h)}, the
   * serverless platforms' default for asynchronous invocations.
   *
   * @return the policy
   */
  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /**
   * Returns a policy of at most {@code maxRetries} retries after the first attempt, with
   * exponential backoff and full jitter, and no maximum event age (set one with
   * {@link #withMaxEventAge}).
   *
   * @param maxRetries retries after the first attempt, zero or more
   * @param initialDelay the upper bound of the first retry's delay, positive
   * @param maxDelay the largest upper bound any retry's delay may have, at least {@code initialDelay}
   * @return the policy
   * @throws NullPointerException if a duration is null
   * @throws IllegalArgumentException if {@code maxRetries} is negative, {@code initialDelay} is not
   *     positive, {@code maxDelay} is shorter than {@code initialDelay}, or a delay is longer than
   *     about 292 years
   */
  public static RetryPolicy exponential(int maxRetries, Duration initialDelay, Duration maxDelay) {
    requireArgument(maxRetries >= 0, "maxRetries must not be negative but was %s", maxRetries);
    Checks.positive("initialDelay", initialDelay);
    Checks.positive("maxDelay", maxDelay);
    requireArgument(maxDelay.compareTo(initialDelay) >= 0,
        "maxDelay (%s) must not be shorter than initialDelay (%s)", maxDelay, initialDelay);
    return new RetryPolicy(maxRetries, initialDelay, maxDelay, null, ANY);
  }

  /**
   * Returns this policy with a maximum event age: an event older than this (counted from when it
   * was accepted) is not attempted again; it is dead-lettered with
   * {@link DeadLetter.Reason#EXPIRED}, also when it waited that long for capacity.
   *
   * @param maxEventAge positive
   * @return a new policy
   * @throws NullPointerException if {@code maxEventAge} is null
   * @throws IllegalArgumentException if not positive, or longer than about 292 years
   */
  public RetryPolicy withMaxEventAge(Duration maxEventAge) {
    return new RetryPolicy(maxRetries, initialDelay, maxDelay, Checks.positive("maxEventAge", maxEventAge), retryOn);
  }

  /**
   * Returns this policy retrying only the errors {@code retryable} accepts; the others are
   * dead-lettered at once with {@link DeadLetter.Reason#NOT_RETRYABLE}. The predicate sees the
   * function's own exception (the cause of its {@link FunctionFailedException}), or the runtime's
   * {@link FunctionTimeoutException} or {@link CpuBudgetExceededException} when the runtime ended
   * the attempt. A predicate that throws is logged and counts as "not retryable". It replaces any
   * earlier predicate; by default every error is retried.
   *
   * @param retryable accepts the errors worth retrying
   * @return a new policy
   * @throws NullPointerException if {@code retryable} is null
   */
  public RetryPolicy retryOn(Predicate<? super Throwable> retryable) {
    Objects.requireNonNull(retryable, "retryable");
    return new RetryPolicy(maxRetries, initialDelay, maxDelay, maxEventAge, retryable);
  }

  /** {@return retries after the first attempt} */
  public int maxRetries() {
    return maxRetries;
  }

  /** {@return the upper bound of the first retry's delay; zero for {@link #none()}} */
  public Duration initialDelay() {
    return initialDelay;
  }

  /** {@return the largest upper bound of any retry's delay; zero for {@link #none()}} */
  public Duration maxDelay() {
    return maxDelay;
  }

  /**
   * Returns the maximum event age, if set.
   *
   * @return the age beyond which an event is not attempted again, or empty when unlimited
   */
  public Optional<Duration> maxEventAge() {
    return Optional.ofNullable(maxEventAge);
  }

  /**
   * Returns whether {@code error} is worth retrying, by the {@link #retryOn} predicate. Retries
   * left and the event's age are not considered here.
   *
   * @param error the error of the failed attempt
   * @return true if it may be retried
   * @throws NullPointerException if {@code error} is null
   * @throws RuntimeException whatever the predicate throws
   */
  public boolean isRetryable(Throwable error) {
    Objects.requireNonNull(error, "error");
    return retryOn.test(error);
  }

  /**
   * Returns the upper bound of the delay before retry number {@code retry}:
   * {@code min(maxDelay, initialDelay * 2^(retry-1))}.
   *
   * @param retry the retry, 1 for the first
   * @return the bound; zero for {@link #none()}
   * @throws IllegalArgumentException if {@code retry} is less than 1
   */
  public Duration maxBackoff(int retry) {
    return Duration.ofNanos(maxBackoffNanos(retry));
  }

  /**
   * Draws the delay before retry number {@code retry}, uniformly from {@code [0, maxBackoff(retry)]}
   * (full jitter).
   *
   * @param retry the retry, 1 for the first
   * @param random where the jitter comes from
   * @return the delay
   * @throws NullPointerException if {@code random} is null
   * @throws IllegalArgumentException if {@code retry} is less than 1
   */
  public Duration backoff(int retry, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    long bound = maxBackoffNanos(retry);
    return Duration.ofNanos(bound == 0 ? 0 : bound == Long.MAX_VALUE
        ? random.nextLong(0, Long.MAX_VALUE) : random.nextLong(0, bound + 1));
  }

  private long maxBackoffNanos(int retry) {
    requireArgument(retry >= 1, "retry must be at least 1 but was %s", retry);
    long initial = initialDelay.toNanos();
    long max = maxDelay.toNanos();
    int shift = retry - 1;
    if (initial == 0) {
      return 0;
    }
    // initial * 2^shift, saturated at max without overflowing.
    if (shift >= 63 || initial > (max >> shift)) {
      return max;
    }
    return Math.min(max, initial << shift);
  }

  @Override
  @SuppressWarnings("ReferenceEquality") // predicates have no equality of their own
  public boolean equals(@Nullable Object o) {
    return o instanceof RetryPolicy p && maxRetries == p.maxRetries && initialDelay.equals(p.initialDelay)
        && maxDelay.equals(p.maxDelay) && Objects.equals(maxEventAge, p.maxEventAge) && retryOn == p.retryOn;
  }

  @Override
  public int hashCode() {
    return Objects.hash(maxRetries, initialDelay, maxDelay, maxEventAge, System.identityHashCode(retryOn));
  }

  @Override
  @SuppressWarnings("ReferenceEquality") // the default predicate, by identity
  public String toString() {
    String s = maxRetries == 0 && initialDelay.isZero() ? "RetryPolicy{none"
        : "RetryPolicy{exponential(" + maxRetries + ", " + initialDelay + ", " + maxDelay + ")";
    return s + (maxEventAge == null ? "" : ", maxEventAge=" + maxEventAge)
        + (retryOn == ANY ? "" : ", retryOn=" + retryOn) + "}";
  }
}
