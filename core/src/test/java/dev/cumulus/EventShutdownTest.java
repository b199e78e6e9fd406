package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** close() and unregister with events pending: nothing accepted is lost. */
class EventShutdownTest {
  @Test
  void close_runsTheBacklogWithinTheDrain() throws Exception {
    Letters letters = new Letters();
    Cumulus c = Cumulus.create();
    CountDownLatch gate = new CountDownLatch(1);
    Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
      if (i == 0) {
        TestFunctions.await(gate);
      }
      return i;
    }).maxConcurrency(1).deadLetter(letters).build());
    for (int i = 0; i < 50; i++) {
      f.emit(i);
    }
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
    await().until(() -> c.engine().isClosing());
    gate.countDown();
    closing.get(30, TimeUnit.SECONDS);
    FunctionStats s = f.stats();
    assertThat(s.eventsSucceeded()).isEqualTo(50);
    assertThat(s.eventsPending()).isZero();
    assertThat(letters.received).isEmpty();
  }

  @Test
  void close_givesWhatItCouldNotRun_andPendingRetries_toTheSink_asShutdown() throws Exception {
    ManualClock clock = new ManualClock();
    Letters fLetters = new Letters();
    Letters gLetters = new Letters();
    Cumulus c = Cumulus.builder().clock(clock).drainTimeout(Duration.ofSeconds(5)).build();
    CountDownLatch never = new CountDownLatch(1);
    List<Integer> ran = new CopyOnWriteArrayList<>();
    Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
      ran.add(i);
      TestFunctions.await(never); // interrupted when close abandons it
      return i;
    }).maxConcurrency(1).deadLetter(fLetters).build());
    Fn<String, String> g = c.register(FnSpec.<String, String>of("g", (String s) -> {
      throw new IllegalStateException("g fails");
    }).retry(RetryPolicy.exponential(3, Duration.ofHours(1), Duration.ofHours(1))).deadLetter(gLetters).build());

    for (int i = 0; i < 5; i++) {
      f.emit(i);
    }
    g.emit("r");
    await().until(() -> ran.size() == 1 && g.stats().eventRetries() == 1);

    CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
    // A retry waiting at close goes to the sink at once, with the error of its last attempt.
    await().until(() -> gLetters.size() == 1);
    DeadLetter retry = gLetters.only();
    assertThat(retry.reason()).isEqualTo(DeadLetter.Reason.SHUTDOWN);
    assertThat(retry.attempts()).isEqualTo(1);
    assertThat(retry.error()).hasMessage("g fails");

    assertThat(closing).isNotDone(); // f's backlog waits for the drain deadline
    await().until(() -> clock.dueTimes().contains(clock.nanoTime() + Duration.ofSeconds(5).toNanos()));
    clock.advance(Duration.ofSeconds(5));
    closing.get(30, TimeUnit.SECONDS);

    // close() returned only after the sink had every letter.
    assertThat(fLetters.received).hasSize(5).allSatisfy(l -> assertThat(l.reason()).isEqualTo(DeadLetter.Reason.SHUTDOWN));
    DeadLetter running = fLetters.received.stream().filter(l -> l.attempts() == 1).findFirst().orElseThrow();
    assertThat(running.input()).isEqualTo(0);
    assertThat(running.error()).as("it never failed: it was stopped").isNull();
    assertThat(fLetters.received.stream().filter(l -> l.attempts() == 0)).hasSize(4);
    assertThat(ran).containsExactly(0);
    for (Fn<?, ?> fn : List.of(f, g)) {
      FunctionStats s = fn.stats();
      assertThat(s.eventsPending()).as(fn.name()).isZero();
      assertThat(s.eventsSucceeded() + s.eventsDeadLettered()).isEqualTo(s.eventsAccepted());
    }
    assertThat(ManualTime.events(c).pendingRetries()).isZero();
  }

  @Test
  void unregister_deadLettersWhatWaits_andLetsTheRunningAttemptFinish() {
    Letters letters = new Letters();
    try (Cumulus c = Cumulus.create()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).maxConcurrency(1).deadLetter(letters).build());
      for (int i = 0; i < 4; i++) {
        f.emit(i);
      }
      await().until(() -> f.stats().inFlight() == 1);
      assertThat(c.unregister("f")).isTrue();
      await().until(() -> letters.size() == 3);
      assertThat(letters.received).allSatisfy(l -> {
        assertThat(l.reason()).isEqualTo(DeadLetter.Reason.SHUTDOWN);
        assertThat(l.attempts()).isZero();
      });
      gate.countDown();
      await().until(() -> f.stats().eventsSucceeded() == 1);
      await().until(() -> c.usage().functions().stream()
          .anyMatch(s -> s.name().equals("f") && s.eventsDeadLettered() == 3 && s.eventsPending() == 0));
    }
  }
}
