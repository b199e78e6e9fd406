package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
    // Every handler waits until all calls were made, so admission sees the same state on any
    // machine: 4 running and 50 queued are accepted, the other 1 946 calls are throttled.
    CountDownLatch submitted = new CountDownLatch(1);
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("mixed", (Integer i) -> {
      TestFunctions.await(submitted);
      if (i % 7 == 0) {
        throw new IllegalStateException("seven");
      }
      if (i % 5 == 0) {
        TestFunctions.sleep(2);
      }
      return i;
    }).maxConcurrency(4).queueCapacity(50).build());
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      calls.add(f.invokeAsync(i));
    }
    // The four running before the rest arrive, on any number of carriers: a call that finds the
    // queue full is let in only if its worker could run at once.
    await().until(() -> f.stats().inFlight() == 4);
    for (int i = 4; i < 2_000; i++) {
      calls.add(f.invokeAsync(i));
    }
    submitted.countDown();
    for (CompletableFuture<Integer> call : calls) {
      call.handle((v, e) -> null).join();
    }
    await().until(() -> f.stats().inFlight() == 0);
    FunctionStats s = f.stats();
    assertThat(s.invocations()).isEqualTo(2_000);
    assertThat(s.invocations()).isEqualTo(s.completed());
    assertThat(s.throttles()).isEqualTo(2_000 - 54);
    assertThat(s.failures()).as("inputs 0, 7, ..., 49 of the 54 accepted").isEqualTo(8);
    assertThat(s.successes()).isEqualTo(46);
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
    long[] seen = new long[20]; // each call's latency as its caller saw it: an upper bound of the runtime's
    for (int i = 0; i < 20; i++) {
      long t0 = System.nanoTime();
      f.invoke(i % 10 == 9 ? 40 : 1);
      seen[i] = System.nanoTime() - t0;
    }
    java.util.Arrays.sort(seen);
    Percentiles p = f.stats().latency();
    assertThat(p.samples()).isEqualTo(20);
    // The k-th smallest latency the runtime measured is at most the k-th smallest its callers saw
    // (within the histogram's 2 significant digits), and two calls slept 40 ms.
    assertThat(p.p50()).isLessThanOrEqualTo(upTo(seen[9]));
    assertThat(p.p90()).isLessThanOrEqualTo(upTo(seen[17]));
    assertThat(p.max()).isGreaterThanOrEqualTo(Duration.ofMillis(40)).isLessThanOrEqualTo(upTo(seen[19]));
    assertThat(p.p50()).isLessThanOrEqualTo(p.p90());
    assertThat(p.p90()).isLessThanOrEqualTo(p.p99());
    assertThat(p.p99()).isLessThanOrEqualTo(p.max().plusMillis(1));
  }

  private static Duration upTo(long nanos) {
    return Duration.ofNanos(nanos + nanos / 50 + 1_000);
  }

  @Test
  void billedMillis_roundUpPerInvocation() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("tiny", (Integer i) -> i).build());
    for (int i = 0; i < 10; i++) {
      f.invoke(i);
    }
    FunctionStats s = f.stats();
    // Each call bills its wall time rounded up to a whole millisecond, at least 1: the sum is at
    // least one per call and at least the time, and at most the time plus one per call. (A call
    // takes well under 1 ms on an idle machine, not necessarily on a busy one.)
    long wallMillis = s.wallTime().toMillis();
    assertThat(s.billedMillis()).isGreaterThanOrEqualTo(Math.max(10, wallMillis)).isLessThanOrEqualTo(wallMillis + 10);
    assertThat(s.billedCpuMillis()).isGreaterThanOrEqualTo(10).isLessThanOrEqualTo(s.cpuTime().toMillis() + 11);
    Fn<Long, Long> spin = cumulus.register(FnSpec.of("spin", TestFunctions::spinCpu).build());
    spin.invoke(3L); // at least 3 ms of CPU, billed as 3 whole milliseconds or more
    assertThat(spin.stats().billedCpuMillis()).isGreaterThanOrEqualTo(3);
    assertThat(spin.stats().billedMillis()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void toString_isReadable() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("named", (Integer i) -> i).build());
    f.invoke(1);
    assertThat(f.stats().toString()).startsWith("named: invocations=1 (ok 1").contains("cpu=", "latency[p50=");
  }
}
