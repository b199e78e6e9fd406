package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link FnSpec.Builder#queueTimeout(Duration)}: a call that cannot start, because the slots it
 * waits for are held (by calls that ignore their timeout's interrupt, or by other functions), fails
 * once it has waited that long, never having run. Time is a {@link ManualClock}.
 */
class QueueTimeoutTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final ManualClock clock = new ManualClock();
  private final CountDownLatch release = new CountDownLatch(1);
  private Cumulus cumulus = Cumulus.builder().clock(clock).build();

  @AfterEach
  void close() {
    release.countDown();
    new ReliabilityRegressionTest.Driven(cumulus, clock).close();
  }

  /** Waits for {@link #release}, ignoring interrupts: a call past its timeout keeps its slot. */
  private String stubborn(String s) {
    TestFunctions.awaitIgnoringInterrupts(release);
    return s;
  }

  @Test
  void callsQueuedBehindAnOverdueCall_failAtTheirQueueTimeout_neverRun_andAreNotBilled() throws Exception {
    Fn<String, String> f = cumulus.register(FnSpec.of("stubborn", this::stubborn)
        .maxConcurrency(1).timeout(Duration.ofSeconds(1)).queueTimeout(Duration.ofSeconds(2)).build());
    CompletableFuture<String> first = f.invokeAsync("first");
    await().until(() -> f.stats().inFlight() == 1);
    AtomicReference<Throwable> syncFailure = new AtomicReference<>();
    Thread syncCaller = Thread.ofPlatform().start(() -> {
      try {
        f.invoke("second");
      } catch (Throwable e) {
        syncFailure.set(e);
      }
    });
    CompletableFuture<String> third = f.invokeAsync("third");
    await().until(() -> f.stats().queued() == 2);

    clock.advance(Duration.ofSeconds(1)); // the first call times out, and ignores the interrupt
    assertThat(first).failsWithin(WAIT).withThrowableThat().havingCause()
        .isInstanceOfSatisfying(FunctionTimeoutException.class, e -> assertThat(e.queued()).isFalse());
    assertThat(f.stats().overdue()).isEqualTo(1);
    assertThat(third).isNotDone();

    clock.advance(Duration.ofSeconds(1)); // the queued calls have waited 2 s
    syncCaller.join(WAIT.toMillis());
    String expected = "function 'stubborn' timed out in its queue: the call waited 2 s (queueTimeout 2 s) and"
        + " never started, as all 1 of its concurrency slots (maxConcurrency 1) were taken, 1 of them by a call"
        + " past its timeout whose code has not returned (it ignores the interrupt); it did not run and is not"
        + " billed";
    assertThat(syncFailure.get()).isInstanceOfSatisfying(FunctionTimeoutException.class, e -> {
      assertThat(e.queued()).isTrue();
      assertThat(e.timeout()).isEqualTo(Duration.ofSeconds(2));
      assertThat(e.functionName()).isEqualTo("stubborn");
    }).hasMessage(expected);
    assertThat(third).failsWithin(WAIT).withThrowableThat().havingCause()
        .isInstanceOf(FunctionTimeoutException.class).withMessage(expected);

    FunctionStats s = f.stats();
    assertThat(s.timeouts()).isEqualTo(3);
    assertThat(s.queueTimeouts()).isEqualTo(2);
    assertThat(s.queued()).isZero();
    assertThat(s.inFlight()).as("the overdue call").isEqualTo(1);
    assertThat(s.toString()).contains("timed out 3 (2 in the queue)");

    release.countDown(); // the overdue call returns; the function serves again
    await().until(() -> f.stats().inFlight() == 0);
    assertThat(f.invoke("fourth")).isEqualTo("fourth");
    Bill.Line line = cumulus.usage().bill(PriceModel.awsLambdaX86(128)).lines().get(0);
    assertThat(line.requests()).as("the calls that ran: the overdue one and the fourth").isEqualTo(2);
    assertThat(f.stats().invocations()).isEqualTo(f.stats().completed());
  }

  @Test
  void callsWaitingForTheRuntimesCapacity_withNoWorkerOfTheirOwn_failAtTheirQueueTimeout() {
    cumulus.close();
    cumulus = Cumulus.builder().clock(clock).maxConcurrency(1).build();
    Fn<String, String> hog = cumulus.register(FnSpec.of("hog", this::stubborn).timeout(Duration.ofHours(1)).build());
    Fn<String, String> starved = cumulus.register(FnSpec.of("starved", (String s) -> s)
        .queueTimeout(Duration.ofMillis(500)).build());
    CompletableFuture<String> holding = hog.invokeAsync("x");
    await().until(() -> hog.stats().inFlight() == 1);
    CompletableFuture<String> waiting = starved.invokeAsync("y");
    await().until(() -> starved.stats().queued() == 1);

    clock.advance(Duration.ofMillis(499));
    assertThat(waiting).isNotDone();
    clock.advance(Duration.ofMillis(1));
    assertThat(waiting).failsWithin(WAIT).withThrowableThat().havingCause()
        .isInstanceOf(FunctionTimeoutException.class)
        .withMessage("function 'starved' timed out in its queue: the call waited 500 ms (queueTimeout 500 ms)"
            + " and never started, as the runtime's unreserved concurrency (1 of maxConcurrency 1) was all in"
            + " use; it did not run and is not billed");
    assertThat(starved.stats().queueTimeouts()).isEqualTo(1);

    release.countDown();
    assertThat(holding).succeedsWithin(WAIT);
    assertThat(starved.invoke("z")).isEqualTo("z");
    await().alias("no timer is left once nothing waits").until(() -> clock.pendingPreciseTimers() == 0);
  }

  @Test
  void aCallThatWaitedQueued_andThenRanPastItsTimeout_saysHowLongItWaitedFirst() {
    Fn<String, String> f = cumulus.register(FnSpec.of("slow", (String s) -> {
      TestFunctions.await(release);
      TestFunctions.sleep(60_000);
      return s;
    }).maxConcurrency(1).timeout(Duration.ofSeconds(10)).build());
    CompletableFuture<String> first = f.invokeAsync("first");
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<String> second = f.invokeAsync("second");
    await().until(() -> f.stats().queued() == 1);
    clock.advance(Duration.ofSeconds(10)); // the first call's timeout: the second starts now
    assertThat(first).failsWithin(WAIT);
    release.countDown();
    await().until(() -> f.stats().inFlight() == 1 && f.stats().queued() == 0);
    clock.advance(Duration.ofSeconds(10));
    assertThat(second).failsWithin(WAIT).withThrowableThat().havingCause()
        .isInstanceOfSatisfying(FunctionTimeoutException.class, e -> assertThat(e.queued()).isFalse())
        .withMessage("function 'slow' timed out after 10 s of running, having waited 10 s in its queue before"
            + " it started");
  }

  @Test
  void aQueuedCallCancelledByItsCaller_isCountedCancelled_notTimedOut() {
    Fn<String, String> f = cumulus.register(FnSpec.of("f", this::stubborn)
        .maxConcurrency(1).queueTimeout(Duration.ofSeconds(1)).build());
    f.invokeAsync("first");
    await().until(() -> f.stats().inFlight() == 1);
    CompletableFuture<String> second = f.invokeAsync("second");
    second.cancel(false);
    clock.advance(Duration.ofSeconds(1));
    await().until(() -> f.stats().cancelled() == 1);
    assertThat(f.stats().timeouts()).isZero();
    assertThat(f.stats().queued()).isZero();
  }

  @Test
  void queueTimeout_isValidatedWhereItEnters_andShown() {
    assertThatThrownBy(() -> FnSpec.of("f", (String s) -> s).queueTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("queueTimeout must be positive but was 0 ms");
    assertThatThrownBy(() -> FnSpec.of("f", (String s) -> s).queueTimeout(null))
        .isInstanceOf(NullPointerException.class).hasMessage("queueTimeout");
    assertThatThrownBy(() -> FnSpec.of("f", (String s) -> s).queueTimeout(Duration.ofSeconds(1))
        .queueTimeout(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalStateException.class).hasMessage("queueTimeout was already set to 1 s");
    assertThat(FnSpec.of("f", (String s) -> s).build().queueTimeout()).isEmpty();
    FnSpec<String, String> spec = FnSpec.of("f", (String s) -> s).queueTimeout(Duration.ofMillis(250)).build();
    assertThat(spec.queueTimeout()).contains(Duration.ofMillis(250));
    assertThat(spec.toString()).contains("queueTimeout=250 ms");
  }
}
