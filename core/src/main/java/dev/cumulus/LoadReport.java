package dev.cumulus;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link LoadTest} measured. Immutable; {@link #toString()} is a readable table:
 *
 * <pre>
 * Load test of 'word-count': 64 callers for 10.00 s (metering EXACT)
 *   invocations       3,418,112  (ok 3,418,112, errors 0)
 *   throughput        341,783 /s
 *   latency           p50 171.0 µs  p90 296.0 µs  p99 1.1 ms  max 24.3 ms
 *   CPU / invocation  2.1 µs
 *   cost / 1M         0.320000  (0.30 per 1M requests + 0.02 per 1M CPU-ms)
 *   peak concurrency  3
 *   cold starts       1
 * </pre>
 *
 * @param function the function's name
 * @param concurrency the callers, each making one call at a time
 * @param elapsed from the first call to the end of the last
 * @param invocations calls made (each ended, one way or another)
 * @param successes calls that returned a result
 * @param errors failed calls by type, most frequent first: the simple name of the exception the
 *     caller got, and for {@link FunctionFailedException} the type the function threw in
 *     parentheses, e.g. {@code FunctionFailedException(IllegalStateException)}
 * @param throughput calls per second over {@code elapsed}
 * @param latency call latency as the callers saw it (queue wait included); {@code samples} is the
 *     number of calls; percentiles from an HdrHistogram within 0.1 %, the maximum exact
 * @param cpuPerInvocation mean CPU time the function used per invocation that ran; zero unless
 *     {@code meteringMode} is {@link MeteringMode#EXACT}
 * @param costPerMillion what a million invocations like these cost under {@code priceModel}
 *     (billable requests only: throttled and rejected calls are free)
 * @param priceModel the description of the price model
 * @param meteringMode how the runtime metered the function
 * @param peakConcurrency the most invocations of the function that ran at once during the run (calls
 *     of other callers meanwhile included; the function's peak since registration is in its stats)
 * @param coldStarts instances the function created during the run
 */
public record LoadReport(
    String function,
    int concurrency,
    Duration elapsed,
    long invocations,
    long successes,
    Map<String, Long> errors,
    double throughput,
    Percentiles latency,
    Duration cpuPerInvocation,
    BigDecimal costPerMillion,
    String priceModel,
    MeteringMode meteringMode,
    int peakConcurrency,
    long coldStarts) {

  /**
   * Checks and copies the report's parts.
   *
   * @throws NullPointerException if a component is null
   */
  public LoadReport {
    Objects.requireNonNull(function, "function");
    Objects.requireNonNull(elapsed, "elapsed");
    errors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(errors));
    Objects.requireNonNull(latency, "latency");
    Objects.requireNonNull(cpuPerInvocation, "cpuPerInvocation");
    Objects.requireNonNull(costPerMillion, "costPerMillion");
    Objects.requireNonNull(priceModel, "priceModel");
    Objects.requireNonNull(meteringMode, "meteringMode");
  }

  /**
   * Returns the number of failed calls.
   *
   * @return the sum of {@link #errors()}
   */
  public long errorCount() {
    return errors.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Formats the report as an aligned table. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "Load test of '%s': %d callers for %s (metering %s)%n",
        function, concurrency, seconds(elapsed), meteringMode));
    row(sb, "invocations", String.format(Locale.ROOT, "%,d  (ok %,d, errors %,d)", invocations,
        successes, errorCount()));
    row(sb, "throughput", String.format(Locale.ROOT, "%,.0f /s", throughput));
    row(sb, "latency", "p50 " + Durations.format(latency.p50()) + "  p90 " + Durations.format(latency.p90())
        + "  p99 " + Durations.format(latency.p99()) + "  max " + Durations.format(latency.max()));
    row(sb, "CPU / invocation", meteringMode == MeteringMode.EXACT ? Durations.format(cpuPerInvocation)
        : "not metered (" + meteringMode + ")");
    row(sb, "cost / 1M", money(costPerMillion) + "  (" + priceModel + ")");
    row(sb, "peak concurrency", Integer.toString(peakConcurrency));
    row(sb, "cold starts", Long.toString(coldStarts));
    if (!errors.isEmpty()) {
      row(sb, "errors", "");
      int width = errors.keySet().stream().mapToInt(String::length).max().orElse(0);
      errors.forEach((type, count) -> sb.append(String.format(Locale.ROOT, "    %-" + width + "s  %,d%n", type, count)));
    }
    return sb.toString();
  }

  private static void row(StringBuilder sb, String label, String value) {
    sb.append(String.format(Locale.ROOT, "  %-17s %s", label, value).stripTrailing()).append('\n');
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.2f s", d.toNanos() / 1e9);
  }

  /** Six decimals, or enough for two significant digits of a smaller amount. */
  private static String money(BigDecimal amount) {
    int scale = 6;
    if (amount.signum() > 0) {
      scale = Math.max(scale, Math.min(PriceModel.SCALE, amount.scale() - amount.precision() + 2));
    }
    return amount.setScale(scale, RoundingMode.HALF_EVEN).toPlainString();
  }
}
