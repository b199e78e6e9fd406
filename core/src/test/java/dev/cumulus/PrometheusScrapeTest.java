package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hawkular.agent.prometheus.text.TextPrometheusMetricDataParser;
import org.hawkular.agent.prometheus.types.Counter;
import org.hawkular.agent.prometheus.types.Gauge;
import org.hawkular.agent.prometheus.types.Histogram;
import org.hawkular.agent.prometheus.types.Metric;
import org.hawkular.agent.prometheus.types.MetricFamily;
import org.hawkular.agent.prometheus.types.MetricType;
import org.hawkular.agent.prometheus.types.Summary;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A real Prometheus scrape of the meters ({@code micrometer-registry-prometheus}), read back by a
 * parser of the text format, and checked by {@code promtool check metrics} when promtool can be had.
 *
 * <p>The parser: the Prometheus Java client (simpleclient 0.x, and the {@code prometheus-metrics-*}
 * 1.x that Micrometer uses) writes the text format but has no parser of it (its own tests read the
 * protobuf format back). So the scrape is read with Hawkular's {@code prometheus-scraper}, a Java port
 * of the parser of Prometheus's Python client. It skips a line it cannot read rather than failing, so
 * the test also checks that every sample line of the scrape landed in a parsed family.
 *
 * <p>promtool comes with Debian's package {@code prometheus}; {@code .ci/run} takes it out of the
 * package when it is missing. Found through {@code -Dcumulus.promtool=<path>}, the {@code PATH}, or
 * where {@code .ci/run} leaves it; without it that part is skipped, saying so.
 */
class PrometheusScrapeTest {
  private static final List<String> PER_FUNCTION = List.of("cumulus_invocations_total",
      "cumulus_cpu_time_seconds_total", "cumulus_cpu_billed_seconds_total",
      "cumulus_billed_duration_seconds_total", "cumulus_allocated_bytes_total", "cumulus_processed_bytes_total", "cumulus_cold_starts_total",
      "cumulus_init_time_seconds_total", "cumulus_in_flight_invocations", "cumulus_queued_invocations",
      "cumulus_warm_instances", "cumulus_concurrency_peak_invocations", "cumulus_concurrency_limit_invocations",
      "cumulus_events_total", "cumulus_emitted_events_total", "cumulus_pending_events", "cumulus_event_retries_total",
      "cumulus_dead_letter_sink_failures_total");
  private static final List<String> RUNTIME = List.of("cumulus_functions", "cumulus_carriers_live_threads",
      "cumulus_capacity_used_invocations", "cumulus_capacity_limit_invocations", "cumulus_metering_mode",
      "cumulus_listener_failures_total", "cumulus_listener_dropped_total", "cumulus_tenants_folded_calls_total");
  private static final List<String> PER_TENANT = List.of("cumulus_tenant_invocations_total",
      "cumulus_tenant_cpu_time_seconds_total", "cumulus_tenant_cpu_billed_seconds_total",
      "cumulus_tenant_billed_duration_seconds_total", "cumulus_tenant_queue_wait_seconds_total");

  @ParameterizedTest(name = "percentileHistogram={0}")
  @ValueSource(booleans = {false, true})
  void theScrape_isReadBackByAParserOfTheTextFormat_withEveryPerFunctionSeries(boolean histogram)
      throws IOException {
    String scrape = scrape(histogram);
    Map<String, MetricFamily> families = parse(scrape);

    long sampleLines = scrape.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).count();
    assertThat(families.values().stream().mapToLong(PrometheusScrapeTest::samples).sum())
        .as("every sample line of the scrape is in a parsed family").isEqualTo(sampleLines);
    assertThat(families.keySet()).containsAll(PER_FUNCTION).containsAll(RUNTIME);
    assertThat(families.values()).allSatisfy(f -> assertThat(f.getHelp()).as(f.getName()).isNotBlank());

    for (String name : PER_FUNCTION) {
      assertThat(families.get(name).getMetrics()).as(name)
          .anySatisfy(m -> assertThat(m.getLabels()).containsEntry("function", "word-count"))
          .anySatisfy(m -> assertThat(m.getLabels()).containsEntry("function", "gated"));
    }
    for (String name : PER_TENANT) {
      assertThat(families.get(name).getMetrics()).as(name).isNotEmpty().allSatisfy(m -> assertThat(m.getLabels())
          .containsEntry("function", "tenanted").containsEntry("tenant", "acme"));
    }
    assertThat(value(families, "cumulus_tenant_invocations_total", "tenanted", "success")).isEqualTo(2); // a call, an event
    assertThat(value(families, "cumulus_invocations_total", "word-count", "success")).isEqualTo(7); // five calls and two events
    assertThat(value(families, "cumulus_invocations_total", "word-count", "failure")).isEqualTo(1);
    assertThat(value(families, "cumulus_invocations_total", "gated", "throttled")).isEqualTo(3);
    assertThat(value(families, "cumulus_in_flight_invocations", "gated", null)).isEqualTo(1);
    assertThat(value(families, "cumulus_processed_bytes_total", "word-count", null))
        .as("five calls of 15 characters, events of 8 and 13 (the duplicate did not run)").isEqualTo(96);
    assertThat(value(families, "cumulus_events_total", "word-count", "succeeded")).isEqualTo(2);
    assertThat(value(families, "cumulus_events_total", "word-count", "duplicate")).isEqualTo(1);
    assertThat(value(families, "cumulus_emitted_events_total", "word-count", null)).isEqualTo(2);
    assertThat(value(families, "cumulus_pending_events", "word-count", null)).isZero();
    assertThat(value(families, "cumulus_concurrency_limit_invocations", "gated", null)).isEqualTo(1);
    assertThat(families.get("cumulus_invocations_total").getType()).isEqualTo(MetricType.COUNTER);
    assertThat(families.get("cumulus_warm_instances").getType()).isEqualTo(MetricType.GAUGE);
    assertThat(families.get("cumulus_metering_mode").getMetrics()).singleElement()
        .satisfies(m -> assertThat(m.getLabels()).containsKey("mode"));

    Metric latency = families.get("cumulus_invocation_latency_seconds").getMetrics().stream()
        .filter(m -> "word-count".equals(m.getLabels().get("function"))).findFirst().orElseThrow();
    if (histogram) {
      assertThat(families.get("cumulus_invocation_latency_seconds").getType()).isEqualTo(MetricType.HISTOGRAM);
      assertThat(((Histogram) latency).getSampleCount()).isEqualTo(8);
      assertThat(((Histogram) latency).getBuckets()).hasSizeGreaterThan(10);
    } else {
      assertThat(families.get("cumulus_invocation_latency_seconds").getType()).isEqualTo(MetricType.SUMMARY);
      assertThat(((Summary) latency).getSampleCount()).isEqualTo(8);
      assertThat(((Summary) latency).getSampleSum()).isPositive();
    }
  }

  @ParameterizedTest(name = "percentileHistogram={0}")
  @ValueSource(booleans = {false, true})
  void theScrape_passesPromtoolCheckMetrics(boolean histogram, @TempDir Path dir) throws Exception {
    Optional<Path> promtool = promtool();
    if (promtool.isEmpty()) {
      String why = "promtool not found (-Dcumulus.promtool, PATH, or where .ci/run extracts Debian's"
          + " package prometheus): `promtool check metrics` not run";
      System.out.println("PrometheusScrapeTest: skipped: " + why);
      Assumptions.abort(why);
    }
    Path file = dir.resolve("scrape.txt");
    Files.writeString(file, scrape(histogram));
    Process p = new ProcessBuilder(promtool.get().toString(), "check", "metrics")
        .redirectInput(file.toFile())
        .redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("promtool check metrics said:%n%s", out).isZero();
    assertThat(out).as("promtool's lint findings").isBlank();
  }

  /** A workload on two functions, scraped while one of them still runs and throttles. */
  private static String scrape(boolean histogram) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CountDownLatch gate = new CountDownLatch(1);
    try (Cumulus c = Cumulus.builder().meterRegistry(registry, m -> m.percentileHistogram(histogram)).build()) {
      Fn<String, Integer> words = c.register(FnSpec.of("word-count", (String s) -> {
        if (s.isEmpty()) {
          throw new IllegalArgumentException("nothing to count");
        }
        FnContext.current().addBytesProcessed(s.length());
        return s.split("\\s+").length;
      }).build());
      for (int i = 0; i < 5; i++) {
        words.invoke("scale to zero " + i);
      }
      words.invokeAsync("").exceptionally(e -> -1).join();
      words.emit("an event");
      words.emit("a keyed event", "key");
      words.emit("a keyed event", "key"); // a duplicate
      await().until(() -> words.stats().eventsSucceeded() == 2);
      Fn<String, Integer> tenanted = c.register(FnSpec.of("tenanted", String::length).build());
      tenanted.invoke("for a tenant", CallOptions.tenant("acme"));
      tenanted.emit("an event for a tenant", CallOptions.tenant("acme"));
      await().until(() -> tenanted.stats().eventsSucceeded() == 1
          && registry.find("cumulus.tenant.invocations").meters().size() == 6);
      Fn<Integer, Integer> gated = c.register(FnSpec.of("gated", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).maxConcurrency(1).queueCapacity(0).build());
      CompletableFuture<Integer> running = gated.invokeAsync(1);
      await().until(() -> gated.stats().inFlight() == 1);
      for (int i = 0; i < 3; i++) {
        gated.invokeAsync(i).exceptionally(e -> -1).join();
      }
      String text = registry.scrape();
      gate.countDown();
      running.join();
      return text;
    }
  }

  private static Map<String, MetricFamily> parse(String scrape) throws IOException {
    Map<String, MetricFamily> families = new LinkedHashMap<>();
    TextPrometheusMetricDataParser parser =
        new TextPrometheusMetricDataParser(new ByteArrayInputStream(scrape.getBytes(StandardCharsets.UTF_8)));
    MetricFamily f;
    while ((f = parser.parse()) != null) {
      assertThat(families.put(f.getName(), f)).as("family %s once", f.getName()).isNull();
    }
    return families;
  }

  private static long samples(MetricFamily family) {
    return family.getMetrics().stream().mapToLong(m -> switch (m) {
      case Summary s -> s.getQuantiles().size() + 2L;
      case Histogram h -> h.getBuckets().size() + 2L;
      default -> 1L;
    }).sum();
  }

  private static double value(Map<String, MetricFamily> families, String family, String fn, String outcome) {
    return families.get(family).getMetrics().stream()
        .filter(m -> fn.equals(m.getLabels().get("function"))
            && (outcome == null || outcome.equals(m.getLabels().get("outcome"))))
        .mapToDouble(m -> m instanceof Counter c ? c.getValue() : ((Gauge) m).getValue())
        .findFirst().orElseThrow();
  }

  private static Optional<Path> promtool() {
    String configured = System.getProperty("cumulus.promtool", "");
    Stream<Path> candidates = Stream.concat(
        configured.isEmpty() ? Stream.empty() : Stream.of(Path.of(configured)),
        Stream.concat(
            Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .filter(d -> !d.isEmpty()).map(d -> Path.of(d, "promtool")),
            Stream.of(Path.of(System.getProperty("user.home"), ".cache/cumulus/prometheus-deb/usr/bin/promtool"))));
    return candidates.filter(Files::isExecutable).findFirst();
  }
}
