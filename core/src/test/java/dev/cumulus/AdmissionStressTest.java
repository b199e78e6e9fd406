package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cumulus.internal.PoolProbe;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Admission under contention: many callers at once, seeded ({@code -Dcumulus.seed=}), against
 * functions with random reserved and shared limits and random queues. Concurrency is observed from
 * inside the handlers with counters of the test's own (entered, exited), which can only undercount
 * the slots the runtime holds, and the queue from the callers' side (accepted minus entered), so a
 * check never relies on the runtime's own stats to judge the runtime.
 *
 * <p>The queue is judged once the callers are done and every invocation a worker took has entered
 * its handler, while every handler is held (blocked on a gate, or spinning), as soon as that is so:
 * the runtime may later start a worker for a call it let in past the queue (when another worker
 * blocks), which would hide it. Only a count past the queue while a worker is still on its way to
 * the queue (started, its virtual thread not mounted yet, and able to: that call is not waiting) is
 * looked at again, once no worker is on its way ({@link #assertQueueWithinCapacity}). The runtime's
 * state is read only to know when to look; what is judged is the test's own count, accepted minus
 * entered. A failing check prints the function's internal state.
 */
class AdmissionStressTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** A function of the stress, with its limits and the test's counters. */
  static final class Target {
    final String name;
    final int limit; // 0: unreserved
    final int queueCapacity;
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();
    final AtomicLong entered = new AtomicLong();
    final AtomicLong accepted = new AtomicLong();
    Fn<Integer, Integer> fn;

    Target(String name, int limit, int queueCapacity) {
      this.name = name;
      this.limit = limit;
      this.queueCapacity = queueCapacity;
    }

    @Override
    public String toString() {
      return name + "(limit " + (limit == 0 ? "shared" : limit) + ", queue " + queueCapacity + ")";
    }
  }

  /** Runtime-wide: invocations in their handlers now, and the most seen. */
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();

  private void enter(Target t) {
    t.entered.incrementAndGet();
    t.peak.accumulateAndGet(t.running.incrementAndGet(), Math::max);
    peak.accumulateAndGet(running.incrementAndGet(), Math::max);
  }

  private void exit(Target t) {
    running.decrementAndGet();
    t.running.decrementAndGet();
  }

  @Test
  void blockingFunctions_neverExceedTheirLimitsTheRuntimesOrTheirQueues() throws Exception {
    long seed = TestFunctions.seed("AdmissionStressTest.blocking");
    Random random = new Random(seed);
    for (int round = 0; round < 12; round++) {
      int max = 4 + random.nextInt(29);
      int functions = 2 + random.nextInt(5);
      running.set(0);
      peak.set(0);
      CountDownLatch gate = new CountDownLatch(1);
      try (Cumulus c = Cumulus.builder().maxConcurrency(max).drainTimeout(Duration.ofSeconds(5)).build()) {
        List<Target> targets = new ArrayList<>();
        int reservedLeft = max - 1;
        for (int i = 0; i < functions; i++) {
          int limit = random.nextBoolean() && reservedLeft > 1 ? 1 + random.nextInt(Math.min(6, reservedLeft - 1)) : 0;
          reservedLeft -= limit;
          Target t = new Target("f" + i, limit, random.nextInt(4) == 0 ? 0 : random.nextInt(20));
          FnSpec.Builder<Integer, Integer> b = FnSpec.of(t.name, (Integer x) -> {
            enter(t);
            try {
              TestFunctions.await(gate); // blocks: its carrier is free for other workers
              return x;
            } finally {
              exit(t);
            }
          }).queueCapacity(t.queueCapacity);
          if (limit > 0) {
            b.maxConcurrency(limit);
          }
          t.fn = c.register(b.build());
          targets.add(t);
        }
        String where = "round " + round + " (seed " + seed + "): runtime maxConcurrency " + max + ", " + targets;

        List<CompletableFuture<Integer>> calls = flood(targets, random.nextLong(), 16, 40);
        settle(targets, where);
        int unreservedRunning = 0;
        int unreservedLimit = max - targets.stream().mapToInt(t -> t.limit).sum();
        for (Target t : targets) {
          assertQueueWithinCapacity(t, () -> where + ": " + t + " waiting beyond its queue");
          if (t.limit > 0) {
            assertThat(t.peak.get()).as("%s: %s running at once", where, t).isLessThanOrEqualTo(t.limit);
          } else {
            unreservedRunning += t.running.get();
          }
        }
        assertThat(unreservedRunning).as("%s: unreserved functions running at once", where)
            .isLessThanOrEqualTo(unreservedLimit);
        assertThat(peak.get()).as("%s: running at once in the runtime", where).isLessThanOrEqualTo(max);

        gate.countDown();
        for (CompletableFuture<Integer> call : calls) {
          assertThat(call).as(where).succeedsWithin(WAIT);
        }
        for (Target t : targets) {
          assertThat(t.peak.get()).as("%s: %s peak", where, t).isLessThanOrEqualTo(t.limit == 0 ? max : t.limit);
          FunctionStats s = t.fn.stats();
          assertThat(s.invocations()).as("%s: %s", where, s).isEqualTo(s.completed());
          assertThat(s.successes()).as("%s: %s", where, s).isEqualTo(t.accepted.get());
        }
      }
    }
  }

  @Test
  void cpuBoundFunction_neverQueuesMoreThanItsQueueCapacity() throws Exception {
    long seed = TestFunctions.seed("AdmissionStressTest.cpuBound");
    Random random = new Random(seed);
    for (int round = 0; round < 6; round++) {
      int max = 4 + random.nextInt(60);
      int carriers = 1 + random.nextInt(2);
      int limit = random.nextBoolean() ? 1 + random.nextInt(Math.min(8, max)) : 0;
      Target t = new Target("spin", limit, random.nextInt(3) == 0 ? 0 : random.nextInt(10));
      AtomicBoolean release = new AtomicBoolean();
      running.set(0);
      peak.set(0);
      try (Cumulus c = Cumulus.builder().maxConcurrency(max).carrierThreads(carriers)
          .drainTimeout(Duration.ofSeconds(5)).build()) {
        FnSpec.Builder<Integer, Integer> b = FnSpec.of(t.name, (Integer x) -> {
          enter(t);
          try {
            long end = System.nanoTime() + WAIT.toNanos();
            while (!release.get() && System.nanoTime() - end < 0) { // CPU-bound: never unmounts
              Thread.onSpinWait();
            }
            return x;
          } finally {
            exit(t);
          }
        }).queueCapacity(t.queueCapacity);
        if (limit > 0) {
          b.maxConcurrency(limit);
        }
        t.fn = c.register(b.build());
        String where = "round " + round + " (seed " + seed + "): runtime maxConcurrency " + max + ", "
            + carriers + " carriers, " + t;
        List<CompletableFuture<Integer>> calls = new ArrayList<>();
        try {
          calls.addAll(flood(List.of(t), random.nextLong(), 4, 30));
          settle(List.of(t), where);
          assertQueueWithinCapacity(t, () -> where + ": invocations waiting (queueCapacity " + t.queueCapacity
              + "; " + t.running.get() + " running)");
          assertThat(t.peak.get()).as("%s: running at once", where).isLessThanOrEqualTo(limit == 0 ? max : limit);
        } finally {
          release.set(true);
          for (CompletableFuture<Integer> call : calls) {
            call.handle((v, e) -> null).get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
          }
        }
      }
    }
  }

  @Test
  void underFreeRunningLoad_concurrencyStaysWithinEveryLimit() throws Exception {
    long seed = TestFunctions.seed("AdmissionStressTest.freeRunning");
    Random random = new Random(seed);
    for (int round = 0; round < 4; round++) {
      int max = 3 + random.nextInt(20);
      running.set(0);
      peak.set(0);
      try (Cumulus c = Cumulus.builder().maxConcurrency(max).drainTimeout(Duration.ofSeconds(5)).build()) {
        List<Target> targets = new ArrayList<>();
        int reservedLeft = max - 1;
        for (int i = 0; i < 4; i++) {
          int limit = random.nextBoolean() && reservedLeft > 1 ? 1 + random.nextInt(Math.min(4, reservedLeft - 1)) : 0;
          reservedLeft -= limit;
          Target t = new Target("f" + i, limit, random.nextInt(50));
          long handlerSeed = random.nextLong();
          ThreadLocal<Random> work = ThreadLocal.withInitial(() -> new Random(handlerSeed ^ Thread.currentThread().threadId()));
          FnSpec.Builder<Integer, Integer> b = FnSpec.of(t.name, (Integer x) -> {
            enter(t);
            try {
              if (work.get().nextBoolean()) {
                TestFunctions.sleep(work.get().nextInt(3));
              } else {
                TestFunctions.spinCpu(work.get().nextInt(2));
              }
              return x;
            } finally {
              exit(t);
            }
          }).queueCapacity(t.queueCapacity);
          if (limit > 0) {
            b.maxConcurrency(limit);
          }
          t.fn = c.register(b.build());
          targets.add(t);
        }
        String where = "round " + round + " (seed " + seed + "): runtime maxConcurrency " + max + ", " + targets;
        List<CompletableFuture<Integer>> calls = flood(targets, random.nextLong(), 24, 150);
        for (CompletableFuture<Integer> call : calls) {
          assertThat(call).as(where).succeedsWithin(WAIT);
        }
        assertThat(peak.get()).as("%s: running at once in the runtime", where).isLessThanOrEqualTo(max);
        for (Target t : targets) {
          if (t.limit > 0) {
            assertThat(t.peak.get()).as("%s: %s running at once", where, t).isLessThanOrEqualTo(t.limit);
          }
          await().atMost(WAIT).until(() -> t.fn.stats().inFlight() == 0 && t.fn.stats().queued() == 0);
          FunctionStats s = t.fn.stats();
          assertThat(s.invocations()).as("%s: %s", where, s).isEqualTo(s.completed());
          assertThat(s.successes()).as("%s: %s", where, s).isEqualTo(t.accepted.get());
          assertThat(s.peakConcurrency()).as("%s: %s", where, s).isLessThanOrEqualTo(t.limit == 0 ? max : t.limit);
        }
      }
    }
  }

  /**
   * {@code callers} threads (platform and virtual) started together, each making {@code each}
   * asynchronous calls on random targets; counts the accepted ones (not throttled at once).
   * Returns the accepted calls' futures.
   */
  private static List<CompletableFuture<Integer>> flood(List<Target> targets, long seed, int callers, int each)
      throws InterruptedException {
    List<CompletableFuture<Integer>> accepted = new CopyOnWriteArrayList<>();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    Random r = new Random(seed);
    for (int i = 0; i < callers; i++) {
      long s = r.nextLong();
      Runnable body = () -> {
        Random mine = new Random(s);
        TestFunctions.await(start);
        for (int k = 0; k < each; k++) {
          Target t = targets.get(mine.nextInt(targets.size()));
          CompletableFuture<Integer> call = t.fn.invokeAsync(k);
          if (call.isCompletedExceptionally() && call.exceptionNow() instanceof ThrottledException) {
            continue;
          }
          t.accepted.incrementAndGet();
          accepted.add(call);
        }
      };
      threads.add(i % 2 == 0 ? Thread.ofPlatform().start(body) : Thread.ofVirtual().start(body));
    }
    start.countDown();
    for (Thread t : threads) {
      t.join();
    }
    return accepted;
  }

  /**
   * Checks, once {@code t} settled, that no more than its queue capacity of its accepted calls wait:
   * at once, or, while a worker of its is on its way to the queue ({@link PoolProbe#workerOnItsWay}:
   * it will take one of them), once none is.
   */
  private static void assertQueueWithinCapacity(Target t, Supplier<String> what) {
    try {
      await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10)).atMost(WAIT)
          .until(() -> t.accepted.get() - t.entered.get() <= t.queueCapacity || !PoolProbe.workerOnItsWay(t.fn));
    } catch (ConditionTimeoutException neverArrived) {
      // judged as it stands: the check below fails with the function's state
    }
    assertThat(t.accepted.get() - t.entered.get()).as(() -> what.get() + "; " + PoolProbe.describe(t.fn))
        .isLessThanOrEqualTo(t.queueCapacity);
  }

  /**
   * Waits until every invocation a worker took has entered its handler (the runtime's running
   * count equals the handlers entered), so that accepted minus entered is what waits in the queue,
   * or what a worker on its way to the queue will take.
   */
  private static void settle(List<Target> targets, String where) {
    for (Target t : targets) {
      await().atMost(WAIT).alias(where + ": " + t + " settles")
          .until(() -> t.fn.stats().inFlight() == t.running.get());
    }
  }
}
