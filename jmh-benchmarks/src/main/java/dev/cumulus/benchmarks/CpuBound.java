package dev.cumulus.benchmarks;

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
 * CPU-bound work: {@value #BATCH} tasks of a fixed amount of computation each ({@value #ROUNDS}
 * rounds of a xorshift mix, about 50 µs here) submitted at once and waited for. The score is tasks
 * per second; the baseline is the same work on a fixed pool of {@code nproc} threads, the best a
 * user can do for pure CPU work. Target: Cumulus (exact metering) ≥ 95 % of the fixed pool.
 * A virtual thread per task runs beside them for reference.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar CpuBound}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class CpuBound {
  /** Tasks per operation. */
  public static final int BATCH = 2_000;
  /** Rounds of computation per task. */
  public static final int ROUNDS = 50_000;

  static final Function<Integer, Integer> WORK = CpuBound::work;

  /** Which contender runs the batch; {@code fixed-pool} is the baseline. */
  @Param({Contender.CUMULUS, Contender.FIXED_POOL, Contender.VIRTUAL_THREADS})
  public String executor;

  Contender contender;

  @Setup(Level.Trial)
  public void setUp() {
    contender = Contender.of(executor, WORK, NoOpThroughput.CONCURRENCY, BATCH);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    contender.close();
  }

  /** Submits the batch and waits for all of it. @return tasks completed normally */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public int compute() {
    return run(BATCH);
  }

  int run(int n) {
    return contender.runBatch(n, 1);
  }

  /** A fixed amount of computation that the JIT cannot remove: its result depends on every round. */
  static Integer work(Integer seed) {
    long x = seed * 0x9E3779B97F4A7C15L + 1;
    for (int i = 0; i < ROUNDS; i++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
    }
    return (int) x | 1; // never 0, so a caller can check the work ran
  }
}
