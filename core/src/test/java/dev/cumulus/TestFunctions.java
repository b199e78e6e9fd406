package dev.cumulus;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Small pieces of function code the tests share. */
final class TestFunctions {
  private TestFunctions() {}

  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();
  /** {@code Thread.currentCarrierThread()}, reachable with the tests' {@code --add-opens}; else null. */
  private static final java.lang.invoke.@org.jspecify.annotations.Nullable MethodHandle CURRENT_CARRIER = currentCarrier();
  /** Iterations of {@link #work} between two readings of the CPU clock: some 20-50 µs. */
  private static final long CHUNK = 20_000;

  private static volatile double iterationsPerCpuMilli;

  /**
   * Does at least {@code millis} of CPU time of work, whatever else the machine runs (unlike {@link
   * #burn}, which spins for wall time and gets less CPU on a busy machine).
   *
   * <p>It reads the CPU clock of the OS thread it runs on as it goes: its own on a platform thread, its
   * carrier's on a virtual thread (whose own CPU clock reads -1; a CPU-bound virtual thread stays on
   * its carrier, and a chunk during which it moved counts for nothing). A fixed number of iterations
   * calibrated once is not enough on a loaded machine: calibrated while the JIT's compiler threads
   * waited for a core, the loop ran interpreted or in C1 and the same iterations later took a fraction
   * of the CPU they were meant to (CPU measured below the expectation at load 10-14). Only without
   * access to the carrier (no {@code --add-opens}) does it fall back to calibrated work.
   */
  static long spinCpu(long millis) {
    long target = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
    if (target <= 0) {
      return 0;
    }
    Thread current = Thread.currentThread();
    if (!current.isVirtual()) {
      long sink = 0;
      long start = THREADS.getCurrentThreadCpuTime();
      while (THREADS.getCurrentThreadCpuTime() - start < target) {
        sink += work(CHUNK);
      }
      return sink;
    }
    if (CURRENT_CARRIER != null) {
      long sink = 0;
      long spent = 0;
      while (spent < target) {
        Thread carrier = carrier();
        long c0 = THREADS.getThreadCpuTime(carrier.threadId());
        sink += work(CHUNK);
        long c1 = THREADS.getThreadCpuTime(carrier.threadId());
        if (carrier() == carrier && c0 >= 0 && c1 >= c0) {
          spent += c1 - c0;
        }
      }
      return sink;
    }
    double perMilli = iterationsPerCpuMilli;
    if (perMilli == 0) {
      perMilli = calibrate();
    }
    return work((long) (perMilli * millis));
  }

  /**
   * Prepares {@link #spinCpu} before the calls of a test: calibrates the fallback now, on this
   * (platform) thread, if it will be used, so that no function blocks calibrating it. Nothing to do
   * when the carrier's CPU clock can be read.
   */
  static void prepareCpuWork() {
    if (CURRENT_CARRIER == null && iterationsPerCpuMilli == 0) {
      calibrate();
    }
  }

  private static Thread carrier() {
    try {
      return (Thread) java.util.Objects.requireNonNull(CURRENT_CARRIER).invokeExact();
    } catch (Throwable e) {
      throw new IllegalStateException("cannot read the carrier thread", e);
    }
  }

  private static java.lang.invoke.@org.jspecify.annotations.Nullable MethodHandle currentCarrier() {
    try {
      return java.lang.invoke.MethodHandles.privateLookupIn(Thread.class, java.lang.invoke.MethodHandles.lookup())
          .findStatic(Thread.class, "currentCarrierThread", java.lang.invoke.MethodType.methodType(Thread.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static double calibrate() {
    Thread t = Thread.ofPlatform().start(TestFunctions::calibrateHere); // a virtual thread's CPU clock reads -1
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return iterationsPerCpuMilli;
  }

  /**
   * The fallback's calibration: the fastest rate seen over rounds that go on until the JIT has had
   * its chance (at least 20 rounds and 200 ms, and 10 rounds in a row without a faster one).
   */
  private static synchronized double calibrateHere() {
    if (iterationsPerCpuMilli != 0) {
      return iterationsPerCpuMilli;
    }
    long sink = 0;
    long iterations = 1_000_000;
    double best = 0;
    long began = System.nanoTime();
    for (int round = 0, sinceBest = 0;
        round < 20 || sinceBest < 10 || System.nanoTime() - began < 200_000_000L; round++, sinceBest++) {
      long c0 = THREADS.getCurrentThreadCpuTime();
      sink += work(iterations);
      long cpu = Math.max(1, THREADS.getCurrentThreadCpuTime() - c0);
      double rate = iterations / (cpu / 1e6);
      if (rate > best * 1.02) {
        sinceBest = 0;
      }
      best = Math.max(best, rate);
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
