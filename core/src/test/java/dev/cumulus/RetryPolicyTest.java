package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  static final long SEED = Long.getLong("cumulus.seed", System.nanoTime());

  @Test
  void defaults_areThePlatformsAsyncDefaults() {
    RetryPolicy d = RetryPolicy.defaults();
    assertThat(d.maxRetries()).isEqualTo(2);
    assertThat(d.initialDelay()).isEqualTo(Duration.ofSeconds(1));
    assertThat(d.maxDelay()).isEqualTo(Duration.ofMinutes(1));
    assertThat(d.maxEventAge()).hasValue(Duration.ofHours(6));
    assertThat(d.isRetryable(new IllegalStateException())).isTrue();
    assertThat(FnSpec.of("f", (String s) -> s).build().retry()).isEqualTo(d);
    assertThat(d).isEqualTo(RetryPolicy.exponential(2, Duration.ofSeconds(1), Duration.ofMinutes(1))
        .withMaxEventAge(Duration.ofHours(6)));
    assertThat(d.toString()).isEqualTo("RetryPolicy{exponential(2, PT1S, PT1M), maxEventAge=PT6H}");
  }

  @Test
  void none_neverRetries() {
    RetryPolicy none = RetryPolicy.none();
    assertThat(none.maxRetries()).isZero();
    assertThat(none.maxEventAge()).isEmpty();
    assertThat(none.maxBackoff(1)).isZero();
    assertThat(none.toString()).isEqualTo("RetryPolicy{none}");
  }

  @Test
  void maxBackoff_doublesFromInitial_andStopsAtMax() {
    RetryPolicy p = RetryPolicy.exponential(20, Duration.ofMillis(100), Duration.ofSeconds(1));
    assertThat(p.maxBackoff(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(p.maxBackoff(2)).isEqualTo(Duration.ofMillis(200));
    assertThat(p.maxBackoff(3)).isEqualTo(Duration.ofMillis(400));
    assertThat(p.maxBackoff(4)).isEqualTo(Duration.ofMillis(800));
    assertThat(p.maxBackoff(5)).isEqualTo(Duration.ofSeconds(1));
    assertThat(p.maxBackoff(64)).isEqualTo(Duration.ofSeconds(1));
    assertThat(p.maxBackoff(Integer.MAX_VALUE)).isEqualTo(Duration.ofSeconds(1)); // no overflow
    RetryPolicy huge = RetryPolicy.exponential(100, Duration.ofDays(1), Duration.ofNanos(Long.MAX_VALUE));
    assertThat(huge.maxBackoff(40)).isEqualTo(Duration.ofNanos(Long.MAX_VALUE)); // saturates, no overflow
  }

  @Test
  void backoff_isFullJitter_withinZeroAndTheBound() {
    System.out.println("RetryPolicyTest seed: " + SEED + " (rerun with -Dcumulus.seed=" + SEED + ")");
    SplittableRandom random = new SplittableRandom(SEED);
    RetryPolicy p = RetryPolicy.exponential(10, Duration.ofMillis(100), Duration.ofSeconds(5));
    for (int retry = 1; retry <= 10; retry++) {
      long bound = Math.min(5_000_000_000L, 100_000_000L << (retry - 1));
      long below = 0;
      long above = 0;
      for (int i = 0; i < 2_000; i++) {
        long d = p.backoff(retry, random).toNanos();
        assertThat(d).as("retry %s", retry).isBetween(0L, bound);
        if (d < bound / 2) {
          below++;
        } else {
          above++;
        }
      }
      // Spread over the whole range, not clustered at either end (a 2 000-draw split this uneven
      // has a probability below 1e-40).
      assertThat(below).as("retry %s: draws in the lower half", retry).isBetween(700L, 1_300L);
      assertThat(above).isBetween(700L, 1_300L);
    }
  }

  @Test
  void backoff_isReproducibleFromASeed() {
    RetryPolicy p = RetryPolicy.defaults();
    SplittableRandom a = new SplittableRandom(SEED);
    SplittableRandom b = new SplittableRandom(SEED);
    for (int retry = 1; retry <= 5; retry++) {
      assertThat(p.backoff(retry, a)).isEqualTo(p.backoff(retry, b));
    }
  }

  @Test
  void retryOn_decidesWhatIsRetried() {
    RetryPolicy p = RetryPolicy.defaults().retryOn(e -> e instanceof IOException);
    assertThat(p.isRetryable(new IOException())).isTrue();
    assertThat(p.isRetryable(new IllegalArgumentException())).isFalse();
    assertThat(p.maxRetries()).isEqualTo(2);
    assertThat(p.maxEventAge()).hasValue(Duration.ofHours(6));
    assertThat(p).isNotEqualTo(RetryPolicy.defaults());
  }

  @Test
  void badValues_areRefused_namingTheOptionAndValue() {
    assertThatThrownBy(() -> RetryPolicy.exponential(-1, Duration.ofSeconds(1), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxRetries must not be negative but was -1");
    assertThatThrownBy(() -> RetryPolicy.exponential(1, Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("initialDelay must be positive but was 0 ms");
    assertThatThrownBy(() -> RetryPolicy.exponential(1, Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxDelay (1 s) must not be shorter than initialDelay (2 s)");
    assertThatThrownBy(() -> RetryPolicy.exponential(1, Duration.ofSeconds(-1), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("initialDelay must be positive but was -1 s");
    assertThatThrownBy(() -> RetryPolicy.defaults().withMaxEventAge(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxEventAge must be positive but was 0 ms");
    assertThatThrownBy(() -> RetryPolicy.exponential(1, null, Duration.ofSeconds(1)))
        .isInstanceOf(NullPointerException.class).hasMessage("initialDelay");
    assertThatThrownBy(() -> RetryPolicy.defaults().retryOn(null))
        .isInstanceOf(NullPointerException.class).hasMessage("retryable");
    assertThatThrownBy(() -> RetryPolicy.defaults().maxBackoff(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("retry must be at least 1 but was 0");
    assertThatThrownBy(() -> RetryPolicy.defaults().backoff(1, null))
        .isInstanceOf(NullPointerException.class).hasMessage("random");
  }
}
