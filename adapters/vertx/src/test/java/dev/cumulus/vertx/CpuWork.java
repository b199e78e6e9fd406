package dev.cumulus.vertx;

/**
 * A fixed amount of CPU work, calibrated once against a platform thread's CPU clock: the tests compare
 * the CPU that calls used by order (more work, more CPU), never against a duration, so how busy the
 * machine is does not matter.
 */
final class CpuWork {
  private static volatile double iterationsPerCpuMilli;

  private CpuWork() {}

  /** Does about {@code millis} of CPU work; returns a value so that it is not elided. */
  static long spin(long millis) {
    double perMilli = iterationsPerCpuMilli;
    if (perMilli == 0) {
      perMilli = calibrate();
    }
    return work((long) (perMilli * millis));
  }

  /** Calibrates on a platform thread (a virtual thread's CPU clock reads -1); call it from the test. */
  static synchronized double calibrate() {
    if (iterationsPerCpuMilli != 0) {
      return iterationsPerCpuMilli;
    }
    if (Thread.currentThread().isVirtual()) {
      throw new IllegalStateException("calibrate CpuWork on a platform thread, before the calls");
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
      long cpu = Math.max(1, mx.getCurrentThreadCpuTime() - c0);
      best = Math.max(best, iterations / (cpu / 1e6));
    }
    if (sink == 42) {
      System.out.println("unlikely");
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
}
