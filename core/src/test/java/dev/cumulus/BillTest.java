package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class BillTest {
  private static FunctionStats stats(String name, long ok, long failed, long timedOut, long throttled,
      long billedMillis, long billedCpuMillis) {
    return FunctionStats.builder(name).invocations(ok + failed + timedOut + throttled).successes(ok)
        .failures(failed).timeouts(timedOut).throttles(throttled).coldStarts(1).warmInstances(1)
        .peakConcurrency(1).cpuTime(Duration.ofMillis(billedCpuMillis)).wallTime(Duration.ofMillis(billedMillis))
        .billedMillis(billedMillis).billedCpuMillis(billedCpuMillis).build();
  }

  private static Usage usage(MeteringMode mode, FunctionStats... functions) {
    return new Usage(mode, Instant.EPOCH, Instant.EPOCH.plusSeconds(60), List.of(functions));
  }

  @Test
  void cpuModel_equalsTheHandComputation() {
    // 1.5M ok + 0.4M failed + 0.1M timed out = 2M billable requests (throttles are free).
    FunctionStats resize = stats("resize", 1_500_000, 400_000, 100_000, 777, 9_000_000, 3_000_000);
    FunctionStats tiny = stats("tiny", 3, 0, 0, 0, 3, 3);
    Bill bill = usage(MeteringMode.EXACT, resize, tiny)
        .bill(PriceModel.perRequestAndCpuMs(new BigDecimal("0.30"), new BigDecimal("0.02")));
    Bill.Line line = bill.lines().get(0);
    assertThat(line.requests()).isEqualTo(2_000_000);
    assertThat(line.unit()).isEqualTo("CPU-ms");
    assertThat(line.usage()).isEqualByComparingTo("3000000");
    assertThat(line.requestCost()).isEqualByComparingTo("0.60");   // 2 x 0.30
    assertThat(line.computeCost()).isEqualByComparingTo("0.06");   // 3 x 0.02
    assertThat(line.total()).isEqualByComparingTo("0.66");
    Bill.Line small = bill.lines().get(1);
    assertThat(small.requestCost()).isEqualByComparingTo("0.0000009"); // 3 x 0.30 / 1M
    assertThat(small.computeCost()).isEqualByComparingTo("0.00000006"); // 3 x 0.02 / 1M
    assertThat(bill.total()).isEqualByComparingTo("0.66000096");
  }

  @Test
  void gbSecondModel_equalsTheHandComputation() {
    FunctionStats f = stats("etl", 2_000_000, 0, 0, 0, 10_000_000, 0);
    Bill bill = usage(MeteringMode.WALL_CLOCK_ONLY, f)
        .bill(PriceModel.perRequestAndGbSeconds(new BigDecimal("0.20"), new BigDecimal("0.0000166667"), 512));
    Bill.Line line = bill.lines().get(0);
    // 10 000 000 ms = 10 000 s at 0.5 GB = 5 000 GB-s; x 0.0000166667 = 0.0833335; 2M requests x 0.20 = 0.40
    assertThat(line.usage()).isEqualByComparingTo("5000");
    assertThat(line.unit()).isEqualTo("GB-s");
    assertThat(line.computeCost()).isEqualByComparingTo("0.0833335");
    assertThat(line.requestCost()).isEqualByComparingTo("0.40");
    assertThat(bill.total()).isEqualByComparingTo("0.4833335");
  }

  @Test
  void presets_matchTheirDocumentedFigures() {
    FunctionStats f = stats("f", 1_000_000, 0, 0, 0, 1_024_000, 1_000_000);
    assertThat(usage(MeteringMode.EXACT, f).bill(PriceModel.cloudflareWorkers()).total())
        .isEqualByComparingTo("0.32"); // 0.30 + 0.02
    assertThat(usage(MeteringMode.EXACT, f).bill(PriceModel.awsLambdaX86(1024)).total())
        .isEqualByComparingTo("0.2170667008"); // 0.20 + 1024 GB-s x 0.0000166667
  }

  @Test
  void cpuModel_refusesWallClockUsage() {
    Usage wall = usage(MeteringMode.WALL_CLOCK_ONLY, stats("f", 1, 0, 0, 0, 1, 0));
    assertThatThrownBy(() -> wall.bill(PriceModel.cloudflareWorkers()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("needs MeteringMode.EXACT, but this usage was metered WALL_CLOCK_ONLY");
  }

  @Test
  void badPrices_nameTheOptionAndValue() {
    assertThatThrownBy(() -> PriceModel.perRequestAndCpuMs(new BigDecimal("-1"), BigDecimal.ONE))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("perMillionRequests must not be negative but was -1");
    assertThatThrownBy(() -> PriceModel.perRequestAndGbSeconds(BigDecimal.ONE, BigDecimal.ONE, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("memoryMb must be positive but was 0");
    assertThatThrownBy(() -> PriceModel.perRequestAndCpuMs(null, BigDecimal.ONE))
        .isInstanceOf(NullPointerException.class).hasMessage("perMillionRequests");
  }

  @Test
  void toTable_isAligned() {
    Bill bill = usage(MeteringMode.EXACT, stats("a-long-function-name", 10, 0, 0, 0, 10, 10), stats("b", 5, 0, 0, 0, 5, 5))
        .bill(PriceModel.cloudflareWorkers());
    String table = bill.toTable();
    System.out.println(table);
    List<String> lines = table.lines().toList();
    assertThat(lines.get(0)).startsWith("Bill (0.30 per 1M requests + 0.02 per 1M CPU-ms, metering EXACT)");
    assertThat(lines.subList(1, lines.size()).stream().map(String::length).distinct()).hasSize(1);
    assertThat(table).contains("TOTAL").contains("a-long-function-name");
  }

  @Test
  void bytesPrice_addsTheBytesAndTheirCost_toEveryLine_equalToTheHandComputation() {
    FunctionStats scan = FunctionStats.builder("scan").successes(1_000_000).invocations(1_000_000)
        .billedCpuMillis(1_000_000).bytesProcessed(3L << 40).build();
    FunctionStats idle = FunctionStats.builder("idle").successes(1).invocations(1).billedCpuMillis(1).build();
    PriceModel model = PriceModel.cloudflareWorkers().withPerTibProcessed(new BigDecimal("6.25"));

    Bill bill = usage(MeteringMode.EXACT, scan, idle).bill(model);

    Bill.Line line = bill.lines().get(0);
    assertThat(line.bytesProcessed()).isEqualTo(3L << 40);
    assertThat(line.bytesCost()).isEqualByComparingTo("18.75");            // 3 TiB x 6.25
    assertThat(line.requestCost()).isEqualByComparingTo("0.30");
    assertThat(line.computeCost()).isEqualByComparingTo("0.02");
    assertThat(line.total()).isEqualByComparingTo("19.07");
    assertThat(bill.lines().get(1).bytesCost()).isZero();
    assertThat(bill.total()).isEqualByComparingTo("19.0700003200");      // + 1 request and 1 CPU-ms
    assertThat(model.description()).isEqualTo("0.30 per 1M requests + 0.02 per 1M CPU-ms + 6.25 per TiB processed");

    String table = bill.toTable();
    System.out.println(table);
    List<String> lines = table.lines().toList();
    assertThat(lines.get(1)).contains("processed", "bytes cost");
    assertThat(lines.get(3)).contains("3.00 TiB", "18.750000");
    assertThat(lines.subList(1, lines.size()).stream().map(String::length).distinct()).hasSize(1);
  }

  @Test
  void bytesPrice_givenTwice_replacesTheFirst_andWorksOnAnyModel() {
    PriceModel perRequestOnly = new PriceModel() {
      @Override
      public String description() {
        return "1 per request";
      }

      @Override
      public Bill.Line price(FunctionStats stats, MeteringMode mode) {
        return new Bill.Line(stats.name(), stats.successes(), BigDecimal.ZERO, "none",
            BigDecimal.valueOf(stats.successes()), BigDecimal.ZERO);
      }
    };
    PriceModel model = perRequestOnly.withPerTibProcessed(BigDecimal.ONE).withPerTibProcessed(BigDecimal.TEN);
    FunctionStats f = FunctionStats.builder("f").successes(2).invocations(2).bytesProcessed(1L << 40).build();

    Bill.Line line = usage(MeteringMode.WALL_CLOCK_ONLY, f).bill(model).lines().get(0);

    assertThat(line.bytesCost()).isEqualByComparingTo("10");
    assertThat(line.total()).isEqualByComparingTo("12");
    assertThat(model.description()).isEqualTo("1 per request + 10 per TiB processed");
  }

  @Test
  void withoutBytesProcessed_theTableHasNoBytesColumns() {
    String table = usage(MeteringMode.EXACT, stats("f", 1, 0, 0, 0, 1, 1)).bill(PriceModel.cloudflareWorkers()).toTable();
    assertThat(table).doesNotContain("processed").doesNotContain("bytes cost");
    assertThat(usage(MeteringMode.EXACT, stats("f", 1, 0, 0, 0, 1, 1)).toString()).doesNotContain("processed");
  }

  @Test
  void badBytesPrice_namesTheOptionAndValue() {
    assertThatThrownBy(() -> PriceModel.cloudflareWorkers().withPerTibProcessed(new BigDecimal("-0.01")))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("perTib must not be negative but was -0.01");
    assertThatThrownBy(() -> PriceModel.cloudflareWorkers().withPerTibProcessed(null))
        .isInstanceOf(NullPointerException.class).hasMessage("perTib");
    assertThatThrownBy(() -> new Bill.Line("f", 1, BigDecimal.ZERO, "u", BigDecimal.ZERO, BigDecimal.ZERO, -1,
        BigDecimal.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bytesProcessed must not be negative but was -1");
  }
}
