package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class CloseTest {
  @Test
  void close_refusesNewCalls() {
    Cumulus c = Cumulus.create();
    Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> s).build());
    f.invoke("x");
    c.close();
    assertThatThrownBy(() -> f.invoke("y"))
        .isInstanceOf(RuntimeClosedException.class)
        .hasMessage("the Cumulus runtime is closed; function 'f' accepts no more calls");
    assertThatThrownBy(() -> c.invoke("f", "y")).isInstanceOf(RuntimeClosedException.class);
    assertThat(f.invokeAsync("z")).isCompletedExceptionally();
    assertThatThrownBy(() -> c.register(FnSpec.of("g", (String s) -> s).build()))
        .isInstanceOf(RuntimeClosedException.class);
    FunctionStats s = f.stats();
    assertThat(s.rejected()).isEqualTo(3);
    assertThat(s.invocations()).isEqualTo(4).isEqualTo(s.completed());
  }

  @Test
  void close_letsRunningAndQueuedWorkFinish() throws Exception {
    Cumulus c = Cumulus.create();
    CountDownLatch gate = new CountDownLatch(1);
    Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
      TestFunctions.await(gate);
      return i;
    }).maxConcurrency(2).build());
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      calls.add(f.invokeAsync(i));
    }
    await().until(() -> f.stats().inFlight() == 2);
    CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
    await().until(() -> f.invokeAsync(9).isCompletedExceptionally()); // admission stopped
    assertThat(closing).isNotDone();
    gate.countDown();
    closing.get(30, java.util.concurrent.TimeUnit.SECONDS);
    for (int i = 0; i < 6; i++) {
      assertThat(calls.get(i)).isCompletedWithValue(i);
    }
  }

  @Test
  void atTheDrainDeadline_whatIsLeftFailsWithRuntimeClosed() throws Exception {
    ManualClock clock = new ManualClock();
    Cumulus c = Cumulus.builder().clock(clock).drainTimeout(Duration.ofSeconds(5)).build();
    CountDownLatch never = new CountDownLatch(1);
    Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
      TestFunctions.await(never);
      return i;
    }).maxConcurrency(1).build());
    CompletableFuture<Integer> running = f.invokeAsync(1);
    CompletableFuture<Integer> queued = f.invokeAsync(2);
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
    await().until(() -> clock.dueTimes().size() >= 2); // the watch and the drain deadline
    clock.advance(Duration.ofSeconds(5));
    closing.get(30, java.util.concurrent.TimeUnit.SECONDS);
    for (CompletableFuture<Integer> call : List.of(running, queued)) {
      assertThatThrownBy(call::get).isInstanceOf(ExecutionException.class)
          .cause().isInstanceOf(RuntimeClosedException.class)
          .hasMessage("the Cumulus runtime closed before this invocation of 'f' could finish");
    }
    FunctionStats s = f.stats();
    assertThat(s.rejected()).isEqualTo(2);
    assertThat(s.invocations()).isEqualTo(2).isEqualTo(s.completed());
    never.countDown();
    await().until(() -> f.stats().inFlight() == 0);
  }

  @Test
  void close_isIdempotent_andConcurrentClosersWaitForTheFirst() throws Exception {
    Cumulus c = Cumulus.create();
    CountDownLatch gate = new CountDownLatch(1);
    Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
      TestFunctions.await(gate);
      return i;
    }).build());
    CompletableFuture<Integer> call = f.invokeAsync(1);
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<Void> first = CompletableFuture.runAsync(c::close);
    await().until(() -> f.invokeAsync(2).isCompletedExceptionally());
    CompletableFuture<Void> second = CompletableFuture.runAsync(c::close);
    Thread.sleep(50); // give the second closer a chance to (wrongly) return early
    assertThat(second).isNotDone();
    gate.countDown();
    first.get(30, java.util.concurrent.TimeUnit.SECONDS);
    second.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(call).isCompletedWithValue(1);
    c.close();
  }

  @Test
  void close_fromInsideAFunction_doesNotDeadlock() {
    Cumulus c = Cumulus.create();
    Fn<Void, String> f = c.register(FnSpec.ofSupplier("closer", () -> {
      c.close();
      return "closed";
    }).build());
    assertThat(f.invoke(null)).isEqualTo("closed");
    assertThatThrownBy(() -> f.invoke(null)).isInstanceOf(RuntimeClosedException.class);
  }
}
