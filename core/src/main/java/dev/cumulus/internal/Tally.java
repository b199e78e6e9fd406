package dev.cumulus.internal;

import dev.cumulus.Receipt;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * What one invocation's code reported (bytes processed), and for a metered call ({@code
 * invokeMetered}) the figures of its {@link Receipt}. An invocation has one only if it was metered,
 * or its code asked for its context ({@code FnContext.current()}); a plain call that does neither
 * never makes one.
 *
 * <p>Bytes may be added from any thread (the code hands its context to threads of its own) until
 * the invocation's code returns, when its worker {@linkplain #close closes} the tally: the count is
 * then final, and a later add is refused rather than lost silently. The receipt's figures are written
 * and read by the worker alone.
 */
public final class Tally {
  private static final VarHandle BYTES;
  /** The bit of {@link #bytes} that says the tally is closed; the others are the count. */
  private static final long CLOSED = Long.MIN_VALUE;

  static {
    try {
      BYTES = MethodHandles.lookup().findVarHandle(Tally.class, "bytes", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final String function;
  /** Whether the caller asked for a receipt. */
  final boolean metered;
  @SuppressWarnings("unused") // BYTES
  private volatile long bytes;
  // Cold start figures of a metered invocation: written and read by its worker only.
  boolean coldStart;
  long initNanos;

  Tally(String function, boolean metered) {
    this.function = function;
    this.metered = metered;
  }

  /**
   * The tally of the invocation running on the calling thread, made if it has none yet; null if the
   * calling thread runs no invocation (it is no Cumulus worker, or its worker is between calls).
   *
   * @return the tally, or null
   */
  public static @Nullable Tally current() {
    Invocation inv = Worker.runningHere();
    return inv == null ? null : inv.tally();
  }

  /** {@return the name of the invocation's function} */
  public String function() {
    return function;
  }

  /**
   * Adds bytes processed.
   *
   * @param n bytes, zero or more; the count saturates at {@code Long.MAX_VALUE}
   * @throws IllegalStateException if the invocation's code has returned
   */
  public void addBytes(long n) {
    for (;;) {
      long b = (long) BYTES.getVolatile(this);
      if (b < 0) {
        throw new IllegalStateException("the invocation of function '" + function + "' has returned: bytes"
            + " processed must be added before its code returns (a thread of its own that outlives it"
            + " cannot add to it); " + n + " bytes were not counted");
      }
      long next = b + n < 0 ? Long.MAX_VALUE : b + n;
      if (n == 0 || BYTES.compareAndSet(this, b, next)) {
        return;
      }
    }
  }

  /** {@return the bytes processed so far, or in all once the tally is closed} */
  public long bytes() {
    return (long) BYTES.getVolatile(this) & ~CLOSED;
  }

  /** The invocation's code returned (on its worker): the count is final. @return the count */
  long close() {
    return (long) BYTES.getAndBitwiseOr(this, CLOSED) & ~CLOSED;
  }

  /**
   * The receipt of a metered invocation that returned {@code result} (on its worker, after
   * {@link #close}): the figures its worker recorded in the function's stats for it.
   */
  Receipt<@Nullable Object> receipt(@Nullable Object result, long queueWait, long wall, long cpu, long billedCpu) {
    return new Receipt<>(function, result, coldStart, Duration.ofNanos(initNanos), Duration.ofNanos(queueWait),
        Duration.ofNanos(wall), Duration.ofNanos(cpu), Meter.billedMillis(wall), billedCpu, bytes());
  }
}
