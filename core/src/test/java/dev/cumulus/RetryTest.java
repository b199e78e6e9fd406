package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Retries of failed events: exact attempt counts, backoff on the runtime's (manual) clock with a
 * seeded jitter, exhaustion, expiry and non-retryable errors, each ending as one dead letter.
 */
class RetryTest {
  static final long SEED = Long.getLong("cumulus.seed", System.nanoTime());

  static {
    System.out.println("RetryTest seed: " + SEED + " (rerun with -Dcumulus.seed=" + SEED + ")");
  }

  @Test
  void failingThenSucceeding_isRetried_withTheExactNumberOfAttempts() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    RetryPolicy policy = RetryPolicy.exponential(3, Duration.ofSeconds(1), Duration.ofSeconds(10));
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      // The clock moves by each retry's own (seeded) delay, not by its bound: moving by the bound let
      // the second retry fall due inside the first advance whenever the two jittered delays added up
      // to less than a second, and the attempt it submitted could run before the count of two was
      // read (a third attempt seen early on a busy machine). A seed with two non-zero delays keeps
      // the second retry strictly after the first advance.
      long seed = SEED;
      while (policy.backoff(1, new SplittableRandom(seed)).isZero() || secondBackoff(policy, seed).isZero()) {
        seed++;
      }
      ManualTime.seedJitter(c, new SplittableRandom(seed));
      SplittableRandom mirror = new SplittableRandom(seed);
      Duration first = policy.backoff(1, mirror);
      Duration second = policy.backoff(2, mirror);
      AtomicInteger attempts = new AtomicInteger();
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        if (attempts.incrementAndGet() <= 2) {
          throw new IllegalStateException("fails on attempt " + attempts.get());
        }
        return s;
      }).retry(policy).deadLetter(letters).build());

      f.emit("x");
      await().until(() -> f.stats().eventRetries() == 1);
      assertThat(attempts).hasValue(1);
      clock.advance(first); // the first retry falls due, and only it
      await().until(() -> f.stats().eventRetries() == 2);
      assertThat(attempts).hasValue(2);
      clock.advance(second);
      await().until(() -> f.stats().eventsSucceeded() == 1);

      assertThat(attempts).hasValue(3);
      FunctionStats s = f.stats();
      assertThat(s.invocations()).isEqualTo(3);
      assertThat(s.failures()).isEqualTo(2);
      assertThat(s.successes()).isEqualTo(1);
      assertThat(s.eventRetries()).isEqualTo(2);
      assertThat(s.eventsDeadLettered()).isZero();
      assertThat(s.eventsPending()).isZero();
      assertThat(letters.received).isEmpty();
      assertThat(ManualTime.events(c).pendingRetries()).isZero();
    }
  }

  private static Duration secondBackoff(RetryPolicy policy, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    policy.backoff(1, random);
    return policy.backoff(2, random);
  }

  @Test
  void exhaustedRetries_goToTheSink_withTheLastError_andExactInstants() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    RetryPolicy policy = RetryPolicy.exponential(2, Duration.ofSeconds(1), Duration.ofSeconds(30));
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      ManualTime.seedJitter(c, new SplittableRandom(SEED));
      SplittableRandom mirror = new SplittableRandom(SEED);
      Duration first = policy.backoff(1, mirror);
      Duration second = policy.backoff(2, mirror);
      AtomicInteger attempts = new AtomicInteger();
      Fn<String, String> f = c.register(FnSpec.<String, String>of("f", (String s) -> {
        throw new IllegalStateException("failure " + attempts.incrementAndGet());
      }).retry(policy).deadLetter(letters).build());

      String id = f.emit("input");
      await().until(() -> f.stats().eventRetries() == 1);
      clock.advance(first);
      await().until(() -> f.stats().eventRetries() == 2);
      clock.advance(second);
      await().until(() -> letters.size() == 1);

      DeadLetter l = letters.only();
      assertThat(l.function()).isEqualTo("f");
      assertThat(l.eventId()).isEqualTo(id);
      assertThat(l.input()).isEqualTo("input");
      assertThat(l.reason()).isEqualTo(DeadLetter.Reason.RETRIES_EXHAUSTED);
      assertThat(l.attempts()).isEqualTo(3);
      assertThat(l.error()).isInstanceOf(IllegalStateException.class).hasMessage("failure 3");
      assertThat(Duration.between(l.firstAttempt(), l.lastAttempt())).isEqualTo(first.plus(second));
      await().until(() -> f.stats().eventsDeadLettered() == 1);
      FunctionStats s = f.stats();
      assertThat(s.failures()).isEqualTo(3);
      assertThat(s.eventsPending()).isZero();
    }
  }

  @Test
  void eachRetry_waitsItsJitteredDelay_onTheRuntimesClock_withinTheFullJitterBound() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    RetryPolicy policy = RetryPolicy.exponential(5, Duration.ofSeconds(1), Duration.ofSeconds(6));
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      ManualTime.seedJitter(c, new SplittableRandom(SEED));
      SplittableRandom mirror = new SplittableRandom(SEED);
      Fn<String, String> f = c.register(FnSpec.<String, String>of("f", (String s) -> {
        throw new IllegalStateException("no");
      }).retry(policy).deadLetter(letters).build());
      f.emit("x");
      for (int retry = 1; retry <= 5; retry++) {
        int n = retry;
        await().until(() -> f.stats().eventRetries() == n);
        long delay = policy.backoff(retry, mirror).toNanos();
        assertThat(delay).as("retry %s", retry)
            .isBetween(0L, Math.min(6_000_000_000L, 1_000_000_000L << (retry - 1)));
        long before = f.stats().invocations();
        if (delay > 0) {
          clock.advance(Duration.ofNanos(delay - 1));
          // The retry timer runs in advance(), and submits the attempt there: nothing yet.
          assertThat(f.stats().invocations()).as("retry %s, 1 ns early", retry).isEqualTo(before);
          clock.advance(Duration.ofNanos(1));
        } else {
          clock.advance(Duration.ZERO);
        }
        assertThat(f.stats().invocations()).as("retry %s, on time", retry).isEqualTo(before + 1);
      }
      await().until(() -> letters.size() == 1);
      assertThat(letters.only().attempts()).isEqualTo(6);
      assertThat(letters.only().reason()).isEqualTo(DeadLetter.Reason.RETRIES_EXHAUSTED);
    }
  }

  @Test
  void nonRetryableError_isDeadLetteredAtOnce_andThePredicateSeesTheFunctionsOwnException() {
    Letters letters = new Letters();
    List<Throwable> seen = new CopyOnWriteArrayList<>();
    ManualClock clock = new ManualClock(); // still: a retry scheduled stays scheduled
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      Fn<String, String> f = c.register(FnSpec.<String, String>of("f", (String s) -> {
        if (s.equals("io")) {
          throw new UncheckedIOException(new IOException("disk"));
        }
        throw new IllegalArgumentException("bad row");
      }).retry(RetryPolicy.defaults().retryOn(e -> {
        seen.add(e);
        return e instanceof UncheckedIOException;
      })).deadLetter(letters).build());
      f.emit("bad");
      await().until(() -> letters.size() == 1);
      DeadLetter l = letters.only();
      assertThat(l.reason()).isEqualTo(DeadLetter.Reason.NOT_RETRYABLE);
      assertThat(l.attempts()).isEqualTo(1);
      assertThat(l.error()).isInstanceOf(IllegalArgumentException.class).hasMessage("bad row");
      assertThat(seen).singleElement().isSameAs(l.error());
      assertThat(l.firstAttempt()).isEqualTo(l.lastAttempt());

      f.emit("io");
      await().until(() -> f.stats().eventRetries() == 1); // retryable: scheduled again
      assertThat(letters.size()).isEqualTo(1);
    }
  }

  @Test
  void aPredicateThatThrows_meansNotRetryable() {
    Letters letters = new Letters();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = c.register(FnSpec.<String, String>of("f", (String s) -> {
        throw new IllegalStateException("x");
      }).retry(RetryPolicy.defaults().retryOn(e -> {
        throw new UnsupportedOperationException("broken predicate");
      })).deadLetter(letters).build());
      f.emit("x");
      await().until(() -> letters.size() == 1);
      assertThat(letters.only().reason()).isEqualTo(DeadLetter.Reason.NOT_RETRYABLE);
    }
  }

  @Test
  void anEventOlderThanTheMaxAge_whenItsTurnComes_expires_withoutAnAttempt() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      List<String> ran = new CopyOnWriteArrayList<>();
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        ran.add(s);
        if (s.equals("hold")) {
          TestFunctions.await(gate);
        }
        return s;
      }).maxConcurrency(1).deadLetter(letters).timeout(Duration.ofDays(1))
          .retry(RetryPolicy.defaults().withMaxEventAge(Duration.ofMinutes(1))).build());
      f.emit("hold");
      await().until(() -> ran.contains("hold"));
      String late = f.emit("late"); // waits in the backlog behind "hold"
      java.time.Instant acceptedAt = ManualTime.events(c).instant(clock.nanoTime());
      clock.advance(Duration.ofMinutes(2));
      gate.countDown();
      await().until(() -> letters.size() == 1);
      DeadLetter l = letters.only();
      assertThat(l.eventId()).isEqualTo(late);
      assertThat(l.reason()).isEqualTo(DeadLetter.Reason.EXPIRED);
      assertThat(l.attempts()).isZero();
      assertThat(l.error()).isNull();
      assertThat(l.firstAttempt()).isEqualTo(acceptedAt).isEqualTo(l.lastAttempt());
      assertThat(ran).containsExactly("hold");
      await().until(() -> f.stats().eventsSucceeded() == 1 && f.stats().eventsDeadLettered() == 1);
    }
  }

  @Test
  void aRetryThatWouldComeAfterTheMaxAge_expires_withTheLastError() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    RetryPolicy policy = RetryPolicy.exponential(5, Duration.ofHours(1), Duration.ofHours(1))
        .withMaxEventAge(Duration.ofMinutes(30));
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      // Find a seed whose first delay is past the max age, to make the outcome certain.
      long seed = SEED;
      while (policy.backoff(1, new SplittableRandom(seed)).compareTo(Duration.ofMinutes(30)) <= 0) {
        seed++;
      }
      ManualTime.seedJitter(c, new SplittableRandom(seed));
      Fn<String, String> f = c.register(FnSpec.<String, String>of("f", (String s) -> {
        throw new IllegalStateException("down");
      }).retry(policy).deadLetter(letters).build());
      f.emit("x");
      await().until(() -> letters.size() == 1);
      DeadLetter l = letters.only();
      assertThat(l.reason()).isEqualTo(DeadLetter.Reason.EXPIRED);
      assertThat(l.attempts()).isEqualTo(1);
      assertThat(l.error()).hasMessage("down");
      assertThat(f.stats().eventRetries()).isZero();
    }
  }

  @Test
  void timedOutAttempts_areRetried() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    List<Throwable> seen = new CopyOnWriteArrayList<>();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      AtomicInteger attempts = new AtomicInteger();
      CountDownLatch never = new CountDownLatch(1);
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        if (attempts.incrementAndGet() == 1) {
          TestFunctions.await(never); // until the timeout interrupts it
        }
        return s;
      }).timeout(Duration.ofSeconds(5)).deadLetter(letters)
          .retry(RetryPolicy.exponential(1, Duration.ofSeconds(1), Duration.ofSeconds(1)).retryOn(e -> seen.add(e)))
          .build());
      f.emit("x");
      await().until(() -> attempts.get() == 1);
      clock.advance(Duration.ofSeconds(5));
      await().until(() -> f.stats().eventRetries() == 1);
      assertThat(seen).singleElement().isInstanceOf(FunctionTimeoutException.class);
      clock.advance(Duration.ofSeconds(1));
      await().until(() -> f.stats().eventsSucceeded() == 1);
      assertThat(f.stats().timeouts()).isEqualTo(1);
      assertThat(letters.received).isEmpty();
    }
  }
}
