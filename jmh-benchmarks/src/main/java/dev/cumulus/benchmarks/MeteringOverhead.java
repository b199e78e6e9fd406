package dev.cumulus.benchmarks;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.MeteringMode;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What exact CPU metering costs, and how exact it is.
 *
 * <p>The JMH benchmark runs batches of {@value #BATCH} invocations with metering on
 * ({@code cumulus}, {@link MeteringMode#EXACT}) and off ({@code cumulus-metering-off}, the baseline:
 * same carriers, no clock reads) for three kinds of work: {@code no-op}; {@code yield}, which unmounts
 * once per invocation (two mounted segments, so two pairs of clock reads, per invocation: the worst
 * case); and {@code cpu}, about 20 µs of computation. Target: metering on within 10 % of off.
 *
 * <p>{@link #main} prints the accuracy report: functions burning a calibrated 200 ms of CPU (the
 * reference is the same work timed with the CPU clock of a platform thread) are metered within ±5 %;
 * a function sleeping 100 ms is metered under 2 ms of CPU; the sum over all functions is within
 * 10 % of the process's CPU time over the same run; and among {@value #MIXED} concurrent invocations,
 * half 1 ms CPU spins and half 1 ms sleeps, the spins' per-invocation CPU (p50 and p99) is within
 * ±10 % of the same spin on a platform thread.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar MeteringOverhead}; the report:
 * {@code java --add-opens=java.base/java.lang=ALL-UNNAMED -cp jmh-benchmarks/target/benchmarks.jar
 * dev.cumulus.benchmarks.MeteringOverhead}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class MeteringOverhead {
  /** Invocations per operation. */
  public static final int BATCH = 20_000;

  /** Metering on ({@code cumulus}) or off (the baseline). */
  @Param({Contender.CUMULUS, Contender.CUMULUS_METERING_OFF})
  public String executor;

  /** The work each invocation does. */
  @Param({"no-op", "yield", "cpu"})
  public String work;

  Contender contender;

  @Setup(Level.Trial)
  public void setUp() {
    contender = Contender.of(executor, work(work), NoOpThroughput.CONCURRENCY, BATCH);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    contender.close();
  }

  /** Runs a batch and waits for all of it. @return invocations completed normally */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public int invoke() {
    return run(BATCH);
  }

  int run(int n) {
    return contender.runBatch(n, 3);
  }

  static Function<Integer, Integer> work(String kind) {
    return switch (kind) {
      case "no-op" -> i -> i;
      case "yield" -> i -> {
        Thread.yield();
        return i;
      };
      case "cpu" -> i -> spin(i, 4_000);
      default -> throw new IllegalArgumentException("unknown work '" + kind + "'");
    };
  }

  /** {@code rounds} of a xorshift mix, about 5 ns each. */
  static int spin(long seed, long rounds) {
    long x = seed * 0x9E3779B97F4A7C15L + 1;
    for (long i = 0; i < rounds; i++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
    }
    return (int) x | 1;
  }

  // ---------------------------------------------------------------------------------------------
  // Accuracy report

  /** Prints the metering-accuracy table. @param args ignored */
  public static void main(String[] args) throws Exception {
    System.out.println(accuracyReport(5));
  }

  /**
   * Measures metering accuracy and formats it as a Markdown table.
   *
   * @param burns how many 200 ms burns (and 100 ms sleeps) to meter
   */
  static String accuracyReport(int burns) throws Exception {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long roundsFor200ms = calibrate(threads, 200);
    try (Cumulus cumulus = Cumulus.builder().meteringMode(MeteringMode.EXACT).build()) {
      Fn<Long, Integer> burn = cumulus.register(FnSpec.of("burn-200ms", (Long rounds) -> spin(7, rounds)).build());
      Fn<Integer, Integer> sleep = registerSleep(cumulus, "sleep-100ms");
      // Warm both paths (JIT), then measure from a clean slate of the totals.
      burn.invoke(roundsFor200ms / 20);
      sleep.invoke(1);
      long referenceNanos = referenceCpu(threads, roundsFor200ms);
      FunctionStats burn0 = burn.stats();
      FunctionStats sleep0 = sleep.stats();
      long process0 = os.getProcessCpuTime();

      List<Long> metered = new ArrayList<>();
      for (int i = 0; i < burns; i++) {
        long before = burn.stats().cpuTime().toNanos();
        burn.invoke(roundsFor200ms);
        metered.add(burn.stats().cpuTime().toNanos() - before);
      }
      List<CompletableFuture<Integer>> sleeps = new ArrayList<>();
      for (int i = 0; i < burns; i++) {
        sleeps.add(sleep.invokeAsync(100));
      }
      sleeps.forEach(CompletableFuture::join);

      long processDelta = os.getProcessCpuTime() - process0;
      FunctionStats burn1 = burn.stats();
      FunctionStats sleep1 = sleep.stats();
      long burnTotal = burn1.cpuTime().toNanos() - burn0.cpuTime().toNanos();
      long sleepTotal = sleep1.cpuTime().toNanos() - sleep0.cpuTime().toNanos();
      double sleepPerCall = sleepTotal / (double) burns;
      double worstBurnError = 0;
      for (long m : metered) {
        double e = (m - referenceNanos) / (double) referenceNanos;
        if (Math.abs(e) > Math.abs(worstBurnError)) {
          worstBurnError = e;
        }
      }
      double meanBurn = metered.stream().mapToLong(Long::longValue).average().orElse(0);
      Percentiles mixed = mixedSpins(cumulus, threads, roundsFor200ms / 200);
      double sumError = (burnTotal + sleepTotal - processDelta) / (double) processDelta;

      StringBuilder sb = new StringBuilder();
      sb.append("| metering accuracy | measured | target | verdict |\n");
      sb.append("|---|---|---|---|\n");
      sb.append(row("200 ms CPU burn, metered (mean of " + burns + ")",
          String.format(Locale.ROOT, "%.1f ms vs reference %.1f ms (%+.1f %%)", meanBurn / 1e6,
              referenceNanos / 1e6, (meanBurn - referenceNanos) * 100 / referenceNanos), "", ""));
      sb.append(row("200 ms CPU burn, worst error", pct(worstBurnError), "within ±5 %",
          verdict(Math.abs(worstBurnError) <= 0.05)));
      sb.append(row("100 ms sleep, metered CPU per call", String.format(Locale.ROOT, "%.3f ms", sleepPerCall / 1e6),
          "< 2 ms", verdict(sleepPerCall < 2_000_000)));
      sb.append(row("sum over functions vs process CPU delta",
          String.format(Locale.ROOT, "%.1f ms vs %.1f ms (%s)", (burnTotal + sleepTotal) / 1e6,
              processDelta / 1e6, pct(sumError)), "within 10 %", verdict(Math.abs(sumError) <= 0.10)));
      for (String p : List.of("p50", "p99")) {
        double error = (p.equals("p50") ? mixed.p50 : mixed.p99) / mixed.reference - 1;
        sb.append(row("per-invocation CPU of 1 ms spins among " + MIXED + " mixed spins and sleeps, " + p,
            String.format(Locale.ROOT, "%.3f ms vs reference %.3f ms (%s)",
                (p.equals("p50") ? mixed.p50 : mixed.p99) / 1e6, mixed.reference / 1e6, pct(error)),
            "within ±10 %", verdict(Math.abs(error) <= 0.10)));
      }
      return sb.toString();
    }
  }

  /** Concurrent invocations of the mixed run: half 1 ms CPU spins, half 1 ms sleeps. */
  static final int MIXED = 1_000;

  /** Per-invocation CPU of the spins of a mixed run, against the spin's CPU on a platform thread. */
  record Percentiles(double p50, double p99, double reference) {}

  /** Registers a function that sleeps its input's milliseconds and returns it. */
  private static Fn<Integer, Integer> registerSleep(Cumulus cumulus, String name) {
    return cumulus.register(FnSpec.of(name, (Integer ms) -> {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return ms;
    }).build());
  }

  /**
   * Runs {@value #MIXED} invocations at once, half spinning {@code roundsFor1ms} (about 1 ms of CPU)
   * and half sleeping 1 ms, and reads the spin function's per-invocation CPU percentiles.
   */
  private static Percentiles mixedSpins(Cumulus cumulus, com.sun.management.ThreadMXBean threads,
      long roundsFor1ms) {
    Fn<Long, Integer> spin = cumulus.register(FnSpec.of("spin-1ms", (Long rounds) -> spin(3, rounds)).build());
    Fn<Integer, Integer> nap = registerSleep(cumulus, "sleep-1ms");
    long[] reference = new long[21];
    for (int i = 0; i < reference.length; i++) {
      long c0 = threads.getCurrentThreadCpuTime();
      spin(3, roundsFor1ms);
      reference[i] = threads.getCurrentThreadCpuTime() - c0;
    }
    java.util.Arrays.sort(reference);
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < MIXED; i++) {
      calls.add(i % 2 == 0 ? spin.invokeAsync(roundsFor1ms) : nap.invokeAsync(1));
    }
    calls.forEach(CompletableFuture::join);
    dev.cumulus.Percentiles p = spin.stats().cpuPerInvocation();
    return new Percentiles(p.p50().toNanos(), p.p99().toNanos(), reference[reference.length / 2]);
  }

  /** How many rounds of {@link #spin} take {@code millis} of CPU on this thread. */
  private static long calibrate(com.sun.management.ThreadMXBean threads, long millis) {
    long rounds = 1_000_000;
    for (int attempt = 0; attempt < 8; attempt++) {
      long c0 = threads.getCurrentThreadCpuTime();
      spin(1, rounds);
      long used = threads.getCurrentThreadCpuTime() - c0;
      if (used > 20_000_000) {
        return rounds * Duration.ofMillis(millis).toNanos() / used;
      }
      rounds *= 4;
    }
    return rounds;
  }

  /** The CPU the burn takes on a platform thread, by its own CPU clock (median of three). */
  private static long referenceCpu(com.sun.management.ThreadMXBean threads, long rounds) {
    long[] runs = new long[3];
    for (int i = 0; i < runs.length; i++) {
      long c0 = threads.getCurrentThreadCpuTime();
      spin(7, rounds);
      runs[i] = threads.getCurrentThreadCpuTime() - c0;
    }
    java.util.Arrays.sort(runs);
    return runs[1];
  }

  private static String row(String what, String measured, String target, String verdict) {
    return "| " + what + " | " + measured + " | " + target + " | " + verdict + " |\n";
  }

  private static String pct(double ratio) {
    return String.format(Locale.ROOT, "%+.1f %%", ratio * 100);
  }

  private static String verdict(boolean met) {
    return met ? "met" : "**missed**";
  }
}
