package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.distribution.pause.PauseDetector;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CumulusMetricsTest {
  private static final String[] OUTCOMES = {"success", "failure", "timeout", "throttled", "rejected", "cancelled"};

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @Test
  void afterAKnownWorkload_theMetersReadExactCounts_andCpuIsMeteredInExactMode() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().meteringMode(MeteringMode.EXACT).clock(clock)
        .meterRegistry(registry).build()) {
      Fn<Integer, Integer> work = c.register(FnSpec.of("work", (Integer i) -> {
        TestFunctions.spinCpu(2);
        byte[] garbage = new byte[64 * 1024];
        FnContext.current().addBytesProcessed(1_000 + i);
        if (i % 4 == 3) {
          throw new IllegalStateException("input " + i + " fails, as planned");
        }
        return i + garbage.length * 0;
      }).build());
      for (int i = 0; i < 12; i++) {
        try {
          work.invoke(i);
        } catch (FunctionFailedException expected) {
          // 3, 7 and 11
        }
      }

      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> gated = c.register(FnSpec.of("gated", (Integer i) -> {
        TestFunctions.await(gate); // interrupted at the timeout
        return i;
      }).maxConcurrency(1).queueCapacity(1).timeout(Duration.ofSeconds(5)).build());
      CompletableFuture<Integer> running = gated.invokeAsync(1);
      await().until(() -> gated.stats().inFlight() == 1);
      CompletableFuture<Integer> waiting = gated.invokeAsync(2);
      for (int i = 0; i < 4; i++) {
        assertThat(gated.invokeAsync(3)).isCompletedExceptionally();
      }
      assertThat(gauge("cumulus.in.flight", "gated")).isEqualTo(1);
      assertThat(gauge("cumulus.queued", "gated")).isEqualTo(1);
      assertThat(gauge("cumulus.concurrency.limit", "gated")).isEqualTo(1);
      waiting.cancel(false); // counted as cancelled when a worker reaches it
      clock.advance(Duration.ofSeconds(5)); // the running one times out
      assertThat(running).failsWithin(Duration.ofSeconds(10));
      await().until(() -> gated.stats().cancelled() == 1 && gated.stats().overdue() == 0
          && gated.stats().inFlight() == 0);

      assertOutcomes("work", 9, 3, 0, 0, 0, 0);
      assertOutcomes("gated", 0, 0, 1, 4, 0, 1);
      FunctionStats w = work.stats();
      assertThat(counter("cumulus.cpu.time", "work")).isPositive()
          .isLessThanOrEqualTo(w.cpuTime().toNanos() / 1e9);
      assertThat(counter("cumulus.cpu.billed", "work")).as("each invocation billed at least 1 ms of CPU")
          .isGreaterThanOrEqualTo(0.012).isEqualTo(w.billedCpuMillis() / 1e3);
      assertThat(counter("cumulus.billed.duration", "work")).isGreaterThanOrEqualTo(0.012)
          .isEqualTo(w.billedMillis() / 1e3);
      assertThat(counter("cumulus.allocated", "work")).isGreaterThanOrEqualTo(12 * 64 * 1024);
      assertThat(counter("cumulus.processed", "work")).as("failed invocations processed theirs too")
          .isEqualTo(12 * 1_000 + 66).isEqualTo(w.bytesProcessed());
      assertThat(counter("cumulus.processed", "gated")).isZero();
      assertThat(counter("cumulus.cold.starts", "work")).isEqualTo(w.coldStarts()).isPositive();
      assertThat(counter("cumulus.init.time", "work")).isEqualTo(w.initTime().toNanos() / 1e9);
      FunctionTimer latency = registry.get("cumulus.invocation.latency").tag("function", "work").functionTimer();
      assertThat(latency.count()).isEqualTo(12);
      // Within a nanosecond: Micrometer converts the total through another unit, and doubles round.
      assertThat(latency.totalTime(TimeUnit.NANOSECONDS))
          .isCloseTo((double) w.queueWait().toNanos() + w.wallTime().toNanos(), within(1.0));
      assertThat(registry.get("cumulus.invocation.latency").tag("function", "gated").functionTimer().count())
          .as("the timed-out invocation ran").isEqualTo(1);
      assertThat(gauge("cumulus.in.flight", "gated")).isZero();
      assertThat(gauge("cumulus.queued", "gated")).isZero();
      assertThat(gauge("cumulus.concurrency.peak", "gated")).isEqualTo(1);
      assertThat(gauge("cumulus.warm", "work")).isEqualTo(work.stats().warmInstances());
      assertThat(gauge("cumulus.concurrency.limit", "work")).as("what the runtime leaves unreserved")
          .isEqualTo(Cumulus.DEFAULT_MAX_CONCURRENCY - 1);

      assertThat(registry.get("cumulus.functions").gauge().value()).isEqualTo(2);
      assertThat(registry.get("cumulus.capacity.limit").gauge().value()).isEqualTo(Cumulus.DEFAULT_MAX_CONCURRENCY);
      assertThat(registry.get("cumulus.capacity.used").gauge().value()).isBetween(0.0, 2.0);
      assertThat(registry.get("cumulus.carriers.live").gauge().value()).isNotNegative();
      assertThat(registry.get("cumulus.metering.mode").tag("mode", "exact").gauge().value()).isEqualTo(1);
      assertThat(registry.get("cumulus.listener.failures").functionCounter().count()).isZero();
      assertThat(registry.get("cumulus.listener.dropped").functionCounter().count()).isZero();
      assertThat(c.meterRegistry()).containsSame(registry);
      gate.countDown();
    }
  }

  @Test
  void events_theMetersCountEveryEmit_byWhatBecameOfIt() {
    ManualClock clock = new ManualClock();
    CountDownLatch gate = new CountDownLatch(1);
    List<DeadLetter> letters = new java.util.concurrent.CopyOnWriteArrayList<>();
    DeadLetterSink sink = letter -> {
      if ("bad-2".equals(letter.input())) {
        throw new IllegalStateException("the sink is down for " + letter.eventId());
      }
      letters.add(letter);
    };
    try (Cumulus c = Cumulus.builder().clock(clock).meterRegistry(registry).build()) {
      Fn<String, String> ev = c.register(FnSpec.of("ev", (String s) -> {
        if (s.startsWith("bad")) {
          throw new IllegalStateException("cannot take " + s);
        }
        if (s.equals("hold")) {
          TestFunctions.await(gate);
        }
        return s;
      }).retry(RetryPolicy.exponential(1, Duration.ofSeconds(1), Duration.ofSeconds(1)))
          .deadLetter(sink).eventCapacity(3).build());

      ev.emit("ok");
      ev.emit("ok", "key");
      ev.emit("other", "key"); // a duplicate: no event
      await().until(() -> ev.stats().eventsSucceeded() == 2);
      for (String bad : List.of("bad-1", "bad-2")) {
        long before = ev.stats().eventRetries();
        ev.emit(bad);
        await().until(() -> ev.stats().eventRetries() == before + 1);
        clock.advance(Duration.ofSeconds(1)); // the retry fails too: a dead letter
        await().until(() -> ev.stats().eventsPending() == 0);
      }
      for (int i = 0; i < 3; i++) {
        ev.emit("hold");
      }
      assertThatThrownBy(() -> ev.emit("ok")).isInstanceOf(ThrottledException.class);

      assertThat(gauge("cumulus.pending", "ev")).isEqualTo(3);
      assertThat(counter("cumulus.events", "ev", "throttled")).isEqualTo(1);
      gate.countDown();
      await().until(() -> ev.stats().eventsPending() == 0);
      clock.advance(Duration.ofSeconds(1)); // the meters' shared snapshot of a moment ago is stale now

      assertThat(counter("cumulus.events", "ev", "succeeded")).isEqualTo(5);
      assertThat(counter("cumulus.events", "ev", "dead_lettered")).isEqualTo(2);
      assertThat(counter("cumulus.events", "ev", "duplicate")).isEqualTo(1);
      assertThat(counter("cumulus.events", "ev", "throttled")).isEqualTo(1);
      assertThat(counter("cumulus.emitted", "ev")).as("succeeded + dead-lettered + pending").isEqualTo(7);
      assertThat(gauge("cumulus.pending", "ev")).isZero();
      assertThat(counter("cumulus.event.retries", "ev")).isEqualTo(2);
      assertThat(counter("cumulus.dead.letter.sink.failures", "ev")).isEqualTo(1);
      assertThat(letters).singleElement().satisfies(l -> assertThat(l.input()).isEqualTo("bad-1"));
      for (String outcome : List.of("succeeded", "dead_lettered", "duplicate", "throttled")) {
        Meter.Id id = registry.get("cumulus.events").tags("function", "ev", "outcome", outcome).meter().getId();
        assertThat(id.getBaseUnit()).isEqualTo("events");
        assertThat(id.getDescription()).contains("by what became of them");
      }
      assertThat(registry.get("cumulus.pending").meter().getId().getBaseUnit()).isEqualTo("events");
      assertThat(registry.get("cumulus.event.retries").meter().getId().getBaseUnit()).isEqualTo("retries");
    }
  }

  @Test
  void concurrencyLimit_readsTheLimitInForce_theAdaptiveOnesValueIncluded() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(100).meterRegistry(registry).build()) {
      c.register(FnSpec.of("adaptive", (Integer i) -> i).concurrency(ConcurrencyLimit.adaptive().withInitial(7)).build());
      c.register(FnSpec.of("fixed", (Integer i) -> i).concurrency(ConcurrencyLimit.fixed(5)).build());
      c.register(FnSpec.of("shared", (Integer i) -> i).build());
      assertThat(gauge("cumulus.concurrency.limit", "adaptive")).as("its limit now, not the runtime's room").isEqualTo(7);
      assertThat(gauge("cumulus.concurrency.limit", "fixed")).isEqualTo(5);
      assertThat(gauge("cumulus.concurrency.limit", "shared")).as("what the runtime leaves unreserved").isEqualTo(95);
      assertThat(registry.get("cumulus.concurrency.limit").tag("function", "adaptive").gauge().getId().getDescription())
          .contains("the adaptive limit in force");
    }
  }

  @Test
  void tenants_haveMetersOfTheirOwn_readFromTheirUsage_boundedByMaxTenants_andContinuingAcrossRegistrations() {
    try (Cumulus c = Cumulus.builder().maxTenants(2).meterRegistry(registry).build()) {
      Fn<String, Integer> f = c.register(FnSpec.of("f", (String s) -> {
        if (s.equals("boom")) {
          throw new IllegalStateException("boom");
        }
        return s.length();
      }).build());
      for (int i = 0; i < 3; i++) {
        f.invoke("a", CallOptions.tenant("a"));
      }
      assertThat(f.invokeAsync("boom", CallOptions.tenant("a")).exceptionally(e -> -1).join()).isEqualTo(-1);
      f.invoke("b", CallOptions.tenant("b"));
      f.emit("b's event", CallOptions.tenant("b"));
      f.invoke("c", CallOptions.tenant("c")); // beyond maxTenants: accounted as "other"
      f.invoke("d", CallOptions.tenant("d"));
      f.invoke("no tenant");
      await().until(() -> f.stats().eventsSucceeded() == 1);
      await().until(() -> registry.find("cumulus.tenant.invocations").meters().size() == 3 * OUTCOMES.length);

      assertThat(registry.find("cumulus.tenant.invocations").meters())
          .extracting(m -> m.getId().getTag("tenant")).containsOnly("a", "b", "other");
      assertThat(tenantCounter("cumulus.tenant.invocations", "a", "success")).isEqualTo(3);
      assertThat(tenantCounter("cumulus.tenant.invocations", "a", "failure")).isEqualTo(1);
      assertThat(tenantCounter("cumulus.tenant.invocations", "b", "success")).as("a call and an event").isEqualTo(2);
      assertThat(tenantCounter("cumulus.tenant.invocations", "other", "success")).isEqualTo(2);
      assertThat(registry.get("cumulus.tenants.folded").functionCounter().count()).isEqualTo(2);
      // The meters are the lines of usage().byTenant(), read at the scrape.
      Map<String, Usage> byTenant = c.usage().byTenant();
      for (String tenant : List.of("a", "b", "other")) {
        FunctionStats line = byTenant.get(tenant).functions().get(0);
        assertThat(tenantCounter("cumulus.tenant.billed.duration", tenant, null)).isEqualTo(line.billedMillis() / 1e3);
        assertThat(tenantCounter("cumulus.tenant.cpu.billed", tenant, null)).isEqualTo(line.billedCpuMillis() / 1e3);
        assertThat(tenantCounter("cumulus.tenant.cpu.time", tenant, null))
            .isCloseTo(line.cpuTime().toNanos() / 1e9, within(1e-9));
        assertThat(tenantCounter("cumulus.tenant.queue.wait", tenant, null))
            .isCloseTo(line.queueWait().toNanos() / 1e9, within(1e-9));
      }
      assertThat(registry.get("cumulus.tenant.queue.wait").meter().getId().getBaseUnit()).isEqualTo("seconds");

      // Gone with the function's meters; back, and continuing, with the name registered again.
      c.unregister("f");
      await().until(() -> registry.find("cumulus.tenant.invocations").meters().isEmpty());
      Fn<String, Integer> again = c.register(FnSpec.of("f", String::length).build());
      assertThat(registry.find("cumulus.tenant.invocations").meters()).as("at once, from the usage kept")
          .hasSize(3 * OUTCOMES.length);
      again.invoke("a", CallOptions.tenant("a"));
      assertThat(tenantCounter("cumulus.tenant.invocations", "a", "success")).as("monotonic per name").isEqualTo(4);
    }
  }

  @Test
  void tenantMeters_canBeLeftOut() {
    try (Cumulus c = Cumulus.create()) {
      c.register(FnSpec.of("f", String::length).build()).invoke("x", CallOptions.tenant("acme"));
      // Bound after the tenant was served: a binder registers its meters at once, or never.
      SimpleMeterRegistry without = new SimpleMeterRegistry();
      CumulusMetrics.builder(c).tenantMeters(false).build().bindTo(without);
      CumulusMetrics.of(c).bindTo(registry);
      assertThat(registry.find("cumulus.tenant.invocations").tag("tenant", "acme").meters()).hasSize(OUTCOMES.length);
      assertThat(without.find("cumulus.tenant.invocations").meters()).isEmpty();
      assertThat(without.find("cumulus.invocations").tag("function", "f").meters()).hasSize(OUTCOMES.length);
      assertThat(c.usage().byTenant()).containsOnlyKeys("acme");
    }
  }

  @Test
  void everyMeter_isNamedByTheConventions_andDescribed() {
    try (Cumulus c = Cumulus.builder().meterRegistry(registry).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i).build());
      f.invoke(1);
      f.invoke(2, CallOptions.tenant("acme"));
      await().until(() -> !registry.find("cumulus.tenant.invocations").meters().isEmpty());
      List<Meter> meters = registry.getMeters();
      assertThat(meters).hasSizeGreaterThan(30);
      for (Meter m : meters) {
        Meter.Id id = m.getId();
        assertThat(id.getName()).as("lowercase, dot-separated").matches("cumulus(\\.[a-z]+)+");
        assertThat(id.getDescription()).as(id.getName()).isNotBlank();
        if (id.getName().endsWith(".time") || id.getName().endsWith(".cpu.billed")
            || id.getName().endsWith(".billed.duration") || id.getName().endsWith(".queue.wait")) {
          assertThat(id.getBaseUnit()).as(id.getName()).isEqualTo("seconds");
        }
      }
      for (String outcome : OUTCOMES) {
        assertThat(registry.find("cumulus.invocations").tags("function", "f", "outcome", outcome)
            .functionCounter()).as(outcome).isNotNull();
      }
    }
  }

  @Test
  void registeringANameAgain_neverFails_andItsCountersContinue() {
    try (Cumulus c = Cumulus.builder().meterRegistry(registry).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i).build());
      for (int i = 0; i < 3; i++) {
        f.invoke(i);
      }
      assertThat(c.unregister("f")).isTrue();
      await().until(() -> registry.find("cumulus.invocations").tag("function", "f").meters().isEmpty());

      Fn<Integer, Integer> again = c.register(FnSpec.of("f", (Integer i) -> -i).build());
      again.invoke(1);
      again.invoke(2);
      assertThat(counter("cumulus.invocations", "f", "success")).as("monotonic per name").isEqualTo(5);
    }
  }

  @Test
  void registeringANameAgain_whileTheOldOneStillRuns_sharesItsMeters() {
    CountDownLatch gate = new CountDownLatch(1);
    try (Cumulus c = Cumulus.builder().meterRegistry(registry).build()) {
      Fn<Integer, Integer> old = c.register(FnSpec.of("g", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).build());
      CompletableFuture<Integer> stillRunning = old.invokeAsync(1);
      await().until(() -> old.stats().inFlight() == 1);
      c.unregister("g");
      Fn<Integer, Integer> fresh = c.register(FnSpec.of("g", (Integer i) -> i).build());
      fresh.invoke(2);
      assertThat(counter("cumulus.invocations", "g", "success")).isEqualTo(1);
      assertThat(gauge("cumulus.in.flight", "g")).as("the old one's, still running").isEqualTo(1);

      gate.countDown();
      assertThat(stillRunning.join()).isEqualTo(1);
      await().until(() -> counter("cumulus.invocations", "g", "success") == 2);
      assertThat(registry.find("cumulus.invocations").tag("function", "g").meters())
          .as("the new registration keeps them").isNotEmpty();

      c.unregister("g");
      await().until(() -> registry.find("cumulus.invocations").tag("function", "g").meters().isEmpty());
      assertThat(registry.getMeters()).allSatisfy(m -> assertThat(m.getId().getTag("function")).isNull());
    }
  }

  @Test
  void anUnregisteredFunctionsMeters_stayUntilItFinishes_thenGo() {
    CountDownLatch gate = new CountDownLatch(1);
    try (Cumulus c = Cumulus.builder().meterRegistry(registry).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).build());
      CompletableFuture<Integer> call = f.invokeAsync(7);
      await().until(() -> f.stats().inFlight() == 1);
      c.unregister("f");
      assertThat(gauge("cumulus.in.flight", "f")).isEqualTo(1);
      assertThat(gauge("cumulus.concurrency.limit", "f")).as("it takes no more calls").isZero();
      gate.countDown();
      assertThat(call.join()).isEqualTo(7);
      await().until(() -> registry.find("cumulus.in.flight").tag("function", "f").meters().isEmpty());
      assertThat(registry.find("cumulus.functions").gauge()).as("the runtime's stay").isNotNull();
      assertThat(c.usage().functions()).as("its usage stays on the bill").hasSize(1);
    }
  }

  @Test
  void closingTheRuntime_removesItsMeters() {
    Cumulus c = Cumulus.builder().meterRegistry(registry).build();
    c.register(FnSpec.of("f", (Integer i) -> i).build()).invoke(1);
    assertThat(registry.getMeters()).isNotEmpty();
    c.close();
    assertThat(registry.getMeters()).isEmpty();
    assertThatThrownBy(() -> CumulusMetrics.of(c).bindTo(registry)).isInstanceOf(RuntimeClosedException.class)
        .hasMessage("the Cumulus runtime is closed; it has no meters to bind");
  }

  @Test
  void boundByHand_toTwoRegistries_withTags_andClosed() {
    SimpleMeterRegistry other = new SimpleMeterRegistry();
    try (Cumulus c = Cumulus.create()) {
      c.register(FnSpec.of("before", (Integer i) -> i).build()).invoke(1);
      CumulusMetrics metrics = CumulusMetrics.builder(c).tags(Tags.of("runtime", "a")).build();
      metrics.bindTo(registry);
      metrics.bindTo(registry); // a second time does nothing
      metrics.bindTo(other);
      c.register(FnSpec.of("after", (Integer i) -> i).build()).invoke(2);
      for (MeterRegistry r : List.of(registry, other)) {
        for (String fn : List.of("before", "after")) {
          assertThat(r.get("cumulus.invocations").tags("runtime", "a", "function", fn, "outcome", "success")
              .functionCounter().count()).isEqualTo(1);
        }
      }
      assertThat(c.meterRegistry()).as("bound by hand, not by the builder").isEmpty();
      metrics.close();
      assertThat(registry.getMeters()).isEmpty();
      assertThat(other.getMeters()).isEmpty();
      assertThatThrownBy(() -> metrics.bindTo(registry)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("closed");
      assertThat(c.invoke("after", 3)).as("the runtime goes on").isEqualTo(3);
    }
  }

  @Test
  void percentileHistogram_onRequest_recordsEveryLatency() {
    try (Cumulus c = Cumulus.builder().meterRegistry(registry, m -> m.percentileHistogram(true)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i).build());
      for (int i = 0; i < 20; i++) {
        f.invoke(i);
      }
      Timer latency = registry.get("cumulus.invocation.latency").tag("function", "f").timer();
      assertThat(latency.count()).isEqualTo(20);
      assertThat(latency.totalTime(TimeUnit.NANOSECONDS)).isPositive();
    }
  }

  @Test
  void aRegistryThatThrows_breaksNoCall() {
    MeterRegistry broken = new RefusingMeterRegistry();
    try (Cumulus c = Cumulus.builder().meterRegistry(broken).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i * 2).build());
      assertThat(f.invoke(21)).isEqualTo(42);
      assertThat(c.unregister("f")).isTrue();
      c.register(FnSpec.of("f", (Integer i) -> i).build());
      assertThat(c.invoke("f", 5)).isEqualTo(5);
    }
  }

  @Test
  void aTimerThatThrowsOnRecord_breaksNoCall_andIsNoLongerFed() {
    List<ThrowingTimer> timers = new ArrayList<>();
    MeterRegistry broken = new SimpleMeterRegistry() {
      @Override
      protected Timer newTimer(Meter.Id id, DistributionStatisticConfig config, PauseDetector pauseDetector) {
        ThrowingTimer t = new ThrowingTimer(id, clock, config, pauseDetector);
        timers.add(t);
        return t;
      }
    };
    try (Cumulus c = Cumulus.builder().meterRegistry(broken, m -> m.percentileHistogram(true)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i + 1).build());
      for (int i = 0; i < 10; i++) {
        assertThat(f.invoke(i)).isEqualTo(i + 1);
      }
      assertThat(f.stats().successes()).isEqualTo(10);
      assertThat(timers).singleElement().satisfies(t -> assertThat(t.attempts).as("dropped after the first")
          .isEqualTo(1));
    }
  }

  @Test
  void badOptions_areRefused_withTheirName() {
    assertThatThrownBy(() -> Cumulus.builder().meterRegistry(registry, m -> m.tags(Tags.of("function", "x"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tag key 'function' is used by Cumulus's own meters; pick another");
    assertThatThrownBy(() -> Cumulus.builder().meterRegistry(registry, m -> m.tags(Tags.of("tenant", "x"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tag key 'tenant' is used by Cumulus's own meters; pick another");
    assertThatThrownBy(() -> Cumulus.builder().meterRegistry(registry).meterRegistry(registry))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("meterRegistry was already set to");
    assertThatThrownBy(() -> Cumulus.builder().meterRegistry(registry, CumulusMetrics.Builder::build))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("the runtime builds it");
    assertThatThrownBy(() -> Cumulus.builder().meterRegistry(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("registry");
    try (Cumulus c = Cumulus.create()) {
      CumulusMetrics.Builder b = CumulusMetrics.builder(c);
      b.build();
      assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
          .hasMessage("this builder already built a CumulusMetrics");
    }
  }

  private void assertOutcomes(String fn, long... expected) {
    for (int i = 0; i < OUTCOMES.length; i++) {
      assertThat(counter("cumulus.invocations", fn, OUTCOMES[i])).as(fn + " " + OUTCOMES[i]).isEqualTo(expected[i]);
    }
  }

  private double counter(String name, String fn, String outcome) {
    return registry.get(name).tags("function", fn, "outcome", outcome).functionCounter().count();
  }

  private double counter(String name, String fn) {
    return registry.get(name).tag("function", fn).functionCounter().count();
  }

  private double tenantCounter(String name, String tenant, String outcome) {
    var search = registry.get(name).tags("function", "f", "tenant", tenant);
    return (outcome == null ? search : search.tag("outcome", outcome)).functionCounter().count();
  }

  private double gauge(String name, String fn) {
    return registry.get(name).tag("function", fn).gauge().value();
  }

  /** A timer whose every record fails, as a broken registry's might. */
  private static final class ThrowingTimer extends io.micrometer.core.instrument.AbstractTimer {
    volatile int attempts;

    ThrowingTimer(Meter.Id id, Clock clock, DistributionStatisticConfig config, PauseDetector pauseDetector) {
      super(id, clock, config, pauseDetector, TimeUnit.SECONDS, false);
    }

    @Override
    protected void recordNonNegative(long amount, TimeUnit unit) {
      attempts++;
      throw new IllegalStateException("this timer is broken");
    }

    @Override
    public long count() {
      return 0;
    }

    @Override
    public double totalTime(TimeUnit unit) {
      return 0;
    }

    @Override
    public double max(TimeUnit unit) {
      return 0;
    }
  }
}
