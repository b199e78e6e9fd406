package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Virtual threads that a function's own code starts. The JDK gives a virtual thread built without a
 * scheduler its parent virtual thread's: started inside an invocation, it runs on Cumulus's carriers
 * with the worker as its scheduler. It is the function's work, so it is metered as the function's;
 * but its segments are not the worker's, so they must not tell the worker that it blocked.
 */
class ChildVirtualThreadsTest {
  private static final int CALLS = 200;
  private static final long CHILD_CPU_MILLIS = 1;

  @Test
  void childThreadsOfAFunction_areMeteredAsItsWork_butDoNotMakeItsWorkersLookBlocked() throws Exception {
    TestFunctions.prepareCpuWork(); // here, not inside a function, which it could block
    try (Cumulus c = Cumulus.builder().carrierThreads(2).build()) {
      assumeTrue(c.meteringMode() == MeteringMode.EXACT, "needs Cumulus carriers (--add-opens)");
      CountDownLatch childrenDone = new CountDownLatch(CALLS);
      AtomicReference<String> childScheduler = new AtomicReference<>();
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("spawns", Object::new, (Object instance, Integer i) -> {
        // Fire and forget: a child that works on the CPU and ends, mostly while its parent still runs.
        Thread.ofVirtual().name("child-" + i).start(() -> {
          childScheduler.compareAndSet(null, Thread.currentThread().toString());
          TestFunctions.spinCpu(CHILD_CPU_MILLIS);
          childrenDone.countDown();
        });
        TestFunctions.spinCpu(1); // the parent is CPU-bound: it never blocks, it never unmounts
        return i;
      }).build());
      callAtOnce(f, CALLS);
      assertThat(childrenDone.await(60, TimeUnit.SECONDS)).isTrue();

      FunctionStats s = f.stats();
      assertDrainedByTheCarriers(s);
      // The children ran on Cumulus's carriers (their parent's scheduler), metered as the function.
      assertThat(childScheduler.get()).contains("cumulus-carrier");
      long children = Duration.ofMillis(CALLS * CHILD_CPU_MILLIS).toNanos();
      long parents = Duration.ofMillis(CALLS).toNanos();
      assertThat(s.cpuTime().toNanos()).as("the function's CPU, its children's included")
          .isGreaterThan((long) ((children + parents) * 0.8));
    }
  }

  @Test
  void aChildThatRunsWhileItsParentYields_doesNotStartAnotherWorker() throws Exception {
    // The same defect made certain: the parent yields right after starting its child, so the child
    // (queued first) runs on the parent's carrier and ends while the parent is in the middle of its
    // invocation and runnable. Observed as the worker's own segment, that end counted the worker as
    // blocked, and every call queued behind it started one more worker and instance.
    TestFunctions.prepareCpuWork();
    try (Cumulus c = Cumulus.builder().carrierThreads(2).build()) {
      assumeTrue(c.meteringMode() == MeteringMode.EXACT, "needs Cumulus carriers (--add-opens)");
      AtomicInteger children = new AtomicInteger();
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("yields", Object::new, (Object instance, Integer i) -> {
        Thread.ofVirtual().start(children::incrementAndGet);
        Thread.yield();
        TestFunctions.spinCpu(1);
        return i;
      }).build());
      callAtOnce(f, CALLS);
      assertDrainedByTheCarriers(f.stats());
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> children.get() == CALLS);
    }
  }

  @Test
  void aChildThatClosesTheRuntime_doesNotWaitForTheDrainItsParentIsPartOf() throws Exception {
    // Closing from a thread of a function's own, as from the function itself, returns at once: the
    // drain waits for the parent, and the parent here waits for its child.
    Cumulus c = Cumulus.builder().drainTimeout(Duration.ofMinutes(5)).build();
    try {
      Fn<Integer, Integer> f = c.register(FnSpec.of("closes", (Integer i) -> {
        Thread child = Thread.ofVirtual().start(c::close);
        try {
          child.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return i;
      }).build());
      assertThat(f.invokeAsync(7).get(60, TimeUnit.SECONDS)).isEqualTo(7);
    } finally {
      c.close();
    }
  }

  @Test
  void aFunctionThatJoinsItsChildren_stillCountsAsBlocked_whileItWaits() throws Exception {
    // The other half: the worker's own waits (here for its children) still free its carrier for
    // another worker, so blocking work still gets a worker per waiting call.
    try (Cumulus c = Cumulus.builder().carrierThreads(2).build()) {
      assumeTrue(c.meteringMode() == MeteringMode.EXACT, "needs Cumulus carriers (--add-opens)");
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("joins", (Integer i) -> {
        Thread child = Thread.ofVirtual().start(() -> TestFunctions.await(gate));
        try {
          child.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return i;
      }).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        calls.add(f.invokeAsync(i));
      }
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
          .until(() -> f.stats().inFlight() == 16);
      gate.countDown();
      for (CompletableFuture<Integer> call : calls) {
        call.get(60, TimeUnit.SECONDS);
      }
      assertThat(f.stats().peakConcurrency()).isEqualTo(16);
    }
  }

  /** Makes {@code n} calls at once and waits for them all. */
  private static void callAtOnce(Fn<Integer, Integer> f, int n) throws Exception {
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      calls.add(f.invokeAsync(i));
    }
    for (CompletableFuture<Integer> call : calls) {
      call.get(60, TimeUnit.SECONDS);
    }
  }

  /**
   * CPU-bound calls are drained by no more workers than carriers (2, and one more for the class
   * loading of a first burst): a child's segment ending while its parent ran used to count the
   * parent as blocked, and every such "block" started another worker, and another instance (a cold
   * start each).
   */
  private static void assertDrainedByTheCarriers(FunctionStats s) {
    assertThat(s.peakConcurrency()).as("workers of a CPU-bound function on 2 carriers: %s", s).isLessThanOrEqualTo(3);
    assertThat(s.coldStarts()).as("instances of a CPU-bound function on 2 carriers: %s", s).isLessThanOrEqualTo(3);
  }
}
