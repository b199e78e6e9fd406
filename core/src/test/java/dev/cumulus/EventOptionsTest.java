package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The event options of {@link FnSpec.Builder}: defaults, kept values, and every bad value. */
class EventOptionsTest {
  private static FnSpec.Builder<String, Integer> spec() {
    return FnSpec.of("f", String::length);
  }

  @Test
  void defaults_workForAFirstRun() {
    FnSpec<String, Integer> s = spec().build();
    assertThat(s.eventCapacity()).isEqualTo(100_000).isEqualTo(FnSpec.DEFAULT_EVENT_CAPACITY);
    assertThat(s.retry()).isEqualTo(RetryPolicy.defaults());
    assertThat(s.deadLetter()).isSameAs(DeadLetterSink.logging());
    assertThat(s.idempotencyWindow()).isEqualTo(Duration.ofMinutes(10)).isEqualTo(FnSpec.DEFAULT_IDEMPOTENCY_WINDOW);
  }

  @Test
  void options_areKept(@TempDir Path dir) {
    DeadLetterSink sink = DeadLetterSink.jsonLines(dir.resolve("dead.jsonl"));
    FnSpec<String, Integer> s = spec().eventCapacity(7).retry(RetryPolicy.none()).deadLetter(sink)
        .idempotencyWindow(Duration.ofSeconds(3)).build();
    assertThat(s.eventCapacity()).isEqualTo(7);
    assertThat(s.retry()).isSameAs(RetryPolicy.none());
    assertThat(s.deadLetter()).isSameAs(sink);
    assertThat(s.idempotencyWindow()).isEqualTo(Duration.ofSeconds(3));
    assertThat(s.toString()).contains("eventCapacity=7", "retry=RetryPolicy{none}",
        "deadLetter=DeadLetterSink.jsonLines(", "idempotencyWindow=3 s");
  }

  @Test
  void badValues_areRefused_namingTheOptionAndValue(@TempDir Path dir) {
    assertThatThrownBy(() -> spec().eventCapacity(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("eventCapacity must be positive but was 0");
    assertThatThrownBy(() -> spec().eventCapacity(-5)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("eventCapacity must be positive but was -5");
    assertThatThrownBy(() -> spec().idempotencyWindow(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("idempotencyWindow must be positive but was 0 ms");
    assertThatThrownBy(() -> spec().idempotencyWindow(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("idempotencyWindow");
    assertThatThrownBy(() -> spec().retry(null)).isInstanceOf(NullPointerException.class).hasMessage("retry");
    assertThatThrownBy(() -> spec().deadLetter(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("deadLetter");
    assertThatThrownBy(() -> DeadLetterSink.jsonLines(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("file");
    assertThatThrownBy(() -> DeadLetterSink.jsonLines(dir)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("jsonLines needs a file, but " + dir + " is a directory");
  }

  @Test
  void optionsSetTwice_areRefused() {
    assertThatThrownBy(() -> spec().eventCapacity(1).eventCapacity(2)).isInstanceOf(IllegalStateException.class)
        .hasMessage("eventCapacity was already set to 1");
    assertThatThrownBy(() -> spec().retry(RetryPolicy.none()).retry(RetryPolicy.none()))
        .isInstanceOf(IllegalStateException.class).hasMessage("retry was already set to RetryPolicy{none}");
    assertThatThrownBy(() -> spec().deadLetter(DeadLetterSink.logging()).deadLetter(DeadLetterSink.logging()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("deadLetter was already set to DeadLetterSink.logging()");
    assertThatThrownBy(() -> spec().idempotencyWindow(Duration.ofSeconds(1)).idempotencyWindow(Duration.ofSeconds(1)))
        .isInstanceOf(IllegalStateException.class).hasMessage("idempotencyWindow was already set to 1 s");
  }

  @Test
  void deadLetter_checksItsComponents() {
    java.time.Instant t = java.time.Instant.EPOCH;
    assertThatThrownBy(() -> new DeadLetter("f", "id", null, -1, t, t, null, DeadLetter.Reason.EXPIRED))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("attempts must not be negative but was -1");
    assertThatThrownBy(() -> new DeadLetter("f", "id", null, 0, t, t, null, null))
        .isInstanceOf(NullPointerException.class).hasMessage("reason");
  }

  @Test
  void loggingSink_logsTheWholeLetter_withALongInputCut() {
    java.time.Instant t = java.time.Instant.parse("2026-12-02T10:00:00Z");
    DeadLetter l = new DeadLetter("f", "id-1", "x".repeat(1_500), 3, t, t.plusSeconds(2),
        new IllegalStateException("boom"), DeadLetter.Reason.RETRIES_EXHAUSTED);
    assertThat(LoggingSink.describe(l)).isEqualTo("event id-1 of function 'f' dead-lettered (RETRIES_EXHAUSTED)"
        + " after 3 attempts (first 2026-12-02T10:00:00Z, last 2026-12-02T10:00:02Z):"
        + " java.lang.IllegalStateException: boom; input: " + "x".repeat(1_000) + "… (500 more characters)");
    DeadLetterSink.logging().accept(l); // logs, never throws
    DeadLetterSink.logging().accept(new DeadLetter("f", "id-2", null, 0, t, t, null, DeadLetter.Reason.SHUTDOWN));
  }
}
