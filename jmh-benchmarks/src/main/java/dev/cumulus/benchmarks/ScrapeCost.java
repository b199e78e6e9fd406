package dev.cumulus.benchmarks;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a scrape of the meters costs: {@code scrape} reads every meter of {@value #FUNCTIONS}
 * functions (each invoked a hundred times) from a registry, as a Prometheus scrape does, against
 * {@code statsOfEveryFunction}, the baseline, which calls {@code stats()} once per function: what the
 * meters are read from. A function's meters share one stats snapshot per scrape, so the scrape costs
 * those {@code stats()} calls plus Micrometer's work per meter, not a {@code stats()} per meter.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar ScrapeCost}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@org.openjdk.jmh.annotations.Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class ScrapeCost {
  /** Functions registered. */
  public static final int FUNCTIONS = 50;

  Cumulus cumulus;
  SimpleMeterRegistry registry;
  final List<Fn<Integer, Integer>> fns = new ArrayList<>();

  @Setup(Level.Trial)
  public void setUp() {
    registry = new SimpleMeterRegistry();
    cumulus = Cumulus.builder().meterRegistry(registry).build();
    for (int i = 0; i < FUNCTIONS; i++) {
      Fn<Integer, Integer> f = cumulus.register(FnSpec.of("fn-" + i, NoOpThroughput.NO_OP).build());
      for (int k = 0; k < 100; k++) {
        f.invoke(k);
      }
      fns.add(f);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    cumulus.close();
  }

  /** Reads every meter of the registry once, as a scrape does. @return a sum of the values */
  @Benchmark
  public double scrape() {
    double sum = 0;
    for (Meter m : registry.getMeters()) {
      for (Measurement v : m.measure()) {
        sum += v.getValue();
      }
    }
    return sum;
  }

  /** The baseline: one {@code stats()} per function. @return a sum of the counts */
  @Benchmark
  public long statsOfEveryFunction() {
    long sum = 0;
    for (Fn<Integer, Integer> f : fns) {
      sum += f.stats().invocations();
    }
    return sum;
  }
}
