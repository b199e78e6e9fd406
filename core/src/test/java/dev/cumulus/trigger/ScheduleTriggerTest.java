package dev.cumulus.trigger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.ManualTime;
import dev.cumulus.internal.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link ScheduleTrigger} on a clock driven by hand: fixed rate, no drift, coalesced ticks. */
class ScheduleTriggerTest {
  static final Duration PERIOD = Duration.ofMinutes(1);

  @Test
  void ticksComeAtAFixedRate_withoutDrift_whenTheyFireLateOrEarly() {
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      List<Instant> ticks = new CopyOnWriteArrayList<>();
      Fn<Instant, Void> f = c.register(FnSpec.ofConsumer("tick", (Instant i) -> ticks.add(i)).build());
      long start = time.nanoTime();
      Instant origin = ManualTime.events(c).instant(start);
      try (Trigger t = ScheduleTrigger.every(PERIOD).invoke(f)) {
        assertThat(time.dueTimes()).contains(start + PERIOD.toNanos());
        // Uneven steps of the clock: 59 s, 1 s, 1.5 min, 30 s, 1 min... the ticks stay on the grid.
        Duration[] steps = {Duration.ofSeconds(59), Duration.ofSeconds(1), Duration.ofSeconds(90),
            Duration.ofSeconds(30), PERIOD, Duration.ofMillis(60_001), Duration.ofMillis(59_999)};
        int expected = 0;
        Duration elapsed = Duration.ZERO;
        for (Duration step : steps) {
          time.advance(step);
          elapsed = elapsed.plus(step);
          expected = (int) (elapsed.toNanos() / PERIOD.toNanos());
          int n = expected;
          await().until(() -> ticks.size() == n);
          // The next tick is due on the grid, whenever this one fired.
          assertThat(time.dueTimes()).contains(start + (n + 1) * PERIOD.toNanos());
        }
        for (int k = 1; k <= expected; k++) {
          assertThat(ticks.get(k - 1)).as("tick %s", k).isEqualTo(origin.plus(PERIOD.multipliedBy(k)));
        }
        assertThat(t.stats().coalesced()).isZero();
        await().until(() -> t.stats().succeeded() == ticks.size());
      }
    }
  }

  /** A clock whose timers run only when told, so that one can run late. */
  static final class LateClock implements Clock {
    private final List<Object[]> timers = new CopyOnWriteArrayList<>();
    private volatile long now = 1_000_000_000L;

    @Override
    public long nanoTime() {
      return now;
    }

    @Override
    public Timer schedule(Runnable task, long delayNanos) {
      Object[] t = {now + Math.max(0, delayNanos), task, false};
      timers.add(t);
      return () -> t[2] = true;
    }

    @Override
    public Timer scheduleIdle(Runnable task, long delayNanos) {
      return schedule(task, delayNanos);
    }

    @Override
    public void shutdown() {}

    /** Moves time without running any timer. */
    void jump(Duration d) {
      now += d.toNanos();
    }

    /** Runs the timers due now (late, if time jumped past them). */
    void runDue() {
      for (Object[] t : timers) {
        if ((long) t[0] <= now && !(boolean) t[2]) {
          t[2] = true;
          timers.remove(t);
          ((Runnable) t[1]).run();
        }
      }
    }

    List<Long> pending() {
      return timers.stream().filter(t -> !(boolean) t[2]).map(t -> (long) t[0]).toList();
    }
  }

  @Test
  void aTimerThatFiresLate_runsOnce_forTheTicksItMissed_andTheNextTickStaysOnTheGrid() {
    LateClock clock = new LateClock();
    try (Cumulus c = ManualTime.runtime(clock).build()) {
      List<Instant> ticks = new CopyOnWriteArrayList<>();
      Fn<Instant, Void> f = c.register(FnSpec.ofConsumer("tick", (Instant i) -> ticks.add(i)).build());
      long start = clock.nanoTime();
      Instant origin = ManualTime.events(c).instant(start);
      try (Trigger t = ScheduleTrigger.every(PERIOD).invoke(f)) {
        clock.jump(PERIOD.multipliedBy(3).plusSeconds(30)); // the timer gets to run only now
        clock.runDue();
        await().until(() -> ticks.size() == 1);
        assertThat(ticks.get(0)).isEqualTo(origin.plus(PERIOD.multipliedBy(3)));
        assertThat(t.stats().coalesced()).isEqualTo(2);
        assertThat(clock.pending()).contains(start + 4 * PERIOD.toNanos());
        clock.jump(Duration.ofSeconds(30));
        clock.runDue();
        await().until(() -> ticks.size() == 2);
        assertThat(ticks.get(1)).isEqualTo(origin.plus(PERIOD.multipliedBy(4)));
      }
    }
  }

  @Test
  void ticksWhileTheFunctionIsSaturated_areCoalescedIntoOneRun_andCounted() throws Exception {
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      List<Instant> ticks = new CopyOnWriteArrayList<>();
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Instant, Void> f = c.register(FnSpec.ofConsumer("slow", (Instant i) -> {
        ticks.add(i);
        if (ticks.size() == 1) {
          try {
            gate.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }
      }).maxConcurrency(1).timeout(Duration.ofDays(1)).build());
      Instant origin = ManualTime.events(c).instant(time.nanoTime());
      try (Trigger t = ScheduleTrigger.every(PERIOD).invoke(f)) {
        time.advance(PERIOD);
        await().until(() -> ticks.size() == 1); // tick 1 runs, and blocks
        for (int k = 2; k <= 6; k++) {
          time.advance(PERIOD); // ticks 2..6 come while it runs: missed
        }
        assertThat(ticks).hasSize(1);
        assertThat(t.stats().emitted()).isEqualTo(1);
        assertThat(t.stats().coalesced()).as("5 missed, of which 4 will have no run of their own").isEqualTo(4);
        gate.countDown();
        await().until(() -> ticks.size() == 2); // one run for the five, as the latest of them
        assertThat(ticks.get(1)).isEqualTo(origin.plus(PERIOD.multipliedBy(6)));
        await().until(() -> t.stats().succeeded() == 2);
        time.advance(PERIOD);
        await().until(() -> ticks.size() == 3);
        assertThat(ticks.get(2)).isEqualTo(origin.plus(PERIOD.multipliedBy(7)));
        await().until(() -> t.stats().succeeded() == 3);
        assertThat(t.stats()).isEqualTo(new Trigger.Stats(3, 3, 0, 4, 0));
      }
    }
  }

  @Test
  void stops_whenClosed_andWhenTheRuntimeCloses() {
    ManualTime time = new ManualTime();
    Cumulus c = time.runtime().build();
    List<Instant> ticks = new CopyOnWriteArrayList<>();
    Fn<Instant, Void> f = c.register(FnSpec.ofConsumer("tick", (Instant i) -> ticks.add(i)).build());
    Trigger t = ScheduleTrigger.every(PERIOD).invoke(f);
    time.advance(PERIOD);
    await().until(() -> ticks.size() == 1);
    t.close();
    time.advance(PERIOD.multipliedBy(5));
    assertThat(ticks).hasSize(1);
    assertThat(t.isOpen()).isFalse();

    Trigger other = ScheduleTrigger.every(PERIOD).invoke(f);
    c.close();
    assertThat(other.isOpen()).isFalse();
    assertThat(time.pendingTimers()).as("no timer left").isZero();
  }

  @Test
  void badOptions_areRefused() {
    assertThatThrownBy(() -> ScheduleTrigger.every(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("period must be at least 1 ms but was PT0S");
    assertThatThrownBy(() -> ScheduleTrigger.every(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("period");
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Instant, Void> f = c.register(FnSpec.ofConsumer("tick", (Instant i) -> { }).build());
      ScheduleTrigger s = ScheduleTrigger.every(PERIOD);
      try (Trigger t = s.invoke(f)) {
        assertThatThrownBy(() -> s.invoke(f)).isInstanceOf(IllegalStateException.class);
        assertThat(t.function()).isEqualTo("tick");
      }
      assertThatThrownBy(() -> ScheduleTrigger.every(PERIOD).invoke(null)).isInstanceOf(NullPointerException.class)
          .hasMessage("fn");
    }
  }
}
