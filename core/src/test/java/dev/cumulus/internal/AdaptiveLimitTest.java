package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The estimator of {@link AdaptiveLimit} on synthetic latencies and a fake clock: a downstream whose
 * latency is flat up to its capacity ("knee") and grows in proportion beyond it, as a server of
 * {@code knee} slots shared by everything sent to it. Every window the function runs as many calls
 * as its limit allows (or as it has, when it has fewer), and each takes the downstream's latency at
 * that concurrency, give or take 5 % of noise. Deterministic for a seed (printed; rerun with
 * {@code -Dcumulus.seed=}).
 */
class AdaptiveLimitTest {
  private static final long L0 = 2_000_000; // 2 ms: the downstream's latency below its knee
  private static final long SAMPLE_SPACING = 1_000_000; // 20 samples per 20 ms window

  private long seed;
  private SplittableRandom random;
  private long now;
  private final List<Integer> trace = new ArrayList<>();

  @BeforeEach
  void seed() {
    seed = Long.getLong("cumulus.seed", System.nanoTime());
    System.out.println("AdaptiveLimitTest seed: " + seed + " (rerun with -Dcumulus.seed=" + seed + ")");
    random = new SplittableRandom(seed);
  }

  /** A downstream of {@code knee} slots: latency L0 up to the knee, L0 × c / knee beyond it. */
  private static IntToDoubleFunction knee(int knee) {
    return c -> L0 * Math.max(1.0, (double) c / knee);
  }

  /** Runs {@code windows} windows with {@code demand} calls available; records the limit per window. */
  private void run(AdaptiveLimit limit, int windows, int demand, IntToDoubleFunction latency) {
    for (int w = 0; w < windows; w++) {
      int closedBefore = trace.size();
      while (trace.size() == closedBefore) {
        assertThat(limit.windows()).isEqualTo(trace.size());
        int inflight = Math.min(limit.limit(), demand);
        double noise = 1 + 0.05 * random.nextDouble(-1, 1);
        now += SAMPLE_SPACING;
        long rtt = (long) (latency.applyAsDouble(inflight) * noise);
        int before = limit.limit();
        boolean changed = limit.sample(now, rtt, inflight);
        assertThat(changed).isEqualTo(limit.limit() != before);
        if (limit.windows() > trace.size()) {
          trace.add(limit.limit());
        }
      }
    }
  }

  private List<Integer> last(int n) {
    return trace.subList(trace.size() - n, trace.size());
  }

  private String traceText() {
    return "seed " + seed + ", limit per window: " + trace;
  }

  @Test
  void limit_growsWhileLatencyStaysFlat() {
    AdaptiveLimit limit = new AdaptiveLimit(1, 400, 20, now);
    run(limit, 80, 1_000, c -> L0);
    // The first probe (window 20) halves it for two windows; then it grows on to max.
    assertThat(last(10)).as(traceText()).containsOnly(400);
  }

  @Test
  void limit_settlesJustAboveTheKnee_fromAbove() {
    AdaptiveLimit limit = new AdaptiveLimit(1, 1_000, 200, now);
    run(limit, 400, 1_000, knee(16));
    // Latency rises from 16 on: the limit settles about its queue allowance (4) above the knee.
    // Ten windows in twenty of the probe (cut, drain, measure, regrow) are allowed below it.
    List<Integer> settled = last(300);
    assertThat(settled).as(traceText()).allSatisfy(l -> assertThat(l).isBetween(4, 24));
    assertThat(settled.stream().filter(l -> l >= 16).count()).as(traceText()).isGreaterThanOrEqualTo(290);
  }

  @Test
  void limit_settlesJustAboveTheKnee_fromBelow() {
    AdaptiveLimit limit = new AdaptiveLimit(1, 1_000, 2, now);
    run(limit, 100, 1_000, knee(64));
    assertThat(last(50)).as(traceText()).allSatisfy(l -> assertThat(l).isBetween(64, 76));
  }

  @Test
  void limit_followsAKneeThatMoves() {
    AdaptiveLimit limit = new AdaptiveLimit(1, 1_000, 20, now);
    run(limit, 100, 1_000, knee(16));
    assertThat(limit.limit()).as(traceText()).isBetween(16, 24);
    run(limit, 30, 1_000, knee(48)); // the downstream got more capacity: the limit follows at once
    assertThat(last(10)).as(traceText()).allSatisfy(l -> assertThat(l).isBetween(48, 60));
    run(limit, 60, 1_000, knee(8)); // and less: the limit comes down, smoothed
    assertThat(last(10)).as(traceText()).allSatisfy(l -> assertThat(l).isBetween(8, 14));
  }

  @Test
  void limit_doesNotGrow_whenTheFunctionDoesNotUseIt() {
    AdaptiveLimit limit = new AdaptiveLimit(1, 1_000, 20, now);
    run(limit, 15, 3, c -> L0); // 3 calls at a time, latency flat: no reason to move
    assertThat(trace).as(traceText()).containsOnly(20);
  }

  @Test
  void limit_staysWithinMinAndMax() {
    AdaptiveLimit low = new AdaptiveLimit(10, 30, 20, now);
    // The knee is below min: the limit never goes under min, and since the no-load latency can only
    // be measured at min, it settles within a queue allowance (4) above it.
    run(low, 100, 1_000, knee(2));
    assertThat(trace).as(traceText()).allSatisfy(l -> assertThat(l).isBetween(10, 30));
    assertThat(last(20)).as(traceText()).allSatisfy(l -> assertThat(l).isBetween(10, 14));
    trace.clear();
    AdaptiveLimit high = new AdaptiveLimit(10, 30, 20, now);
    run(high, 30, 1_000, c -> L0); // flat latency: it stops at max
    assertThat(last(10)).as(traceText()).containsOnly(30);
  }

  @Test
  void samplesFasterThanTheThreshold_sayNothing() {
    AdaptiveLimit limit = new AdaptiveLimit(1, 1_000, 20, now);
    for (int i = 0; i < 10_000; i++) {
      now += SAMPLE_SPACING;
      assertThat(limit.sample(now, AdaptiveLimit.MIN_RTT_NANOS - 1, 20)).isFalse();
    }
    assertThat(limit.limit()).isEqualTo(20);
    assertThat(limit.lastLatencyNanos()).isZero();
  }

  @Test
  void aWindow_waitsForEnoughSamples() {
    AdaptiveLimit limit = new AdaptiveLimit(1, 1_000, 20, now);
    now += 10 * AdaptiveLimit.MAX_WINDOW_NANOS; // long past the window's end, but no samples yet
    for (int i = 0; i < AdaptiveLimit.MIN_SAMPLES - 1; i++) {
      assertThat(limit.sample(now, L0, 20)).isFalse();
    }
    assertThat(limit.lastLatencyNanos()).isZero();
    limit.sample(now, L0, 20);
    assertThat(limit.lastLatencyNanos()).isEqualTo(L0);
  }

  @Test
  void probe_learnsANoLoadLatencyThatChangedForGood() {
    AdaptiveLimit limit = new AdaptiveLimit(1, 1_000, 20, now);
    run(limit, 100, 1_000, knee(16));
    assertThat(limit.noLoadNanos()).isBetween(L0 * 95 / 100, L0 * 105 / 100);
    // The downstream becomes twice as slow at every concurrency (its knee unchanged). Until the
    // next probe the estimator reads that as overload; the probe measures the new base latency,
    // and the limit comes back above the knee.
    IntToDoubleFunction slower = c -> 2 * knee(16).applyAsDouble(c);
    run(limit, AdaptiveLimit.PROBE_WINDOWS + 60, 1_000, slower);
    assertThat(limit.noLoadNanos()).as(traceText()).isBetween(2 * L0 * 95 / 100, 2 * L0 * 105 / 100);
    assertThat(last(20)).as(traceText()).allSatisfy(l -> assertThat(l).isBetween(16, 24));
  }
}
