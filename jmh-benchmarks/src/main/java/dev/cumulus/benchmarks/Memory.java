package dev.cumulus.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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

/**
 * Memory of parked invocations: {@value #PARKED} invocations started at once, each parked on a gate.
 *
 * <p>{@link #main} is the report: heap used (MemoryMXBean, after full GCs) with all of them parked,
 * minus the heap used before, for Cumulus and for the baseline, a virtual thread per task, in the
 * first round of {@value #PARKED} and in round {@value #ROUNDS} (warm code). It runs in
 * a JVM capped at 512 MiB of heap by {@code run.sh}; the design target is a parked invocation at
 * most 1.2 times the bytes of a parked virtual thread. The JMH benchmark times the same ramp
 * (submit until all {@value #PARKED} are parked), against the same baseline.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar Memory}; the report:
 * {@code java -Xmx512m --add-opens=java.base/java.lang=ALL-UNNAMED -cp
 * jmh-benchmarks/target/benchmarks.jar dev.cumulus.benchmarks.Memory}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.lang=ALL-UNNAMED", "-Xmx512m"})
public class Memory {
  /** Invocations parked at once. */
  public static final int PARKED = 100_000;

  /** Rounds of {@link #PARKED} invocations the report parks; it measures the first and the last. */
  static final int ROUNDS = 5;

  /** Which contender parks them; {@code virtual-threads} is the baseline. */
  @Param({Contender.CUMULUS, Contender.VIRTUAL_THREADS})
  public String executor;

  Contender contender;
  Parking parking;

  /** A gate that holds every task, and a count of those that reached it. */
  static final class Parking {
    final CountDownLatch parked;
    final CountDownLatch gate = new CountDownLatch(1);
    final Future<?>[] futures;

    Parking(int n) {
      parked = new CountDownLatch(n);
      futures = new Future<?>[n];
    }

    Integer park(Integer i) {
      parked.countDown();
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return i;
    }
  }

  @Setup(Level.Trial)
  public void setUp() {
    contender = open(executor, PARKED);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    contender.close();
  }

  @Setup(Level.Iteration)
  public void newGate() {
    parking = new Parking(PARKED);
  }

  @TearDown(Level.Iteration)
  public void openGate() {
    parking.gate.countDown();
    Contender.awaitAll(parking.futures);
  }

  /** Starts {@value #PARKED} invocations and waits until all are parked. @return how many */
  @Benchmark
  public long parkAll() throws InterruptedException {
    return park(parking, PARKED);
  }

  long park(Parking p, int n) throws InterruptedException {
    for (int i = 0; i < n; i++) {
      p.futures[i] = contender.submit(i);
    }
    p.parked.await();
    return n - p.parked.getCount();
  }

  private Contender open(String kind, int n) {
    // The body reads the current gate, so one contender serves every iteration.
    return Contender.of(kind, i -> parking.park(i), n, n);
  }

  /** Prints heap used by {@value #PARKED} parked invocations, Cumulus and baseline. @param args ignored */
  public static void main(String[] args) throws Exception {
    System.out.println(report(PARKED));
  }

  static String report(int n) throws Exception {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "| %d parked invocations | heap used, first round | per invocation, first round"
        + " | heap used, round %d | per invocation, round %d | max heap |%n", n, ROUNDS, ROUNDS));
    sb.append("|---|---|---|---|---|---|\n");
    long[][] perInvocation = new long[2][];
    String[] kinds = {Contender.CUMULUS, Contender.VIRTUAL_THREADS};
    for (int i = 0; i < kinds.length; i++) {
      long[] bytes = heapOfParked(kinds[i], n);
      perInvocation[i] = new long[] {bytes[0] / n, bytes[1] / n};
      sb.append(String.format(Locale.ROOT, "| %s | %.1f MiB | %d B | %.1f MiB | %d B | %d MiB |%n", kinds[i],
          bytes[0] / (1024.0 * 1024), perInvocation[i][0], bytes[1] / (1024.0 * 1024), perInvocation[i][1],
          Runtime.getRuntime().maxMemory() >> 20));
    }
    double warm = perInvocation[0][1] / (double) perInvocation[1][1];
    double first = perInvocation[0][0] / (double) perInvocation[1][0];
    sb.append(String.format(Locale.ROOT, "%n| design target | measured | verdict |%n|---|---|---|%n"
        + "| a parked invocation ≤ 1.2× a parked virtual thread (round %d, compiled code) | %.2f× (%d B vs %d B) | %s |%n"
        + "| the same, first round (part of it parks in interpreted or C1 frames) | %.2f× (%d B vs %d B) | %s |%n",
        ROUNDS, warm, perInvocation[0][1], perInvocation[1][1], warm <= 1.2 ? "met" : "**missed**",
        first, perInvocation[0][0], perInvocation[1][0], first <= 1.2 ? "met" : "**missed**"));
    return sb.toString();
  }

  /**
   * Heap bytes held while {@code n} invocations are parked, over the heap before they started: in
   * the first round, and in round {@value #ROUNDS}. A parked thread's stack is copied to the heap
   * frame by frame, and a frame of interpreted or C1-compiled code is several times the size of the
   * same frame compiled by C2: the first round measures mostly how far the JIT got, the last one
   * what a warm server holds.
   */
  static long[] heapOfParked(String kind, int n) throws Exception {
    Memory m = new Memory();
    m.contender = m.open(kind, n);
    try {
      m.parking = new Parking(Math.min(n, 1_000)); // warm up the path once
      m.park(m.parking, Math.min(n, 1_000));
      m.openGate();
      long[] bytes = new long[2];
      for (int round = 1; round <= ROUNDS; round++) {
        m.parking = new Parking(n);
        long before = heapAfterGc();
        m.park(m.parking, n);
        long during = heapAfterGc();
        m.openGate();
        if (round == 1) {
          bytes[0] = during - before;
        }
        bytes[1] = during - before;
      }
      return bytes;
    } finally {
      m.contender.close();
    }
  }

  static long heapAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
    }
    return used;
  }
}
