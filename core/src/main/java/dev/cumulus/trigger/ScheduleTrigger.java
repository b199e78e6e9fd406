package dev.cumulus.trigger;

import dev.cumulus.Fn;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.internal.event.EventBacklog;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Emits an event of a function at a fixed rate; its input is the tick's scheduled {@link Instant}.
 *
 * <pre>{@code
 * Fn<Instant, Void> report = cumulus.register(FnSpec.ofConsumer("hourly-report", (Instant t) -> send(t)).build());
 * try (Trigger hourly = ScheduleTrigger.every(Duration.ofHours(1)).invoke(report)) {
 *   ...
 * }
 * }</pre>
 *
 * <ul>
 *   <li><b>Fixed rate, no drift.</b> Tick {@code k} is due at {@code start + k * period} on the
 *       runtime's clock (the first one period after {@link #invoke}); a tick that fires late does not
 *       move the ones after it.
 *   <li><b>Runs never overlap.</b> A tick that comes while the run of an earlier one is still pending
 *       (waiting, running or retrying: the function is saturated) is missed; when that run ends, the
 *       missed ticks are coalesced into one run, with the latest missed tick as its input. Ticks that
 *       got no run of their own are counted ({@link Trigger.Stats#coalesced()}).
 *   <li>Runs are events: the function's limits, retries and dead letters apply.
 *   <li>Between ticks it holds one timer of the runtime's clock, which waits on a parked virtual
 *       thread: no platform thread. It stops when closed, and when the function's runtime closes.
 * </ul>
 *
 * <p>This builder is not thread-safe and starts one trigger; the trigger is thread-safe.
 */
public final class ScheduleTrigger {
  private final Duration period;
  private boolean started;

  private ScheduleTrigger(Duration period) {
    this.period = period;
  }

  /**
   * Starts describing a schedule.
   *
   * @param period the time between ticks, at least 1 ms
   * @return the schedule, ready to {@link #invoke}
   * @throws NullPointerException if {@code period} is null
   * @throws IllegalArgumentException if {@code period} is shorter than 1 ms or longer than about 292 years
   */
  public static ScheduleTrigger every(Duration period) {
    Objects.requireNonNull(period, "period");
    if (period.compareTo(Duration.ofMillis(1)) < 0) {
      throw new IllegalArgumentException("period must be at least 1 ms but was " + period);
    }
    if (period.compareTo(Duration.ofNanos(Long.MAX_VALUE >> 2)) > 0) {
      throw new IllegalArgumentException("period must be at most about 73 years but was " + period);
    }
    return new ScheduleTrigger(period);
  }

  /**
   * Starts emitting ticks to {@code fn}.
   *
   * @param fn a function registered in this JVM that takes the tick's {@link Instant}
   * @return the running trigger; close it to stop
   * @throws NullPointerException if {@code fn} is null
   * @throws IllegalArgumentException if {@code fn} is not a function of a runtime in this JVM (a
   *     remote handle, say)
   * @throws IllegalStateException if this schedule already started a trigger
   * @throws RuntimeClosedException if the function's runtime is closed
   */
  public Trigger invoke(Fn<Instant, ?> fn) {
    Objects.requireNonNull(fn, "fn");
    if (started) {
      throw new IllegalStateException("this ScheduleTrigger already started; make another with ScheduleTrigger.every");
    }
    EventBacklog backlog = EventBacklog.of(fn);
    started = true;
    return Schedule.start(backlog, period.toNanos());
  }

  @Override
  public String toString() {
    return "ScheduleTrigger.every(" + period + ")";
  }
}
