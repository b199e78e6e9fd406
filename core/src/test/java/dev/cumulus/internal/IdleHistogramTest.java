package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The decisions of the hybrid histogram policy on fixed idle-time traces: the shapes "Serverless in
 * the Wild" reports (periodic timers, bursts with random gaps, rare calls), and the cases that must
 * fall back to the fixed keep-alive. Deterministic for a seed (printed; rerun with
 * {@code -Dcumulus.seed=}).
 */
class IdleHistogramTest {
  private static final long FOUR_HOURS = Duration.ofHours(4).toNanos();
  private static final long FALLBACK = Duration.ofSeconds(30).toNanos();
  private static final long MINUTE = Duration.ofMinutes(1).toNanos();
  private SplittableRandom random;

  @BeforeEach
  void seed() {
    long seed = Long.getLong("cumulus.seed", System.nanoTime());
    System.out.println("IdleHistogramTest seed: " + seed + " (rerun with -Dcumulus.seed=" + seed + ")");
    random = new SplittableRandom(seed);
  }

  private static IdleHistogram histogram() {
    return new IdleHistogram(FOUR_HOURS, FALLBACK);
  }

  @Test
  void young_fallsBackToTheFixedKeepAlive() {
    IdleHistogram h = histogram();
    for (int i = 0; i < IdleHistogram.MIN_SAMPLES - 1; i++) {
      h.record(10 * MINUTE);
      assertThat(h.decide()).isEqualTo(IdleHistogram.Decision.keep(FALLBACK, false));
    }
    h.record(10 * MINUTE);
    assertThat(h.decide().learnt()).isTrue();
  }

  @Test
  void aPeriodicTimer_isUnloadedAfterEachCall_andPreWarmedJustBeforeTheNext() {
    IdleHistogram h = histogram();
    for (int i = 0; i < 50; i++) {
      h.record(10 * MINUTE + (long) (random.nextDouble(-0.01, 0.01) * 10 * MINUTE)); // 10 min ± 1 %
    }
    IdleHistogram.Decision d = h.decide();
    assertThat(d.preWarms()).isTrue();
    // Head: the 5th percentile's bin, [9, 10) or [10, 11) min, less 10 %; tail: the 99th's, plus 10 %.
    assertThat(d.preWarmAfterNanos()).isBetween((long) (9 * MINUTE * 0.9), (long) (10 * MINUTE * 0.9));
    long tail = d.preWarmAfterNanos() + d.keepNanos();
    assertThat(tail).isBetween((long) (10 * MINUTE * 1.1), (long) (11 * MINUTE * 1.1));
  }

  @Test
  void aTimerFasterThanABin_isKeptWarm_untilTheTail() {
    IdleHistogram h = histogram();
    for (int i = 0; i < 50; i++) {
      h.record(Duration.ofSeconds(20).toNanos());
    }
    // Its idle times are all in the first bin: no pre-warm (as in the paper), kept one bin plus 10 %.
    assertThat(h.decide()).isEqualTo(IdleHistogram.Decision.keep((long) (MINUTE * 1.1), true));
  }

  @Test
  void burstsWithRandomGaps_areKeptUntilTheTailOfTheGaps() {
    IdleHistogram h = histogram();
    for (int i = 0; i < 500; i++) {
      h.record((long) (-Math.log(1 - random.nextDouble()) * 5 * MINUTE)); // exponential, mean 5 min
    }
    IdleHistogram.Decision d = h.decide();
    assertThat(d.learnt()).isTrue();
    assertThat(d.preWarms()).isFalse(); // the 5th percentile (15 s) is in the first bin
    // The 99th percentile of an exponential of mean 5 min is 23 min: kept about 25 min.
    assertThat(d.keepNanos()).isBetween(18 * MINUTE, 32 * MINUTE);
  }

  @Test
  void idleTimesSpreadOverTheRange_showNoPattern_andFallBack() {
    IdleHistogram h = histogram();
    for (int i = 0; i < 500; i++) {
      h.record((long) (random.nextDouble() * FOUR_HOURS));
    }
    assertThat(h.decide()).isEqualTo(IdleHistogram.Decision.keep(FALLBACK, false));
  }

  @Test
  void rareCalls_mostlyBeyondTheRange_fallBack() {
    IdleHistogram h = histogram();
    for (int i = 0; i < 100; i++) {
      h.record(i % 10 == 0 ? 30 * MINUTE : Duration.ofHours(6).toNanos());
    }
    assertThat(h.decide()).isEqualTo(IdleHistogram.Decision.keep(FALLBACK, false));
  }

  @Test
  void idleTimesUnderASecond_areNotRecorded() {
    IdleHistogram h = histogram();
    for (int i = 0; i < 1_000; i++) {
      h.record(Duration.ofMillis(5).toNanos()); // calls of a burst, milliseconds apart
    }
    assertThat(h.samples()).isZero();
    for (int i = 0; i < 20; i++) {
      h.record(30 * MINUTE); // the gaps between bursts decide
    }
    assertThat(h.decide().preWarms()).isTrue();
  }

  @Test
  void aPatternThatChanges_isLearntAgain_asOldCountsAgeOut() {
    IdleHistogram h = histogram();
    for (int i = 0; i < 2_000; i++) {
      h.record(60 * MINUTE);
    }
    assertThat(h.decide().preWarmAfterNanos()).isEqualTo((long) (60 * MINUTE * 0.9));
    for (int i = 0; i < 2_000; i++) {
      h.record(5 * MINUTE);
    }
    // The head follows at once; the tail keeps covering the old pattern while it is more than 1 %
    // of the (halved) counts: longer keep-alives a while, never a cold start for lack of one.
    IdleHistogram.Decision d = h.decide();
    assertThat(d.preWarmAfterNanos()).isEqualTo((long) (5 * MINUTE * 0.9));
    assertThat(d.preWarmAfterNanos() + d.keepNanos()).isEqualTo((long) (61 * MINUTE * 1.1));
    for (int i = 0; i < 2_000; i++) {
      h.record(5 * MINUTE);
    }
    d = h.decide();
    assertThat(d.preWarmAfterNanos() + d.keepNanos()).isEqualTo((long) (6 * MINUTE * 1.1));
    assertThat(h.samples()).isLessThan(IdleHistogram.AGE_AT);
  }

  @Test
  void aShorterRange_givesFinerBins() {
    IdleHistogram h = new IdleHistogram(Duration.ofMinutes(40).toNanos(), FALLBACK); // 10 s bins
    for (int i = 0; i < 20; i++) {
      h.record(Duration.ofSeconds(60).toNanos());
    }
    IdleHistogram.Decision d = h.decide();
    assertThat(d.preWarmAfterNanos()).isEqualTo(Duration.ofSeconds(54).toNanos());
    assertThat(d.preWarmAfterNanos() + d.keepNanos()).isEqualTo(Duration.ofSeconds(77).toNanos());
  }
}
