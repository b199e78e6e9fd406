package dev.cumulus.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * The runtime's one watch over deadlines (timeouts, CPU budgets, queue timeouts): a single timer set
 * for the earliest time something may be due, held with that time in one atomic reference, so that
 * two threads arming it at once can never cancel the wrong timer. It scans only the functions that
 * have workers (or calls waiting with a queue timeout), and exists only while one has: an idle
 * runtime holds no timer, hence no timer thread.
 *
 * <p>No invocation is registered with it (that would cost every call): a function that starts its
 * first worker arms the watch for the soonest deadline a call could have from now, each scan re-arms
 * it for the soonest deadline it found (or could appear before the next scan), and a function that
 * loses its last worker leaves it.
 */
final class DeadlineWatch {
  /** A function whose running invocations have deadlines. */
  interface Watched {
    /**
     * Ends what is overdue at {@code now}; runs on the timer thread, must be short and not block.
     *
     * @return the soonest time anything of it may be due next, calls not started yet included
     */
    long check(long now);

    /** The longest a call that starts now runs before it may be due: its first check. */
    long firstCheckNanos();
  }

  /** A pending timer and the time it is due, published together. */
  private static final class Pending {
    final long due;
    volatile Clock.@Nullable Timer timer;
    volatile boolean cancelled;

    Pending(long due) {
      this.due = due;
    }

    void cancel() {
      cancelled = true;
      Clock.Timer t = timer;
      if (t != null) {
        t.cancel();
      }
    }
  }

  private final Clock clock;
  private final Set<Watched> busy = ConcurrentHashMap.newKeySet();
  private final AtomicReference<@Nullable Pending> armed = new AtomicReference<>();

  DeadlineWatch(Clock clock) {
    this.clock = clock;
  }

  /** {@code w} got its first worker: watch it from now on. */
  void watch(Watched w) {
    busy.add(w);
    arm(clock.nanoTime() + w.firstCheckNanos());
  }

  /** {@code w} has nothing to watch any more ({@code stillBusy} says whether it got some meanwhile). */
  void unwatch(Watched w, java.util.function.BooleanSupplier stillBusy) {
    busy.remove(w);
    if (stillBusy.getAsBoolean()) {
      watch(w); // a worker started between its count reaching zero and the removal
      return;
    }
    if (busy.isEmpty()) {
      disarm();
      if (!busy.isEmpty()) {
        arm(clock.nanoTime()); // watched again meanwhile: scan now, the scan sets the time
      }
    }
  }

  /** Whether no function has workers. */
  boolean isIdle() {
    return busy.isEmpty();
  }

  /** Makes sure the watch runs at {@code due} or earlier. Lock-free. */
  private void arm(long due) {
    for (;;) {
      Pending current = armed.get();
      if (current != null && current.due - due <= 0) {
        return; // an earlier (or the same) scan is pending
      }
      Pending next = new Pending(due);
      if (armed.compareAndSet(current, next)) {
        next.timer = clock.schedule(() -> fire(next), due - clock.nanoTime());
        if (next.cancelled) {
          next.cancel(); // replaced or disarmed before its timer existed
        }
        if (current != null) {
          current.cancel();
        }
        return;
      }
    }
  }

  private void disarm() {
    Pending current = armed.get();
    if (current != null && armed.compareAndSet(current, null)) {
      current.cancel();
    }
  }

  private void fire(Pending p) {
    if (!armed.compareAndSet(p, null)) {
      return; // replaced by an earlier one, or disarmed
    }
    long now = clock.nanoTime();
    long next = Long.MAX_VALUE;
    for (Watched w : busy) {
      next = Math.min(next, w.check(now));
    }
    if (next != Long.MAX_VALUE) {
      arm(next);
    }
  }
}
