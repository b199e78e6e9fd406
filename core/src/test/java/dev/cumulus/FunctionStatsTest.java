package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class FunctionStatsTest {
  private static final Percentiles EARLY = new Percentiles(10, Duration.ofMillis(1), Duration.ofMillis(2),
      Duration.ofMillis(3), Duration.ofMillis(4));
  private static final Percentiles LATE = new Percentiles(5, Duration.ofMillis(5), Duration.ofMillis(6),
      Duration.ofMillis(7), Duration.ofMillis(8));

  private static FunctionStats stats(long n, int gauge, Percentiles percentiles) {
    return FunctionStats.builder("f")
        .invocations(6 * n).successes(n).failures(n).timeouts(n).throttles(n).rejected(n).cancelled(n)
        .coldStarts(n).inFlight(gauge).queued(gauge).warmInstances(gauge).peakConcurrency(gauge).overdue(gauge)
        .cpuTime(Duration.ofMillis(n)).wallTime(Duration.ofMillis(2 * n)).queueWait(Duration.ofMillis(3 * n))
        .initTime(Duration.ofMillis(4 * n)).allocatedBytes(5 * n).billedMillis(6 * n).billedCpuMillis(7 * n)
        .latency(percentiles).cpuPerInvocation(percentiles)
        .build();
  }

  @Test
  void empty_isAllZero_andBuilderDefaultsMatchIt() {
    FunctionStats empty = FunctionStats.empty("f");
    assertThat(empty).isEqualTo(FunctionStats.builder("f").build());
    assertThat(empty.invocations()).isZero();
    assertThat(empty.cpuTime()).isZero();
    assertThat(empty.latency()).isEqualTo(Percentiles.EMPTY);
    assertThat(empty.completed()).isZero();
  }

  @Test
  void plus_addsCountersGaugesAndDurations_takesTheLargerPeak_andTheLatestPercentilesWithSamples() {
    FunctionStats sum = stats(1, 2, EARLY).plus(stats(10, 3, LATE));
    assertThat(sum).isEqualTo(FunctionStats.builder("f")
        .invocations(66).successes(11).failures(11).timeouts(11).throttles(11).rejected(11).cancelled(11)
        .coldStarts(11).inFlight(5).queued(5).warmInstances(5).peakConcurrency(3).overdue(5)
        .cpuTime(Duration.ofMillis(11)).wallTime(Duration.ofMillis(22)).queueWait(Duration.ofMillis(33))
        .initTime(Duration.ofMillis(44)).allocatedBytes(55).billedMillis(66).billedCpuMillis(77)
        .latency(LATE).cpuPerInvocation(LATE)
        .build());
    assertThat(stats(1, 2, EARLY).plus(stats(1, 2, Percentiles.EMPTY)).latency()).isEqualTo(EARLY);
  }

  @Test
  void minus_subtractsCountersAndDurations_neverBelowZero_andKeepsTheLaterGaugesAndPercentiles() {
    FunctionStats used = stats(10, 3, LATE).minus(stats(1, 2, EARLY));
    assertThat(used).isEqualTo(FunctionStats.builder("f")
        .invocations(54).successes(9).failures(9).timeouts(9).throttles(9).rejected(9).cancelled(9)
        .coldStarts(9).inFlight(3).queued(3).warmInstances(3).peakConcurrency(3).overdue(3)
        .cpuTime(Duration.ofMillis(9)).wallTime(Duration.ofMillis(18)).queueWait(Duration.ofMillis(27))
        .initTime(Duration.ofMillis(36)).allocatedBytes(45).billedMillis(54).billedCpuMillis(63)
        .latency(LATE).cpuPerInvocation(LATE)
        .build());
    FunctionStats backwards = stats(1, 0, EARLY).minus(stats(10, 0, LATE));
    assertThat(backwards.invocations()).isZero();
    assertThat(backwards.cpuTime()).isZero();
    assertThat(stats(4, 1, EARLY).minus(stats(4, 1, EARLY)).completed()).isZero();
  }

  @Test
  void nullArguments_areRejectedNamingTheParameter() {
    assertThatThrownBy(() -> FunctionStats.empty("f").plus(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("other");
    assertThatThrownBy(() -> FunctionStats.empty("f").minus(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("earlier");
    assertThatThrownBy(() -> FunctionStats.builder(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("name");
    assertThatThrownBy(() -> FunctionStats.builder("f").cpuTime(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("cpuTime");
  }
}
