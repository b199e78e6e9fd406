package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cumulus.internal.Registration;
import dev.cumulus.internal.RuntimeEvents;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link KeepAlive#adaptive()} in a runtime, on a {@link ManualClock}: a function called every 10
 * minutes (a periodic timer, the commonest shape in "Serverless in the Wild") keeps instances for
 * the fallback (30 s, so every call is cold) until it has ten idle times; from then on its instance
 * is unloaded a second after each call and pre-warmed just before the next, so calls are warm and
 * the instance is idle a few minutes instead of the whole period. While a pre-warm is pending the runtime holds one
 * timer and nothing else; once the tail has passed without a call, nothing at all.
 */
class AdaptiveKeepAliveTest {
  private static final Duration PERIOD = Duration.ofMinutes(10);

  private final ManualClock clock = new ManualClock();
  private final AtomicInteger idle = new AtomicInteger();
  private final AtomicInteger inits = new AtomicInteger();
  private Cumulus cumulus;
  private Fn<String, String> f;

  @BeforeEach
  void start() {
    cumulus = Cumulus.builder().clock(clock).events(new RuntimeEvents() {
      @Override
      public void lastWorker(Registration fn) {
        idle.incrementAndGet(); // its last worker ended, after giving its instance back
      }
    }).build();
    f = cumulus.register(FnSpec.withInstance("timer", () -> {
      inits.incrementAndGet();
      return new Object();
    }, (Object instance, String s) -> s).keepAlive(KeepAlive.adaptive()).build());
  }

  @org.junit.jupiter.api.AfterEach
  void stop() {
    cumulus.close();
  }

  /** Calls once and waits until the function is idle again (its instance back in the pool). */
  private void callAndSettle() {
    int before = idle.get();
    assertThat(f.invoke("tick")).isEqualTo("tick");
    await().until(() -> idle.get() > before);
  }

  /** Eleven calls a period apart: ten idle times, enough for the histogram. */
  private void learn() {
    for (int i = 0; i < 11; i++) {
      if (i > 0) {
        clock.advance(PERIOD);
      }
      callAndSettle();
    }
    assertThat(f.stats().coldStarts()).isEqualTo(11); // the fallback (30 s) lost each one
  }

  @Test
  void aPeriodicFunction_isPreWarmedBeforeEachCall_andUnloadedBetween() {
    learn();
    for (int round = 0; round < 3; round++) {
      clock.advance(Duration.ofSeconds(2)); // a second after the call: unloaded
      assertThat(f.stats().warmInstances()).isZero();
      // One pre-warm pending (an idle timer, no thread), nothing else.
      assertThat(clock.pendingTimers()).isEqualTo(1);
      assertThat(clock.pendingPreciseTimers()).isZero();
      clock.advance(Duration.ofMinutes(5));
      assertThat(f.stats().warmInstances()).isZero();
      clock.advance(Duration.ofMinutes(4)); // 9 min 2 s: the head (10 min less 10 %) has passed
      long preWarms = round + 1;
      await().until(() -> f.stats().preWarms() == preWarms && f.stats().warmInstances() == 1);
      clock.advance(Duration.ofSeconds(58));
      callAndSettle();
      assertThat(f.stats().coldStarts()).isEqualTo(11); // warm: the pre-warmed instance ran it
    }
    assertThat(inits.get()).isEqualTo(11 + 3);
    assertThat(f.stats().initTime()).isPositive();
  }

  @Test
  void callsOfABurst_underASecondApart_keepTheirInstance() {
    learn();
    for (int i = 0; i < 5; i++) {
      clock.advance(Duration.ofMillis(900));
      callAndSettle();
    }
    assertThat(f.stats().coldStarts()).isEqualTo(11);
    clock.advance(Duration.ofMinutes(9).plusSeconds(1)); // the head, from the burst's last call
    await().until(() -> f.stats().preWarms() == 1 && f.stats().warmInstances() == 1);
  }

  @Test
  void aPreWarmedInstanceNotUsed_goesAtTheTail_andNothingIsLeftPending() {
    learn();
    clock.advance(Duration.ofMinutes(9));
    await().until(() -> f.stats().warmInstances() == 1);
    clock.advance(Duration.ofSeconds(200)); // past the tail: 11 min plus 10 % = 12.1 min after idle
    await().until(() -> f.stats().warmInstances() == 0);
    assertThat(clock.pendingTimers()).isZero();
  }

  @Test
  void aCallBeforeThePreWarm_isCold_andThePreWarmFollowsTheLaterIdle() {
    learn();
    for (int i = 0; i < 10; i++) { // 20 idle times: one early call does not move the 5th percentile
      long preWarms = i + 1;
      clock.advance(PERIOD.minusSeconds(30));
      await().until(() -> f.stats().preWarms() == preWarms && f.stats().warmInstances() == 1);
      clock.advance(Duration.ofSeconds(30));
      callAndSettle();
    }
    assertThat(f.stats().coldStarts()).isEqualTo(11);
    assertThat(f.stats().preWarms()).isEqualTo(10);
    clock.advance(Duration.ofMinutes(3));
    callAndSettle(); // earlier than the pattern: no instance yet
    assertThat(f.stats().coldStarts()).isEqualTo(12);
    clock.advance(Duration.ofMinutes(7)); // where the pre-warm was due before the early call (and more)
    assertThat(f.stats().preWarms()).isEqualTo(10);
    clock.advance(Duration.ofMinutes(2)); // 9 min after the early call
    await().until(() -> f.stats().preWarms() == 11 && f.stats().warmInstances() == 1);
  }

  @Test
  void whenTheHeadMovesDown_thePendingPreWarmComesEarlier() {
    learn(); // ten idle times of 10 min: the head is 9 min
    clock.advance(Duration.ofMinutes(3));
    callAndSettle(); // one of eleven idle times is 3 min: the 5th percentile is its bin, the head 2.7 min
    clock.advance(Duration.ofMinutes(3)); // 3 min after: before the pre-warm armed for 9 min
    await().until(() -> f.stats().preWarms() == 1 && f.stats().warmInstances() == 1);
  }

  @Test
  void theFixedShortForm_andTheDefault_stayFixed() {
    FnSpec<String, String> spec = FnSpec.of("fixed", (String s) -> s).keepAlive(Duration.ofMinutes(2)).build();
    assertThat(spec.keepAlivePolicy()).isEqualTo(KeepAlive.fixed(Duration.ofMinutes(2)));
    assertThat(FnSpec.of("d", (String s) -> s).build().keepAlivePolicy())
        .isEqualTo(KeepAlive.fixed(FnSpec.DEFAULT_KEEP_ALIVE));
    assertThat(f.spec().keepAlive()).isEqualTo(Duration.ofSeconds(30)); // the adaptive fallback
    assertThat(f.spec().toString()).contains("keepAlive=Adaptive[fallback=PT30S, range=PT4H]");
  }
}
