package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationTextTest {

  @Test
  void showsEachDurationInItsLargestUnit_withAtMostThreeSignificantDigits() {
    assertThat(DurationText.of(Duration.ZERO)).isEqualTo("0 ms");
    assertThat(DurationText.of(Duration.ofNanos(5))).isEqualTo("5 ns");
    assertThat(DurationText.of(Duration.ofNanos(1_500))).isEqualTo("1.5 µs");
    assertThat(DurationText.of(Duration.ofMillis(200))).isEqualTo("200 ms");
    assertThat(DurationText.of(Duration.ofMillis(10))).isEqualTo("10 ms");
    assertThat(DurationText.of(Duration.ofNanos(1_250_000))).isEqualTo("1.25 ms");
    assertThat(DurationText.of(Duration.ofMillis(2_500))).isEqualTo("2.5 s");
    assertThat(DurationText.of(Duration.ofSeconds(60))).isEqualTo("1 min");
    assertThat(DurationText.of(Duration.ofSeconds(90))).isEqualTo("1.5 min");
    assertThat(DurationText.of(Duration.ofHours(6))).isEqualTo("6 h");
    assertThat(DurationText.of(Duration.ofDays(1))).isEqualTo("1 day");
    assertThat(DurationText.of(Duration.ofDays(1_000))).isEqualTo("1000 days");
  }

  @Test
  void effectivelyInfiniteAndNegativeDurations_readSensibly() {
    assertThat(DurationText.of(Duration.ofNanos(Long.MAX_VALUE))).isEqualTo("292 years");
    assertThat(DurationText.of(Duration.ofSeconds(Long.MAX_VALUE))).isEqualTo("292,271,023,045 years");
    assertThat(DurationText.of(Duration.ofMillis(-1))).isEqualTo("-1 ms");
    assertThat(DurationText.of(Duration.ofSeconds(-1))).isEqualTo("-1 s");
    assertThat(DurationText.nanos(3_000_000_000L)).isEqualTo("3 s");
  }
}
