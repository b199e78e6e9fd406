package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Load tests count every call, classify errors, stop by themselves, and validate their options. */
class LoadTestTest {
  private final Cumulus cumulus = Cumulus.create();

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void invocations_makesExactlyThatManyCalls_andTheStatsAgree() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("echo", (Integer i) -> i).build());

    LoadReport report = LoadTest.of(cumulus, "echo", () -> 1).concurrency(8).invocations(1_000).quiet().run();

    assertThat(report.function()).isEqualTo("echo");
    assertThat(report.concurrency()).isEqualTo(8);
    assertThat(report.invocations()).isEqualTo(1_000);
    assertThat(report.successes()).isEqualTo(1_000);
    assertThat(report.errors()).isEmpty();
    assertThat(report.errorCount()).isZero();
    assertThat(report.latency().samples()).isEqualTo(1_000);
    assertThat(report.latency().p50()).isLessThanOrEqualTo(report.latency().p90());
    assertThat(report.latency().p90()).isLessThanOrEqualTo(report.latency().p99());
    assertThat(report.latency().p99()).isLessThanOrEqualTo(report.latency().max());
    assertThat(report.throughput()).isPositive();
    assertThat(report.elapsed()).isPositive();
    assertThat(report.peakConcurrency()).isBetween(1, 8);
    FunctionStats s = f.stats();
    assertThat(s.invocations()).isEqualTo(1_000);
    assertThat(s.successes()).isEqualTo(1_000);
  }

  @Test
  void errors_areCountedByTypeOfWhatTheFunctionThrew() {
    cumulus.register(FnSpec.of("picky", (Integer i) -> {
      if (i % 3 == 0) {
        throw new IllegalStateException("three");
      }
      if (i % 3 == 1) {
        throw new IllegalArgumentException("one");
      }
      return i;
    }).build());
    AtomicInteger next = new AtomicInteger();

    LoadReport report = LoadTest.of(cumulus, "picky", next::getAndIncrement)
        .concurrency(4).invocations(300).quiet().run();

    assertThat(report.invocations()).isEqualTo(300);
    assertThat(report.successes()).isEqualTo(100);
    assertThat(report.errors()).containsExactlyInAnyOrderEntriesOf(Map.of(
        "FunctionFailedException(IllegalStateException)", 100L,
        "FunctionFailedException(IllegalArgumentException)", 100L));
    assertThat(report.errorCount()).isEqualTo(200);
    assertThat(report.toString()).contains("errors", "FunctionFailedException(IllegalStateException)");
  }

  @Test
  void throttledCalls_areErrorsOfTheirOwnType_andEveryCallIsCounted() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("narrow", (Integer i) -> {
      TestFunctions.sleep(20);
      return i;
    }).maxConcurrency(1).queueCapacity(0).build());

    LoadReport report = LoadTest.of(cumulus, "narrow", () -> 1).concurrency(4).invocations(200).quiet().run();

    assertThat(report.invocations()).isEqualTo(200);
    assertThat(report.successes()).isPositive();
    assertThat(report.errors()).containsOnlyKeys("ThrottledException");
    assertThat(report.successes() + report.errorCount()).isEqualTo(200);
    assertThat(f.stats().throttles()).isEqualTo(report.errors().get("ThrottledException"));
    assertThat(report.peakConcurrency()).isEqualTo(1);
  }

  @Test
  void timeouts_areCountedAsFunctionTimeouts() {
    cumulus.register(FnSpec.of("stuck", (Integer i) -> {
      TestFunctions.sleep(5_000);
      return i;
    }).timeout(Duration.ofMillis(50)).build());

    LoadReport report = LoadTest.of(cumulus, "stuck", () -> 1).concurrency(2).invocations(4).quiet().run();

    assertThat(report.errors()).containsExactly(Map.entry("FunctionTimeoutException", 4L));
    assertThat(report.successes()).isZero();
  }

  @Test
  void duration_stopsIssuingCallsAtTheDeadline() {
    cumulus.register(FnSpec.of("tick", (Integer i) -> {
      TestFunctions.sleep(1);
      return i;
    }).build());

    LoadReport report = LoadTest.of(cumulus, "tick", () -> 1).concurrency(4)
        .duration(Duration.ofMillis(300)).quiet().run();

    assertThat(report.elapsed()).isGreaterThanOrEqualTo(Duration.ofMillis(300)).isLessThan(Duration.ofSeconds(30));
    assertThat(report.invocations()).isPositive().isEqualTo(report.successes());
    assertThat(cumulus.function("tick").stats().invocations()).isEqualTo(report.invocations());
  }

  @Test
  void cpuAndCost_comeFromTheMeteredUsage_withCpuPricingWhenExact() {
    assertThat(cumulus.meteringMode()).isEqualTo(MeteringMode.EXACT);
    // CPU work, not wall time: a busy machine gives a wall-clock loop less CPU than it asks for.
    cumulus.register(FnSpec.of("burn", (Long ms) -> TestFunctions.spinCpu(ms)).build());

    LoadReport report = LoadTest.of(cumulus, "burn", () -> 5L).concurrency(2).invocations(20).quiet().run();

    assertThat(report.meteringMode()).isEqualTo(MeteringMode.EXACT);
    assertThat(report.cpuPerInvocation()).isGreaterThan(Duration.ofMillis(1));
    assertThat(report.priceModel()).isEqualTo(PriceModel.cloudflareWorkers().description());
    // 0.30 per 1M requests plus at least 2 billed CPU-ms per call (about 5 spun) at 0.02 per 1M CPU-ms.
    assertThat(report.costPerMillion()).isGreaterThanOrEqualTo(new BigDecimal("0.34"));
  }

  @Test
  void peakConcurrency_isTheRunsOwn_notTheFunctionsSinceRegistration() {
    CountDownLatch gate = new CountDownLatch(1);
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("peaky", (Integer i) -> {
      if (i == 0) {
        TestFunctions.await(gate);
      }
      return i;
    }).build());
    List<CompletableFuture<Integer>> burst = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      burst.add(f.invokeAsync(0));
    }
    await().until(() -> f.stats().inFlight() == 5);
    gate.countDown();
    burst.forEach(CompletableFuture::join);
    assertThat(f.stats().peakConcurrency()).isEqualTo(5);

    LoadReport report = LoadTest.of(cumulus, "peaky", () -> 1).concurrency(1).invocations(50).quiet().run();

    assertThat(report.peakConcurrency()).as("one caller, one call at a time").isEqualTo(1);
    assertThat(report.toString()).contains("peak concurrency  1");
    assertThat(f.stats().peakConcurrency()).as("the function's own peak is unchanged").isEqualTo(5);
  }

  @Test
  void withoutCpuMetering_theDefaultPriceIsByWallTimeAndMemory_andCpuIsNotReported() {
    try (Cumulus wall = Cumulus.builder().meteringMode(MeteringMode.WALL_CLOCK_ONLY).build()) {
      wall.register(FnSpec.of("f", (Integer i) -> i).build());

      LoadReport report = LoadTest.of(wall, "f", () -> 1).invocations(50).quiet().run();

      assertThat(report.cpuPerInvocation()).isZero();
      assertThat(report.priceModel()).isEqualTo(PriceModel.awsLambdaX86(128).description());
      assertThat(report.costPerMillion()).isPositive();
      assertThat(report.toString()).contains("not metered (WALL_CLOCK_ONLY)");
    }
  }

  @Test
  void aPriceModelThatCannotPriceTheMeteringMode_failsBeforeAnyCall() {
    try (Cumulus wall = Cumulus.builder().meteringMode(MeteringMode.WALL_CLOCK_ONLY).build()) {
      Fn<Integer, Integer> f = wall.register(FnSpec.of("f", (Integer i) -> i).build());
      LoadTest test = LoadTest.of(wall, "f", () -> 1).invocations(10).priceModel(PriceModel.cloudflareWorkers()).quiet();

      assertThatThrownBy(test::run).isInstanceOf(IllegalStateException.class).hasMessageContaining("MeteringMode.EXACT");
      assertThat(f.stats().invocations()).isZero();
    }
  }

  @Test
  void coldStarts_countInstancesCreatedDuringTheRun() {
    cumulus.register(FnSpec.withInstance("stateful", StringBuilder::new, (StringBuilder sb, Integer i) -> i).build());

    LoadReport report = LoadTest.of(cumulus, "stateful", () -> 1).concurrency(1).invocations(10).quiet().run();

    assertThat(report.coldStarts()).isEqualTo(1);
  }

  @Test
  void runsOverTwoSeconds_printProgressLines_andShortOnesDoNot() {
    // Calls wait until two progress lines are out, so the run lasts until they are, however late
    // a busy machine wakes the progress ticker: the check does not depend on timing.
    CountDownLatch twoLines = new CountDownLatch(2);
    cumulus.register(FnSpec.of("steady", (Integer i) -> {
      if (i == 1) {
        TestFunctions.await(twoLines);
      }
      return i;
    }).build());
    ByteArrayOutputStream longRun = new ByteArrayOutputStream();
    PrintStream counting = new PrintStream(longRun, true, StandardCharsets.UTF_8) {
      @Override
      public void println(String line) {
        super.println(line);
        twoLines.countDown();
      }
    };
    LoadTest.of(cumulus, "steady", () -> 1).concurrency(2).duration(Duration.ofMillis(2_500))
        .progress(counting).run();
    ByteArrayOutputStream shortRun = new ByteArrayOutputStream();
    LoadTest.of(cumulus, "steady", () -> 0).concurrency(2).invocations(10)
        .progress(new PrintStream(shortRun, true, StandardCharsets.UTF_8)).run();

    String printed = longRun.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("load test of 'steady'", "calls/s", "p99").doesNotContain("\r");
    assertThat(printed.lines().count()).isGreaterThanOrEqualTo(2);
    assertThat(shortRun.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void aThrowingInputSupplier_stopsTheRun_andRunThrowsWhatItThrew() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("f", (Integer i) -> i).build());
    AtomicInteger supplied = new AtomicInteger();

    assertThatThrownBy(() -> LoadTest.of(cumulus, "f", () -> {
      if (supplied.incrementAndGet() > 50) {
        throw new IllegalArgumentException("no more inputs");
      }
      return 1;
    }).concurrency(2).duration(Duration.ofSeconds(30)).quiet().run())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("no more inputs");
    assertThat(f.stats().invocations()).isLessThanOrEqualTo(50);
  }

  @Test
  void toString_isAReadableTable() {
    cumulus.register(FnSpec.of("echo", (Integer i) -> i).build());

    String table = LoadTest.of(cumulus, "echo", () -> 1).invocations(100).quiet().run().toString();

    assertThat(table).startsWith("Load test of 'echo': 64 callers for ")
        .contains("invocations", "100", "throughput", "latency", "p50", "p99", "max", "CPU / invocation",
            "cost / 1M", "peak concurrency", "cold starts")
        .doesNotContain("\n  errors");
  }

  // ---------------------------------------------------------------------------------------------
  // Options

  @Test
  void of_rejectsNullsAndUnknownFunctions() {
    cumulus.register(FnSpec.of("known", (Integer i) -> i).build());
    assertThatThrownBy(() -> LoadTest.of(null, "known", () -> 1)).isInstanceOf(NullPointerException.class).hasMessage("cumulus");
    assertThatThrownBy(() -> LoadTest.of(cumulus, null, () -> 1)).isInstanceOf(NullPointerException.class).hasMessage("function");
    assertThatThrownBy(() -> LoadTest.of(cumulus, "known", null)).isInstanceOf(NullPointerException.class).hasMessage("inputs");
    assertThatThrownBy(() -> LoadTest.of(cumulus, "knwon", () -> 1)).isInstanceOf(UnknownFunctionException.class);
  }

  @Test
  void options_rejectBadValues_namingOptionAndValue() {
    cumulus.register(FnSpec.of("f", (Integer i) -> i).build());
    assertThatThrownBy(() -> test().concurrency(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("concurrency must be between 1 and 100000 but was 0");
    assertThatThrownBy(() -> test().concurrency(100_001)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("concurrency must be between 1 and 100000 but was 100001");
    assertThatThrownBy(() -> test().duration(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("duration must be positive but was 0 ms");
    assertThatThrownBy(() -> test().duration(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("duration must be positive but was -1 s");
    assertThatThrownBy(() -> test().invocations(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("invocations must be positive but was 0");
    assertThatThrownBy(() -> test().duration(null)).isInstanceOf(NullPointerException.class).hasMessage("duration");
    assertThatThrownBy(() -> test().priceModel(null)).isInstanceOf(NullPointerException.class).hasMessage("priceModel");
    assertThatThrownBy(() -> test().progress(null)).isInstanceOf(NullPointerException.class).hasMessage("out");
  }

  @Test
  void options_setTwiceOrConflicting_areIllegalState() {
    cumulus.register(FnSpec.of("f", (Integer i) -> i).build());
    assertThatThrownBy(() -> test().concurrency(4).concurrency(8)).isInstanceOf(IllegalStateException.class)
        .hasMessage("concurrency was already set to 4");
    assertThatThrownBy(() -> test().duration(Duration.ofSeconds(1)).duration(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalStateException.class).hasMessage("duration was already set to 1 s");
    assertThatThrownBy(() -> test().invocations(5).invocations(6)).isInstanceOf(IllegalStateException.class)
        .hasMessage("invocations was already set to 5");
    assertThatThrownBy(() -> test().duration(Duration.ofSeconds(1)).invocations(6))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("duration and invocations are alternatives, and duration was already set to 1 s");
    assertThatThrownBy(() -> test().invocations(5).duration(Duration.ofSeconds(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("duration and invocations are alternatives, and invocations was already set to 5");
    assertThatThrownBy(() -> test().priceModel(PriceModel.cloudflareWorkers()).priceModel(PriceModel.awsLambdaX86(128)))
        .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("priceModel was already set to");
    assertThatThrownBy(() -> test().quiet().progress(System.out)).isInstanceOf(IllegalStateException.class)
        .hasMessage("progress was already set");
    assertThatThrownBy(() -> test().progress(System.out).quiet()).isInstanceOf(IllegalStateException.class)
        .hasMessage("progress was already set");
  }

  @Test
  void run_twice_isIllegalState() {
    cumulus.register(FnSpec.of("f", (Integer i) -> i).build());
    LoadTest test = test().invocations(3).quiet();
    test.run();
    assertThatThrownBy(test::run).isInstanceOf(IllegalStateException.class)
        .hasMessage("this load test already ran; start a new one with LoadTest.of");
  }

  private LoadTest test() {
    return LoadTest.of(cumulus, "f", () -> 1);
  }
}
