package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The keep-alive replay counts what the pool does, call by call, on its simulated clock: checked on
 * traces whose outcome is known without running it.
 */
class KeepAliveReplayTest {
  private static final long DAY = Duration.ofDays(1).toNanos();
  private static final Duration HALF_SECOND = Duration.ofMillis(500);

  private static List<KeepAliveReplay.Call> hourly() {
    return KeepAliveReplay.timer(new SplittableRandom(1), Duration.ofHours(1), Duration.ZERO, HALF_SECOND, 0, DAY);
  }

  @Test
  void anHourlyTimer_isColdEveryTimeWithFixedKeepAlives_andWarmOnceAdaptiveHasLearnt() {
    List<KeepAliveReplay.Call> calls = hourly();
    assertThat(calls).hasSize(24);
    KeepAliveReplay.Result fixed30s = KeepAliveReplay.replay("hourly", calls, DAY,
        KeepAliveReplay.Policy.fixed(Duration.ofSeconds(30)));
    KeepAliveReplay.Result fixed10min = KeepAliveReplay.replay("hourly", calls, DAY,
        KeepAliveReplay.Policy.fixed(Duration.ofMinutes(10)));
    KeepAliveReplay.Result adaptive = KeepAliveReplay.replay("hourly", calls, DAY,
        KeepAliveReplay.Policy.adaptiveDefault());

    assertThat(fixed30s.coldStarts()).isEqualTo(24);
    assertThat(fixed10min.coldStarts()).isEqualTo(24);
    // Ten idle times to learn (the first call and the next ten are cold), then pre-warmed.
    assertThat(adaptive.coldStarts()).isEqualTo(11);
    // One before each of the 13 warm calls, and one for the call after the last (due within the day).
    assertThat(adaptive.preWarms()).isEqualTo(14);
    // Each warm instance-second is accounted: 30 s after each of 24 calls of half a second.
    assertThat(fixed30s.warmInstanceSeconds()).isCloseTo(24 * 30.5, within(1e-6));
    assertThat(fixed10min.warmInstanceSeconds()).isCloseTo(24 * 600.5, within(1e-6));
    assertThat(adaptive.warmInstanceSeconds()).isLessThan(fixed10min.warmInstanceSeconds());
    assertThat(adaptive.peakInstances()).isEqualTo(1);
  }

  @Test
  void overlappingCallsOfABurst_eachHoldAnInstance() {
    List<KeepAliveReplay.Call> burst = List.of(new KeepAliveReplay.Call(0, 300_000_000),
        new KeepAliveReplay.Call(100_000_000, 300_000_000), new KeepAliveReplay.Call(200_000_000, 300_000_000),
        new KeepAliveReplay.Call(450_000_000, 300_000_000));
    KeepAliveReplay.Result r = KeepAliveReplay.replay("burst", burst, DAY,
        KeepAliveReplay.Policy.fixed(Duration.ofSeconds(30)));
    assertThat(r.coldStarts()).isEqualTo(3); // the fourth call takes the first call's instance back
    assertThat(r.peakInstances()).isEqualTo(3);
  }

  @Test
  void population_sumsTheFunctionsOverTime() {
    List<long[]> a = List.of(new long[] {0, 1}, new long[] {50, 0});
    List<long[]> b = List.of(new long[] {25, 2}, new long[] {75, 0});
    assertThat(KeepAliveReplay.population(List.of(a, b), 100)).containsExactly((50 + 2 * 50) / 100.0, 3);
  }

  @Test
  void theReport_coversEveryTraceAndPolicy() {
    String report = KeepAliveReplay.report(7);
    for (KeepAliveReplay.Trace t : KeepAliveReplay.traces(7)) {
      assertThat(report).contains(t.name());
    }
    assertThat(report).contains("fixed 30 s", "fixed 10 min", "adaptive", "all six");
  }
}
