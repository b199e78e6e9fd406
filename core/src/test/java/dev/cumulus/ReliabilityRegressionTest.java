package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * One test per defect of the reliability issues (10 and 19), named for the defect, each written
 * against behaviour through the public API. Where the defect sits on a path a test cannot reach by
 * calling functions (a throw inside the runtime's own bookkeeping), the fault is injected through
 * the runtime's clock ({@link FaultyClock}), and the test checks that the fault really fired.
 */
class ReliabilityRegressionTest {
  private static final Duration HANG = Duration.ofSeconds(30);

  // -----------------------------------------------------------------------------------------------
  // Memory: what a caller holds must not hold the runtime's insides

  @Test
  void heldFuture_doesNotKeepLaterInvocationsReachable() {
    try (Cumulus c = quickToClose()) {
      Fn<Integer, byte[]> f = c.register(FnSpec.of("kib", (Integer i) -> new byte[1024]).build());
      CompletableFuture<byte[]> held = f.invokeAsync(0); // the caller keeps this one
      held.join();
      List<WeakReference<Object>> later = new ArrayList<>();
      for (int i = 1; i <= 2_000; i++) {
        CompletableFuture<byte[]> call = f.invokeAsync(i);
        later.add(new WeakReference<>(call.join()));
        later.add(new WeakReference<>(call));
      }
      for (int i = 0; i < 10; i++) {
        f.invoke(-i); // later calls move the queue and the workers past the tracked ones
      }
      awaitCollected(later, "results and futures of invocations made after the held one");
      assertThat(held).isCompleted();
      Reference.reachabilityFence(held);
    }
  }

  @Test
  void completedInvocation_isNotKeptReachableByItsIdleFunction() {
    try (Cumulus c = quickToClose()) {
      Fn<Integer, byte[]> f = c.register(FnSpec.of("mib", (Integer i) -> new byte[1 << 20]).build());
      List<WeakReference<Object>> done = new ArrayList<>();
      CompletableFuture<byte[]> call = f.invokeAsync(1);
      done.add(new WeakReference<>(call.join()));
      done.add(new WeakReference<>(call));
      call = null;
      // The function stays registered and idle: neither its queue nor a worker may hold the call.
      awaitCollected(done, "the last invocation of an idle function and its 1 MiB result");
      assertThat(f.stats().successes()).isEqualTo(1);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Calls from inside a function (DESIGN §4)

  @Test
  void recursionUnderLimit_failsAtOnceNamingTheChain() {
    try (Cumulus c = quickToClose()) {
      AtomicReference<Fn<Integer, Long>> self = new AtomicReference<>();
      Fn<Integer, Long> fact = c.register(FnSpec.of("fact",
              (Integer n) -> n <= 1 ? 1L : n * self.get().invoke(n - 1))
          .maxConcurrency(3)
          .timeout(Duration.ofMinutes(10)) // a deadlock would last this long: far past the wait below
          .build());
      self.set(fact);
      assertThat(fact.invoke(3)).as("a chain that fits in the limit runs").isEqualTo(6L);

      CompletableFuture<Long> call = fact.invokeAsync(5); // needs 5 slots at once, has 3
      CumulusException why = recursionFailure(call);
      assertThat(why.functionName()).isEqualTo("fact");
      assertThat(occurrences(why.getMessage(), "fact")).as("the message names the chain: %s", why.getMessage())
          .isGreaterThanOrEqualTo(3);
      await().until(() -> fact.stats().inFlight() == 0 && fact.stats().queued() == 0);
      assertThat(fact.invoke(3)).as("nothing is left holding a slot").isEqualTo(6L);
    }
  }

  @Test
  void mutualRecursionUnderLimits_failsAtOnceNamingTheChain() {
    try (Cumulus c = quickToClose()) {
      AtomicReference<Fn<Integer, Integer>> pong = new AtomicReference<>();
      Fn<Integer, Integer> ping = c.register(FnSpec.of("ping",
              (Integer n) -> n <= 0 ? 0 : pong.get().invoke(n - 1) + 1)
          .maxConcurrency(1).timeout(Duration.ofMinutes(10)).build());
      pong.set(c.register(FnSpec.of("pong", (Integer n) -> n <= 0 ? 0 : ping.invoke(n - 1) + 1)
          .maxConcurrency(1).timeout(Duration.ofMinutes(10)).build()));
      assertThat(ping.invoke(1)).as("ping -> pong fits").isEqualTo(1);

      CumulusException why = recursionFailure(ping.invokeAsync(3)); // ping -> pong -> ping: no slot
      assertThat(why.getMessage()).as("the message names the chain").contains("ping", "pong");
    }
  }

  @Test
  void recursionDeeperThan16_failsNamingTheChain() {
    try (Cumulus c = quickToClose()) {
      AtomicReference<Fn<Integer, Integer>> self = new AtomicReference<>();
      Fn<Integer, Integer> depth = c.register(FnSpec.of("depth",
          (Integer n) -> n <= 1 ? 1 : self.get().invoke(n - 1) + 1).build());
      self.set(depth);
      assertThat(depth.invoke(16)).as("a chain of 16 calls is allowed").isEqualTo(16);

      CumulusException why = recursionFailure(depth.invokeAsync(17));
      assertThat(why.getMessage()).as("names the function and the limit").contains("depth", "16");
      await().until(() -> depth.stats().inFlight() == 0);
    }
  }

  @Test
  void slowDependentStage_doesNotHoldUpTheFunctionsQueue() {
    try (Cumulus c = Cumulus.builder().carrierThreads(2).drainTimeout(Duration.ofSeconds(2)).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        if (i == 1) {
          TestFunctions.await(gate);
        }
        return i;
      }).build());
      CompletableFuture<Integer> first = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      AtomicReference<CompletableFuture<Integer>> second = new AtomicReference<>();
      // A caller's dependent stage: slow CPU work (no blocking), attached before the call completes.
      CompletableFuture<Boolean> stage = first.thenApply(v -> {
        second.set(f.invokeAsync(2));
        long deadline = System.nanoTime() + HANG.toNanos();
        while (!second.get().isDone() && System.nanoTime() - deadline < 0) {
          Thread.onSpinWait();
        }
        return second.get().isDone();
      });
      gate.countDown();
      assertThat(stage).succeedsWithin(HANG.multipliedBy(2))
          .as("the function's next call ran while a caller's stage kept the previous worker busy")
          .isEqualTo(true);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Exception safety of the paths that take work

  @Test
  void workerStartFailingDuringCapacityHandOver_strandsNoQueuedCall() {
    FaultyClock clock = new FaultyClock();
    // The seam: starting b's first worker tells the runtime's listener seam, which throws once (as
    // a thread that cannot be created would), inside Capacity's hand-over of a's slot.
    AtomicBoolean failNextStart = new AtomicBoolean();
    AtomicInteger injected = new AtomicInteger();
    dev.cumulus.internal.RuntimeEvents failing = new dev.cumulus.internal.RuntimeEvents() {
      @Override
      public void firstWorker(dev.cumulus.internal.Registration function) {
        if (function.name().equals("b") && failNextStart.compareAndSet(true, false)) {
          injected.incrementAndGet();
          throw new OutOfMemoryError("injected: unable to create a thread for b's worker");
        }
      }
    };
    try (Driven driven = new Driven(Cumulus.builder().maxConcurrency(1).clock(clock).events(failing).build(),
        clock.time())) {
      Cumulus c = driven.cumulus();
      Map<Integer, CountDownLatch> gates = new ConcurrentHashMap<>();
      Fn<Integer, Integer> a = c.register(FnSpec.of("a", (Integer i) -> {
        TestFunctions.await(gates.computeIfAbsent(i, k -> new CountDownLatch(1)));
        return i;
      }).build());
      Fn<Integer, Integer> b = c.register(FnSpec.of("b", (Integer i) -> i).build());

      CompletableFuture<Integer> a1 = a.invokeAsync(1);
      await().until(() -> a.stats().inFlight() == 1); // a holds the runtime's only slot
      CompletableFuture<Integer> b1 = b.invokeAsync(1); // waits for that slot
      await().until(() -> b.stats().queued() == 1);
      failNextStart.set(true); // starting b's worker, when a hands the slot over, throws
      gates.computeIfAbsent(1, k -> new CountDownLatch(1)).countDown();
      assertThat(a1).succeedsWithin(HANG).isEqualTo(1);
      await().atMost(HANG).until(() -> injected.get() == 1);

      await().atMost(HANG).alias("b's call is settled (run or failed), not stranded").until(b1::isDone);

      // And capacity is still handed over afterwards.
      CompletableFuture<Integer> a2 = a.invokeAsync(2);
      await().until(() -> a.stats().inFlight() == 1);
      CompletableFuture<Integer> b2 = b.invokeAsync(2);
      gates.computeIfAbsent(2, k -> new CountDownLatch(1)).countDown();
      assertThat(a2).succeedsWithin(HANG).isEqualTo(2);
      assertThat(b2).as("a call waiting for capacity after the fault").succeedsWithin(HANG).isEqualTo(2);
      assertCountersAddUp(a, b);
    }
  }

  @Test
  void throwBetweenTakingAnInvocationAndStartingIt_settlesTheInvocation() {
    FaultyClock clock = new FaultyClock();
    try (Driven driven = new Driven(Cumulus.builder().clock(clock).build(), clock.time())) {
      Cumulus c = driven.cumulus();
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i).build());
      // A worker reads the clock right after it took the invocation from the queue.
      clock.failNextNanoTimeOn(FaultyClock.FUNCTION_THREAD);
      CompletableFuture<Integer> call = f.invokeAsync(1);
      await().atMost(HANG).alias("fault fired").until(() -> clock.injected() == 1);
      await().atMost(HANG).alias("the invocation taken when the worker failed is settled").until(call::isDone);
      assertThat(f.invoke(2)).as("the function still serves").isEqualTo(2);
      assertCountersAddUp(f);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Timers and threads

  @Test
  void twoWorkerStartsArmingTheTimeoutWatchAtOnce_leaveNoTimerOnceIdle() throws Exception {
    FaultyClock clock = new FaultyClock();
    try (Driven driven = new Driven(Cumulus.builder().clock(clock).build(), clock.time())) {
      Cumulus c = driven.cumulus();
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).timeout(Duration.ofSeconds(10)).build());
      Fn<Integer, Integer> g = c.register(FnSpec.of("g", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).timeout(Duration.ofSeconds(10)).build());
      // The runtime has one timeout watch; a function's first worker arms it. Caller B starts g's
      // first worker, reads the clock for the watch and is descheduled right there...
      FaultyClock.Pause bRead = clock.pauseNext(FaultyClock.Point.NANO_TIME, FaultyClock.named("caller-b"));
      CompletableFuture<CompletableFuture<Integer>> b = call("caller-b", () -> g.invokeAsync(2));
      bRead.awaitPaused();
      clock.advance(Duration.ofSeconds(1));
      // ... caller A arms a later watch and is descheduled before its timer exists ...
      FaultyClock.Pause aSchedule = clock.pauseNext(FaultyClock.Point.SCHEDULE, FaultyClock.named("caller-a"));
      CompletableFuture<CompletableFuture<Integer>> a = call("caller-a", () -> f.invokeAsync(1));
      aSchedule.awaitPaused();
      // ... and B, with its earlier due time, goes on first.
      bRead.resume();
      CompletableFuture<Integer> second = b.get(HANG.toSeconds(), TimeUnit.SECONDS);
      aSchedule.resume();
      CompletableFuture<Integer> first = a.get(HANG.toSeconds(), TimeUnit.SECONDS);
      gate.countDown();
      assertThat(first).succeedsWithin(HANG).isEqualTo(1);
      assertThat(second).succeedsWithin(HANG).isEqualTo(2);
      // Idle: no timeout watch may stay pending (on the system clock it keeps the timer thread).
      await().atMost(HANG).alias("no timeout timer pending once the functions are idle")
          .until(() -> f.stats().inFlight() == 0 && g.stats().inFlight() == 0
              && clock.pendingPreciseTimers() == 0);
    }
  }

  /** Runs {@code body} on a new platform thread of that name. */
  private static <T> CompletableFuture<T> call(String threadName, java.util.function.Supplier<T> body) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Thread.ofPlatform().name(threadName).daemon().start(() -> {
      try {
        result.complete(body.get());
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    });
    return result;
  }

  @Test
  void close_endsTheRuntimesCarrierThreads_withoutWaitingForTheirKeepAlive() {
    Set<Thread> before = cumulusPlatformThreads();
    Cumulus c = Cumulus.builder().carrierKeepAlive(Duration.ofMinutes(10)).build();
    Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
      TestFunctions.spinCpu(1);
      return i;
    }).build());
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      calls.add(f.invokeAsync(i));
    }
    calls.forEach(CompletableFuture::join);
    Set<Thread> started = new java.util.HashSet<>(cumulusPlatformThreads());
    started.removeAll(before);
    assertThat(started).as("the runtime started threads of its own").isNotEmpty();
    c.close();
    assertThat(started.stream().filter(Thread::isAlive).map(Thread::getName))
        .as("threads the closed runtime started, alive right after close() returned").isEmpty();
  }

  @Test
  void close_rightAfterCallsThatTimedOutAndReturnedOnTheirInterrupt_leavesNoThreadAlive() {
    for (int round = 0; round < 3; round++) {
      Set<Thread> before = cumulusPlatformThreads();
      Cumulus c = Cumulus.create();
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        try {
          Thread.sleep(HANG.toMillis());
        } catch (InterruptedException e) {
          // returns on its timeout's interrupt, a moment after its caller got the timeout
        }
        return s;
      }).timeout(Duration.ofMillis(50)).build());
      List<CompletableFuture<String>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        calls.add(f.invokeAsync("x"));
      }
      assertThatThrownBy(() -> f.invoke("x")).isInstanceOf(FunctionTimeoutException.class);
      calls.forEach(call -> assertThat(call).failsWithin(HANG));
      Set<Thread> started = new java.util.HashSet<>(cumulusPlatformThreads());
      started.removeAll(before);
      c.close();
      assertThat(started.stream().filter(Thread::isAlive).map(Thread::getName))
          .as("round %s: threads the closed runtime started, alive right after close() returned", round).isEmpty();
      assertThat(c.liveCarrierThreads()).isZero();
    }
  }

  @Test
  void callTakenJustBeforeCloseGivesUp_isStillSettledByClose() throws Exception {
    FaultyClock clock = new FaultyClock();
    Cumulus c = Cumulus.builder().clock(clock).drainTimeout(Duration.ofSeconds(1)).build();
    CountDownLatch never = new CountDownLatch(1);
    try {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        TestFunctions.await(never);
        return i;
      }).build());
      // The worker takes the call from the queue, then is descheduled before starting it.
      FaultyClock.Pause taken = clock.pauseNext(FaultyClock.Point.NANO_TIME, FaultyClock.FUNCTION_THREAD);
      CompletableFuture<Integer> call = f.invokeAsync(1);
      taken.awaitPaused();
      CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
      await().until(() -> clock.pendingPreciseTimers() >= 2); // the call's timeout watch and the drain deadline
      clock.advance(Duration.ofSeconds(1)); // the drain deadline passes; close gives up on what is left
      closing.get(HANG.toSeconds(), TimeUnit.SECONDS);
      // The paused worker goes on once close() stopped the clock (FaultyClock.shutdown).
      await().atMost(HANG).alias("every accepted call is settled once close() returned").until(call::isDone);
      assertThatThrownBy(call::get).isInstanceOf(ExecutionException.class)
          .cause().isInstanceOf(RuntimeClosedException.class);
    } finally {
      never.countDown();
      clock.shutdown();
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Registry

  @Test
  void staleHandleAfterReRegistration_saysItIsStale_notThatNoneIsRegistered() {
    try (Cumulus c = quickToClose()) {
      Fn<String, String> old = c.register(FnSpec.of("f", (String s) -> s).build());
      c.unregister("f");
      Fn<String, String> fresh = c.register(FnSpec.of("f", (String s) -> s + "!").build());
      assertThatThrownBy(() -> old.invoke("x"))
          .isInstanceOf(UnknownFunctionException.class)
          .satisfies(e -> assertThat(e.getMessage())
              .doesNotContain("no function named 'f' is registered")
              .contains("unregistered"));
      assertThat(old.invokeAsync("x")).isCompletedExceptionally();
      assertThat(fresh.invoke("x")).isEqualTo("x!");
    }
  }

  @Test
  void throttledByAFullQueue_saysTheQueueIsFull_notThatConcurrencyIsInUse() {
    try (Cumulus c = Cumulus.builder().carrierThreads(2).drainTimeout(Duration.ofSeconds(2)).build()) {
      AtomicBoolean release = new AtomicBoolean();
      Fn<Integer, Integer> f = c.register(FnSpec.of("spin", (Integer i) -> {
        long end = System.nanoTime() + HANG.toNanos();
        while (!release.get() && System.nanoTime() - end < 0) { // CPU-bound: never blocks
          Thread.onSpinWait();
        }
        return i;
      }).queueCapacity(3).build()); // unreserved: up to 1000 of the runtime's 1000 could run
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      ThrottledException throttled = null;
      try {
        for (int i = 0; i < 5_000 && throttled == null; i++) {
          CompletableFuture<Integer> call = f.invokeAsync(i);
          calls.add(call);
          if (call.isCompletedExceptionally() && call.exceptionNow() instanceof ThrottledException t) {
            throttled = t;
          }
        }
        assertThat(throttled).as("throttled within 5 000 calls").isNotNull();
        assertThat(throttled.getMessage())
            .contains("queueCapacity 3")
            .doesNotContain("(1000 of maxConcurrency 1000) in use");
      } finally {
        release.set(true);
        calls.forEach(call -> call.handle((v, e) -> null).join());
      }
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Found by the soak and the stress test (core/KNOWN-ISSUES-FOR-CORE.md)

  @Test
  void cpuBoundFunctionWithQueueCapacityZero_startsOrThrottlesEveryCall() {
    try (Cumulus c = Cumulus.builder().carrierThreads(1).drainTimeout(Duration.ofSeconds(2)).build()) {
      AtomicBoolean release = new AtomicBoolean();
      AtomicInteger entered = new AtomicInteger();
      Fn<Integer, Integer> f = c.register(FnSpec.of("spin", (Integer i) -> {
        entered.incrementAndGet();
        long end = System.nanoTime() + HANG.toNanos();
        while (!release.get() && System.nanoTime() - end < 0) { // CPU-bound: never unmounts
          Thread.onSpinWait();
        }
        return i;
      }).queueCapacity(0).build()); // "zero means no waiting: a call starts at once or is throttled"
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      try {
        calls.add(f.invokeAsync(1));
        await().until(() -> entered.get() == 1);
        for (int i = 2; i <= 5; i++) {
          calls.add(f.invokeAsync(i));
        }
        FunctionStats s = f.stats();
        assertThat(s.queued()).as("calls waiting with queueCapacity 0: %s", s).isZero();
      } finally {
        release.set(true);
        calls.forEach(call -> call.handle((v, e) -> null).join());
      }
    }
  }

  @Test
  void functionUnregisteredWithACallInFlight_usageLineShowsNoWarmInstanceOnceItIsClosed() {
    try (Cumulus c = quickToClose()) {
      CountDownLatch gate = new CountDownLatch(1);
      InstancesTest.Resource[] instance = new InstancesTest.Resource[1];
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("leaving", () -> {
        instance[0] = new InstancesTest.Resource(1);
        return instance[0];
      }, (InstancesTest.Resource r, Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).build());
      CompletableFuture<Integer> call = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      c.unregister("leaving"); // the drain ends when the call returns; then the instance is closed
      gate.countDown();
      assertThat(call).succeedsWithin(HANG).isEqualTo(1);
      await().until(() -> instance[0].closed && f.stats().warmInstances() == 0);
      await().atMost(HANG).untilAsserted(() ->
          assertThat(usageLine(c, "leaving").warmInstances()).as("warm instances on the usage line").isZero());
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Issue 19: the usage line of an unregistered function, and minInstances

  @Test
  void unregisteredFunction_usageLineCatchesUp_whenItsOverdueCallReturns() {
    ManualClock clock = new ManualClock();
    try (Driven driven = new Driven(Cumulus.builder().clock(clock).build(), clock)) {
      Cumulus c = driven.cumulus();
      CountDownLatch release = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("overdue", Object::new, (Object o, Integer ms) -> {
        if (ms > 1) {
          awaitIgnoringInterrupts(release);
        }
        return ms;
      }).timeout(Duration.ofMillis(50)).build());
      assertThat(f.invoke(1)).isEqualTo(1);
      CompletableFuture<Integer> slow = f.invokeAsync(300);
      await().until(() -> f.stats().inFlight() == 1);
      clock.advance(Duration.ofMillis(50));
      assertThat(slow).failsWithin(HANG).withThrowableThat().havingCause().isInstanceOf(FunctionTimeoutException.class);
      c.unregister("overdue");
      release.countDown(); // the overdue call's code returns now
      await().until(() -> f.stats().inFlight() == 0 && f.stats().overdue() == 0 && f.stats().warmInstances() == 0);
      FunctionStats own = f.stats();
      assertThat(own.billedMillis()).isGreaterThanOrEqualTo(2);
      await().atMost(HANG).untilAsserted(() -> {
        FunctionStats line = usageLine(c, "overdue");
        assertThat(line.inFlight()).as("inFlight").isZero();
        assertThat(line.overdue()).as("overdue").isZero();
        assertThat(line.warmInstances()).as("warmInstances").isZero();
        assertThat(line.invocations()).as("invocations").isEqualTo(own.invocations());
        assertThat(line.timeouts()).as("timeouts").isEqualTo(1);
        assertThat(line.billedMillis()).as("billedMillis: the overdue call is billed when it returns")
            .isEqualTo(own.billedMillis());
      });
    }
  }

  @Test
  void minInstances_areKept_afterATimedOutCallDiscardsOne() {
    ManualClock clock = new ManualClock();
    try (Driven driven = new Driven(Cumulus.builder().clock(clock).build(), clock)) {
      Cumulus c = driven.cumulus();
      Instances instances = new Instances(Integer.MAX_VALUE);
      CountDownLatch release = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("warm", instances::create,
          (InstancesTest.Resource r, Integer i) -> {
            if (i == 1) {
              awaitIgnoringInterrupts(release);
            }
            return r.id;
          }).minInstances(2).timeout(Duration.ofMillis(50)).keepAlive(Duration.ofMillis(100)).build());
      assertThat(f.stats().warmInstances()).isEqualTo(2);

      timeOutOneCall(f, clock, release);
      f.invoke(2);
      clock.advance(Duration.ofSeconds(2));
      await().atMost(HANG).untilAsserted(() -> {
        assertThat(f.stats().warmInstances()).as("warm instances").isEqualTo(2);
        assertThat(instances.open()).as("instances created and not closed").isEqualTo(2);
      });
    }
  }

  @Test
  void minInstances_areKept_whenReplacingOneFailsOnce() {
    ManualClock clock = new ManualClock();
    try (Driven driven = new Driven(Cumulus.builder().clock(clock).build(), clock)) {
      Cumulus c = driven.cumulus();
      Instances instances = new Instances(3); // the third init (the first replacement) throws
      CountDownLatch release = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("warm", instances::create,
          (InstancesTest.Resource r, Integer i) -> {
            if (i == 1) {
              awaitIgnoringInterrupts(release);
            }
            return r.id;
          }).minInstances(2).timeout(Duration.ofMillis(50)).keepAlive(Duration.ofMillis(100)).build());

      timeOutOneCall(f, clock, release);
      await().atMost(HANG).untilAsserted(() -> {
        clock.advance(Duration.ofMillis(100)); // time passes, and the function is called now and then
        f.invoke(2);
        assertThat(f.stats().warmInstances()).as("warm instances").isEqualTo(2);
        assertThat(instances.open()).as("instances created and not closed").isEqualTo(2);
      });
    }
  }

  @Test
  void minInstances_areKept_afterUnregisterAndRegisterAgain() {
    ManualClock clock = new ManualClock();
    try (Driven driven = new Driven(Cumulus.builder().clock(clock).build(), clock)) {
      Cumulus c = driven.cumulus();
      Instances instances = new Instances(Integer.MAX_VALUE);
      CountDownLatch release = new CountDownLatch(1);
      Fn<Integer, Integer> first = c.register(spec(instances, release));
      timeOutOneCall(first, clock, release);
      c.unregister("again");
      Fn<Integer, Integer> second = c.register(spec(instances, release));
      await().atMost(HANG).untilAsserted(() -> {
        assertThat(second.stats().warmInstances()).as("warm instances of the new registration").isEqualTo(2);
        assertThat(instances.open()).as("instances created and not closed").isEqualTo(2);
        assertThat(usageLine(c, "again").warmInstances()).as("warm instances on the usage line").isEqualTo(2);
      });
    }
  }

  private static FnSpec<Integer, Integer> spec(Instances instances, CountDownLatch release) {
    return FnSpec.withInstance("again", instances::create, (InstancesTest.Resource r, Integer i) -> {
      if (i == 1) {
        awaitIgnoringInterrupts(release);
      }
      return r.id;
    }).minInstances(2).timeout(Duration.ofMillis(50)).keepAlive(Duration.ofMillis(100)).build();
  }

  /** Times out call {@code 1} (whose code waits for {@code release}), then lets its code return. */
  private static void timeOutOneCall(Fn<Integer, Integer> f, ManualClock clock, CountDownLatch release) {
    CompletableFuture<Integer> slow = f.invokeAsync(1);
    await().until(() -> f.stats().inFlight() == 1);
    clock.advance(Duration.ofMillis(50));
    assertThat(slow).failsWithin(HANG).withThrowableThat().havingCause().isInstanceOf(FunctionTimeoutException.class);
    release.countDown();
    await().until(() -> f.stats().overdue() == 0 && f.stats().inFlight() == 0);
  }

  /** Creates instances, counts them, and fails the creation numbered {@code failing} (1-based). */
  private static final class Instances {
    private final AtomicInteger created = new AtomicInteger();
    private final List<InstancesTest.Resource> all = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final int failing;

    Instances(int failing) {
      this.failing = failing;
    }

    InstancesTest.Resource create() {
      int n = created.incrementAndGet();
      if (n == failing) {
        throw new IllegalStateException("init number " + n + " fails (injected by the test)");
      }
      InstancesTest.Resource r = new InstancesTest.Resource(n);
      all.add(r);
      return r;
    }

    long open() {
      return all.stream().filter(r -> !r.closed).count();
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Unknown names (an attack vector once names arrive over HTTP)

  @Test
  void unknownNameOfAnyLength_costsLittle_andTheMessageStaysShort() {
    try (Cumulus c = quickToClose()) {
      for (int i = 0; i < 5; i++) {
        c.register(FnSpec.of(("function-" + i + "-").repeat(11) + "x", (String s) -> s).build()); // 122 chars
      }
      c.register(FnSpec.of("word-count", (String s) -> s).build());
      String wanted = "w".repeat(20_000);
      com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
      assertThatThrownBy(() -> c.invoke(wanted, "x")).isInstanceOf(UnknownFunctionException.class); // warm-up
      long before = threads.getCurrentThreadAllocatedBytes();
      Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> c.invoke(wanted, "x"));
      long allocated = threads.getCurrentThreadAllocatedBytes() - before;
      assertThat(thrown).isInstanceOf(UnknownFunctionException.class);
      assertThat(allocated).as("bytes allocated to look for near names of a 20 000-character name")
          .isLessThan(256 * 1024);
      assertThat(thrown.getMessage()).as("message length").hasSizeLessThan(400);
      assertThat(((UnknownFunctionException) thrown).functionName()).isEqualTo(wanted);
      // Near names are still found for real typos.
      assertThatThrownBy(() -> c.invoke("Wrod-Cuont", "x")).isInstanceOf(UnknownFunctionException.class)
          .hasMessageContaining("did you mean 'word-count'?");
      assertThatThrownBy(() -> c.invoke("word-count-and-then-some-" + "x".repeat(200), "x"))
          .isInstanceOf(UnknownFunctionException.class)
          .hasMessageContaining("(225 characters) is registered; did you mean 'word-count'?");
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Helpers

  /** A runtime whose close() gives up on leftover work after 2 s (a failing test leaves some). */
  static Cumulus quickToClose() {
    return Cumulus.builder().drainTimeout(Duration.ofSeconds(2)).build();
  }

  /**
   * Closes a runtime whose clock the test drives: its close() waits for the drain deadline, a timer
   * on that clock, so the clock is moved on until close() returns (bounded, so that a runtime that
   * never closes fails the test instead of hanging it).
   */
  record Driven(Cumulus cumulus, ManualClock clock) implements AutoCloseable {
    @Override
    public void close() {
      CompletableFuture<Void> closing = new CompletableFuture<>();
      Thread.ofPlatform().daemon().name("test-closer").start(() -> {
        try {
          cumulus.close();
          closing.complete(null);
        } catch (Throwable e) {
          closing.completeExceptionally(e);
        }
      });
      long end = System.nanoTime() + HANG.toNanos();
      while (!closing.isDone() && System.nanoTime() - end < 0) {
        clock.advance(Duration.ofSeconds(30));
        try {
          closing.get(50, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          // not yet: advance again
        } catch (InterruptedException | ExecutionException e) {
          throw new AssertionError("close() failed", e);
        }
      }
      assertThat(closing).as("close() returned").isDone();
    }
  }

  /**
   * The failure of a call refused by the recursion guard: it must come at once (well before the
   * function's 10-minute timeout; waiting {@link #HANG} tells a deadlock from it) and be a
   * {@link CumulusException} of its own, found in the cause chain (an outer invocation that called
   * the refused one fails with it as the cause), not a timeout.
   */
  private static CumulusException recursionFailure(CompletableFuture<?> call) {
    await().atMost(HANG).alias("the recursive call ends instead of waiting for a slot that cannot free")
        .until(call::isDone);
    assertThat(call).as("the recursive call fails").isCompletedExceptionally();
    Throwable t = call.exceptionNow();
    List<String> chain = new ArrayList<>();
    for (Throwable e = t; e != null; e = e.getCause()) {
      chain.add(e.getClass().getSimpleName() + ": " + e.getMessage());
      if (e instanceof CumulusException ce && !(ce instanceof FunctionFailedException)) {
        assertThat(ce).as("refused at once, not timed out").isNotInstanceOf(FunctionTimeoutException.class);
        return ce;
      }
    }
    throw new AssertionError("no CumulusException of the recursion guard in " + chain);
  }

  private static int occurrences(String text, String word) {
    int n = 0;
    for (int i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) {
      n++;
    }
    return n;
  }

  /** Runs GCs until every reference is cleared; fails naming how many stayed reachable. */
  static void awaitCollected(List<? extends Reference<?>> refs, String what) {
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
        .untilAsserted(() -> {
          System.gc();
          long reachable = refs.stream().filter(r -> r.get() != null).count();
          assertThat(reachable).as("%s still reachable, of %s", what, refs.size()).isZero();
        });
  }

  private static void awaitIgnoringInterrupts(CountDownLatch latch) {
    boolean interrupted = false;
    while (true) {
      try {
        if (latch.await(HANG.toSeconds(), TimeUnit.SECONDS)) {
          break;
        }
        throw new IllegalStateException("not released within " + HANG);
      } catch (InterruptedException e) {
        interrupted = true; // ignored on purpose: this handler outlives its timeout
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  static FunctionStats usageLine(Cumulus c, String name) {
    return c.usage().functions().stream().filter(s -> s.name().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no usage line for '" + name + "'"));
  }

  @SafeVarargs
  private static void assertCountersAddUp(Fn<Integer, Integer>... fns) {
    for (Fn<Integer, Integer> f : fns) {
      await().atMost(HANG).untilAsserted(() -> {
        FunctionStats s = f.stats();
        assertThat(s.inFlight()).as("%s inFlight", f.name()).isZero();
        assertThat(s.queued()).as("%s queued", f.name()).isZero();
        assertThat(s.invocations()).as("%s: invocations = completed (%s)", f.name(), s).isEqualTo(s.completed());
      });
    }
  }

  static Set<Thread> cumulusPlatformThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("cumulus-"))
        .collect(Collectors.toSet());
  }

  static List<String> newThreads(Set<Thread> before) {
    return cumulusPlatformThreads().stream().filter(t -> !before.contains(t)).map(Thread::getName).sorted().toList();
  }
}
