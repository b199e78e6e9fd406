package dev.cumulus.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs the whole suite with reduced iterations (about 8 minutes on 2 cores) and prints the results as
 * Markdown: every figure beside its baseline from the same run, and every design target with
 * the measured ratio and whether it was met. The comparisons that hinge on a few percent (no-op
 * throughput, metering overhead) run in two rounds, each contender once per round, so that a slow
 * spell of a noisy machine does not fall on one contender only; figures are medians of iterations.
 *
 * <p>Run: {@code jmh-benchmarks/run.sh} (builds the jar if needed), or {@code java -cp
 * jmh-benchmarks/target/benchmarks.jar dev.cumulus.benchmarks.Suite [--out FILE]}
 */
public final class Suite {
  private static final String ADD_OPENS = "--add-opens=java.base/java.lang=ALL-UNNAMED";

  private final StringBuilder out = new StringBuilder();
  private final Map<String, List<Double>> scores = new LinkedHashMap<>();
  private final Map<String, Map<String, List<Double>>> secondary = new LinkedHashMap<>();

  private Suite() {}

  /**
   * Runs the suite.
   *
   * @param args {@code --out FILE} to also write the Markdown there
   */
  public static void main(String[] args) throws Exception {
    Path file = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--out") && i + 1 < args.length) {
        file = Path.of(args[++i]);
      }
    }
    long t0 = System.nanoTime();
    Suite suite = new Suite();
    String markdown = suite.run();
    markdown += String.format(Locale.ROOT, "%nSuite wall time: %.1f min.%n", (System.nanoTime() - t0) / 6e10);
    System.out.println();
    System.out.println(markdown);
    if (file != null) {
      Files.writeString(file, markdown, StandardCharsets.UTF_8);
    }
  }

  private String run() throws Exception {
    String started = ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    for (int round = 0; round < 2; round++) {
      jmh(NoOpThroughput.class, 3, 5, 1);
      jmh(MeteringOverhead.class, 2, 4, 1);
    }
    jmh(BlockingFanOut.class, 2, 5, 2);
    jmh(CpuBound.class, 3, 5, 1);
    jmh(ColdScale.class, 2, 6, 0);
    jmh(Memory.class, 1, 3, 0);
    String accuracy = report("MeteringOverhead", "-Xmx1g");
    String memory = report("Memory", "-Xmx512m");

    out.append("Run ").append(started).append(", JDK ").append(Runtime.version())
        .append(" (").append(System.getProperty("java.vm.name")).append("), ")
        .append(Runtime.getRuntime().availableProcessors()).append(" cores, ")
        .append(ManagementFactory.getOperatingSystemMXBean().getName()).append(' ')
        .append(ManagementFactory.getOperatingSystemMXBean().getArch()).append(".\n");
    noOp();
    blocking();
    cpuBound();
    coldScale();
    metering(accuracy);
    memory(memory);
    return out.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // Sections

  private void noOp() {
    section("NoOpThroughput", "100 000 no-op tasks submitted at once, then all awaited; tasks/s");
    String b = "NoOpThroughput.submitAndWait";
    double cumulus = median(b, "cumulus");
    table("contender", "tasks/s", "cumulus ÷ contender");
    for (String c : List.of("cumulus", "cumulus-metering-off", "virtual-threads", "virtual-threads+semaphore",
        "fixed-pool", "bulkhead+timer")) {
      double v = median(b, c);
      row(c, millions(v) + spread(b, c), ratio(cumulus / v));
    }
    targets();
    target("≥ 2× `newVirtualThreadPerTaskExecutor`", cumulus / median(b, "virtual-threads"), 2.0, true);
    target("≥ 1.2× fixed pool of nproc", cumulus / median(b, "fixed-pool"), 1.2, true);
    target("≥ 3× Resilience4j Bulkhead + Micrometer Timer", cumulus / median(b, "bulkhead+timer"), 3.0, true);
    double off = median(b, "cumulus-metering-off");
    targetPct("metering on vs off: ≤ 10 % slower", (off - cumulus) / off, 0.10);
  }

  private void blocking() {
    section("BlockingFanOut", "10 000 tasks at once, each parked 50 ms; tasks/s, and the share of the "
        + "Little's-law bound (10 000 / 50 ms = 200 000 tasks/s)");
    String b = "BlockingFanOut.fanOut";
    table("contender", "tasks/s", "of the bound");
    for (String c : List.of("cumulus", "virtual-threads", "virtual-threads+semaphore", "bulkhead+timer")) {
      double v = median(b, c);
      row(c, String.format(Locale.ROOT, "%,.0f", v) + spread(b, c), percent(v / BlockingFanOut.LITTLE_BOUND));
    }
    targets();
    double cumulus = median(b, "cumulus");
    targetPct("Cumulus ≥ 90 % of the Little's-law bound", cumulus / BlockingFanOut.LITTLE_BOUND, -0.90);
    target("Cumulus never below plain virtual threads (same run)", cumulus / median(b, "virtual-threads"), 1.0, true);
  }

  private void cpuBound() {
    section("CpuBound", "2 000 tasks of fixed CPU work (~50 µs) submitted at once, then awaited; tasks/s");
    String b = "CpuBound.compute";
    double pool = median(b, "fixed-pool");
    table("contender", "tasks/s", "÷ fixed pool");
    for (String c : List.of("cumulus", "fixed-pool", "virtual-threads")) {
      double v = median(b, c);
      row(c, String.format(Locale.ROOT, "%,.0f", v) + spread(b, c), percent(v / pool));
    }
    targets();
    targetPct("Cumulus ≥ 95 % of a fixed pool of nproc", median(b, "cumulus") / pool, -0.95);
  }

  private void coldScale() {
    section("ColdScale", "idle runtime → 10 000 invocations running at once (each parked until all "
        + "started); ms, medians of single shots");
    String b = "ColdScale.scaleFromZero";
    table("contender", "all 10 000 running", "first start", "p99 start latency", "back to zero threads");
    for (String c : List.of("cumulus", "virtual-threads")) {
      double zero = secondary(b, c, "backToZeroMs");
      row(c, ms(median(b, c)), ms(secondary(b, c, "firstStartMs")), ms(secondary(b, c, "p99StartMs")),
          c.equals("cumulus") ? ms(zero) + " (keep-alive 1 s)" : "n/a (JDK scheduler)");
    }
    targets();
    double p99 = secondary(b, "cumulus", "p99StartMs");
    out.append(String.format(Locale.ROOT, "| p99 start latency ≤ 10 ms | %.1f ms | %s |%n", p99, verdict(p99 <= 10)));
    double zero = secondary(b, "cumulus", "backToZeroMs");
    out.append(String.format(Locale.ROOT, "| back to zero live Cumulus threads within keep-alive + 1 s (2 000 ms) "
        + "| %.0f ms | %s |%n", zero, verdict(zero >= 0 && zero <= 2_000)));
  }

  private void metering(String accuracy) {
    section("MeteringOverhead", "batches of 20 000 invocations, metering on (EXACT) vs off "
        + "(WALL_CLOCK_ONLY, same carriers); invocations/s");
    String b = "MeteringOverhead.invoke";
    table("work", "metering on", "metering off", "on vs off");
    for (String w : List.of("no-op", "yield", "cpu")) {
      double on = median(b, "cumulus", w);
      double off = median(b, "cumulus-metering-off", w);
      row(w, millions(on), millions(off), String.format(Locale.ROOT, "%+.1f %%", (on - off) * 100 / off));
    }
    targets();
    for (String w : List.of("no-op", "yield", "cpu")) {
      double on = median(b, "cumulus", w);
      double off = median(b, "cumulus-metering-off", w);
      targetPct("metering on vs off (" + w + "): ≤ 10 % slower", (off - on) / off, 0.10);
    }
    out.append("\nMetering accuracy (`MeteringOverhead.main`, its own JVM):\n\n").append(accuracy.strip()).append('\n');
  }

  private void memory(String report) {
    section("Memory", "100 000 invocations parked at once");
    String b = "Memory.parkAll";
    table("contender", "time to park all");
    for (String c : List.of("cumulus", "virtual-threads")) {
      row(c, ms(median(b, c)));
    }
    out.append("\nHeap (`Memory.main`, its own JVM with `-Xmx512m`; heap used after full GCs with all "
        + "parked, minus before):\n\n").append(report.strip()).append('\n');
  }

  // ---------------------------------------------------------------------------------------------
  // Running

  private void jmh(Class<?> benchmark, int warmups, int iterations, int seconds) throws RunnerException {
    ChainedOptionsBuilder options = new OptionsBuilder()
        .include(benchmark.getName() + "\\.")
        .warmupIterations(warmups)
        .measurementIterations(iterations)
        .forks(1)
        .verbosity(VerboseMode.NORMAL);
    if (seconds > 0) {
      options.warmupTime(TimeValue.seconds(seconds)).measurementTime(TimeValue.seconds(seconds));
    }
    Collection<RunResult> results = new Runner(options.build()).run();
    for (RunResult r : results) {
      String key = key(r.getParams().getBenchmark(), r.getParams());
      for (BenchmarkResult fork : r.getBenchmarkResults()) {
        for (IterationResult it : fork.getIterationResults()) {
          scores.computeIfAbsent(key, k -> new ArrayList<>()).add(it.getPrimaryResult().getScore());
          it.getSecondaryResults().forEach((name, result) -> secondary
              .computeIfAbsent(key, k -> new LinkedHashMap<>())
              .computeIfAbsent(name, k -> new ArrayList<>()).add(result.getScore()));
        }
      }
    }
  }

  private static String key(String benchmark, org.openjdk.jmh.infra.BenchmarkParams params) {
    String shortName = benchmark.substring(benchmark.lastIndexOf('.', benchmark.lastIndexOf('.') - 1) + 1);
    List<String> values = new ArrayList<>();
    for (String p : params.getParamsKeys()) {
      values.add(params.getParam(p));
    }
    return shortName + values;
  }

  /** Runs a report's main in a JVM of its own and returns what it printed. */
  private static String report(String className, String heap) throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = List.of(java, heap, ADD_OPENS, "-cp", System.getProperty("java.class.path"),
        Suite.class.getPackageName() + "." + className);
    System.out.println("# Report: " + String.join(" ", command));
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String printed;
    try (InputStream in = p.getInputStream()) {
      printed = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      return "(" + className + " report failed, exit " + (p.isAlive() ? "timeout" : p.exitValue()) + ")\n" + printed;
    }
    System.out.print(printed);
    return printed;
  }

  // ---------------------------------------------------------------------------------------------
  // Figures and formatting

  private double median(String benchmark, String... params) {
    return median(values(benchmark, params));
  }

  private List<Double> values(String benchmark, String... params) {
    List<Double> v = scores.get(benchmark + Arrays.asList(params));
    if (v == null || v.isEmpty()) {
      throw new IllegalStateException("no result for " + benchmark + Arrays.asList(params) + " in " + scores.keySet());
    }
    return v;
  }

  private double secondary(String benchmark, String param, String name) {
    Map<String, List<Double>> m = secondary.get(benchmark + List.of(param));
    if (m == null || !m.containsKey(name)) {
      return Double.NaN;
    }
    // Each measurement iteration of the (single) fork reports its figure divided by their number,
    // so that JMH's sum is the mean (see ColdScale.Figures): scale back to get each figure.
    List<Double> shares = m.get(name);
    return median(shares.stream().map(x -> x * shares.size()).toList());
  }

  private static double median(List<Double> values) {
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  private String spread(String benchmark, String... params) {
    List<Double> v = values(benchmark, params);
    double min = v.stream().mapToDouble(Double::doubleValue).min().orElse(0);
    double max = v.stream().mapToDouble(Double::doubleValue).max().orElse(0);
    return String.format(Locale.ROOT, " (%s–%s, n=%d)", compact(min), compact(max), v.size());
  }

  private static String compact(double v) {
    return v >= 1e6 ? String.format(Locale.ROOT, "%.2f M", v / 1e6) : String.format(Locale.ROOT, "%,.0f", v);
  }

  private static String millions(double v) {
    return String.format(Locale.ROOT, "%.2f M", v / 1e6);
  }

  private static String ms(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.1f ms", v);
  }

  private static String ratio(double r) {
    return String.format(Locale.ROOT, "%.2f×", r);
  }

  private static String percent(double r) {
    return String.format(Locale.ROOT, "%.1f %%", r * 100);
  }

  private static String verdict(boolean met) {
    return met ? "met" : "**missed**";
  }

  private void section(String name, String what) {
    out.append("\n## ").append(name).append("\n\n").append(what).append(".\n\n");
  }

  private void table(String... headers) {
    out.append("| ").append(String.join(" | ", headers)).append(" |\n|");
    out.append("---|".repeat(headers.length)).append('\n');
  }

  private void row(String... cells) {
    out.append("| ").append(String.join(" | ", cells)).append(" |\n");
  }

  private void targets() {
    out.append("\n| design target | measured | verdict |\n|---|---|---|\n");
  }

  private void target(String what, double measured, double goal, boolean atLeast) {
    boolean met = atLeast ? measured >= goal : measured <= goal;
    String by = met ? "" : String.format(Locale.ROOT, " (%.0f %% short)", (1 - measured / goal) * 100);
    out.append(String.format(Locale.ROOT, "| %s | %.2f× | %s%s |%n", what, measured, verdict(met), by));
  }

  /** A share target: positive goal = at most that much, negative = at least that much. */
  private void targetPct(String what, double measured, double goal) {
    boolean met = goal >= 0 ? measured <= goal : measured >= -goal;
    out.append(String.format(Locale.ROOT, "| %s | %.1f %% | %s |%n", what, measured * 100, verdict(met)));
  }
}
