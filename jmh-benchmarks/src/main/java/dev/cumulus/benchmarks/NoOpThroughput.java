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
 * Overhead per task: submit {@value #BATCH} no-op tasks at once and wait for all of them. The score
 * is tasks per second. Cumulus ({@code invokeAsync}, exact metering, stats and the default 60 s
 * timeout on; and with metering off) against what a user would pick instead: a virtual thread per
 * task, the same with a {@code Semaphore}, a fixed pool of {@code nproc} threads, and a Resilience4j
 * bulkhead with a Micrometer timer around the virtual-thread executor. Every contender has the same
 * concurrency limit where it has one ({@value #CONCURRENCY}, Cumulus's default) and a queue that
 * holds the whole batch (Cumulus gets {@code queueCapacity(BATCH)}; the others never reject), so
 * nothing is throttled. Targets: Cumulus ≥ 2× virtual threads, ≥ 1.2× the fixed pool,
 * ≥ 3× bulkhead + timer; metering on within 10 % of off.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar NoOpThroughput}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class NoOpThroughput {
  /** Tasks per operation. */
  public static final int BATCH = 100_000;
  /** Concurrency limit of the contenders that have one (Cumulus's default maxConcurrency). */
  public static final int CONCURRENCY = 1_000;

  static final Function<Integer, Integer> NO_OP = i -> i;
  private static final Integer INPUT = 42;

  /** Which contender runs the batch; {@code cumulus} is measured against the others. */
  @Param({Contender.CUMULUS, Contender.CUMULUS_METERING_OFF, Contender.VIRTUAL_THREADS,
      Contender.VIRTUAL_THREADS_SEMAPHORE, Contender.FIXED_POOL, Contender.BULKHEAD_TIMER})
  public String executor;

  Contender contender;

  @Setup(Level.Trial)
  public void setUp() {
    contender = Contender.of(executor, NO_OP, CONCURRENCY, BATCH);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    contender.close();
  }

  /** Submits the batch and waits for all of it. @return tasks completed normally */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public int submitAndWait() {
    return run(BATCH);
  }

  int run(int n) {
    return contender.runBatch(n, INPUT);
  }
}
