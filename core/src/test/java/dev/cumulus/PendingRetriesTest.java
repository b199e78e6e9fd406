package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Retry delays are timers, never sleeping threads: an idle runtime with 100 000 retries pending holds
 * one timer of its clock, and no thread for any of them.
 */
class PendingRetriesTest {
  static final int EVENTS = 100_000;
  /** Thrown by every attempt: one instance, so that the test measures the runtime, not stack traces. */
  static final IllegalStateException DOWN = new IllegalStateException("down");

  @Test
  void idleRuntime_with100000PendingRetries_holdsOneTimer_andNoThreadPerEvent() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    Set<Thread> threadsBefore = Thread.getAllStackTraces().keySet();
    try (Cumulus c = Cumulus.builder().clock(clock).carrierKeepAlive(Duration.ofMillis(100)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.<Integer, Integer>of("f", (Integer i) -> {
        throw DOWN;
      }).retry(RetryPolicy.exponential(1, Duration.ofHours(1), Duration.ofHours(1)))
          .eventCapacity(EVENTS + 1).deadLetter(letters).build());
      // Warm up, so that the timers and threads counted before are those of an idle function.
      f.emit(-1);
      await().until(() -> f.stats().eventRetries() == 1);
      await().atMost(Duration.ofSeconds(30)).until(() -> c.engine().liveCarriers() == 0 && f.stats().inFlight() == 0);
      int timersBefore = clock.pendingTimers();

      for (int i = 0; i < EVENTS; i++) {
        f.emit(i);
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> f.stats().eventRetries() == EVENTS + 1);
      await().atMost(Duration.ofSeconds(30)).until(() -> c.engine().liveCarriers() == 0 && f.stats().inFlight() == 0);

      FunctionStats s = f.stats();
      assertThat(s.eventsPending()).isEqualTo(EVENTS + 1);
      assertThat(s.queued()).isZero();
      assertThat(ManualTime.events(c).pendingRetries()).isEqualTo(EVENTS + 1);
      assertThat(clock.pendingTimers()).as("one timer for every pending retry (timers: %s)", clock.dueTimes())
          .isEqualTo(timersBefore);
      assertThat(timersBefore).as("the retry timer and the idle instance's expiry").isEqualTo(2);
      await().atMost(Duration.ofSeconds(30)).until(() -> newPlatformThreads(threadsBefore), List::isEmpty);
      assertThat(letters.received).isEmpty();

      // The one timer goes off at the earliest due retry, and the retries due run from there: about
      // 1 % of them in the first 36 s (delays are drawn from [0, 1 h]); the timer is armed again for
      // the rest.
      clock.advance(Duration.ofSeconds(36));
      int due = EVENTS + 1 - ManualTime.events(c).pendingRetries();
      assertThat(due).isPositive();
      await().atMost(Duration.ofSeconds(60)).until(() -> letters.size() == due);
      assertThat(letters.received).allSatisfy(l -> {
        assertThat(l.attempts()).isEqualTo(2);
        assertThat(l.reason()).isEqualTo(DeadLetter.Reason.RETRIES_EXHAUSTED);
      });
      await().atMost(Duration.ofSeconds(30)).until(() -> f.stats().inFlight() == 0);
      assertThat(clock.pendingTimers()).as("still one timer for the rest").isEqualTo(timersBefore);
    }
    // close() gives every retry still waiting to the sink.
    assertThat(letters.size()).isEqualTo(EVENTS + 1);
  }

  @Test
  void onTheSystemClock_pendingRetriesHoldNoPlatformThread() {
    int events = 20_000;
    Letters letters = new Letters();
    Set<Thread> threadsBefore = Thread.getAllStackTraces().keySet();
    try (Cumulus c = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(100)).build()) {
      Fn<Integer, Integer> f = c.register(FnSpec.<Integer, Integer>of("f", (Integer i) -> {
        throw DOWN;
      }).retry(RetryPolicy.exponential(1, Duration.ofDays(365), Duration.ofDays(365)))
          .deadLetter(letters).timeout(Duration.ofSeconds(1)).build());
      for (int i = 0; i < events; i++) {
        f.emit(i);
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> f.stats().eventRetries() == events);
      // The precise timer thread (timeouts) and the carriers go after their keep-alive; the retry
      // timer waits on a parked virtual thread.
      await().atMost(Duration.ofSeconds(30)).until(() -> newPlatformThreads(threadsBefore), List::isEmpty);
      assertThat(c.engine().liveCarriers()).isZero();
      // (Delays are drawn from [0, 365 days]: the chance that one of them is over during the test is
      // about 1e-4.)
      assertThat(f.stats().eventsPending()).isEqualTo(events);
      assertThat(ManualTime.events(c).pendingRetries()).isEqualTo(events);
      assertThat(letters.received).isEmpty();
    }
  }

  /**
   * Platform threads started since {@code before} and still alive, other than the JDK's own
   * virtual-thread scheduler (shared by every virtual thread of the JVM) and Awaitility's.
   */
  static List<String> newPlatformThreads(Set<Thread> before) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> !before.contains(t) && t.isAlive())
        .map(Thread::getName)
        .filter(n -> !n.startsWith("ForkJoinPool") && !n.equals("VirtualThread-unparker") && !n.startsWith("awaitility"))
        .sorted()
        .toList();
  }
}
