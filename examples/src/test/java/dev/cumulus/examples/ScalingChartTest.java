package dev.cumulus.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ScalingChartTest {
  @Test
  void format_drawsOneMarkPerTenInFlight_andCapsTheBar() {
    assertThat(ScalingChart.format(new ScalingChart.Sample(1_500_000_000L, 0, 0, 0, 0), ""))
        .isEqualTo("  1.5s      0                                      0      0         0");
    assertThat(ScalingChart.format(new ScalingChart.Sample(0, 11, 3, 12, 2), "f: scaled from zero"))
        .isEqualTo("  0.0s     11 ##                                   3     12         2  f: scaled from zero");
    assertThat(ScalingChart.format(new ScalingChart.Sample(0, 5_000, 0, 0, 2), ""))
        .contains("#".repeat(ScalingChart.BAR_WIDTH - 1) + ">");
  }

  @Test
  void offATerminal_printsWholeRowsOnly() throws Exception {
    assertThat(chartOfOneCall(false)).doesNotContain("\r").contains("f: scaled from zero, 1 cold start")
        .containsPattern("f: [^;]*scaled to zero");
  }

  @Test
  void onATerminal_redrawsALiveLineInPlace_andEndsEveryRowWithANewLine() throws Exception {
    String out = chartOfOneCall(true);
    assertThat(out).contains("\r").contains("f: scaled from zero, 1 cold start");
    // Whatever the live line drew, each row ends the line it is on.
    String rendered = out.lines().map(l -> l.substring(l.lastIndexOf('\r') + 1)).reduce("", (a, b) -> a + b + "\n");
    assertThat(rendered.lines().filter(l -> l.startsWith("  ") && l.contains("s ")).count()).isPositive();
    assertThat(rendered).containsPattern("(?m)^ *\\d+\\.\\ds +0 +0 +0 +0( .*)?$").containsPattern("f: [^;]*scaled to zero");
  }

  /** One call of a function with a short keep-alive, charted until everything is back to zero. */
  private static String chartOfOneCall(boolean live) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    try (Cumulus cumulus = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(50)).build()) {
      Fn<String, Integer> f = cumulus.register(FnSpec.of("f", String::length).keepAlive(Duration.ofMillis(100)).build());
      try (ScalingChart chart = ScalingChart.start(cumulus, out, live, System.nanoTime())) {
        assertThat(f.invoke("abc")).isEqualTo(3);
        ScalingChart.Sample zero = chart.awaitZero().get(60, TimeUnit.SECONDS);
        assertThat(zero.atZero()).isTrue();
        assertThat(chart.rows()).last().isEqualTo(zero);
      }
    }
    String text = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(text.replace("\r", "\\r"));
    return text;
  }
}
