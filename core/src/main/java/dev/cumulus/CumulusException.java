package dev.cumulus;

import org.jspecify.annotations.Nullable;

/**
 * The base of every exception Cumulus throws for an invocation or a function: unchecked, and carrying
 * the name of the function it concerns when there is one.
 *
 * <p>Exceptions that signal load or state rather than a bug ({@link ThrottledException},
 * {@link RuntimeClosedException}, {@link FunctionTimeoutException}, {@link FunctionFailedException})
 * are created without a stack trace, so they stay cheap under overload; a
 * {@link FunctionFailedException} carries the function's own exception, with its stack trace, as its
 * cause.
 */
public class CumulusException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The function the failure concerns, if any. */
  private final @Nullable String functionName;

  /**
   * Creates an exception with a stack trace.
   *
   * @param functionName the function concerned, or {@code null} when it concerns the whole runtime
   * @param message the detail message
   * @param cause the cause, or {@code null}
   */
  public CumulusException(@Nullable String functionName, String message, @Nullable Throwable cause) {
    super(message, cause);
    this.functionName = functionName;
  }

  /**
   * Creates an exception, with or without a stack trace.
   *
   * @param functionName the function concerned, or {@code null} when it concerns the whole runtime
   * @param message the detail message
   * @param cause the cause, or {@code null}
   * @param writableStackTrace {@code false} to skip filling in the stack trace (cheap exceptions)
   */
  protected CumulusException(
      @Nullable String functionName, String message, @Nullable Throwable cause, boolean writableStackTrace) {
    super(message, cause, /* enableSuppression= */ false, writableStackTrace);
    this.functionName = functionName;
  }

  /**
   * Returns the name of the function this exception concerns.
   *
   * @return the function name, or {@code null} when the exception concerns the whole runtime
   */
  public @Nullable String functionName() {
    return functionName;
  }
}
