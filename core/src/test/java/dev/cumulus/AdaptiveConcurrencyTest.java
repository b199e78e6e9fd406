package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cumulus.internal.Registration;
import dev.cumulus.internal.RuntimeEvents;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * {@link ConcurrencyLimit#adaptive()} in a runtime: the limit in force caps the function, shows in
 * its stats, grows for a function whose latency stays flat and comes down for one whose downstream
 * saturates. Windows close on a {@link ManualClock}, advanced between rounds of calls, so a round is
 * a window; the function's own latency is real (a short park), and the assertions are about the
 * direction the limit takes, never about time. The estimator's arithmetic is tested on synthetic
 * latencies in {@code AdaptiveLimitTest}.
 */
class AdaptiveConcurrencyTest {
  private final ManualClock clock = new ManualClock();

  /** Counts handlers running at once, and the most seen. */
  private static final class Gauge {
    final AtomicInteger now = new AtomicInteger();
    final AtomicInteger max = new AtomicInteger();

    int enter() {
      int n = now.incrementAndGet();
      max.accumulateAndGet(n, Math::max);
      return n;
    }

    void exit() {
      now.decrementAndGet();
    }
  }

  /** Runs {@code calls} calls at once and waits for them all; then the clock moves a window on. */
  private void round(Fn<Integer, Integer> f, int calls) {
    List<CompletableFuture<Integer>> futures = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      futures.add(f.invokeAsync(i));
    }
    futures.forEach(CompletableFuture::join);
    clock.advance(Duration.ofMillis(25));
  }

  @Test
  void stats_showTheLimitInForce() {
    try (Cumulus c = Cumulus.builder().clock(clock).maxConcurrency(100).build()) {
      Fn<Integer, Integer> adaptive = c.register(FnSpec.of("adaptive", Function.<Integer>identity())
          .concurrency(ConcurrencyLimit.adaptive().withInitial(7)).build());
      Fn<Integer, Integer> fixed = c.register(FnSpec.of("fixed", Function.<Integer>identity())
          .concurrency(ConcurrencyLimit.fixed(5)).build());
      Fn<Integer, Integer> shared = c.register(FnSpec.of("shared", Function.<Integer>identity()).build());
      assertThat(adaptive.stats().concurrencyLimit()).isEqualTo(7);
      assertThat(fixed.stats().concurrencyLimit()).isEqualTo(5);
      assertThat(shared.stats().concurrencyLimit()).isEqualTo(95); // an adaptive limit reserves nothing
      assertThat(fixed.spec().maxConcurrency()).hasValue(5);
      assertThat(adaptive.spec().maxConcurrency()).isEmpty();
      assertThat(adaptive.spec().concurrency()).hasValue(ConcurrencyLimit.adaptive().withInitial(7));
      assertThat(adaptive.stats().toString()).contains("limit=7");
    }
  }

  @Test
  void adaptiveMaxAboveTheRuntimesCapacity_isBoundedByIt() {
    try (Cumulus c = Cumulus.builder().clock(clock).maxConcurrency(10).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", Function.<Integer>identity())
          .concurrency(ConcurrencyLimit.adaptive().withMin(50).withInitial(60)).build());
      assertThat(f.stats().concurrencyLimit()).isEqualTo(10);
    }
  }

  @Test
  void theLimitInForce_capsConcurrency_restWaitsInTheQueue() {
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      Gauge gauge = new Gauge();
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("capped", (Integer i) -> {
        gauge.enter();
        try {
          TestFunctions.await(gate);
          return i;
        } finally {
          gauge.exit();
        }
      }).concurrency(ConcurrencyLimit.adaptive().withMin(3).withMax(3)).build());
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        calls.add(f.invokeAsync(i));
      }
      await().until(() -> gauge.now.get() == 3 && f.stats().queued() == 7);
      assertThat(f.stats().inFlight()).isEqualTo(3);
      gate.countDown();
      calls.forEach(CompletableFuture::join);
      assertThat(gauge.max.get()).isEqualTo(3);
    }
  }

  @Test
  void aFunctionThatCanTakeMore_getsMore() {
    List<int[]> changes = new java.util.concurrent.CopyOnWriteArrayList<>();
    RuntimeEvents events = new RuntimeEvents() {
      @Override
      public void concurrencyLimitChanged(Registration fn, int from, int to) {
        changes.add(new int[] {from, to});
      }
    };
    try (Cumulus c = Cumulus.builder().clock(clock).events(events).build()) {
      Gauge gauge = new Gauge();
      Fn<Integer, Integer> f = c.register(FnSpec.of("flat", (Integer i) -> {
        gauge.enter();
        try {
          LockSupport.parkNanos(2_000_000); // a downstream whose latency does not depend on load
          return i;
        } finally {
          gauge.exit();
        }
      }).concurrency(ConcurrencyLimit.adaptive().withInitial(2).withMax(64)).build());
      for (int r = 0; r < 60 && f.stats().concurrencyLimit() < 16; r++) {
        round(f, 64);
      }
      assertThat(f.stats().concurrencyLimit()).isGreaterThanOrEqualTo(16);
      assertThat(gauge.max.get()).isGreaterThan(2);
      // Every move of the limit was an event, in order: a chain from the initial limit to the one in force.
      assertThat(changes).isNotEmpty();
      assertThat(changes.get(0)[0]).isEqualTo(2);
      for (int i = 1; i < changes.size(); i++) {
        assertThat(changes.get(i)[0]).as("change %d starts where change %d ended", i, i - 1)
            .isEqualTo(changes.get(i - 1)[1]);
      }
      assertThat(changes.get(changes.size() - 1)[1]).isEqualTo(f.stats().concurrencyLimit());
    }
  }

  @Test
  void theLimitInForce_isInTheMeter_andEveryMoveReachesSubscribersAsAChainOfEvents() {
    List<int[]> told = new java.util.concurrent.CopyOnWriteArrayList<>();
    RuntimeEvents events = new RuntimeEvents() {
      @Override
      public void concurrencyLimitChanged(Registration fn, int from, int to) {
        told.add(new int[] {from, to});
      }
    };
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Queue<CumulusEvent.ConcurrencyLimitChanged> published = new ConcurrentLinkedQueue<>();
    // A registry and a subscriber: the runtime's listener is then its event hub, which must still
    // tell the listener it was built with (and the subscriber, coalesced).
    try (Cumulus c = Cumulus.builder().clock(clock).events(events).meterRegistry(registry).maxConcurrency(500).build();
        CumulusEvent.Subscription sub = c.subscribe(e -> {
          if (e instanceof CumulusEvent.ConcurrencyLimitChanged l) {
            published.add(l);
          }
        })) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("flat", (Integer i) -> {
        LockSupport.parkNanos(2_000_000); // a downstream whose latency does not depend on load
        return i;
      }).concurrency(ConcurrencyLimit.adaptive().withInitial(2).withMax(64)).build());
      assertThat(limitGauge(registry)).as("the initial limit, not the runtime's 500").isEqualTo(2);
      for (int r = 0; r < 60 && f.stats().concurrencyLimit() < 16; r++) {
        round(f, 64);
      }
      int limit = f.stats().concurrencyLimit();
      assertThat(limit).isGreaterThanOrEqualTo(16);
      assertThat(limitGauge(registry)).isEqualTo(limit);

      await().until(() -> published.stream().mapToInt(CumulusEvent.ConcurrencyLimitChanged::changes).sum() == told.size());
      assertThat(sub.dropped()).isZero();
      List<CumulusEvent.ConcurrencyLimitChanged> chain = List.copyOf(published);
      assertThat(chain).allSatisfy(e -> assertThat(e.function()).isEqualTo("flat"));
      assertThat(chain.get(0).from()).isEqualTo(2).isEqualTo(told.get(0)[0]);
      for (int i = 1; i < chain.size(); i++) {
        assertThat(chain.get(i).from()).as("event %d starts where event %d ended", i, i - 1)
            .isEqualTo(chain.get(i - 1).to());
      }
      assertThat(chain.get(chain.size() - 1).to()).isEqualTo(limit).isEqualTo(told.get(told.size() - 1)[1]);
    }
  }

  private static double limitGauge(SimpleMeterRegistry registry) {
    return registry.get("cumulus.concurrency.limit").tag("function", "flat").gauge().value();
  }

  @Test
  void aFunctionWhoseDownstreamSaturates_stopsPilingUpCalls() {
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      Gauge gauge = new Gauge();
      Fn<Integer, Integer> f = c.register(FnSpec.of("saturating", (Integer i) -> {
        int running = gauge.enter();
        try {
          // A downstream of 4 slots: 2 ms up to 4 calls at once, proportionally longer beyond.
          LockSupport.parkNanos(2_000_000L * Math.max(1, running) / Math.min(4, Math.max(1, running)));
          return i;
        } finally {
          gauge.exit();
        }
      }).concurrency(ConcurrencyLimit.adaptive().withInitial(40)).build());
      for (int r = 0; r < 80 && f.stats().concurrencyLimit() > 12; r++) {
        round(f, 80);
      }
      assertThat(f.stats().concurrencyLimit()).isLessThanOrEqualTo(12);
      // Once lowered, the limit holds: a round of 80 calls runs far fewer than the 40 it started at.
      gauge.max.set(0);
      round(f, 80);
      assertThat(gauge.max.get()).isLessThanOrEqualTo(24);
    }
  }

  @Test
  void aChainHoldingEverySlotOfTheAdaptiveLimit_failsAtOnce() {
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      AtomicReference<Fn<Integer, Integer>> self = new AtomicReference<>();
      Fn<Integer, Integer> f = c.register(FnSpec.of("recursive",
              (Integer n) -> n == 0 ? 0 : 1 + self.get().invoke(n - 1))
          .concurrency(ConcurrencyLimit.adaptive().withMin(2).withMax(2))
          .timeout(Duration.ofMinutes(5)).build());
      self.set(f);
      assertThat(f.invoke(1)).isEqualTo(1);
      assertThatThrownBy(() -> f.invoke(2))
          .isInstanceOf(FunctionFailedException.class)
          .cause().isInstanceOf(CumulusException.class)
          .hasMessageContaining("would wait forever")
          .hasMessageContaining("its adaptive concurrency limit now");
    }
  }

  @Test
  void throttled_namesTheAdaptiveLimit() {
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("small", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).concurrency(ConcurrencyLimit.adaptive().withMin(1).withMax(1)).queueCapacity(0).build());
      CompletableFuture<Integer> first = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      assertThatThrownBy(() -> f.invoke(2)).isInstanceOf(ThrottledException.class)
          .hasMessageContaining("(adaptive concurrency limit now 1)");
      gate.countDown();
      assertThat(first.join()).isEqualTo(1);
    }
  }
}
