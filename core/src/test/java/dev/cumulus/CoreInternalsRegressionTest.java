package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.cumulus.internal.Clock;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each test would have caught a defect of the runtime's internals (issues 10 and 19), named for it.
 * Durations in these tests are limits on a hang, never assertions on speed.
 */
class CoreInternalsRegressionTest {

  // ---------------------------------------------------------------------------------------------
  // Issue 10

  @Test
  void queueLeak_aCallerHoldingOneEarlyFuture_keepsNoLaterInvocationReachable() {
    try (Cumulus c = Cumulus.create()) {
      Fn<Object, Integer> f = c.register(FnSpec.of("kept", (Object input) -> 1).build());
      CompletableFuture<Integer> early = f.invokeAsync(new Object());
      early.join();
      List<WeakReference<Object>> later = new ArrayList<>();
      for (int round = 0; round < 20; round++) {
        List<CompletableFuture<Integer>> batch = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
          Object input = new byte[256];
          later.add(new WeakReference<>(input));
          batch.add(f.invokeAsync(input));
        }
        batch.forEach(CompletableFuture::join);
      }
      // At most the last one stays, as the queue's placeholder head; none through `early`.
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        System.gc();
        return later.stream().filter(r -> r.get() != null).count() <= 1;
      });
      assertThat(early).isCompletedWithValue(1);
    }
  }

  @Test
  @Timeout(60)
  void recursionDeadlock_aSynchronousCallThatCanOnlyWaitForItsOwnChain_failsAtOnce_namingTheChain() {
    try (Cumulus c = Cumulus.create()) {
      AtomicReference<Fn<Integer, Long>> self = new AtomicReference<>();
      Fn<Integer, Long> fact = c.register(FnSpec.of("fact", (Integer n) -> n <= 1 ? 1L : n * self.get().invoke(n - 1))
          .maxConcurrency(3).timeout(Duration.ofMinutes(10)).build());
      self.set(fact);
      assertThat(fact.invoke(3)).isEqualTo(6L); // three deep: every call has a slot
      assertThatThrownBy(() -> fact.invoke(5))
          .isInstanceOf(FunctionFailedException.class)
          .rootCause()
          .isExactlyInstanceOf(CumulusException.class)
          .hasMessage("calling 'fact' from inside 'fact' would wait forever: all 3 of its concurrency"
              + " slots (maxConcurrency 3) are held by calls of this chain, each waiting for the next:"
              + " fact → fact → fact → fact");
      await().until(() -> fact.stats().inFlight() == 0);
      FunctionStats s = fact.stats();
      assertThat(s.invocations()).isEqualTo(s.completed()).isEqualTo(6); // the refused call was not admitted
    }
  }

  @Test
  @Timeout(60)
  void recursionDepthGuard_failsAChainDeeperThanMaxCallDepth_sixteenByDefault_andConfigurable() {
    for (int depth : new int[] {16, 4}) {
      Cumulus.Builder builder = Cumulus.builder();
      if (depth != 16) {
        builder.maxCallDepth(depth);
      }
      try (Cumulus c = builder.build()) {
        AtomicReference<Fn<Integer, Integer>> self = new AtomicReference<>();
        Fn<Integer, Integer> down = c.register(FnSpec.of("down", (Integer n) -> n == 0 ? 0 : 1 + self.get().invoke(n - 1))
            .timeout(Duration.ofMinutes(10)).build());
        self.set(down);
        assertThat(down.invoke(depth - 1)).isEqualTo(depth - 1); // `depth` calls deep
        assertThatThrownBy(() -> down.invoke(depth))
            .rootCause()
            .isExactlyInstanceOf(CumulusException.class)
            .hasMessageStartingWith("call chain too deep: calling 'down' makes it " + (depth + 1)
                + " calls deep (maxCallDepth " + depth + "): down → down")
            .hasMessageEndingWith("a chain this deep is taken for runaway recursion");
      }
    }
  }

  @Test
  void throwBetweenPollAndHandler_failsTheInvocation_neverStrandsIt() {
    AtomicBoolean failOnce = new AtomicBoolean();
    java.util.concurrent.ScheduledExecutorService timers = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
        r -> Thread.ofPlatform().daemon().name("test-timer").unstarted(r));
    Clock failing = new Clock() {
      @Override
      public long nanoTime() {
        if (Thread.currentThread().isVirtual() && Thread.currentThread().getName().startsWith("cumulus-fn-")
            && failOnce.compareAndSet(true, false)) {
          throw new IllegalStateException("injected: the runtime's clock failed on a worker");
        }
        return System.nanoTime();
      }

      @Override
      public Timer schedule(Runnable task, long delayNanos) {
        java.util.concurrent.Future<?> f = timers.schedule(task, delayNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
      }

      @Override
      public Timer scheduleIdle(Runnable task, long delayNanos) {
        return schedule(task, delayNanos);
      }

      @Override
      public void shutdown() {
        timers.shutdownNow();
      }
    };
    try (Cumulus c = Cumulus.builder().clock(failing).drainTimeout(Duration.ofSeconds(5)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("fragile", (Integer i) -> i).build());
      failOnce.set(true);
      CompletableFuture<Integer> first = f.invokeAsync(1);
      assertThat(first).failsWithin(Duration.ofSeconds(30)).withThrowableThat().havingCause()
          .isExactlyInstanceOf(CumulusException.class)
          .withMessageStartingWith("the Cumulus runtime failed while running an invocation of function 'fragile'");
      assertThat(f.invoke(2)).isEqualTo(2);
      await().until(() -> f.stats().inFlight() == 0);
      FunctionStats s = f.stats();
      assertThat(s.failures()).isEqualTo(1);
      assertThat(s.successes()).isEqualTo(1);
      assertThat(s.invocations()).isEqualTo(s.completed());
    }
  }

  @Test
  void closeNeverShutTheCarrierPool_nowItsThreadsEndAtClose_notAfterTheirKeepAlive() {
    Cumulus c = Cumulus.builder().carrierKeepAlive(Duration.ofHours(1)).build();
    Fn<Integer, Integer> f = c.register(FnSpec.of("brief", (Integer i) -> i).build());
    for (int i = 0; i < 100; i++) {
      f.invoke(i);
    }
    assertThat(c.engine().liveCarriers()).isPositive();
    c.close();
    await().atMost(Duration.ofSeconds(20)).until(() -> c.engine().liveCarriers() == 0);
  }

  @Test
  void unregisterRacingUsage_neverLosesTheUsageLine() throws Exception {
    try (Cumulus c = Cumulus.create()) {
      AtomicReference<String> current = new AtomicReference<>();
      AtomicReference<String> missing = new AtomicReference<>();
      AtomicBoolean stop = new AtomicBoolean();
      Runnable reader = () -> {
        while (!stop.get()) {
          String name = current.get(); // registered (and called) before it is published here
          if (name != null && c.usage().functions().stream().noneMatch(s -> s.name().equals(name))) {
            missing.compareAndSet(null, name);
          }
        }
      };
      Thread r1 = Thread.ofPlatform().start(reader);
      Thread r2 = Thread.ofPlatform().start(reader);
      try {
        for (int round = 0; round < 3_000 && missing.get() == null; round++) {
          String name = "gone-" + round;
          c.register(FnSpec.of(name, (Integer i) -> i).build()).invoke(1);
          current.set(name);
          c.unregister(name);
        }
      } finally {
        stop.set(true);
        r1.join();
        r2.join();
      }
      assertThat(missing.get()).as("a function missing from usage() while it was unregistered").isNull();
    }
  }

  @Test
  @Timeout(60)
  void dependentStageOnTheWorker_doesNotHoldUpTheFunctionsQueue() {
    try (Cumulus c = Cumulus.builder().carrierThreads(2).build()) {
      CountDownLatch attached = new CountDownLatch(1);
      AtomicBoolean secondDone = new AtomicBoolean();
      Fn<Integer, Integer> f = c.register(FnSpec.of("staged", (Integer i) -> {
        if (i == 1) {
          TestFunctions.await(attached);
        }
        return i;
      }).build());
      // The stage runs on the worker that completes call 1, busy on the CPU (it never blocks)
      // until call 2, queued behind it, has run.
      CompletableFuture<Integer> staged = f.invokeAsync(1).thenApply(i -> {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!secondDone.get() && System.nanoTime() < end) {
          Thread.onSpinWait();
        }
        return secondDone.get() ? i : -1;
      });
      attached.countDown();
      await().until(() -> f.stats().successes() == 1);
      assertThat(f.invoke(2)).isEqualTo(2);
      secondDone.set(true);
      assertThat(staged.join()).isEqualTo(1);
    }
  }

  @Test
  void staleHandle_afterUnregisterAndRegisterAgain_saysSo_notThatNoFunctionIsRegistered() {
    try (Cumulus c = Cumulus.create()) {
      Fn<Integer, Integer> old = c.register(FnSpec.of("f", (Integer i) -> i).build());
      c.unregister("f");
      Fn<Integer, Integer> current = c.register(FnSpec.of("f", (Integer i) -> i * 10).build());
      assertThatThrownBy(() -> old.invoke(1))
          .isInstanceOf(UnknownFunctionException.class)
          .hasMessage("function 'f' was unregistered: this Fn belongs to that registration, which takes"
              + " no more calls; if 'f' was registered again, get it with cumulus.function(\"f\")");
      assertThat(current.invoke(1)).isEqualTo(10);
      assertThat(c.function("f").spec()).isSameAs(current.spec());
    }
  }

  @Test
  void throttleMessage_saysTheQueueIsFull_andNamesAConcurrencyLimitOnlyWhenThatIsReachedToo() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(2).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> reserved = c.register(FnSpec.of("reserved", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).maxConcurrency(1).queueCapacity(1).build());
      Fn<Integer, Integer> shared = c.register(FnSpec.of("shared", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).queueCapacity(1).build());
      List<CompletableFuture<Integer>> accepted = new ArrayList<>();
      accepted.add(reserved.invokeAsync(1));
      accepted.add(shared.invokeAsync(1)); // takes the runtime's last slot
      await().until(() -> reserved.stats().inFlight() == 1 && shared.stats().inFlight() == 1);
      accepted.add(reserved.invokeAsync(2));
      accepted.add(shared.invokeAsync(2));
      assertThatThrownBy(() -> reserved.invoke(3)).isInstanceOf(ThrottledException.class)
          .hasMessage("function 'reserved' is throttled: 1 running (maxConcurrency 1) and 1 waiting"
              + " (queueCapacity 1)");
      assertThatThrownBy(() -> shared.invoke(3)).isInstanceOf(ThrottledException.class)
          .hasMessage("function 'shared' is throttled: 1 running and 1 waiting (queueCapacity 1);"
              + " the runtime's unreserved concurrency (1 of maxConcurrency 2) is all in use");
      gate.countDown();
      accepted.forEach(CompletableFuture::join);
    }
  }

  @Test
  void throttleMessage_whenACpuBoundFunctionTakesEveryCarrier_saysSo() {
    try (Cumulus c = Cumulus.builder().carrierThreads(1).build()) {
      AtomicBoolean release = new AtomicBoolean();
      Fn<Integer, Integer> spin = c.register(FnSpec.of("spin", (Integer i) -> {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!release.get() && System.nanoTime() < end) {
          Thread.onSpinWait(); // CPU-bound: it never frees its carrier
        }
        return i;
      }).queueCapacity(1).build());
      List<CompletableFuture<Integer>> accepted = new ArrayList<>();
      accepted.add(spin.invokeAsync(0));
      await().until(() -> spin.stats().inFlight() == 1);
      accepted.add(spin.invokeAsync(1));
      assertThatThrownBy(() -> spin.invoke(2)).isInstanceOf(ThrottledException.class)
          .hasMessage("function 'spin' is throttled: 1 running (on every carrier: 1) and 1 waiting"
              + " (queueCapacity 1)");
      release.set(true);
      accepted.forEach(CompletableFuture::join);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Issue 19

  @Test
  void usageLineOfAnUnregisteredFunction_doesNotFreezeWhenItsDrainEnds_theOverdueCallIsBilled() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      CountDownLatch release = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("overdue", Object::new, (Object h, Integer ms) -> {
        if (ms > 1) {
          TestFunctions.awaitIgnoringInterrupts(release);
        }
        return ms;
      }).timeout(Duration.ofMillis(50)).build());
      assertThat(f.invoke(1)).isEqualTo(1);
      CompletableFuture<Integer> slow = f.invokeAsync(300);
      await().until(() -> f.stats().inFlight() == 1);
      clock.advance(Duration.ofMillis(60));
      assertThat(slow).failsWithin(Duration.ofSeconds(30)).withThrowableThat()
          .havingCause().isInstanceOf(FunctionTimeoutException.class);
      c.unregister("overdue");
      release.countDown(); // the overdue code returns after the drain of the unregistered function
      await().until(() -> f.stats().inFlight() == 0 && f.stats().warmInstances() == 0);
      await().untilAsserted(() -> {
        FunctionStats line = c.usage().functions().get(0);
        assertThat(line.name()).isEqualTo("overdue");
        assertThat(line.inFlight()).isZero();
        assertThat(line.overdue()).isZero();
        assertThat(line.warmInstances()).isZero();
        assertThat(line.successes()).isEqualTo(1);
        assertThat(line.timeouts()).isEqualTo(1);
        assertThat(line.billedMillis()).isEqualTo(f.stats().billedMillis()).isGreaterThanOrEqualTo(2);
        assertThat(line.wallTime()).isEqualTo(f.stats().wallTime());
      });
    }
  }

  @Test
  void minInstancesKept_afterATimedOutCallDiscardsItsInstance() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      AtomicInteger inits = new AtomicInteger();
      CountDownLatch release = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("kept-warm", inits::incrementAndGet,
          (Integer id, Integer ms) -> {
            if (ms > 1) {
              TestFunctions.awaitIgnoringInterrupts(release);
            }
            return id;
          }).minInstances(2).timeout(Duration.ofMillis(50)).keepAlive(Duration.ofMillis(100)).build());
      assertThat(f.stats().warmInstances()).isEqualTo(2);
      CompletableFuture<Integer> slow = f.invokeAsync(200);
      await().until(() -> f.stats().inFlight() == 1);
      clock.advance(Duration.ofMillis(60));
      assertThat(slow).failsWithin(Duration.ofSeconds(30));
      release.countDown(); // its code returns; its instance is discarded
      f.invoke(1);
      await().until(() -> f.stats().inFlight() == 0);
      clock.advance(Duration.ofSeconds(2));
      await().until(() -> f.stats().warmInstances() == 2);
      assertThat(inits).hasValue(3);
    }
  }

  @Test
  void minInstancesKept_afterAFailingInit_byRetryingWithAPause() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      AtomicInteger inits = new AtomicInteger();
      AtomicInteger attempts = new AtomicInteger();
      AtomicBoolean failInit = new AtomicBoolean();
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("flaky-init", () -> {
        attempts.incrementAndGet();
        if (failInit.get()) {
          throw new IllegalStateException("injected: init failed");
        }
        return inits.incrementAndGet();
      }, (Integer id, Integer x) -> {
        if (x == 0) {
          throw new AssertionError("injected: the instance is broken"); // an Error: it is discarded
        }
        return id;
      }).minInstances(1).build());
      failInit.set(true);
      assertThatThrownBy(() -> f.invoke(0)).isInstanceOf(FunctionFailedException.class)
          .hasCauseInstanceOf(AssertionError.class);
      await().until(() -> attempts.get() == 2); // the broken instance went; its replacement's init failed
      assertThat(f.stats().warmInstances()).isZero();
      clock.advance(Duration.ofSeconds(1));
      await().until(() -> attempts.get() == 3); // retried after a pause, failed again
      failInit.set(false);
      clock.advance(Duration.ofSeconds(2)); // the pause doubled
      await().until(() -> f.stats().warmInstances() == 1);
      assertThat(attempts).hasValue(4);
      assertThat(inits).hasValue(2);
    }
  }

  @Test
  void minInstancesKept_afterUnregisterAndRegisterAgain_whileTheOldRegistrationStillRuns() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      List<InstancesTest.Resource> made = new java.util.concurrent.CopyOnWriteArrayList<>();
      AtomicInteger ids = new AtomicInteger();
      CountDownLatch release = new CountDownLatch(1);
      FnSpec<Integer, Integer> spec = FnSpec.withInstance("again", () -> {
        InstancesTest.Resource r = new InstancesTest.Resource(ids.incrementAndGet());
        made.add(r);
        return r;
      }, (InstancesTest.Resource r, Integer x) -> {
        if (x > 1) {
          TestFunctions.awaitIgnoringInterrupts(release);
        }
        return r.id;
      }).minInstances(2).timeout(Duration.ofMillis(50)).build();
      Fn<Integer, Integer> first = c.register(spec);
      CompletableFuture<Integer> overdue = first.invokeAsync(2);
      await().until(() -> first.stats().inFlight() == 1);
      clock.advance(Duration.ofMillis(60));
      assertThat(overdue).failsWithin(Duration.ofSeconds(30));
      c.unregister("again"); // its overdue call still runs
      Fn<Integer, Integer> second = c.register(spec);
      assertThat(second.stats().warmInstances()).isEqualTo(2);
      release.countDown();
      await().until(() -> first.stats().warmInstances() == 0 && first.stats().inFlight() == 0);
      assertThat(made.subList(0, 2)).allSatisfy(r -> assertThat(r.closed).isTrue());
      clock.advance(Duration.ofSeconds(2));
      assertThat(second.stats().warmInstances()).isEqualTo(2);
      assertThat(made.subList(2, made.size())).hasSize(2).noneSatisfy(r -> assertThat(r.closed).isTrue());
      assertThat(second.invoke(1)).isIn(3, 4);
      assertThat(c.usage().functions()).singleElement()
          .satisfies(line -> assertThat(line.warmInstances()).isEqualTo(2));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Issue 11: a yield is not blocking

  @Test
  void yieldingFunction_isNotTakenForBlocking_andGetsNoWorkerPerCall() {
    try (Cumulus c = Cumulus.builder().carrierThreads(2).build()) {
      assumeTrue(c.meteringMode() == MeteringMode.EXACT, "needs Cumulus carriers (--add-opens)");
      Fn<Integer, Integer> f = c.register(FnSpec.of("yields", (Integer i) -> {
        for (int k = 0; k < 20; k++) {
          Thread.yield(); // runnable at once: its carrier is not free for another worker
        }
        return i;
      }).maxConcurrency(256).queueCapacity(10_000).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 5_000; i++) {
        calls.add(f.invokeAsync(i));
      }
      calls.forEach(CompletableFuture::join);
      // Runnable workers never outnumber the carriers by much; before, every yield counted as
      // blocked and the function grew towards one worker per queued call.
      assertThat(f.stats().peakConcurrency()).isLessThanOrEqualTo(8);
    }
  }
}
