package dev.cumulus;

import dev.cumulus.internal.Tally;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The invocation a function's code is running for, seen from inside that code: where it reports the
 * bytes it processed, billed as query engines bill scans ({@link PriceModel#withPerTibProcessed}).
 *
 * <pre>{@code
 * Fn<Path, Long> lines = cumulus.register(FnSpec.of("count-lines", (Path file) -> {
 *   FnContext.current().addBytesProcessed(Files.size(file));
 *   try (Stream<String> s = Files.lines(file)) {
 *     return s.count();
 *   }
 * }).build());
 * }</pre>
 *
 * <p>{@link #current()} finds the invocation of the calling thread: it works in a function's code,
 * on the virtual thread Cumulus runs it on, and in an instance's init run by a call's cold start
 * (instances made ahead of calls, {@link FnSpec.Builder#minInstances}, are made outside any
 * invocation: there {@link #find()} is empty). Threads the code starts or
 * hands work to (an executor, a parallel stream) run no invocation of their own: take the context on
 * the function's thread and give it to them, since its methods may be called from any thread until
 * the invocation's code returns. Bytes counted then appear in the invocation's {@link Receipt}, in
 * its function's {@link FunctionStats#bytesProcessed()}, on the bill and on the
 * {@code cumulus.processed} meter, all at once when its code returns.
 *
 * <p>A function that calls another through Cumulus does not count the callee's bytes: the callee's
 * code counts them in its own invocation. Instances are thread-safe.
 */
public final class FnContext {
  private final Tally tally;

  private FnContext(Tally tally) {
    this.tally = tally;
  }

  /**
   * Returns the context of the invocation running on the calling thread.
   *
   * @return the context
   * @throws IllegalStateException if the calling thread is running no invocation: it is not the
   *     thread of a function's code (a thread the code started, say, or the caller of
   *     {@code invoke}); see {@link #find()}
   */
  public static FnContext current() {
    Tally t = Tally.current();
    if (t == null) {
      throw new IllegalStateException("no Cumulus invocation runs on thread '" + Thread.currentThread().getName()
          + "': FnContext.current() works on the thread that runs a function's code; for threads that"
          + " code starts, take FnContext.current() on the function's thread and pass it to them");
    }
    return new FnContext(t);
  }

  /**
   * Returns the context of the invocation running on the calling thread, if there is one: for code
   * that runs both inside and outside functions.
   *
   * <pre>{@code
   * FnContext.find().ifPresent(ctx -> ctx.addBytesProcessed(bytes));
   * }</pre>
   *
   * @return the context, or empty if the calling thread is running no invocation
   */
  public static Optional<FnContext> find() {
    Tally t = Tally.current();
    return t == null ? Optional.empty() : Optional.of(new FnContext(t));
  }

  /**
   * Returns the name of the invocation's function.
   *
   * @return the name it was registered under
   */
  public String function() {
    return tally.function();
  }

  /**
   * Adds to the bytes the invocation processed. What counts as processed is the function's to say:
   * typically the bytes it read (a file, a scan), as query engines bill.
   *
   * @param bytes zero or more; the total saturates at {@link Long#MAX_VALUE}
   * @throws IllegalArgumentException if {@code bytes} is negative
   * @throws IllegalStateException if the invocation's code has already returned (a thread it handed
   *     the context to is late: those bytes would be on no receipt and no bill)
   */
  public void addBytesProcessed(long bytes) {
    Checks.requireArgument(bytes >= 0, "bytes processed must not be negative but was %s (function '%s')",
        bytes, tally.function());
    tally.addBytes(bytes);
  }

  /**
   * Returns the bytes the invocation processed so far (all of them once its code has returned).
   *
   * @return the bytes added with {@link #addBytesProcessed}
   */
  public long bytesProcessed() {
    return tally.bytes();
  }

  /** Two contexts are equal if they belong to the same invocation. */
  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof FnContext c && c.tally == tally;
  }

  @Override
  public int hashCode() {
    return System.identityHashCode(tally);
  }

  @Override
  public String toString() {
    return "FnContext[" + tally.function() + ", bytesProcessed=" + tally.bytes() + "]";
  }
}
