package dev.cumulus;

/**
 * Thrown (or used to fail a future) when an invocation cannot be admitted: the function already runs
 * at its concurrency limit and its queue is full, or no concurrency is left for it at all. The
 * in-process form of HTTP 429. Counted in {@link FunctionStats#throttles()}.
 *
 * <p>Created without a stack trace: throttling is a load signal, and it must stay cheap when a
 * function is overloaded.
 */
public final class ThrottledException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param functionName the function that throttled the call
   * @param message what limit was reached, with its value
   */
  public ThrottledException(String functionName, String message) {
    super(functionName, message, null, false);
  }
}
