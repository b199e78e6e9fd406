package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TimeoutTest {
  private final ManualClock clock = new ManualClock();
  private final Cumulus cumulus = Cumulus.builder().clock(clock).build();

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void atTheDeadline_callerGetsTimeout_andTheHandlerIsInterrupted() throws Exception {
    AtomicBoolean interrupted = new AtomicBoolean();
    CountDownLatch never = new CountDownLatch(1);
    Fn<String, String> f = cumulus.register(FnSpec.of("slow", (String s) -> {
      try {
        never.await();
      } catch (InterruptedException e) {
        interrupted.set(true);
      }
      return s;
    }).timeout(Duration.ofSeconds(2)).build());
    CompletableFuture<String> call = f.invokeAsync("x");
    await().until(() -> f.stats().inFlight() == 1);
    clock.advance(Duration.ofMillis(1_999));
    assertThat(call).isNotDone();
    clock.advance(Duration.ofMillis(1));
    assertThatThrownBy(() -> call.get(10, java.util.concurrent.TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(FunctionTimeoutException.class, e -> {
          assertThat(e.timeout()).isEqualTo(Duration.ofSeconds(2));
          assertThat(e.functionName()).isEqualTo("slow");
        })
        .hasMessage("function 'slow' timed out after 2 s");
    await().untilTrue(interrupted);
    await().until(() -> f.stats().inFlight() == 0);
    FunctionStats s = f.stats();
    assertThat(s.timeouts()).isEqualTo(1);
    assertThat(s.successes()).isZero();
    assertThat(s.overdue()).isZero();
    assertThat(s.invocations()).isEqualTo(s.completed());
  }

  @Test
  void syncInvoke_throwsTheTimeout() {
    Fn<String, String> f = cumulus.register(FnSpec.of("slow", (String s) -> {
      TestFunctions.sleep(60_000);
      return s;
    }).timeout(Duration.ofSeconds(1)).build());
    CompletableFuture<Void> caller = CompletableFuture.runAsync(() ->
        assertThatThrownBy(() -> f.invoke("x")).isInstanceOf(FunctionTimeoutException.class));
    await().until(() -> f.stats().inFlight() == 1);
    clock.advance(Duration.ofSeconds(1));
    caller.join();
  }

  @Test
  void handlerIgnoringInterrupts_keepsItsSlotUntilItReturns_andStatsSaySo() {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger ran = new AtomicInteger();
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("stubborn", (Integer i) -> {
      ran.incrementAndGet();
      if (i == 1) {
        while (release.getCount() > 0) { // ignores interrupts
          Thread.onSpinWait();
          TestFunctions.burn(1);
        }
      }
      return i;
    }).maxConcurrency(1).timeout(Duration.ofSeconds(5)).build());
    CompletableFuture<Integer> first = f.invokeAsync(1);
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<Integer> second = f.invokeAsync(2);
    clock.advance(Duration.ofSeconds(5));
    assertThat(first).failsWithin(Duration.ofSeconds(10)).withThrowableThat()
        .havingCause().isInstanceOf(FunctionTimeoutException.class);
    FunctionStats s = f.stats();
    assertThat(s.overdue()).isEqualTo(1);
    assertThat(s.inFlight()).isEqualTo(1);
    assertThat(s.queued()).isEqualTo(1);
    assertThat(second).isNotDone();
    release.countDown();
    assertThat(second).succeedsWithin(Duration.ofSeconds(10)).isEqualTo(2);
    await().until(() -> f.stats().overdue() == 0 && f.stats().inFlight() == 0);
    assertThat(f.stats().timeouts()).isEqualTo(1);
    assertThat(f.stats().successes()).isEqualTo(1);
  }

  @Test
  void interruptForATimedOutInvocation_doesNotLeakIntoTheNextOne() {
    CountDownLatch block = new CountDownLatch(1);
    AtomicBoolean secondSawInterrupt = new AtomicBoolean();
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("f", (Integer i) -> {
      if (i == 1) {
        try {
          block.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt(); // leaves the flag set on purpose
        }
      } else {
        secondSawInterrupt.set(Thread.currentThread().isInterrupted());
      }
      return i;
    }).maxConcurrency(1).timeout(Duration.ofSeconds(1)).build());
    CompletableFuture<Integer> first = f.invokeAsync(1);
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<Integer> second = f.invokeAsync(2);
    clock.advance(Duration.ofSeconds(1));
    assertThat(first).failsWithin(Duration.ofSeconds(10));
    assertThat(second).succeedsWithin(Duration.ofSeconds(10)).isEqualTo(2);
    assertThat(secondSawInterrupt).isFalse();
  }

  @Test
  void timeout_countsFromTheStartNotFromTheQueue() {
    CountDownLatch gate = new CountDownLatch(1);
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("f", (Integer i) -> {
      if (i == 1) {
        TestFunctions.await(gate);
      }
      return i;
    }).maxConcurrency(1).timeout(Duration.ofSeconds(10)).build());
    CompletableFuture<Integer> first = f.invokeAsync(1);
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<Integer> second = f.invokeAsync(2); // waits behind the first
    clock.advance(Duration.ofSeconds(8));
    gate.countDown();
    assertThat(first.join()).isEqualTo(1);
    assertThat(second.join()).isEqualTo(2); // waited 8 s in the queue but ran well within 10 s
    assertThat(f.stats().timeouts()).isZero();
  }

  @Test
  void fastInvocations_neverTimeOut_andTheWatchStopsWhenIdle() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("fast", (Integer i) -> i).timeout(Duration.ofMillis(1)).build());
    for (int i = 0; i < 100; i++) {
      assertThat(f.invoke(i)).isEqualTo(i);
      clock.advance(Duration.ofMillis(2));
    }
    assertThat(f.stats().timeouts()).isZero();
    await().until(() -> f.stats().inFlight() == 0 && clock.pendingTimers() == 1); // the idle instance's expiry
    clock.advance(Duration.ofSeconds(31));
    await().until(() -> clock.pendingTimers() == 0);
  }
}
