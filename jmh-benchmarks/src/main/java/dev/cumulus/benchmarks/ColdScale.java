package dev.cumulus.benchmarks;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Scaling from zero: an idle runtime (no Cumulus thread alive) gets {@value #TASKS} invocations at
 * once, each of which stays running (parked on a gate) until all have started. The score is the time
 * until all {@value #TASKS} run; beside it (JMH secondary results) the time to the first start, the
 * 99th percentile of start latency (submit to handler entry), and — for Cumulus — how long after the
 * last invocation returned its threads were all gone (carrier keep-alive 1 s). The baseline is a
 * virtual thread per task. Target: p99 start latency ≤ 10 ms; back to zero live Cumulus
 * threads within keep-alive + 1 s.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar ColdScale}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 6)
@Fork(value = 1, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class ColdScale {
  /** Invocations running at once at the end of the ramp. */
  public static final int TASKS = 10_000;

  /** Which contender scales; {@code virtual-threads} is the baseline. */
  @Param({Contender.CUMULUS, Contender.VIRTUAL_THREADS})
  public String executor;

  Contender contender;
  volatile Round round;
  private long releasedAt;
  private double lastBackToZeroMs = -1;

  /** One ramp: when each task was submitted and started, and the gate that holds them. */
  static final class Round {
    final long[] submitted;
    final long[] started;
    final CountDownLatch allStarted;
    final CountDownLatch gate = new CountDownLatch(1);
    final Future<?>[] futures;

    Round(int n) {
      submitted = new long[n];
      started = new long[n];
      allStarted = new CountDownLatch(n);
      futures = new Future<?>[n];
    }
  }

  /**
   * Secondary results, in milliseconds, each the mean over the measurement iterations (JMH adds up
   * {@code EVENTS} counters, so every iteration contributes its figure divided by their number).
   */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Figures {
    /** Submit of the first task to the first handler entry. */
    public double firstStartMs;
    /** 99th percentile of submit-to-handler-entry. */
    public double p99StartMs;
    /** Last task returned to no live {@code cumulus-} thread (previous round; -1 for the baseline). */
    public double backToZeroMs;
  }

  @Setup(Level.Trial)
  public void setUp() {
    contender = Contender.of(executor, this::hold, TASKS, TASKS);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    contender.close();
  }

  /** Waits until the runtime is idle: no Cumulus thread alive (it ends after the keep-alive). */
  @Setup(Level.Iteration)
  public void idle() {
    boolean idle = waitForNoCumulusThread(TimeUnit.SECONDS.toNanos(30)) >= 0;
    lastBackToZeroMs = releasedAt == 0 || !idle || !(contender instanceof Contender.OnCumulus) ? -1
        : (System.nanoTime() - releasedAt) / 1e6;
    round = new Round(TASKS);
  }

  /** Ramps from zero to {@value #TASKS} running invocations. @return how many started */
  @Benchmark
  public long scaleFromZero(Figures figures, BenchmarkParams params) throws InterruptedException {
    Round r = round;
    long started = scale(r, TASKS);
    // JMH sums EVENTS counters over the measurement iterations: each adds its share of the mean.
    double share = 1.0 / params.getMeasurement().getCount();
    figures.firstStartMs = firstStartNanos(r) / 1e6 * share;
    figures.p99StartMs = p99StartNanos(r) / 1e6 * share;
    figures.backToZeroMs = lastBackToZeroMs * share;
    return started;
  }

  /** Submits {@code n} invocations and waits until all run. @return how many started */
  long scale(Round r, int n) throws InterruptedException {
    ramp(r, n);
    r.allStarted.await();
    return n - r.allStarted.getCount();
  }

  /** Opens the gate, waits for every task, and notes when the last one returned. */
  @TearDown(Level.Iteration)
  public void release() {
    Round r = round;
    r.gate.countDown();
    Contender.awaitAll(r.futures);
    releasedAt = System.nanoTime();
  }

  void ramp(Round r, int n) {
    for (int i = 0; i < n; i++) {
      r.submitted[i] = System.nanoTime();
      r.futures[i] = contender.submit(i);
    }
  }

  private Integer hold(Integer i) {
    Round r = round;
    r.started[i] = System.nanoTime();
    r.allStarted.countDown();
    try {
      r.gate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return i;
  }

  static long firstStartNanos(Round r) {
    long first = Long.MAX_VALUE;
    for (long s : r.started) {
      first = Math.min(first, s);
    }
    return first - r.submitted[0];
  }

  static long p99StartNanos(Round r) {
    long[] latency = new long[r.started.length];
    for (int i = 0; i < latency.length; i++) {
      latency[i] = r.started[i] - r.submitted[i];
    }
    Arrays.sort(latency);
    return latency[(int) Math.ceil(latency.length * 0.99) - 1];
  }

  /**
   * Waits until no live platform thread is named {@code cumulus-...}.
   *
   * @return nanoseconds waited, or -1 if the timeout passed first
   */
  static long waitForNoCumulusThread(long timeoutNanos) {
    long t0 = System.nanoTime();
    while (cumulusThreads() > 0) {
      if (System.nanoTime() - t0 > timeoutNanos) {
        return -1;
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return -1;
      }
    }
    return System.nanoTime() - t0;
  }

  /** Live platform threads named {@code cumulus-...} (carriers, timer). */
  static int cumulusThreads() {
    int n = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().startsWith("cumulus-")) {
        n++;
      }
    }
    return n;
  }
}
