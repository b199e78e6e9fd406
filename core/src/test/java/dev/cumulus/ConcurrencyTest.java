package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Admission: concurrency limits, the bounded FIFO queue, throttling, reserved and shared capacity. */
class ConcurrencyTest {

  /** Counts handlers running at once, and the most seen. */
  static final class Gauge {
    final AtomicInteger now = new AtomicInteger();
    final AtomicInteger max = new AtomicInteger();

    void enter() {
      max.accumulateAndGet(now.incrementAndGet(), Math::max);
    }

    void exit() {
      now.decrementAndGet();
    }
  }

  private static <T> Function<T, T> gated(Gauge gauge, CountDownLatch gate) {
    return x -> {
      gauge.enter();
      try {
        TestFunctions.await(gate);
        return x;
      } finally {
        gauge.exit();
      }
    };
  }

  @Test
  void concurrency_followsDemandUpToTheFunctionLimit_restWaitsInTheQueue() {
    try (Cumulus c = Cumulus.create()) {
      Gauge gauge = new Gauge();
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("limited", ConcurrencyTest.<Integer>gated(gauge, gate)).maxConcurrency(3).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        calls.add(f.invokeAsync(i));
      }
      await().until(() -> gauge.now.get() == 3);
      assertThat(f.stats().inFlight()).isEqualTo(3);
      assertThat(f.stats().queued()).isEqualTo(7);
      gate.countDown();
      for (int i = 0; i < 10; i++) {
        assertThat(calls.get(i).join()).isEqualTo(i);
      }
      assertThat(gauge.max.get()).isEqualTo(3);
      assertThat(f.stats().peakConcurrency()).isEqualTo(3);
    }
  }

  @Test
  void queue_isFirstInFirstOut() {
    try (Cumulus c = Cumulus.create()) {
      List<Integer> order = new CopyOnWriteArrayList<>();
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("fifo", (Integer i) -> {
        if (i == 0) {
          TestFunctions.await(gate);
        }
        order.add(i);
        return i;
      }).maxConcurrency(1).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      calls.add(f.invokeAsync(0));
      await().until(() -> f.stats().inFlight() == 1);
      for (int i = 1; i <= 20; i++) {
        calls.add(f.invokeAsync(i));
      }
      gate.countDown();
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();
      assertThat(order).containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(0, 20).boxed().toList());
    }
  }

  @Test
  void invoke_whenQueueFull_throwsThrottledWithoutStackTrace() {
    try (Cumulus c = Cumulus.create()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("busy", ConcurrencyTest.<Integer>gated(new Gauge(), gate))
          .maxConcurrency(2).queueCapacity(3).build());
      List<CompletableFuture<Integer>> accepted = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        accepted.add(f.invokeAsync(i));
      }
      await().until(() -> f.stats().inFlight() == 2);
      assertThatThrownBy(() -> f.invoke(99))
          .isInstanceOfSatisfying(ThrottledException.class, e -> {
            assertThat(e.getStackTrace()).isEmpty();
            assertThat(e.functionName()).isEqualTo("busy");
          })
          .hasMessage("function 'busy' is throttled: 2 running (maxConcurrency 2) and 3 waiting (queueCapacity 3)");
      CompletableFuture<Integer> async = f.invokeAsync(100);
      assertThatThrownBy(async::get).isInstanceOf(ExecutionException.class).hasCauseInstanceOf(ThrottledException.class);
      gate.countDown();
      accepted.forEach(CompletableFuture::join);
      FunctionStats s = f.stats();
      assertThat(s.throttles()).isEqualTo(2);
      assertThat(s.successes()).isEqualTo(5);
      assertThat(s.invocations()).isEqualTo(7);
    }
  }

  @Test
  void queueCapacityZero_throttlesWhenNoSlotIsFree() {
    try (Cumulus c = Cumulus.create()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("direct", ConcurrencyTest.<Integer>gated(new Gauge(), gate))
          .maxConcurrency(1).queueCapacity(0).build());
      CompletableFuture<Integer> first = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      assertThatThrownBy(() -> f.invoke(2)).isInstanceOf(ThrottledException.class);
      gate.countDown();
      assertThat(first.join()).isEqualTo(1);
      await().until(() -> f.stats().inFlight() == 0);
      assertThat(f.invoke(3)).isEqualTo(3);
    }
  }

  @Test
  void reservedConcurrency_cannotBeTakenByABusyNeighbour() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(6).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Gauge greedyGauge = new Gauge();
      Fn<Integer, Integer> greedy = c.register(FnSpec.of("greedy", ConcurrencyTest.<Integer>gated(greedyGauge, gate)).build());
      Gauge reservedGauge = new Gauge();
      CountDownLatch reservedGate = new CountDownLatch(1);
      Fn<Integer, Integer> reserved = c.register(FnSpec.of("reserved", ConcurrencyTest.<Integer>gated(reservedGauge, reservedGate))
          .maxConcurrency(2).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        calls.add(greedy.invokeAsync(i));
      }
      // The unreserved function gets what is left: 6 - 2.
      await().until(() -> greedyGauge.now.get() == 4);
      calls.add(reserved.invokeAsync(1));
      calls.add(reserved.invokeAsync(2));
      await().until(() -> reservedGauge.now.get() == 2);
      assertThat(greedyGauge.max.get()).isEqualTo(4);
      gate.countDown();
      reservedGate.countDown();
      calls.forEach(CompletableFuture::join);
    }
  }

  @Test
  void runtimeWideLimit_holdsAcrossFunctions() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(5).build()) {
      Gauge total = new Gauge();
      CountDownLatch gate = new CountDownLatch(1);
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (String name : List.of("a", "b", "c")) {
        Fn<Integer, Integer> f = c.register(FnSpec.of(name, ConcurrencyTest.<Integer>gated(total, gate)).build());
        for (int i = 0; i < 10; i++) {
          calls.add(f.invokeAsync(i));
        }
      }
      await().until(() -> total.now.get() == 5);
      gate.countDown();
      calls.forEach(CompletableFuture::join);
      assertThat(total.max.get()).isEqualTo(5);
    }
  }

  @Test
  void sharedCapacity_isHandedOver_soABusyFunctionCannotStarveAnother() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(2).build()) {
      Fn<Integer, Integer> hog = c.register(FnSpec.of("hog", (Integer i) -> {
        TestFunctions.sleep(5);
        return i;
      }).queueCapacity(20_000).build());
      // What small sees of the hog's queue while it runs: a backlog left means it did not wait for
      // the hog to drain (10 000 calls of 5 ms at concurrency 2 take 25 s; small needs a hand-over).
      Fn<Integer, Integer> small = c.register(FnSpec.of("small", (Integer i) -> hog.stats().queued()).build());
      List<CompletableFuture<Integer>> backlog = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        backlog.add(hog.invokeAsync(i));
      }
      await().until(() -> hog.stats().inFlight() == 2);
      try {
        assertThat(small.invokeAsync(7)).succeedsWithin(Duration.ofSeconds(20))
            .satisfies(queued -> assertThat(queued).as("the hog's backlog when small ran").isPositive());
      } finally {
        backlog.forEach(call -> call.cancel(false)); // what has not started never runs
      }
      backlog.forEach(call -> call.handle((v, e) -> null).join());
    }
  }

  @Test
  void functionWithNoCapacityLeft_isThrottledWithAClearReason() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(2).build()) {
      c.register(FnSpec.of("all", (Integer i) -> i).maxConcurrency(2).build());
      Fn<Integer, Integer> none = c.register(FnSpec.of("none", (Integer i) -> i).queueCapacity(0).build());
      assertThatThrownBy(() -> none.invoke(1))
          .isInstanceOf(ThrottledException.class)
          .hasMessageContaining("no unreserved concurrency is left: the runtime's maxConcurrency 2 is all reserved");
    }
  }

  @Test
  void invokeAsync_doesNotBlockTheCaller_whileTheFunctionBlocks() {
    try (Cumulus c = Cumulus.create()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("slow", ConcurrencyTest.<Integer>gated(new Gauge(), gate)).build());
      Fn<Integer, Integer> fast = c.register(FnSpec.of("fast", (Integer i) -> i + 1).build());
      CompletableFuture<Integer> slow = f.invokeAsync(1); // returns at once
      assertThat(slow).isNotDone();
      assertThat(fast.invoke(1)).isEqualTo(2); // not held up by the blocked one
      gate.countDown();
      assertThat(slow.join()).isEqualTo(1);
    }
  }

  @Test
  void tenThousandSleepingInvocations_completeOnAFewPlatformThreads() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(10_000).build()) {
      Fn<Integer, Integer> sleepy = c.register(FnSpec.of("sleepy", (Integer i) -> {
        TestFunctions.sleep(50);
        return i;
      }).maxConcurrency(10_000).build());
      int platformBefore = Thread.activeCount();
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        calls.add(sleepy.invokeAsync(i));
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> calls.stream().allMatch(CompletableFuture::isDone));
      calls.forEach(CompletableFuture::join);
      FunctionStats s = sleepy.stats();
      assertThat(s.successes()).isEqualTo(10_000);
      // Sleeping invocations do not hold carriers: far more ran at once than there are carriers.
      assertThat(s.peakConcurrency()).isGreaterThan(Runtime.getRuntime().availableProcessors() * 10);
      assertThat(c.engine().liveCarriers()).isLessThanOrEqualTo(Runtime.getRuntime().availableProcessors());
      assertThat(Thread.activeCount()).isLessThan(platformBefore + 100);
    }
  }
}
