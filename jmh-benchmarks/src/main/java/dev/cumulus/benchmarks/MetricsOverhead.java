package dev.cumulus.benchmarks;

import dev.cumulus.Cumulus;
import dev.cumulus.CumulusEvent;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.MeteringMode;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * What observing a runtime costs its invocations: batches of {@value #BATCH} no-op
 * {@code invokeAsync} calls (exact metering, as {@link NoOpThroughput}'s {@code cumulus}) on a
 * runtime with nothing bound ({@code none}, the baseline) and on the same runtime observed:
 *
 * <ul>
 *   <li>{@code registry}: {@code Cumulus.builder().meterRegistry(...)} with a
 *       {@link SimpleMeterRegistry} that a scraper thread reads in full every 100 ms (a Prometheus
 *       scrape every 15 s reads 150 times less often). Target: within 5 % of {@code none}.
 *   <li>{@code subscribed}: an event listener subscribed (warm no-op invocations produce no event, so
 *       this is the cost of the lifecycle seam being live).
 *   <li>{@code histogram}: the registry with a percentile histogram, which records every latency in a
 *       Micrometer timer. No target: it is the one option that adds work per call, said so in its
 *       Javadoc.
 *   <li>{@code receipts}: nothing bound, but every call is {@code invokeMeteredAsync}, whose future
 *       completes with the call's {@code Receipt}: what asking for each call's own figures costs.
 * </ul>
 *
 * <p>{@code invoke} measures each runtime in a JVM of its own; {@code paired} runs the observed runtime
 * and an unobserved one side by side in one JVM, batch after batch, and reports the time each took
 * ({@code observedNanos}, {@code unobservedNanos}): on a shared machine their ratio is the figure to
 * read. What a scrape costs is {@link ScrapeCost}.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar MetricsOverhead -prof
 * dev.cumulus.benchmarks.CpuPerOp} (on a shared machine compare the {@code cpu.ns/op} column, see
 * {@link CpuPerOp}); add {@code -prof gc} for the bytes allocated per invocation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@org.openjdk.jmh.annotations.Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class MetricsOverhead {
  /** Invocations per operation. */
  public static final int BATCH = 20_000;
  static final String NONE = "none";
  static final String REGISTRY = "registry";
  static final String SUBSCRIBED = "subscribed";
  static final String HISTOGRAM = "histogram";
  static final String RECEIPTS = "receipts";
  private static final Integer INPUT = 42;

  /** How the runtime is observed; {@code none} is the baseline. */
  @Param({NONE, REGISTRY, SUBSCRIBED, HISTOGRAM, RECEIPTS})
  public String observed;

  Cumulus cumulus;
  Fn<Integer, Integer> fn;
  private Thread scraper;
  private CumulusEvent.Subscription subscription;
  private volatile boolean stop;
  /** Values read by the scraper, so that reading them cannot be optimised away. */
  volatile double scraped;

  @Setup(Level.Trial)
  public void setUp() {
    Cumulus.Builder builder = Cumulus.builder()
        .meteringMode(MeteringMode.EXACT)
        .maxConcurrency(NoOpThroughput.CONCURRENCY);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    switch (observed) {
      case NONE, SUBSCRIBED, RECEIPTS -> { }
      case REGISTRY -> builder.meterRegistry(registry);
      case HISTOGRAM -> builder.meterRegistry(registry, m -> m.percentileHistogram(true));
      default -> throw new IllegalArgumentException("unknown observed '" + observed + "'");
    }
    cumulus = builder.build();
    fn = cumulus.register(FnSpec.of("task", NoOpThroughput.NO_OP)
        .maxConcurrency(NoOpThroughput.CONCURRENCY)
        .queueCapacity(BATCH)
        .build());
    if (observed.equals(SUBSCRIBED)) {
      subscription = cumulus.subscribe(event -> { });
    }
    if (observed.equals(REGISTRY) || observed.equals(HISTOGRAM)) {
      scraper = Thread.ofPlatform().daemon().name("scraper").start(() -> scrapeEvery100ms(registry));
    }
  }

  private void scrapeEvery100ms(SimpleMeterRegistry registry) {
    while (!stop) {
      double sum = 0;
      for (Meter m : registry.getMeters()) {
        for (Measurement v : m.measure()) {
          sum += v.getValue();
        }
      }
      scraped = sum;
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws InterruptedException {
    stop = true;
    if (scraper != null) {
      scraper.interrupt();
      scraper.join();
    }
    if (subscription != null) {
      subscription.close();
    }
    cumulus.close();
  }

  /** Runs a batch and waits for all of it. @return invocations completed normally */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public int invoke() {
    return run(BATCH);
  }

  /** A runtime with nothing bound, run beside the observed one by {@link #paired}. */
  @State(Scope.Benchmark)
  public static class Unobserved {
    Cumulus cumulus;
    Fn<Integer, Integer> fn;

    @Setup(Level.Trial)
    public void setUp() {
      cumulus = Cumulus.builder().meteringMode(MeteringMode.EXACT).maxConcurrency(NoOpThroughput.CONCURRENCY).build();
      fn = cumulus.register(FnSpec.of("task", NoOpThroughput.NO_OP)
          .maxConcurrency(NoOpThroughput.CONCURRENCY)
          .queueCapacity(BATCH)
          .build());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      cumulus.close();
    }
  }

  /** Time each runtime of {@link #paired} spent on its batches in one iteration; read as a ratio. */
  @AuxCounters(AuxCounters.Type.EVENTS)
  @State(Scope.Thread)
  public static class PairTimes {
    /** Nanoseconds spent on the unobserved runtime's batches. */
    public long unobservedNanos;
    /** Nanoseconds spent on the observed runtime's batches. */
    public long observedNanos;
    boolean observedFirst;

    @Setup(Level.Iteration)
    public void reset() {
      unobservedNanos = 0;
      observedNanos = 0;
    }
  }

  /**
   * The same batch on the unobserved runtime and on the observed one, back to back, the order
   * alternating: both see the machine within milliseconds of each other, so the ratio of their
   * times ({@code observedNanos / unobservedNanos}) is what a busy machine cannot blur. With
   * {@code observed=none} the two runtimes are alike: the ratio's own noise.
   *
   * @return invocations completed normally
   */
  @Benchmark
  @OperationsPerInvocation(2 * BATCH)
  public int paired(Unobserved base, PairTimes times) {
    times.observedFirst = !times.observedFirst;
    Fn<Integer, Integer> first = times.observedFirst ? fn : base.fn;
    Fn<Integer, Integer> second = times.observedFirst ? base.fn : fn;
    boolean receipts = observed.equals(RECEIPTS);
    long t0 = System.nanoTime();
    int ok = run(first, BATCH, receipts && first == fn);
    long t1 = System.nanoTime();
    ok += run(second, BATCH, receipts && second == fn);
    long t2 = System.nanoTime();
    times.observedNanos += times.observedFirst ? t1 - t0 : t2 - t1;
    times.unobservedNanos += times.observedFirst ? t2 - t1 : t1 - t0;
    return ok;
  }

  int run(int n) {
    return run(fn, n, observed.equals(RECEIPTS));
  }

  static int run(Fn<Integer, Integer> f, int n, boolean receipts) {
    CompletableFuture<?>[] futures = new CompletableFuture<?>[n];
    if (receipts) {
      for (int i = 0; i < n; i++) {
        futures[i] = f.invokeMeteredAsync(INPUT);
      }
    } else {
      for (int i = 0; i < n; i++) {
        futures[i] = f.invokeAsync(INPUT);
      }
    }
    return Contender.awaitAll(futures);
  }
}
