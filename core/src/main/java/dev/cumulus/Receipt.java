package dev.cumulus;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One invocation's result with what that invocation alone used, as {@link Fn#invokeMetered} and
 * {@link Fn#invokeMeteredAsync} return it: whether it was a cold start, how long it waited and ran,
 * its CPU time, what it is billed and the bytes its code processed.
 *
 * <pre>{@code
 * Receipt<Integer> r = words.invokeMetered("a b c");
 * int n = r.result();                      // 3
 * long cpuMs = r.billedCpuMillis();        // this call's CPU, as billed
 * }</pre>
 *
 * <p>The figures are the ones the runtime adds for this invocation to its function's
 * {@link FunctionStats} (where it is counted once, receipt or not): the stats' {@code wallTime},
 * {@code queueWait}, {@code billedMillis}, {@code billedCpuMillis} and {@code bytesProcessed} are
 * sums over invocations, and a receipt is this invocation's term of each. They are measured on the
 * invocation itself, so calls running at the same time, of the same function or of others, do not
 * blur them. A call that fails has no receipt (its exception is thrown as by {@link Fn#invoke});
 * its use is in the stats. Immutable.
 *
 * @param <O> the function's output type
 * @param function the function's name
 * @param result what the function returned
 * @param coldStart whether this invocation created its instance (ran the function's init)
 * @param initTime how long the init of a cold start took (part of {@code wallTime}); zero when warm
 * @param queueWait how long the invocation waited to start
 * @param wallTime how long it ran, from start to end, init included
 * @param cpuTime the CPU time of its code (its own parts of its thread's mounted segments); zero
 *     unless metering is {@link MeteringMode#EXACT}
 * @param billedMillis its billed duration: {@code wallTime} rounded up to a whole millisecond, at
 *     least 1
 * @param billedCpuMillis its billed CPU: {@code cpuTime} rounded up to a whole millisecond, at least
 *     1; zero unless metering is {@code EXACT}
 * @param bytesProcessed the bytes its code reported processing ({@link FnContext#addBytesProcessed})
 */
public record Receipt<O extends @Nullable Object>(
    String function,
    O result,
    boolean coldStart,
    Duration initTime,
    Duration queueWait,
    Duration wallTime,
    Duration cpuTime,
    long billedMillis,
    long billedCpuMillis,
    long bytesProcessed) {

  /**
   * Checks the receipt.
   *
   * @throws NullPointerException if {@code function} or a duration is null
   * @throws IllegalArgumentException if a duration or a figure is negative
   */
  public Receipt {
    Objects.requireNonNull(function, "function");
    notNegative("initTime", initTime);
    notNegative("queueWait", queueWait);
    notNegative("wallTime", wallTime);
    notNegative("cpuTime", cpuTime);
    Checks.requireArgument(billedMillis >= 0, "billedMillis must not be negative but was %s", billedMillis);
    Checks.requireArgument(billedCpuMillis >= 0, "billedCpuMillis must not be negative but was %s", billedCpuMillis);
    Checks.requireArgument(bytesProcessed >= 0, "bytesProcessed must not be negative but was %s", bytesProcessed);
  }

  private static void notNegative(String name, Duration d) {
    Objects.requireNonNull(d, name);
    Checks.requireArgument(!d.isNegative(), "%s must not be negative but was %s", name, d);
  }

  @Override
  public String toString() {
    return function + ": " + (coldStart ? "cold start (init " + Durations.format(initTime) + "), " : "warm, ")
        + "queued " + Durations.format(queueWait) + ", wall " + Durations.format(wallTime)
        + ", cpu " + Durations.format(cpuTime) + ", billed " + billedMillis + " ms (cpu " + billedCpuMillis
        + " ms)" + (bytesProcessed > 0 ? ", processed " + bytesProcessed + " B" : "") + ", result=" + result;
  }
}
