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
 * Blocking fan-out: {@value #TASKS} tasks submitted at once, each parked for {@value #PARK_MILLIS} ms
 * ({@code Thread.sleep}), waited for together. The score is tasks per second; Little's law bounds it
 * at concurrency / latency = {@value #TASKS} / 50 ms = {@value #LITTLE_BOUND} tasks/s, and design
 * asks Cumulus to reach ≥ 90 % of that bound. The contenders that can run 10 000 tasks at once run
 * beside it with the same limit: a virtual thread per task, with a semaphore, and a Resilience4j
 * bulkhead + Micrometer timer. (A fixed pool of {@code nproc} threads does not apply: it would run two
 * sleeps at a time.) Cumulus has runtime and function {@code maxConcurrency} of {@value #TASKS}.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar BlockingFanOut}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class BlockingFanOut {
  /** Concurrent tasks per operation, and the concurrency limit of every contender. */
  public static final int TASKS = 10_000;
  /** How long each task parks. */
  public static final int PARK_MILLIS = 50;
  /** Little's law: the most tasks per second {@value #TASKS} slots of 50 ms can complete. */
  public static final int LITTLE_BOUND = TASKS * 1000 / PARK_MILLIS;

  static final Function<Integer, Integer> PARK = i -> {
    try {
      Thread.sleep(PARK_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return i;
  };
  private static final Integer INPUT = 7;

  /** Which contender runs the fan-out. */
  @Param({Contender.CUMULUS, Contender.VIRTUAL_THREADS, Contender.VIRTUAL_THREADS_SEMAPHORE,
      Contender.BULKHEAD_TIMER})
  public String executor;

  Contender contender;

  @Setup(Level.Trial)
  public void setUp() {
    contender = Contender.of(executor, PARK, TASKS, TASKS);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    contender.close();
  }

  /** Fans out {@value #TASKS} parked tasks and waits for all. @return tasks completed normally */
  @Benchmark
  @OperationsPerInvocation(TASKS)
  public int fanOut() {
    return run(TASKS);
  }

  int run(int n) {
    return contender.runBatch(n, INPUT);
  }
}
