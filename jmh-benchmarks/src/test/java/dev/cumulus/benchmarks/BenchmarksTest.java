package dev.cumulus.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cumulus.ConcurrencyLimit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Every benchmark's state set up as JMH would, one small operation run, and its work checked: each
 * contender completes every task it was given. Correctness, not speed (that is what the jar is for).
 */
class BenchmarksTest {

  @ParameterizedTest
  @ValueSource(strings = {GatewayThroughput.GATEWAY, GatewayThroughput.BARE_ROUTE,
      GatewayThroughput.BARE_ROUTE_BLOCKING, GatewayThroughput.BARE_ROUTE_INVOKE})
  void gatewayThroughput_answersEveryRequestWithTheWordCount(String server) throws Exception {
    GatewayThroughput b = new GatewayThroughput();
    b.server = server;
    b.setUp();
    try {
      assertThat(b.run(300)).isEqualTo(300);
      assertThat(b.run(10)).isEqualTo(10);
    } finally {
      b.tearDown();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {Contender.CUMULUS, Contender.CUMULUS_METERING_OFF, Contender.VIRTUAL_THREADS,
      Contender.VIRTUAL_THREADS_SEMAPHORE, Contender.FIXED_POOL, Contender.BULKHEAD_TIMER})
  void noOpThroughput_completesEveryTask(String executor) {
    NoOpThroughput b = new NoOpThroughput();
    b.executor = executor;
    b.setUp();
    try {
      assertThat(b.run(5_000)).isEqualTo(5_000);
      assertThat(b.run(5_000)).isEqualTo(5_000);
    } finally {
      b.tearDown();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {Contender.CUMULUS, Contender.VIRTUAL_THREADS, Contender.VIRTUAL_THREADS_SEMAPHORE,
      Contender.BULKHEAD_TIMER})
  void blockingFanOut_completesEveryParkedTask(String executor) {
    BlockingFanOut b = new BlockingFanOut();
    b.executor = executor;
    b.setUp();
    try {
      assertThat(b.run(500)).isEqualTo(500);
    } finally {
      b.tearDown();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {Contender.CUMULUS, Contender.FIXED_POOL, Contender.VIRTUAL_THREADS})
  void cpuBound_completesEveryTask_andTheWorkIsDone(String executor) {
    CpuBound b = new CpuBound();
    b.executor = executor;
    b.setUp();
    try {
      assertThat(b.run(20)).isEqualTo(20);
      assertThat(CpuBound.work(1)).isNotZero().isEqualTo(CpuBound.work(1));
    } finally {
      b.tearDown();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {Contender.CUMULUS, Contender.VIRTUAL_THREADS})
  void coldScale_startsEveryInvocation_thenReleasesThem(String executor) throws Exception {
    ColdScale b = new ColdScale();
    b.executor = executor;
    b.setUp();
    ColdScale.Round r = new ColdScale.Round(200);
    b.round = r;
    try {
      assertThat(b.scale(r, 200)).isEqualTo(200);
      assertThat(ColdScale.firstStartNanos(r)).isNotNegative();
      assertThat(ColdScale.p99StartNanos(r)).isNotNegative();
    } finally {
      b.release(); // opens the gate: every invocation returns
      b.tearDown();
    }
    assertThat(r.futures).allSatisfy(f -> assertThat(f).isDone());
  }

  @ParameterizedTest
  @ValueSource(strings = {Contender.CUMULUS, Contender.CUMULUS_METERING_OFF})
  void meteringOverhead_completesEveryInvocation_forEveryKindOfWork(String executor) {
    for (String work : new String[] {"no-op", "yield", "cpu"}) {
      MeteringOverhead b = new MeteringOverhead();
      b.executor = executor;
      b.work = work;
      b.setUp();
      try {
        assertThat(b.run(1_000)).as(work).isEqualTo(1_000);
      } finally {
        b.tearDown();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {MetricsOverhead.NONE, MetricsOverhead.REGISTRY, MetricsOverhead.SUBSCRIBED,
      MetricsOverhead.HISTOGRAM, MetricsOverhead.RECEIPTS})
  void metricsOverhead_completesEveryInvocation_howeverTheRuntimeIsObserved(String observed) throws Exception {
    MetricsOverhead b = new MetricsOverhead();
    b.observed = observed;
    b.setUp();
    try {
      assertThat(b.run(2_000)).isEqualTo(2_000);
      assertThat(b.fn.stats().successes()).isEqualTo(2_000);
      MetricsOverhead.Unobserved base = new MetricsOverhead.Unobserved();
      base.setUp();
      try {
        MetricsOverhead.PairTimes times = new MetricsOverhead.PairTimes();
        times.reset();
        assertThat(b.paired(base, times)).isEqualTo(2 * MetricsOverhead.BATCH);
        assertThat(times.observedNanos).isPositive();
        assertThat(times.unobservedNanos).isPositive();
        assertThat(base.fn.stats().successes()).isEqualTo(MetricsOverhead.BATCH);
      } finally {
        base.tearDown();
      }
      assertThat(b.cumulus.meterRegistry().isPresent())
          .isEqualTo(observed.equals(MetricsOverhead.REGISTRY) || observed.equals(MetricsOverhead.HISTOGRAM));
    } finally {
      b.tearDown();
    }
  }

  @Test
  void scrapeCost_readsEveryMeterOfEveryFunction() {
    ScrapeCost b = new ScrapeCost();
    b.setUp();
    try {
      assertThat(b.registry.getMeters()).hasSizeGreaterThan(18 * ScrapeCost.FUNCTIONS);
      assertThat(b.statsOfEveryFunction()).isEqualTo(100L * ScrapeCost.FUNCTIONS);
      assertThat(b.scrape()).isPositive();
    } finally {
      b.tearDown();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {Contender.CUMULUS, Contender.VIRTUAL_THREADS})
  void memory_parksEveryInvocation_thenReleasesThem(String executor) throws Exception {
    Memory b = new Memory();
    b.executor = executor;
    b.setUp();
    b.parking = new Memory.Parking(1_000);
    try {
      assertThat(b.park(b.parking, 1_000)).isEqualTo(1_000);
    } finally {
      b.openGate();
      b.tearDown();
    }
    assertThat(b.parking.futures).allSatisfy(f -> assertThat(f).isDone());
  }

  @Test
  void reports_printATableWithEveryTarget() throws Exception {
    assertThat(Memory.report(2_000)).contains("| cumulus |", "| virtual-threads |", "MiB", "≤ 1.2×");
    assertThat(MeteringOverhead.accuracyReport(1))
        .contains("200 ms CPU burn", "100 ms sleep", "process CPU delta", "within ±5 %", "1 ms spins", "p99");
  }

  @Test
  void adaptiveConcurrency_completesEveryCall_withinTheLimit_andTracesIt() {
    AdaptiveConcurrency.Result r = AdaptiveConcurrency.steady(ConcurrencyLimit.adaptive().withMax(64), 16, 0.1, 0.3);
    assertThat(r.throughput()).isPositive(); // and no call failed: steady() throws if one did
    assertThat(r.limitAtEnd()).isBetween(1, 64);
    assertThat(r.peakInFlight()).isBetween(1, 64);
    java.util.List<AdaptiveConcurrency.Point> trace =
        AdaptiveConcurrency.step(ConcurrencyLimit.fixed(4), new int[] {16, 8}, 0.3, 100);
    assertThat(trace).isNotEmpty().allSatisfy(p -> {
      assertThat(p.limit()).isEqualTo(4);
      assertThat(p.inFlight()).isBetween(0, 4);
    });
  }

  @ParameterizedTest
  @ValueSource(strings = {PendingEvents.CUMULUS, PendingEvents.SCHEDULED_EXECUTOR, PendingEvents.SLEEPING_THREADS})
  void pendingEvents_holdsEveryRetryPending_untilClosed(String contender) throws Exception {
    PendingEvents b = new PendingEvents();
    b.contender = contender;
    assertThat(b.fill(1_000)).isEqualTo(1_000); // returns once all are pending
    b.tearDown();
  }

  @Test
  void pendingEvents_reportHasEveryContender() throws Exception {
    assertThat(PendingEvents.report(1_000)).contains("| cumulus-emit |", "| scheduled-executor |",
        "| sleeping-virtual-threads |", "B |");
  }
}
