package dev.cumulus;

import dev.cumulus.internal.DurationText;
import java.time.Duration;

/**
 * The invocation ran past its function's {@linkplain FnSpec.Builder#timeout(Duration) timeout}. The
 * caller gets this at the deadline and the handler's thread is interrupted; a handler that ignores the
 * interrupt keeps its concurrency slot until it returns ({@link FunctionStats#overdue()}). Counted in
 * {@link FunctionStats#timeouts()}.
 */
public final class FunctionTimeoutException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /** The timeout the invocation ran past. */
  private final Duration timeout;

  /**
   * Creates the exception.
   *
   * @param functionName the function that timed out
   * @param timeout the timeout that was exceeded
   */
  public FunctionTimeoutException(String functionName, Duration timeout) {
    super(functionName, "function '" + functionName + "' timed out after " + DurationText.of(timeout), null, false);
    this.timeout = timeout;
  }

  /**
   * Returns the timeout that was exceeded.
   *
   * @return the function's timeout
   */
  public Duration timeout() {
    return timeout;
  }
}
