package dev.cumulus.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.cumulus.FunctionStats;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class QuickstartTest {
  @Test
  void run_scalesUpAndBackToZero_thenPrintsUsageAndBill_withNoControlCharactersOffATerminal() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    // A deadline far beyond the 2.5 s it takes: a busy machine may be slow, the test must not care.
    Quickstart.Result result = Quickstart.run(new PrintStream(bytes, true, StandardCharsets.UTF_8), false,
        Duration.ofSeconds(120));

    String out = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(out);
    assertThat(result.backToZero()).isTrue();
    assertThat(out).doesNotContain("\r").doesNotContain("\u001b");
    assertThat(out).contains("metering EXACT")
        .contains("  time  in flight")
        .contains("Back to zero ")
        .contains("nothing in flight or queued, no warm instance, no carrier thread.")
        .contains("Usage over")
        .contains("Bill (0.30 per 1M requests + 0.02 per 1M CPU-ms, metering EXACT)")
        .contains("Quickstart took ");
    // The lifecycle events, as the chart tells them: each function woke up, and went back to zero.
    for (String fn : new String[] {"mandelbrot", "fetch-quote", "invoice-total"}) {
      assertThat(out).containsPattern(fn + ": scaled from zero")
          .containsPattern(fn + ": (\\d+ cold starts?, )?scaled to zero");
    }

    // The chart: it went up, held warm instances, and its last row is zero everywhere.
    assertThat(result.rows()).anySatisfy(r -> assertThat(r.inFlight()).isGreaterThan(1));
    assertThat(result.rows()).anySatisfy(r -> assertThat(r.warm()).isGreaterThan(1));
    assertThat(result.rows()).anySatisfy(r -> assertThat(r.carriers()).isPositive());
    ScalingChart.Sample last = result.rows().getLast();
    assertThat(last.atZero()).as("last row %s", last).isTrue();
    assertThat(out.strip().lines().filter(l -> l.matches(" *\\d+\\.\\ds .*")).toList().getLast())
        .isEqualTo(ScalingChart.format(last, ""));

    // Every call succeeded; the blocking function ran many at once, within its limit.
    assertThat(result.usage().functions()).hasSize(3).allSatisfy(s -> {
      assertThat(s.invocations()).isPositive();
      assertThat(s.successes()).isEqualTo(s.invocations());
      assertThat(s.warmInstances()).isZero();
      assertThat(s.inFlight()).isZero();
    });
    FunctionStats quotes = result.usage().functions().stream().filter(s -> s.name().equals("fetch-quote"))
        .findFirst().orElseThrow();
    assertThat(quotes.invocations()).isEqualTo((long) Quickstart.ramp(Quickstart.PEAK_QUOTE_RATE, 3, 3));
    assertThat(quotes.peakConcurrency()).isBetween(2, Quickstart.QUOTE_CONCURRENCY);
  }

  @Test
  void ramp_risesToItsPeakHalfWay_andSendsHalfOfPeakTimesLength() {
    assertThat(Quickstart.ramp(2_400, 3, 0)).isZero();
    assertThat(Quickstart.ramp(2_400, 3, 1.5)).isCloseTo(1_800, within(1e-9));
    assertThat(Quickstart.ramp(2_400, 3, 3)).isCloseTo(3_600, within(1e-9));
    double previous = 0;
    for (int i = 1; i <= 300; i++) {
      double due = Quickstart.ramp(2_400, 3, i / 100.0);
      assertThat(due).isGreaterThanOrEqualTo(previous);
      previous = due;
    }
    // The rate (calls due per 10 ms) is highest half-way.
    assertThat(Quickstart.ramp(2_400, 3, 1.51) - Quickstart.ramp(2_400, 3, 1.50))
        .isGreaterThan(Quickstart.ramp(2_400, 3, 0.51) - Quickstart.ramp(2_400, 3, 0.50));
  }

  @Test
  void invoices_areTotalled_andABadLineIsNamed() {
    Quickstart.Invoices invoices = new Quickstart.Invoices();
    assertThat(invoices.totalCents("A,2,150\nB, 1 , 99")).isEqualTo(399);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> invoices.totalCents("A,2"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("not 'sku,quantity,cents': A,2");
  }
}
