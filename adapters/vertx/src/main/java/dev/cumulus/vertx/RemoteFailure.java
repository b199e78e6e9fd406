package dev.cumulus.vertx;

/**
 * What a function threw on another node, as far as the event bus carries it: the simple name of the
 * exception's type and its message. It is the {@linkplain Throwable#getCause() cause} of the
 * {@link dev.cumulus.FunctionFailedException} that {@link RemoteFn} throws where a local call would
 * have had the function's own exception; the exception object itself stays on the node that ran the
 * function (it may not be serialisable, and its stack trace is that node's business).
 *
 * <p>Created without a stack trace. Instances are immutable and thread-safe.
 */
public final class RemoteFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The simple name of the remote exception's type. */
  private final String type;

  /**
   * Creates the failure.
   *
   * @param type the simple name of the remote exception's type, such as {@code IllegalStateException}
   * @param message the remote exception's type and message, as the remote node described it
   * @throws NullPointerException if an argument is null
   */
  public RemoteFailure(String type, String message) {
    super(java.util.Objects.requireNonNull(message, "message"), null, false, false);
    this.type = java.util.Objects.requireNonNull(type, "type");
  }

  /**
   * Returns the simple name of the exception's type on the remote node.
   *
   * @return the type's simple name, such as {@code IllegalStateException}
   */
  public String type() {
    return type;
  }
}
