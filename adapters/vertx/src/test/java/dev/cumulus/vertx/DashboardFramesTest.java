package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.MeteringMode;
import dev.cumulus.PriceModel;
import dev.cumulus.Usage;
import io.vertx.core.json.JsonObject;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The dashboard's figures, from made-up usage snapshots: rates, bill, projections, no clock. */
class DashboardFramesTest {
  private static final Instant T0 = Instant.parse("2026-12-01T12:00:00Z");
  /** One unit of money per request, nothing for compute: the bill counts the requests. */
  private static final PriceModel PER_REQUEST = PriceModel.perRequestAndCpuMs(BigDecimal.valueOf(1_000_000), BigDecimal.ZERO);
  private static final Map<String, FnSpec<?, ?>> REGISTERED = Map.of(
      "resize", FnSpec.of("resize", (String s) -> s).maxConcurrency(4).queueCapacity(8).build(),
      "hello", FnSpec.ofSupplier("hello", () -> "hi").build());

  private static FunctionStats stats(String name, long calls, double cpuMs, int inFlight, int queued) {
    return FunctionStats.builder(name).invocations(calls).successes(calls).coldStarts(Math.min(calls, 1))
        .inFlight(inFlight).queued(queued).warmInstances(1).peakConcurrency(Math.max(1, inFlight))
        .cpuTime(Duration.ofNanos((long) (cpuMs * 1e6))).wallTime(Duration.ofMillis(calls)).billedMillis(calls)
        .billedCpuMillis((long) Math.ceil(cpuMs)).build();
  }

  private static Usage usage(MeteringMode mode, long secondsAfterT0, FunctionStats... functions) {
    return new Usage(mode, T0.minusSeconds(600), T0.plusSeconds(secondsAfterT0), List.of(functions));
  }

  private static JsonObject function(JsonObject frame, String name) {
    return frame.getJsonArray("functions").stream().map(JsonObject.class::cast)
        .filter(f -> f.getString("name").equals(name)).findFirst().orElseThrow();
  }

  @Test
  void firstFrame_hasTheFiguresOfTheMoment_butNoRatesNorProjection() {
    DashboardFrames frames = new DashboardFrames(PER_REQUEST);

    JsonObject frame = frames.next(usage(MeteringMode.EXACT, 0, stats("resize", 10, 50, 3, 2)), 2, REGISTERED);

    assertThat(frame.getLong("t")).isEqualTo(T0.toEpochMilli());
    assertThat(frame.getInteger("carrierThreads")).isEqualTo(2);
    assertThat(frame.getString("meteringMode")).isEqualTo("EXACT");
    assertThat(frame.getString("priceModel")).isEqualTo(PER_REQUEST.description());
    JsonObject resize = function(frame, "resize");
    assertThat(resize.getInteger("inFlight")).isEqualTo(3);
    assertThat(resize.getInteger("queued")).isEqualTo(2);
    assertThat(resize.getInteger("maxConcurrency")).isEqualTo(4);
    assertThat(resize.getInteger("queueCapacity")).isEqualTo(8);
    assertThat(resize.getBoolean("registered")).isTrue();
    assertThat(resize.getDouble("cost")).isEqualTo(10.0);
    assertThat(resize.containsKey("callsPerSec")).isFalse();
    assertThat(resize.containsKey("cpuMsPerSec")).isFalse();
    assertThat(resize.containsKey("costPerHour")).isFalse();
    assertThat(resize.containsKey("p99Ms")).as("no call has ended: no latency, not a zero").isFalse();
    assertThat(frame.getJsonObject("total").getInteger("inFlight")).isEqualTo(3);
    assertThat(frame.getJsonObject("total").getDouble("cost")).isEqualTo(10.0);
  }

  @Test
  void rates_areTheDeltaOverTheIntervalBetweenSnapshots() {
    DashboardFrames frames = new DashboardFrames(PER_REQUEST);
    frames.next(usage(MeteringMode.EXACT, 0, stats("resize", 10, 100, 0, 0), stats("hello", 0, 0, 0, 0)), 1, REGISTERED);

    JsonObject frame = frames.next(usage(MeteringMode.EXACT, 2,
        stats("resize", 30, 300, 4, 8), stats("hello", 4, 1, 0, 0)), 2, REGISTERED);

    JsonObject resize = function(frame, "resize");
    assertThat(resize.getDouble("callsPerSec")).isCloseTo(10.0, within(1e-9));
    assertThat(resize.getDouble("cpuMsPerSec")).isCloseTo(100.0, within(1e-9));
    JsonObject total = frame.getJsonObject("total");
    assertThat(total.getDouble("callsPerSec")).isCloseTo(12.0, within(1e-9));
    assertThat(total.getDouble("cpuMsPerSec")).isCloseTo(100.5, within(1e-9));
    assertThat(total.getInteger("inFlight")).isEqualTo(4);
    assertThat(total.getInteger("queued")).isEqualTo(8);
    assertThat(function(frame, "hello").getValue("maxConcurrency")).as("no reservation").isNull();
  }

  @Test
  void projection_isTheCostRateOfTheLastMinute_perHourAndPerMonth() {
    DashboardFrames frames = new DashboardFrames(PER_REQUEST);
    frames.next(usage(MeteringMode.EXACT, 0, stats("resize", 0, 0, 0, 0)), 0, REGISTERED);
    frames.next(usage(MeteringMode.EXACT, 30, stats("resize", 10, 0, 0, 0)), 0, REGISTERED);
    JsonObject minute = frames.next(usage(MeteringMode.EXACT, 60, stats("resize", 20, 0, 0, 0)), 0, REGISTERED);

    // 20 requests in 60 s: 1 200 an hour, 730 hours a month.
    assertThat(minute.getJsonObject("total").getDouble("costPerHour")).isCloseTo(1_200.0, within(1e-6));
    assertThat(minute.getJsonObject("total").getDouble("costPerMonth")).isCloseTo(1_200.0 * 730, within(1e-3));
    assertThat(function(minute, "resize").getDouble("costPerHour")).isCloseTo(1_200.0, within(1e-6));

    // Later, only the last minute counts: from second 60 (20) to 120 (80) is 60 in a minute.
    frames.next(usage(MeteringMode.EXACT, 90, stats("resize", 30, 0, 0, 0)), 0, REGISTERED);
    JsonObject later = frames.next(usage(MeteringMode.EXACT, 120, stats("resize", 80, 0, 0, 0)), 0, REGISTERED);
    assertThat(later.getJsonObject("total").getDouble("costPerHour")).isCloseTo(3_600.0, within(1e-6));
    assertThat(later.getJsonObject("total").getDouble("cost")).isEqualTo(80.0);
  }

  @Test
  void reset_startsRatesAndProjectionAgain() {
    DashboardFrames frames = new DashboardFrames(PER_REQUEST);
    frames.next(usage(MeteringMode.EXACT, 0, stats("resize", 0, 0, 0, 0)), 0, REGISTERED);
    frames.next(usage(MeteringMode.EXACT, 1, stats("resize", 5, 0, 0, 0)), 0, REGISTERED);

    frames.reset();
    JsonObject frame = frames.next(usage(MeteringMode.EXACT, 600, stats("resize", 5, 0, 0, 0)), 0, REGISTERED);

    assertThat(frame.getJsonObject("total").containsKey("callsPerSec")).isFalse();
    assertThat(frame.getJsonObject("total").containsKey("costPerHour")).isFalse();
  }

  @Test
  void wallClockOnly_hasNoCpuRate_andACpuModelSaysWhyThereIsNoBill() {
    DashboardFrames frames = new DashboardFrames(PriceModel.cloudflareWorkers());
    frames.next(usage(MeteringMode.WALL_CLOCK_ONLY, 0, stats("resize", 0, 0, 0, 0)), 0, REGISTERED);

    JsonObject frame = frames.next(usage(MeteringMode.WALL_CLOCK_ONLY, 1, stats("resize", 3, 0, 0, 0)), 0, REGISTERED);

    assertThat(function(frame, "resize").getDouble("callsPerSec")).isCloseTo(3.0, within(1e-9));
    assertThat(function(frame, "resize").containsKey("cpuMsPerSec")).isFalse();
    assertThat(frame.getString("billError")).startsWith("the price model cannot price this usage: ")
        .contains("MeteringMode.EXACT");
    assertThat(frame.getJsonObject("total").containsKey("cost")).isFalse();
  }

  @Test
  void anUnregisteredFunction_keepsItsLine_markedSo() {
    DashboardFrames frames = new DashboardFrames(PER_REQUEST);

    JsonObject frame = frames.next(usage(MeteringMode.EXACT, 0, stats("gone", 7, 0, 0, 0)), 0, REGISTERED);

    JsonObject gone = function(frame, "gone");
    assertThat(gone.getBoolean("registered")).isFalse();
    assertThat(gone.getDouble("cost")).isEqualTo(7.0);
    assertThat(gone.getValue("queueCapacity")).isNull();
  }

  @Test
  void point_keepsWhatTheChartsDraw_underTheFramesNames() {
    DashboardFrames frames = new DashboardFrames(PER_REQUEST);
    frames.next(usage(MeteringMode.EXACT, 0, stats("resize", 0, 0, 0, 0)), 1, REGISTERED);
    JsonObject frame = frames.next(usage(MeteringMode.EXACT, 1, stats("resize", 2, 40, 3, 5)), 2, REGISTERED);

    JsonObject point = DashboardFrames.point(frame);

    assertThat(point.getLong("t")).isEqualTo(frame.getLong("t"));
    assertThat(point.getInteger("carrierThreads")).isEqualTo(2);
    assertThat(point.getJsonObject("total").getDouble("cpuMsPerSec")).isCloseTo(40.0, within(1e-9));
    JsonObject resize = point.getJsonArray("functions").getJsonObject(0);
    assertThat(resize.getString("name")).isEqualTo("resize");
    assertThat(resize.getInteger("inFlight")).isEqualTo(3);
    assertThat(resize.getInteger("queued")).isEqualTo(5);
    assertThat(resize.fieldNames()).containsExactlyInAnyOrder("name", "inFlight", "queued", "cpuMsPerSec");
  }
}
