package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ScaleToZeroTest {
  @Test
  void idleRuntime_holdsNoThreadOfItsOwn_andScalesBackFromZero() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(100)).clock(clock).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        TestFunctions.sleep(5);
        return i * 2;
      }).keepAlive(Duration.ofSeconds(30)).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        calls.add(f.invokeAsync(i));
      }
      calls.forEach(CompletableFuture::join);
      assertThat(f.stats().warmInstances()).isPositive();

      // Threads go after the carrier keep-alive; instances after their own keep-alive.
      await().atMost(Duration.ofSeconds(10)).until(() -> c.engine().liveCarriers() == 0);
      clock.advance(Duration.ofSeconds(31));
      await().atMost(Duration.ofSeconds(10)).until(() -> f.stats().warmInstances() == 0);
      await().atMost(Duration.ofSeconds(10)).until(() -> c.engine().liveCarriers() == 0);
      assertThat(clock.pendingTimers()).as("no timer is left once nothing is pending").isZero();

      // Back from zero, with no restart.
      assertThat(f.invoke(21)).isEqualTo(42);
      assertThat(f.stats().coldStarts()).isGreaterThan(1);
      FunctionStats s = f.stats();
      assertThat(s.inFlight()).isZero();
      assertThat(s.queued()).isZero();
    }
  }

  @Test
  void afterEveryRuntimeIsClosed_noCumulusThreadIsAlive() {
    try (Cumulus c = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(100)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i + 1)
          .timeout(Duration.ofMillis(500)).build());
      for (int i = 0; i < 1_000; i++) {
        f.invokeAsync(i).join();
      }
    }
    // Threads of every runtime in this JVM (earlier tests included) end within their keep-alive.
    await().atMost(Duration.ofSeconds(15)).until(() -> TestFunctions.cumulusThreads().isEmpty());
  }

  @Test
  void idleBetweenBursts_threadsComeAndGo() {
    try (Cumulus c = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(50)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i).build());
      for (int burst = 0; burst < 3; burst++) {
        assertThat(f.invoke(burst)).isEqualTo(burst);
        assertThat(c.engine().liveCarriers()).isPositive();
        await().atMost(Duration.ofSeconds(10)).until(() -> c.engine().liveCarriers() == 0);
      }
    }
  }

  @Test
  void liveCarrierThreads_countsTheCarrierRunningAFunction_andReadsZeroOnceIdle() {
    try (Cumulus c = Cumulus.builder().carrierThreads(1).carrierKeepAlive(Duration.ofMillis(50)).build()) {
      assertThat(c.liveCarrierThreads()).as("no thread before the first invocation").isZero();
      AtomicInteger seenInside = new AtomicInteger(-1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        seenInside.set(c.liveCarrierThreads());
        return i;
      }).build());

      assertThat(f.invoke(1)).isEqualTo(1);

      assertThat(seenInside).as("the carrier running the function is alive, and the only one").hasValue(1);
      await().atMost(Duration.ofSeconds(10)).until(() -> c.liveCarrierThreads() == 0);
      assertThat(c.engine().liveCarriers()).isZero();
      assertThat(f.stats().warmInstances()).as("an instance stays warm without a thread").isOne();
    }
  }
}
