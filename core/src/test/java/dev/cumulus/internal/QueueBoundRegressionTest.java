package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.ThrottledException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The queue bound ({@code FnSpec.queueCapacity}: "zero means no waiting: a call either starts at once
 * or is throttled") against workers that admission must not count as taking the next call: a slot
 * another call's admission has reserved but not yet been counted with, and a worker running a
 * completed call's dependent stages. {@code AdmissionStressTest} found both under contention (with
 * a third: an attempt to start a worker that the runtime's capacity then refuses, counted for a
 * moment); these hold the two that can be set up deterministically. One carrier, so that what could
 * run is plain.
 */
class QueueBoundRegressionTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void slotReservedByAnotherCallsAdmission_isNotCountedAsAWorkerForThisCall() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    AtomicInteger entered = new AtomicInteger();
    try (Cumulus c = Cumulus.builder().maxConcurrency(10).carrierThreads(1).drainTimeout(Duration.ofSeconds(5)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer x) -> {
        entered.incrementAndGet();
        awaitUninterruptibly(gate);
        return x;
      }).maxConcurrency(4).queueCapacity(0).build());
      WorkerPool pool = PoolProbe.pool(f);
      CompletableFuture<Integer> first = f.invokeAsync(1);
      // Blocked in its handler: its carrier is free, so a call beyond the queue may start a worker.
      await().atMost(WAIT).until(() -> entered.get() == 1 && !pool.carriersTaken());

      // Another call's admission, between taking its slot and being counted: the slot is its own.
      assertThat(pool.reserveSlot()).as(pool::describe).isTrue();
      CompletableFuture<Integer> second = f.invokeAsync(2);
      // Counting that slot as a free worker let this call in to wait for it (queueCapacity 0). Its
      // worker could not run either (the reserved one will take the only carrier): throttled.
      assertThat(second).as(pool::describe).isCompletedExceptionally();
      assertThat(second.exceptionNow()).isInstanceOf(ThrottledException.class);
      assertThat(f.stats().queued()).as(pool::describe).isZero();

      pool.releaseReservation(); // that admission gave up: the carrier is free again
      CompletableFuture<Integer> third = f.invokeAsync(3);
      await().atMost(WAIT).untilAsserted(() -> assertThat(entered.get()).as(pool::describe).isEqualTo(2)); // started
      gate.countDown();
      assertThat(first.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(1);
      assertThat(third.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(3);
    } finally {
      gate.countDown();
    }
  }

  @Test
  void workerRunningADependentStage_isNotCountedAsTakingTheNextCall() throws Exception {
    CountDownLatch attached = new CountDownLatch(1);
    CountDownLatch inStage = new CountDownLatch(1);
    AtomicBoolean release = new AtomicBoolean();
    try (Cumulus c = Cumulus.builder().maxConcurrency(10).carrierThreads(1).drainTimeout(Duration.ofSeconds(5)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer x) -> {
        if (x == 1) {
          awaitUninterruptibly(attached); // returns once its caller's stage is attached
        }
        return x;
      }).maxConcurrency(4).queueCapacity(0).build());
      WorkerPool pool = PoolProbe.pool(f);
      CompletableFuture<Integer> first = f.invokeAsync(1);
      // Runs on the worker that completes the call, CPU-bound: it holds the only carrier.
      CompletableFuture<Void> stage = first.thenRun(() -> {
        inStage.countDown();
        while (!release.get()) {
          Thread.onSpinWait();
        }
      });
      attached.countDown();
      assertThat(inStage.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
      try {
        CompletableFuture<Integer> second = f.invokeAsync(2);
        // Counting the worker as free let this call in to wait behind the stage (queueCapacity 0);
        // no other worker could run on the carrier the stage holds: throttled.
        assertThat(second).as(pool::describe).isCompletedExceptionally();
        assertThat(second.exceptionNow()).isInstanceOf(ThrottledException.class);
        assertThat(f.stats().queued()).as(pool::describe).isZero();
      } finally {
        release.set(true);
      }
      stage.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      // Its stage over, the worker is free again (or gone): the next call runs.
      await().atMost(WAIT).until(() -> pool.workers() == 0 || pool.takers() == 1);
      assertThat(f.invoke(3)).isEqualTo(3);
    } finally {
      release.set(true);
      attached.countDown();
    }
  }

  private static void awaitUninterruptibly(CountDownLatch latch) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          latch.await();
          return;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
