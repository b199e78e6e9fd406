package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StatsTest {
  private final Cumulus cumulus = Cumulus.create();

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void counters_addUpAtRest_underAMixOfOutcomes() {
    long seed = System.nanoTime();
    System.out.println("StatsTest seed=" + seed);
    Random random = new Random(seed);
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("mixed", (Integer i) -> {
      if (i % 7 == 0) {
        throw new IllegalStateException("seven");
      }
      if (i % 5 == 0) {
        TestFunctions.sleep(2);
      }
      return i;
    }).maxConcurrency(4).queueCapacity(50).build());
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      calls.add(f.invokeAsync(random.nextInt(1_000)));
    }
    for (CompletableFuture<Integer> call : calls) {
      call.handle((v, e) -> null).join();
    }
    await().until(() -> f.stats().inFlight() == 0);
    FunctionStats s = f.stats();
    assertThat(s.invocations()).isEqualTo(2_000);
    assertThat(s.invocations()).isEqualTo(s.completed());
    assertThat(s.failures()).isPositive();
    assertThat(s.throttles()).isPositive();
    assertThat(s.queued()).isZero();
    assertThat(s.peakConcurrency()).isLessThanOrEqualTo(4);
    assertThat(calls.stream().filter(c -> !c.isCompletedExceptionally()).count()).isEqualTo(s.successes());
  }

  @Test
  void readYourCalls_aResultInHandIsInTheStats() {
    Fn<Long, Long> f = cumulus.register(FnSpec.of("ryc", (Long ms) -> TestFunctions.spinCpu(ms)).build());
    for (int i = 1; i <= 200; i++) {
      f.invoke(0L);
      FunctionStats s = f.stats();
      assertThat(s.successes()).isEqualTo(i);
      assertThat(s.invocations()).isEqualTo(i);
    }
    f.invoke(30L);
    // The 30 ms burn is charged even though its segment may still be running on the carrier.
    assertThat(f.stats().cpuTime()).isGreaterThan(Duration.ofMillis(20));
  }

  @Test
  void cancellingAQueuedInvocation_removesIt() {
    CountDownLatch gate = new CountDownLatch(1);
    List<Integer> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("f", (Integer i) -> {
      ran.add(i);
      TestFunctions.await(gate);
      return i;
    }).maxConcurrency(1).build());
    CompletableFuture<Integer> running = f.invokeAsync(1);
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<Integer> queued = f.invokeAsync(2);
    assertThat(queued.cancel(true)).isTrue();
    gate.countDown();
    assertThat(running.join()).isEqualTo(1);
    await().until(() -> f.stats().cancelled() == 1);
    assertThat(ran).containsExactly(1);
    FunctionStats s = f.stats();
    assertThat(s.invocations()).isEqualTo(s.completed()).isEqualTo(2);
  }

  @Test
  void latencyPercentiles_areOrderedAndCoverTheCalls() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("lat", (Integer ms) -> {
      TestFunctions.sleep(ms);
      return ms;
    }).build());
    for (int i = 0; i < 20; i++) {
      f.invoke(i % 10 == 9 ? 40 : 1);
    }
    Percentiles p = f.stats().latency();
    assertThat(p.samples()).isEqualTo(20);
    assertThat(p.p50()).isLessThan(Duration.ofMillis(30));
    assertThat(p.max()).isGreaterThanOrEqualTo(Duration.ofMillis(40));
    assertThat(p.p50()).isLessThanOrEqualTo(p.p90());
    assertThat(p.p90()).isLessThanOrEqualTo(p.p99());
    assertThat(p.p99()).isLessThanOrEqualTo(p.max().plusMillis(1));
  }

  @Test
  void billedMillis_roundUpPerInvocation() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("tiny", (Integer i) -> i).build());
    for (int i = 0; i < 10; i++) {
      f.invoke(i);
    }
    FunctionStats s = f.stats();
    assertThat(s.billedMillis()).isEqualTo(10); // each sub-millisecond call bills 1 ms
    assertThat(s.billedCpuMillis()).isEqualTo(10);
    assertThat(s.wallTime()).isLessThan(Duration.ofMillis(10));
  }

  @Test
  void toString_isReadable() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("named", (Integer i) -> i).build());
    f.invoke(1);
    assertThat(f.stats().toString()).startsWith("named: invocations=1 (ok 1").contains("cpu=", "latency[p50=");
  }
}
