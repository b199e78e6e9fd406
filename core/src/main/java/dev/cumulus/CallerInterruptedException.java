package dev.cumulus;

/**
 * The thread that made a synchronous call ({@link Fn#invoke}, {@link Cumulus#invoke(String, Object)},
 * a proxy's method) was interrupted. Its interrupt status stays set, and the
 * {@linkplain #getCause() cause} is an {@link InterruptedException}. {@link #admitted()} tells which
 * of two moments it was:
 *
 * <ul>
 *   <li>before the call: the thread's interrupt status was already set, so the call was not made.
 *       Nothing ran, nothing is counted or billed, and no slot or queue place was taken;
 *   <li>while it waited: the call had been admitted and goes on; it runs (or waits) as usual, and its
 *       outcome is counted in the function's stats and billed, but its caller no longer waits for it.
 * </ul>
 *
 * <p>Created without a stack trace, like the other load and state signals.
 */
public final class CallerInterruptedException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /** Whether the call had been admitted when its caller was interrupted. */
  private final boolean admitted;

  /**
   * Creates the exception.
   *
   * @param functionName the function that was called
   * @param admitted whether the call had been admitted (it goes on) or not (it was not made)
   * @param cause the interrupt, as an {@link InterruptedException}
   */
  public CallerInterruptedException(String functionName, boolean admitted, InterruptedException cause) {
    super(functionName, admitted
        ? "the calling thread was interrupted while waiting for function '" + functionName + "': the"
            + " invocation goes on without its caller (it is counted and billed as usual); the thread's"
            + " interrupt status is set"
        : "the calling thread was interrupted before calling function '" + functionName + "' (its"
            + " interrupt status was set): the call was not made, nothing ran and nothing is billed; the"
            + " interrupt status is still set", cause, false);
    this.admitted = admitted;
  }

  /**
   * Returns whether the call had been admitted when its caller was interrupted.
   *
   * @return true if the invocation goes on without its caller; false if the call was not made
   */
  public boolean admitted() {
    return admitted;
  }
}
