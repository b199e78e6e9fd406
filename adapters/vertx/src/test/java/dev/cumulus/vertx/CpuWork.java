package dev.cumulus.vertx;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A given amount of CPU work, measured on the CPU clock of the OS thread that does it: the tests
 * compare the CPU that calls used by order (more work, more CPU), never against a duration, so how
 * busy the machine is does not matter.
 *
 * <p>On a virtual thread (whose own CPU clock reads -1) it reads its carrier's clock; a CPU-bound
 * virtual thread stays on its carrier, and a chunk during which it moved counts for nothing. A number
 * of iterations calibrated once, as this was, is not enough on a loaded machine: calibrated while the
 * JIT's compiler threads waited for a core, the same iterations later took a fraction of the CPU they
 * were meant to. Only without access to the carrier (no {@code --add-opens}) is calibrated work used.
 */
final class CpuWork {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final @Nullable MethodHandle CURRENT_CARRIER = currentCarrier();
  private static final long CHUNK = 20_000;
  private static volatile double iterationsPerCpuMilli;

  private CpuWork() {}

  /** Does at least {@code millis} of CPU time of work; returns a value so that it is not elided. */
  static long spin(long millis) {
    long target = TimeUnit.MILLISECONDS.toNanos(millis);
    long sink = 0;
    if (target <= 0) {
      return sink;
    }
    if (!Thread.currentThread().isVirtual()) {
      long start = THREADS.getCurrentThreadCpuTime();
      while (THREADS.getCurrentThreadCpuTime() - start < target) {
        sink += work(CHUNK);
      }
      return sink;
    }
    if (CURRENT_CARRIER != null) {
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
      throw new IllegalStateException("without --add-opens, calibrate CpuWork on a platform thread first");
    }
    return work((long) (perMilli * millis));
  }

  /**
   * Calibrates the fallback on a platform thread (a virtual thread's CPU clock reads -1): the fastest
   * rate over rounds that go on until the JIT has had its chance. Call it from the test.
   */
  static synchronized double calibrate() {
    if (iterationsPerCpuMilli != 0) {
      return iterationsPerCpuMilli;
    }
    if (Thread.currentThread().isVirtual()) {
      throw new IllegalStateException("calibrate CpuWork on a platform thread, before the calls");
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
    iterationsPerCpuMilli = best;
    return best;
  }

  private static Thread carrier() {
    try {
      return (Thread) Objects.requireNonNull(CURRENT_CARRIER).invokeExact();
    } catch (Throwable e) {
      throw new IllegalStateException("cannot read the carrier thread", e);
    }
  }

  private static @Nullable MethodHandle currentCarrier() {
    try {
      return MethodHandles.privateLookupIn(Thread.class, MethodHandles.lookup())
          .findStatic(Thread.class, "currentCarrierThread", MethodType.methodType(Thread.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
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
