package dev.cumulus;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * An {@linkplain Fn#emit event} that did not succeed, handed to the function's
 * {@link DeadLetterSink}: every accepted event ends exactly once, either succeeded or as one
 * dead letter.
 *
 * <p>Instants are on the runtime's clock. An event that never ran (it expired, or the runtime
 * closed, while it waited for capacity) has {@code attempts == 0}, and both instants are when it was
 * accepted. Records are immutable; the input and error are the event's own objects.
 *
 * @param function the function's name
 * @param eventId the id {@link Fn#emit} returned
 * @param input the event's input
 * @param attempts how many times the function ran it (attempts that waited for capacity do not count)
 * @param firstAttempt when it first ran, or when it was accepted if it never ran
 * @param lastAttempt when it last ran, or when it was accepted if it never ran
 * @param error what the last attempt failed with: the function's own exception (the cause of its
 *     {@link FunctionFailedException}), or {@link FunctionTimeoutException} /
 *     {@link CpuBudgetExceededException}; {@code null} if no attempt failed (it expired or the
 *     runtime closed before one did)
 * @param reason why it was given up
 */
public record DeadLetter(
    String function,
    String eventId,
    @Nullable Object input,
    int attempts,
    Instant firstAttempt,
    Instant lastAttempt,
    @Nullable Throwable error,
    DeadLetter.Reason reason) {

  /**
   * Checks the letter.
   *
   * @throws NullPointerException if a non-nullable component is null
   * @throws IllegalArgumentException if {@code attempts} is negative
   */
  public DeadLetter {
    Objects.requireNonNull(function, "function");
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(firstAttempt, "firstAttempt");
    Objects.requireNonNull(lastAttempt, "lastAttempt");
    Objects.requireNonNull(reason, "reason");
    Checks.requireArgument(attempts >= 0, "attempts must not be negative but was %s", attempts);
  }

  /** Why an event was given up. */
  public enum Reason {
    /** Its last attempt failed and the {@link RetryPolicy} allows no more retries. */
    RETRIES_EXHAUSTED,
    /** It became older than the {@link RetryPolicy#withMaxEventAge maximum event age} before it could run again. */
    EXPIRED,
    /** Its last attempt failed with an error the {@link RetryPolicy#retryOn} predicate does not retry. */
    NOT_RETRYABLE,
    /**
     * The runtime closed (or the function was unregistered) before it could succeed: it was still
     * waiting, waiting for a retry, or running at the drain deadline.
     */
    SHUTDOWN
  }
}
