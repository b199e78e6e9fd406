package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Each test here would have caught a bug found in review (named for it), now fixed. */
class ReviewRegressionTest {

  @Test
  void dependentStageCallingTheSameFunction_doesNotHang() {
    try (Cumulus c = Cumulus.create()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("again", (Integer i) -> i + 1).build());
      // The dependent runs on f's worker and waits for f: another worker must take the nested call.
      CompletableFuture<Integer> chained = f.invokeAsync(1).thenApply(f::invoke);
      assertThat(chained).succeedsWithin(Duration.ofSeconds(20)).isEqualTo(3);
      List<CompletableFuture<Integer>> many = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        many.add(f.invokeAsync(i).thenApply(f::invoke));
      }
      for (int i = 0; i < 20; i++) {
        assertThat(many.get(i)).succeedsWithin(Duration.ofSeconds(20)).isEqualTo(i + 2);
      }
    }
  }

  @Test
  void sequentialCalls_reuseOneWarmWorker_insteadOfRacingNewOnes() {
    try (Cumulus c = Cumulus.create()) {
      AtomicInteger inits = new AtomicInteger();
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("seq", inits::incrementAndGet,
          (Integer id, Integer x) -> id).build());
      for (int i = 0; i < 500; i++) {
        assertThat(f.invoke(i)).isEqualTo(1);
      }
      assertThat(inits).hasValue(1);
    }
  }

  @Test
  void sharedCapacityUnderChurn_neverStrandsAnAcceptedCall() throws Exception {
    long seed = TestFunctions.seed("ReviewRegressionTest.sharedCapacityUnderChurn");
    Random random = new Random(seed);
    try (Cumulus c = Cumulus.builder().maxConcurrency(2).build()) {
      List<Fn<Integer, Integer>> fns = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        fns.add(c.register(FnSpec.of("f" + i, (Integer ms) -> {
          if (ms > 0) {
            TestFunctions.sleep(ms);
          }
          return ms;
        }).build()));
      }
      List<CompletableFuture<Integer>> calls = new CopyOnWriteArrayList<>();
      List<Thread> callers = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        long callerSeed = random.nextLong();
        callers.add(Thread.ofPlatform().start(() -> {
          Random r = new Random(callerSeed);
          for (int i = 0; i < 300; i++) {
            calls.add(fns.get(r.nextInt(fns.size())).invokeAsync(r.nextInt(4) == 0 ? 1 : 0));
          }
        }));
      }
      for (Thread t : callers) {
        t.join();
      }
      for (CompletableFuture<Integer> call : calls) {
        assertThat(call).succeedsWithin(Duration.ofSeconds(30));
      }
    }
  }

  @Test
  void close_drainsAndFailsTheWorkOfAnUnregisteredFunction() throws Exception {
    ManualClock clock = new ManualClock();
    Cumulus c = Cumulus.builder().clock(clock).drainTimeout(Duration.ofSeconds(1)).build();
    CountDownLatch never = new CountDownLatch(1);
    Fn<Integer, Integer> f = c.register(FnSpec.of("leaving", (Integer i) -> {
      TestFunctions.await(never);
      return i;
    }).maxConcurrency(1).build());
    CompletableFuture<Integer> running = f.invokeAsync(1);
    CompletableFuture<Integer> queued = f.invokeAsync(2);
    await().until(() -> f.stats().inFlight() == 1);
    c.unregister("leaving");
    CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
    await().until(() -> clock.pendingTimers() >= 2);
    clock.advance(Duration.ofSeconds(1));
    closing.get(30, TimeUnit.SECONDS);
    assertThat(running).isCompletedExceptionally();
    assertThat(queued).isCompletedExceptionally();
    assertThatThrownBy(queued::get).cause().isInstanceOf(RuntimeClosedException.class);
    never.countDown();
  }

  @Test
  void callsRacingClose_allComplete_noneIsStranded() throws Exception {
    for (int round = 0; round < 5; round++) {
      Cumulus c = Cumulus.builder().drainTimeout(Duration.ofMillis(200)).build();
      Fn<Integer, Integer> f = c.register(FnSpec.of("racy", (Integer i) -> i).build());
      List<CompletableFuture<Integer>> calls = new CopyOnWriteArrayList<>();
      AtomicBoolean stop = new AtomicBoolean();
      Thread caller = Thread.ofPlatform().start(() -> {
        while (!stop.get()) {
          calls.add(f.invokeAsync(1));
        }
      });
      Thread.sleep(5);
      c.close();
      stop.set(true);
      caller.join();
      for (CompletableFuture<Integer> call : calls) {
        // Every call ends: with its result, or refused or abandoned by close (RuntimeClosedException).
        assertThat(call.handle((v, e) -> v != null ? "ok" : e.getClass().getSimpleName()))
            .succeedsWithin(Duration.ofSeconds(10))
            .isIn("ok", "RuntimeClosedException");
      }
      await().until(() -> f.stats().inFlight() == 0);
      FunctionStats s = f.stats();
      assertThat(s.invocations()).isEqualTo(s.completed()).isEqualTo(calls.size());
    }
  }

  @Test
  void timeout_firesWhileCpuBoundWorkOccupiesEveryCarrier() {
    try (Cumulus c = Cumulus.builder().carrierThreads(1).drainTimeout(Duration.ofSeconds(5)).build()) {
      AtomicBoolean release = new AtomicBoolean();
      AtomicBoolean stillSpinning = new AtomicBoolean();
      Fn<Integer, Integer> spin = c.register(FnSpec.of("spin", (Integer i) -> {
        stillSpinning.set(true);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!release.get() && System.nanoTime() < end) { // ignores interrupts, never unmounts
          Thread.onSpinWait();
        }
        stillSpinning.set(false);
        return i;
      }).timeout(Duration.ofMillis(200)).build());
      CompletableFuture<Integer> call = spin.invokeAsync(1);
      assertThat(call).failsWithin(Duration.ofSeconds(15)).withThrowableThat()
          .havingCause().isInstanceOf(FunctionTimeoutException.class);
      assertThat(stillSpinning).as("the caller learned of the timeout while the handler still spun").isTrue();
      release.set(true);
    }
  }

  @Test
  void cpuBudget_doesNotChargeASiblingsCpuToABlockedInvocation() throws Exception {
    try (Cumulus c = Cumulus.builder().carrierThreads(1).build()) {
      Fn<String, String> f = c.register(FnSpec.of("shared-carrier", (String role) -> {
        if (role.equals("victim")) {
          TestFunctions.spinCpu(20);
          TestFunctions.sleep(400); // blocked: its carrier runs the sibling meanwhile
          return "victim ok";
        }
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
        while (System.nanoTime() < end && !Thread.currentThread().isInterrupted()) {
          TestFunctions.spinCpu(1);
        }
        return "sibling done";
      }).cpuBudget(Duration.ofMillis(100)).build());
      CompletableFuture<String> victim = f.invokeAsync("victim");
      await().until(() -> f.stats().inFlight() == 1);
      Thread.sleep(50);
      CompletableFuture<String> sibling = f.invokeAsync("sibling");
      assertThat(victim).succeedsWithin(Duration.ofSeconds(20)).isEqualTo("victim ok");
      sibling.handle((v, e) -> null).get(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void callerCompletingItsOwnFuture_keepsTheCountersConsistent() {
    try (Cumulus c = Cumulus.create()) {
      CountDownLatch gate = new CountDownLatch(1);
      AtomicInteger ran = new AtomicInteger();
      Fn<Integer, Integer> f = c.register(FnSpec.of("self-completed", (Integer i) -> {
        ran.incrementAndGet();
        TestFunctions.await(gate);
        return i;
      }).maxConcurrency(1).build());
      CompletableFuture<Integer> first = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      CompletableFuture<Integer> second = f.invokeAsync(2);
      second.complete(42); // the caller settles it before it starts
      CompletableFuture<Integer> third = f.invokeAsync(3).orTimeout(1, TimeUnit.MILLISECONDS);
      assertThat(third).failsWithin(Duration.ofSeconds(10));
      gate.countDown();
      assertThat(first.join()).isEqualTo(1);
      await().until(() -> f.stats().inFlight() == 0 && f.stats().queued() == 0);
      FunctionStats s = f.stats();
      assertThat(s.invocations()).isEqualTo(3).isEqualTo(s.completed());
      assertThat(s.cancelled()).isEqualTo(2);
      assertThat(ran).hasValue(1);
    }
  }

  @Test
  void timedOutInstance_isDiscardedAndClosed_notReused() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      List<InstancesTest.Resource> resources = new CopyOnWriteArrayList<>();
      AtomicInteger ids = new AtomicInteger();
      CountDownLatch never = new CountDownLatch(1);
      Fn<Boolean, Integer> f = c.register(FnSpec.withInstance("fragile", () -> {
        InstancesTest.Resource r = new InstancesTest.Resource(ids.incrementAndGet());
        resources.add(r);
        return r;
      }, (InstancesTest.Resource r, Boolean hang) -> {
        if (hang) {
          try {
            never.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return r.id;
      }).timeout(Duration.ofSeconds(1)).build());
      CompletableFuture<Integer> hung = f.invokeAsync(true);
      await().until(() -> f.stats().inFlight() == 1);
      clock.advance(Duration.ofSeconds(1));
      assertThat(hung).failsWithin(Duration.ofSeconds(10));
      await().until(() -> resources.get(0).closed);
      assertThat(f.invoke(false)).isEqualTo(2);
    }
  }

  @Test
  void cancelBetweenDequeueAndStart_neverRuns() throws ExecutionException, InterruptedException {
    try (Cumulus c = Cumulus.create()) {
      AtomicInteger ran = new AtomicInteger();
      Fn<Integer, Integer> f = c.register(FnSpec.of("c", (Integer i) -> ran.incrementAndGet()).build());
      int cancelled = 0;
      for (int i = 0; i < 2_000; i++) {
        CompletableFuture<Integer> call = f.invokeAsync(i);
        if (call.cancel(false)) {
          cancelled++;
        }
      }
      int cancelledCalls = cancelled;
      await().until(() -> f.stats().inFlight() == 0 && f.stats().queued() == 0);
      FunctionStats s = f.stats();
      // A cancel that loses the race with the start still cancels the future (the caller stops
      // waiting) but the call runs: it is counted as run, never as both.
      assertThat(s.cancelled()).isLessThanOrEqualTo(cancelledCalls).isPositive();
      assertThat(s.cancelled() + ran.get()).isEqualTo(2_000);
      assertThat(s.successes()).isEqualTo(ran.get());
      assertThat(s.invocations()).isEqualTo(s.completed());
    }
  }

  @Test
  void releasedReservation_startsTheCallsThatWaitedForIt() throws Exception {
    try (Cumulus c = Cumulus.builder().maxConcurrency(4).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<String, String> echo = c.register(FnSpec.of("echo", (String s) -> {
        TestFunctions.await(gate); // held until the slots were given back: the queue cannot drain
        return s;
      }).build());
      c.register(FnSpec.of("hog", (String s) -> s).maxConcurrency(3).build());
      List<CompletableFuture<String>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        calls.add(echo.invokeAsync("call " + i)); // one runs, three wait for capacity
      }
      await().until(() -> echo.stats().queued() >= 2);
      c.unregister("hog"); // gives back 3 slots
      await().atMost(Duration.ofSeconds(10)).until(() -> echo.stats().peakConcurrency() >= 2);
      gate.countDown();
      for (CompletableFuture<String> call : calls) {
        assertThat(call).succeedsWithin(Duration.ofSeconds(10));
      }
    }
  }

  @Test
  void unreservedFunction_withNoCapacityLeft_isThrottledNotQueuedForever() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(4).build()) {
      Fn<String, String> echo = c.register(FnSpec.of("echo", (String s) -> s).build());
      c.register(FnSpec.of("hog", (String s) -> s).maxConcurrency(4).build());
      assertThatThrownBy(() -> echo.invoke("x"))
          .isInstanceOf(ThrottledException.class)
          .hasMessageContaining("no unreserved concurrency is left");
      c.unregister("hog");
      await().untilAsserted(() -> assertThat(echo.invokeAsync("y")).succeedsWithin(Duration.ofSeconds(5)));
    }
  }

  @Test
  void close_doesNotWaitTheDrainTimeoutForAnInvocationThatAlreadyTimedOut() throws Exception {
    Cumulus c = Cumulus.builder().drainTimeout(Duration.ofMinutes(5)).build();
    AtomicBoolean release = new AtomicBoolean();
    Fn<Integer, Integer> runaway = c.register(FnSpec.of("runaway", (Integer i) -> {
      while (!release.get()) { // ignores interrupts
        TestFunctions.burn(1);
      }
      return i;
    }).timeout(Duration.ofMillis(100)).build());
    assertThat(runaway.invokeAsync(1)).failsWithin(Duration.ofSeconds(20)).withThrowableThat()
        .havingCause().isInstanceOf(FunctionTimeoutException.class);
    CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
    // Far less than the 5-minute drain timeout: the caller of the runaway already has its answer.
    assertThat(closing).succeedsWithin(Duration.ofSeconds(30));
    release.set(true);
    await().until(() -> runaway.stats().inFlight() == 0);
  }

  @Test
  void durationsTooLongForNanoseconds_failWhereTheyEnter() {
    assertThatThrownBy(() -> FnSpec.of("f", (String s) -> s).timeout(Duration.ofDays(365_000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("timeout must be at most 292 years but was");
    assertThatThrownBy(() -> Cumulus.builder().drainTimeout(Duration.ofDays(365_000)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("drainTimeout must be at most");
  }

  @Test
  void unknownNameAfterClose_saysClosed() {
    Cumulus c = Cumulus.create();
    c.close();
    assertThatThrownBy(() -> c.invoke("typo", "x")).isInstanceOf(RuntimeClosedException.class);
    Cumulus.Builder b = Cumulus.builder();
    b.build().close();
    assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already built a runtime");
  }
}
