package dev.cumulus;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Small pieces of function code the tests share. */
final class TestFunctions {
  private TestFunctions() {}

  private static volatile double iterationsPerCpuMilli;

  /**
   * Does a fixed amount of CPU work that takes about {@code millis} of CPU time, whatever else the
   * machine runs (unlike {@link #burn}, which spins for wall time and gets less CPU on a busy
   * machine). Calibrated once against the test thread's own CPU clock.
   */
  static long spinCpu(long millis) {
    double perMilli = iterationsPerCpuMilli;
    if (perMilli == 0) {
      perMilli = calibrate();
    }
    return work((long) (perMilli * millis));
  }

  private static double calibrate() {
    if (Thread.currentThread().isVirtual()) { // the CPU clock reads -1 on a virtual thread
      Thread t = Thread.ofPlatform().start(TestFunctions::calibrateHere);
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      return iterationsPerCpuMilli;
    }
    return calibrateHere();
  }

  private static synchronized double calibrateHere() {
    if (iterationsPerCpuMilli != 0) {
      return iterationsPerCpuMilli;
    }
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    long sink = 0;
    for (int i = 0; i < 20; i++) {
      sink += work(200_000); // warm up the JIT
    }
    long iterations = 2_000_000;
    double best = 0;
    for (int round = 0; round < 5; round++) {
      long c0 = mx.getCurrentThreadCpuTime();
      sink += work(iterations);
      long cpu = mx.getCurrentThreadCpuTime() - c0;
      best = Math.max(best, iterations / (cpu / 1e6));
    }
    if (sink == 42) {
      System.out.println("unlikely");
    }
    if (!(best > 0 && best < Double.POSITIVE_INFINITY)) {
      throw new IllegalStateException("cannot calibrate CPU work: " + best);
    }
    iterationsPerCpuMilli = best;
    return best;
  }

  private static long work(long iterations) {
    long x = 1;
    for (long i = 0; i < iterations; i++) {
      x = x * 6364136223846793005L + 1442695040888963407L;
      x ^= x >>> 29;
    }
    return x;
  }

  /** Spins on the CPU for about {@code millis} of wall time; returns a value so it is not elided. */
  static long burn(long millis) {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    long x = 0;
    while (System.nanoTime() < end) {
      x += x * 31 + 7;
    }
    return x;
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("latch not released within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Waits for {@code latch} as code that ignores interrupts does (a timed-out handler that keeps its
   * slot): an interrupt is noted and the wait goes on; the interrupt status is set again at the end.
   */
  static void awaitIgnoringInterrupts(CountDownLatch latch) {
    boolean interrupted = false;
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    try {
      for (;;) {
        try {
          if (latch.await(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            return;
          }
          throw new IllegalStateException("latch not released within 30 s");
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * The seed of a randomised test: {@code -Dcumulus.seed=} if given, else a fresh one. Printed, so
   * that a failure can be rerun with the same seed.
   */
  static long seed(String test) {
    String given = System.getProperty("cumulus.seed");
    long seed = given == null || given.isBlank() ? System.nanoTime() ^ System.identityHashCode(new Object())
        : Long.parseLong(given.trim());
    System.out.println(test + " seed=" + seed + " (rerun with -Dcumulus.seed=" + seed + ")");
    return seed;
  }

  /** Live platform threads whose name starts with {@code cumulus-}. */
  static List<String> cumulusThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(n -> n.startsWith("cumulus-"))
        .sorted()
        .toList();
  }
}
