package dev.cumulus;

/**
 * The function's own code threw (its handler, or the {@code init} of a new instance). The function's
 * exception, with its stack trace, is the {@linkplain #getCause() cause}. Counted in
 * {@link FunctionStats#failures()}.
 */
public final class FunctionFailedException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param functionName the function that failed
   * @param cause what the function threw
   */
  public FunctionFailedException(String functionName, Throwable cause) {
    super(functionName, "function '" + functionName + "' failed: " + cause, cause, false);
  }

  /**
   * Creates the exception with a message of its own.
   *
   * @param functionName the function that failed
   * @param message what failed
   * @param cause what the function threw
   */
  public FunctionFailedException(String functionName, String message, Throwable cause) {
    super(functionName, message, cause, false);
  }
}
