package dev.cumulus;

import dev.cumulus.internal.DurationText;
import java.time.Duration;
import java.util.Objects;

/**
 * The invocation ran past its function's {@linkplain FnSpec.Builder#timeout(Duration) timeout}, or
 * waited in its function's queue past the {@linkplain FnSpec.Builder#queueTimeout(Duration) queue
 * timeout} ({@link #queued()}). The caller gets this at the deadline. A running invocation's thread
 * is interrupted, and a handler that ignores the interrupt keeps its concurrency slot until it
 * returns ({@link FunctionStats#overdue()}); a queued call is taken out of the queue and never runs.
 * Counted in {@link FunctionStats#timeouts()} (and the queued ones in
 * {@link FunctionStats#queueTimeouts()}, which are not billed).
 */
public final class FunctionTimeoutException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /** The timeout the invocation ran past. */
  private final Duration timeout;
  /** Whether it timed out waiting in the queue, before it started. */
  private final boolean queued;

  /**
   * Creates the exception for an invocation that ran past its timeout.
   *
   * @param functionName the function that timed out
   * @param timeout the timeout that was exceeded
   */
  public FunctionTimeoutException(String functionName, Duration timeout) {
    super(functionName, "function '" + functionName + "' timed out after " + DurationText.of(timeout), null, false);
    this.timeout = timeout;
    this.queued = false;
  }

  /**
   * Creates the exception with a message of its own.
   *
   * @param functionName the function that timed out
   * @param timeout the timeout that was exceeded: the function's timeout, or its queue timeout
   * @param queued whether the call timed out waiting in the queue (it never ran)
   * @param message what happened
   * @throws NullPointerException if {@code timeout} or {@code message} is null
   */
  public FunctionTimeoutException(String functionName, Duration timeout, boolean queued, String message) {
    super(functionName, Objects.requireNonNull(message, "message"), null, false);
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.queued = queued;
  }

  /**
   * Returns the timeout that was exceeded.
   *
   * @return the function's timeout, or its queue timeout if {@link #queued()}
   */
  public Duration timeout() {
    return timeout;
  }

  /**
   * Returns whether the call timed out waiting in its function's queue: then its code never ran,
   * and it is not billed.
   *
   * @return true for a queue timeout, false for an invocation that ran past its timeout
   */
  public boolean queued() {
    return queued;
  }
}
