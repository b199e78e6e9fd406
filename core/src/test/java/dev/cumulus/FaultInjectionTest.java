package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Faults from the outside world, injected through the public API: an init that throws or hangs, a
 * handler that throws {@link OutOfMemoryError} or overflows its stack, an instance whose
 * {@code close()} throws, a caller's dependent stage that throws, a caller interrupted while it waits.
 * After each the runtime keeps serving, counts what happened, and tells the caller.
 *
 * <p>Observers too: a Micrometer {@code MeterRegistry} that throws and a lifecycle listener that
 * throws never break a call, an event, a registration or {@code close()}.
 */
class FaultInjectionTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void initThatThrows_failsOnlyTheCallsThatNeededIt_andTheRuntimeGoesOn() {
    try (Cumulus c = ReliabilityRegressionTest.quickToClose()) {
      AtomicInteger attempts = new AtomicInteger();
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("flaky-init", () -> {
        if (attempts.incrementAndGet() % 2 == 1) {
          throw new IllegalStateException("no connection (injected)");
        }
        return new Object();
      }, (Object o, Integer i) -> {
        TestFunctions.sleep(1); // blocks: concurrent calls need more instances
        return i;
      }).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        calls.add(f.invokeAsync(i));
      }
      int failed = 0;
      for (CompletableFuture<Integer> call : calls) {
        call.handle((v, e) -> null).orTimeout(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join();
        if (call.isCompletedExceptionally()) {
          failed++;
          assertThat(call.exceptionNow()).isInstanceOf(FunctionFailedException.class)
              .hasMessageContaining("init of a new instance of function 'flaky-init' failed")
              .hasRootCauseMessage("no connection (injected)");
        }
      }
      assertThat(failed).isPositive();
      await().until(() -> f.stats().inFlight() == 0 && f.stats().queued() == 0);
      FunctionStats s = f.stats();
      assertThat(s.failures()).isEqualTo(failed);
      assertThat(s.successes()).isEqualTo(200 - failed);
      assertThat(s.invocations()).isEqualTo(s.completed());
      assertThat(s.warmInstances()).as("only instances whose init succeeded").isEqualTo(s.coldStarts());
      assertThat(f.invoke(7)).isEqualTo(7);
    }
  }

  @Test
  void brokenMeterRegistries_andAListenerThatAlwaysThrows_neverBreakACall() {
    // One registry refuses every meter; another takes them but cannot remove them (unregister and
    // close remove a function's meters) and is scraped meanwhile; the listener throws on everything.
    MeterRegistry refusing = new RefusingMeterRegistry();
    AtomicInteger removals = new AtomicInteger();
    MeterRegistry sticky = new SimpleMeterRegistry() {
      @Override
      public Meter remove(Meter meter) {
        removals.incrementAndGet();
        throw new IllegalStateException("cannot remove " + meter.getId().getName() + " (injected)");
      }
    };
    Letters letters = new Letters();
    AtomicInteger heard = new AtomicInteger();
    CountDownLatch gate = new CountDownLatch(1);
    Cumulus c = Cumulus.builder().meterRegistry(refusing).build();
    try (CumulusEvent.Subscription sub = c.subscribe(e -> {
      heard.incrementAndGet();
      throw new IllegalStateException("listener bug on " + e + " (injected)");
    })) {
      CumulusMetrics.of(c).bindTo(sticky);
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        if (i < 0) {
          throw new IllegalArgumentException("negative (injected)");
        }
        if (i == 0) {
          TestFunctions.await(gate);
        }
        return i * 2;
      }).maxConcurrency(1).queueCapacity(0).retry(RetryPolicy.none()).deadLetter(letters).build());

      CompletableFuture<Integer> held = f.invokeAsync(0);
      await().atMost(WAIT).until(() -> f.stats().inFlight() == 1);
      assertThatThrownBy(() -> f.invoke(1)).isInstanceOf(ThrottledException.class); // a Throttled event
      gate.countDown();
      assertThat(held.join()).isZero();
      assertThat(f.invoke(21)).isEqualTo(42);
      assertThatThrownBy(() -> f.invoke(-1)).isInstanceOf(FunctionFailedException.class);
      f.emit(-2); // fails, and is not retried: a dead letter and a DeadLettered event
      await().atMost(WAIT).until(() -> f.stats().eventsDeadLettered() == 1);
      sticky.getMeters().forEach(m -> m.measure().forEach(x -> x.getValue())); // a scrape
      assertThat(c.unregister("f")).isTrue();
      Fn<Integer, Integer> again = c.register(FnSpec.of("f", (Integer i) -> i + 1).build());
      assertThat(again.invoke(1)).isEqualTo(2);

      FunctionStats s = f.stats();
      assertThat(s.successes()).isEqualTo(2);
      assertThat(s.failures()).isEqualTo(2);
      assertThat(s.throttles()).isEqualTo(1);
      assertThat(letters.only().reason()).isEqualTo(DeadLetter.Reason.RETRIES_EXHAUSTED); // none: no retry
      await().atMost(WAIT).until(() -> sub.failures() >= 5);
      assertThat(sub.failures()).as("the listener heard and threw on every event").isEqualTo(heard.get());
      assertThat(sticky.getMeters()).isNotEmpty();
    } finally {
      c.close();
    }
    assertThat(removals.get()).as("close tried to remove the meters, and went on").isPositive();
  }

  @Test
  void initThatHangs_isCutByTheTimeout_andTheNextCallGetsAFreshInstance() {
    ManualClock clock = new ManualClock();
    try (ReliabilityRegressionTest.Driven d = new ReliabilityRegressionTest.Driven(
        Cumulus.builder().clock(clock).build(), clock)) {
      Cumulus c = d.cumulus();
      AtomicBoolean hang = new AtomicBoolean(true);
      AtomicBoolean interrupted = new AtomicBoolean();
      CountDownLatch never = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("hanging-init", () -> {
        if (hang.getAndSet(false)) {
          try {
            never.await(); // a connection that never answers
          } catch (InterruptedException e) {
            interrupted.set(true);
            throw new IllegalStateException("init interrupted", e);
          }
        }
        return new Object();
      }, (Object o, Integer i) -> i).timeout(Duration.ofSeconds(5)).build());
      CompletableFuture<Integer> call = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      clock.advance(Duration.ofSeconds(5)); // the timeout counts the init
      assertThat(call).failsWithin(WAIT).withThrowableThat().havingCause().isInstanceOf(FunctionTimeoutException.class);
      await().untilTrue(interrupted);
      await().until(() -> f.stats().inFlight() == 0 && f.stats().overdue() == 0);
      assertThat(f.stats().warmInstances()).as("no instance from the interrupted init").isZero();
      assertThat(f.invoke(2)).isEqualTo(2);
      FunctionStats s = f.stats();
      assertThat(s.timeouts()).isEqualTo(1);
      assertThat(s.successes()).isEqualTo(1);
      assertThat(s.invocations()).isEqualTo(s.completed());
    }
  }

  @Test
  void initThatIgnoresTheTimeout_yieldsAnInstanceThatIsClosedNotUsed() {
    ManualClock clock = new ManualClock();
    try (ReliabilityRegressionTest.Driven d = new ReliabilityRegressionTest.Driven(
        Cumulus.builder().clock(clock).build(), clock)) {
      Cumulus c = d.cumulus();
      CountDownLatch release = new CountDownLatch(1);
      List<InstancesTest.Resource> created = new CopyOnWriteArrayList<>();
      AtomicInteger ids = new AtomicInteger();
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("slow-init", () -> {
        if (ids.get() == 0) {
          while (release.getCount() > 0) { // ignores the interrupt of its timeout
            try {
              release.await();
            } catch (InterruptedException e) {
              // keeps initialising
            }
          }
        }
        InstancesTest.Resource r = new InstancesTest.Resource(ids.incrementAndGet());
        created.add(r);
        return r;
      }, (InstancesTest.Resource r, Integer i) -> r.id).timeout(Duration.ofSeconds(5)).build());
      CompletableFuture<Integer> call = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      clock.advance(Duration.ofSeconds(5));
      assertThat(call).failsWithin(WAIT).withThrowableThat().havingCause().isInstanceOf(FunctionTimeoutException.class);
      release.countDown(); // the init returns after its call timed out
      await().until(() -> f.stats().overdue() == 0 && f.stats().inFlight() == 0);
      await().until(() -> !created.isEmpty() && created.get(0).closed);
      assertThat(f.invoke(2)).as("a fresh instance, not the one of the timed-out call").isEqualTo(2);
    }
  }

  @Test
  void handlerThrowingOutOfMemoryError_failsThatCall_andTheWorkerGoesOn() {
    try (Cumulus c = ReliabilityRegressionTest.quickToClose()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("oom", (Integer i) -> {
        if (i % 2 == 0) {
          throw new OutOfMemoryError("Java heap space (injected)");
        }
        return i;
      }).maxConcurrency(1).build()); // one worker serves every call, failures included
      for (int i = 0; i < 20; i++) {
        int n = i;
        if (n % 2 == 0) {
          assertThatThrownBy(() -> f.invoke(n)).isInstanceOf(FunctionFailedException.class)
              .hasCauseInstanceOf(OutOfMemoryError.class);
        } else {
          assertThat(f.invoke(n)).isEqualTo(n);
        }
      }
      FunctionStats s = f.stats();
      assertThat(s.failures()).isEqualTo(10);
      assertThat(s.successes()).isEqualTo(10);
    }
  }

  @Test
  void handlerOverflowingItsStack_failsThatCall_andTheRuntimeGoesOn() {
    try (Cumulus c = ReliabilityRegressionTest.quickToClose()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("deep", (Integer i) -> i == 0 ? recurse(0) : i).build());
      assertThatThrownBy(() -> f.invoke(0)).isInstanceOf(FunctionFailedException.class)
          .hasCauseInstanceOf(StackOverflowError.class);
      assertThat(f.invoke(5)).isEqualTo(5);
      assertThat(f.stats().failures()).isEqualTo(1);
    }
  }

  private static int recurse(int depth) {
    return recurse(depth + 1) + 1;
  }

  @Test
  void instanceWhoseCloseThrows_doesNotStopTheOthersFromClosing() {
    ManualClock clock = new ManualClock();
    try (ReliabilityRegressionTest.Driven d = new ReliabilityRegressionTest.Driven(
        Cumulus.builder().clock(clock).build(), clock)) {
      Cumulus c = d.cumulus();
      List<Integer> closed = new CopyOnWriteArrayList<>();
      AtomicInteger ids = new AtomicInteger();
      CountDownLatch gate = new CountDownLatch(1);
      record Connection(int id, List<Integer> closed) implements AutoCloseable {
        @Override
        public void close() {
          closed.add(id);
          if (id % 2 == 1) {
            throw new IllegalStateException("close failed (injected)");
          }
        }
      }
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("bad-close", () -> new Connection(ids.incrementAndGet(), closed),
          (Connection r, Integer i) -> {
            TestFunctions.await(gate);
            return r.id();
      }).keepAlive(Duration.ofSeconds(10)).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        calls.add(f.invokeAsync(i));
      }
      await().until(() -> f.stats().inFlight() == 4);
      gate.countDown();
      calls.forEach(CompletableFuture::join);
      await().until(() -> f.stats().inFlight() == 0 && f.stats().warmInstances() == 4);
      clock.advance(Duration.ofSeconds(11)); // all four expire; two closes throw
      await().atMost(WAIT).until(() -> closed.size() == 4);
      await().until(() -> f.stats().warmInstances() == 0);
      assertThat(f.invoke(9)).as("the function still serves").isEqualTo(5);
    }
  }

  @Test
  void callersDependentStageThatThrows_doesNotHurtTheWorkerRunningIt() {
    try (Cumulus c = ReliabilityRegressionTest.quickToClose()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        if (i == 0) {
          TestFunctions.await(gate);
        }
        return i;
      }).maxConcurrency(1).build());
      CompletableFuture<Integer> first = f.invokeAsync(0);
      CompletableFuture<Integer> stage = first.thenApply(x -> {
        throw new OutOfMemoryError("thrown by the caller's stage (injected)");
      });
      CompletableFuture<Integer> second = f.invokeAsync(1); // queued behind the first, same worker
      gate.countDown();
      assertThat(stage).failsWithin(WAIT).withThrowableThat().havingCause().isInstanceOf(OutOfMemoryError.class);
      assertThat(second).succeedsWithin(WAIT).isEqualTo(1);
      assertThat(f.invoke(2)).isEqualTo(2);
      FunctionStats s = f.stats();
      assertThat(s.successes()).isEqualTo(3);
      assertThat(s.failures()).as("the caller's stage is not the function's failure").isZero();
    }
  }

  @Test
  void callerInterruptedWhileWaiting_getsCallerInterrupted_andTheCallStillRunsAndCounts() throws Exception {
    try (Cumulus c = ReliabilityRegressionTest.quickToClose()) {
      List<CountDownLatch> gates = List.of(new CountDownLatch(1), new CountDownLatch(0));
      CountDownLatch started = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        started.countDown();
        TestFunctions.await(gates.get(i));
        return i;
      }).build());
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      AtomicBoolean interruptKept = new AtomicBoolean();
      Thread caller = Thread.ofPlatform().start(() -> {
        try {
          f.invoke(0);
        } catch (Throwable e) {
          thrown.set(e);
          interruptKept.set(Thread.currentThread().isInterrupted());
        }
      });
      TestFunctions.await(started);
      caller.interrupt();
      caller.join(WAIT.toMillis());
      assertThat(thrown.get()).isInstanceOfSatisfying(CallerInterruptedException.class, e -> {
        assertThat(e.admitted()).isTrue();
        assertThat(e.functionName()).isEqualTo("f");
      }).hasMessage("the calling thread was interrupted while waiting for function 'f': the invocation goes on"
          + " without its caller (it is counted and billed as usual); the thread's interrupt status is set")
          .hasCauseInstanceOf(InterruptedException.class);
      assertThat(interruptKept).as("the caller's interrupt status is set again").isTrue();
      gates.get(0).countDown();
      await().until(() -> f.stats().successes() == 1 && f.stats().inFlight() == 0);

      // Already interrupted when it calls: the call is not made (it would run, and be billed, for
      // a caller that cannot wait for it).
      AtomicReference<Throwable> early = new AtomicReference<>();
      AtomicBoolean earlyInterruptKept = new AtomicBoolean();
      Thread impatient = Thread.ofVirtual().unstarted(() -> {
        Thread.currentThread().interrupt();
        try {
          f.invoke(1);
        } catch (Throwable e) {
          early.set(e);
          earlyInterruptKept.set(Thread.currentThread().isInterrupted());
        }
      });
      impatient.start();
      impatient.join(WAIT.toMillis());
      assertThat(early.get()).isInstanceOfSatisfying(CallerInterruptedException.class,
          e -> assertThat(e.admitted()).isFalse()).hasCauseInstanceOf(InterruptedException.class);
      assertThat(earlyInterruptKept).isTrue();
      assertThat(f.stats().invocations()).as("the call was not made").isEqualTo(1).isEqualTo(f.stats().completed());
      assertThat(f.invoke(1)).as("the next call, not interrupted, is made").isEqualTo(1);
      assertThat(f.stats().invocations()).isEqualTo(2);
    }
  }

  @Test
  void asyncCallerThatCancelsWhileRunning_stopsWaiting_andTheInvocationFinishesAndCounts()
      throws ExecutionException, InterruptedException {
    try (Cumulus c = ReliabilityRegressionTest.quickToClose()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).build());
      CompletableFuture<Integer> call = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      assertThat(call.cancel(true)).isTrue();
      gate.countDown();
      await().until(() -> f.stats().inFlight() == 0);
      FunctionStats s = f.stats();
      assertThat(s.successes()).as("it ran to the end").isEqualTo(1);
      assertThat(s.cancelled()).as("cancelled only counts calls that never ran").isZero();
      assertThat(s.invocations()).isEqualTo(s.completed());
    }
  }
}
