package dev.cumulus;

import org.jspecify.annotations.Nullable;

/**
 * The runtime is closing or closed: the call was refused, or it was still queued or running when
 * the drain deadline of {@link Cumulus#close()} passed. Counted in {@link FunctionStats#rejected()}.
 *
 * <p>Created without a stack trace, like the other load and state signals.
 */
public final class RuntimeClosedException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param functionName the function that was called, or {@code null}
   * @param message why the call was refused or abandoned
   */
  public RuntimeClosedException(@Nullable String functionName, String message) {
    super(functionName, message, null, false);
  }
}
