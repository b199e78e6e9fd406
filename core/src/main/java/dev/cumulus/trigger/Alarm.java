package dev.cumulus.trigger;

import dev.cumulus.internal.Clock;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * One clock timer for the earliest of a trigger's due times: armed only while something is due,
 * moved earlier when needed, never a polling loop. It uses the clock's idle timers, which wait on a
 * parked virtual thread: an idle trigger holds no platform thread.
 */
final class Alarm {
  private final Clock clock;
  private final Runnable onDue;
  private final ReentrantLock lock = new ReentrantLock();
  private Clock.@Nullable Timer timer;
  private long due;
  private @Nullable Object armed;
  private boolean cancelled;

  /** @param onDue runs on the clock's timer thread when the alarm goes off; short, non-blocking */
  Alarm(Clock clock, Runnable onDue) {
    this.clock = clock;
    this.onDue = onDue;
  }

  /** Makes sure the alarm goes off at {@code at} (runtime clock) or earlier. */
  void atOrBefore(long at) {
    lock.lock();
    try {
      if (cancelled || (armed != null && due - at <= 0)) {
        return;
      }
      if (timer != null) {
        timer.cancel();
      }
      Object token = new Object();
      armed = token;
      due = at;
      timer = clock.scheduleIdle(() -> fire(token), at - clock.nanoTime());
    } finally {
      lock.unlock();
    }
  }

  /** Stops it for good. */
  void cancel() {
    lock.lock();
    try {
      cancelled = true;
      armed = null;
      if (timer != null) {
        timer.cancel();
        timer = null;
      }
    } finally {
      lock.unlock();
    }
  }

  @SuppressWarnings("ReferenceEquality") // the token is an identity
  private void fire(Object token) {
    lock.lock();
    try {
      if (armed != token) {
        return;
      }
      armed = null;
      timer = null;
    } finally {
      lock.unlock();
    }
    onDue.run();
  }
}
