package dev.cumulus;

import dev.cumulus.internal.event.EventRuntime;
import java.time.Duration;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A {@link ManualClock} for tests outside this package (triggers): builds runtimes on it, moves it,
 * and reads its timers.
 */
public final class ManualTime {
  private final ManualClock clock = new ManualClock();

  /** {@return a runtime builder whose clock is this one} */
  public Cumulus.Builder runtime() {
    return Cumulus.builder().clock(clock);
  }

  /** {@return a runtime builder on any test clock} */
  public static Cumulus.Builder runtime(dev.cumulus.internal.Clock clock) {
    return Cumulus.builder().clock(clock);
  }

  /** Moves time forward, running every timer that falls due. */
  public void advance(Duration d) {
    clock.advance(d);
  }

  /** {@return the timers pending (not cancelled)} */
  public int pendingTimers() {
    return clock.pendingTimers();
  }

  /** {@return the due times of the pending timers, on this clock} */
  public List<Long> dueTimes() {
    return clock.dueTimes();
  }

  /** {@return the clock's reading} */
  public long nanoTime() {
    return clock.nanoTime();
  }

  /** The event layer of a runtime (to seed its retry jitter). */
  public static EventRuntime events(Cumulus cumulus) {
    return cumulus.engine().events();
  }

  /** {@return the live carrier threads of a runtime} */
  public static int liveCarriers(Cumulus cumulus) {
    return cumulus.engine().liveCarriers();
  }

  /** Seeds the retry jitter of a runtime. */
  public static void seedJitter(Cumulus cumulus, RandomGenerator random) {
    events(cumulus).useJitter(random);
  }
}
