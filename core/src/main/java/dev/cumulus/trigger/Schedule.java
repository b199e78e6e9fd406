package dev.cumulus.trigger;

import dev.cumulus.CumulusException;
import dev.cumulus.DeadLetter;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.ThrottledException;
import dev.cumulus.internal.Clock;
import dev.cumulus.internal.event.EventBacklog;
import dev.cumulus.internal.event.EventListener;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/** A running {@link ScheduleTrigger}: ticks on a grid of the runtime's clock, one run at a time. */
final class Schedule implements Trigger, EventListener {
  private static final System.Logger LOG = System.getLogger("dev.cumulus.trigger");

  private final EventBacklog backlog;
  private final Clock clock;
  private final long origin;
  private final long period;
  private final Alarm alarm;
  private final ReentrantLock lock = new ReentrantLock();
  private final LongAdder emitted = new LongAdder();
  private final LongAdder succeeded = new LongAdder();
  private final LongAdder deadLettered = new LongAdder();
  private final LongAdder coalesced = new LongAdder();
  private final LongAdder errors = new LongAdder();
  /** The next tick's number: due at {@code origin + next * period}. Guarded by lock. */
  private long next = 1;
  /** A run is pending: ticks that come now are missed. Guarded by lock. */
  private boolean running;
  /** Ticks missed while a run was pending, and the latest of them. Guarded by lock. */
  private long missed;
  private long latestMissed;
  private volatile boolean open = true;
  private @Nullable AutoCloseable onShutdown;

  private Schedule(EventBacklog backlog, long period) {
    this.backlog = backlog;
    this.clock = backlog.clock();
    this.period = period;
    this.origin = clock.nanoTime();
    this.alarm = new Alarm(clock, this::tick);
  }

  static Schedule start(EventBacklog backlog, long period) {
    Schedule s = new Schedule(backlog, period);
    s.alarm.atOrBefore(s.origin + period);
    s.onShutdown = backlog.onShutdown(s::close);
    if (!s.open) {
      throw new RuntimeClosedException(backlog.functionName(), "the runtime of function '"
          + backlog.functionName() + "' is closed; the schedule cannot start");
    }
    return s;
  }

  private long dueOf(long tick) {
    return origin + tick * period;
  }

  /** The alarm went off: run the latest tick due, count the others, arm the next one on the grid. */
  private void tick() {
    long fire = -1;
    lock.lock();
    try {
      if (!open) {
        return;
      }
      long now = clock.nanoTime();
      long first = next;
      if (now - dueOf(first) < 0) {
        alarm.atOrBefore(dueOf(first)); // early: wait for it
        return;
      }
      long latest = first + (now - dueOf(first)) / period; // every tick due by now
      next = latest + 1;
      alarm.atOrBefore(dueOf(next));
      long due = latest - first + 1;
      if (running) {
        missed += due;
        latestMissed = latest;
      } else {
        coalesced.add(due - 1); // the timer fired late: the ticks due meanwhile fold into one run
        running = true;
        fire = latest;
      }
    } finally {
      lock.unlock();
    }
    if (fire >= 0) {
      emit(fire);
    }
  }

  private void emit(long tick) {
    try {
      backlog.emit(backlog.instant(dueOf(tick)), null, null, this);
      emitted.increment();
      return;
    } catch (ThrottledException e) {
      coalesced.increment(); // the backlog is full: this tick gets no run
    } catch (RuntimeClosedException e) {
      close();
    } catch (CumulusException | IllegalArgumentException e) {
      errors.increment();
      LOG.log(System.Logger.Level.WARNING, "schedule of function '" + backlog.functionName()
          + "' could not emit its tick: " + e.getMessage());
    }
    runEnded();
  }

  @Override
  public void succeeded(String eventId, @Nullable Object input) {
    succeeded.increment();
    runEnded();
  }

  @Override
  public void deadLettered(DeadLetter letter) {
    deadLettered.increment();
    runEnded();
  }

  /** The pending run ended: the ticks missed meanwhile run once, now, as the latest of them. */
  private void runEnded() {
    long fire = -1;
    lock.lock();
    try {
      running = false;
      if (missed > 0 && open) {
        coalesced.add(missed - 1);
        missed = 0;
        running = true;
        fire = latestMissed;
      }
    } finally {
      lock.unlock();
    }
    if (fire >= 0) {
      emit(fire);
    }
  }

  @Override
  public String function() {
    return backlog.functionName();
  }

  @Override
  public boolean isOpen() {
    return open;
  }

  @Override
  public Stats stats() {
    long m;
    lock.lock();
    try {
      m = missed;
    } finally {
      lock.unlock();
    }
    // Ticks missed and not yet folded into a run will have no run of their own but one: count them.
    return new Stats(emitted.sum(), succeeded.sum(), deadLettered.sum(), coalesced.sum() + Math.max(0, m - 1),
        errors.sum());
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (!open) {
        return;
      }
      open = false;
      coalesced.add(missed); // no run will come for them
      missed = 0;
    } finally {
      lock.unlock();
    }
    alarm.cancel();
    AutoCloseable hook = onShutdown;
    if (hook != null) {
      try {
        hook.close();
      } catch (Exception e) {
        LOG.log(System.Logger.Level.DEBUG, "unregistering a schedule's shutdown hook failed", e);
      }
    }
  }

  @Override
  public String toString() {
    return "ScheduleTrigger[" + function() + ", every " + java.time.Duration.ofNanos(period)
        + (open ? "" : ", closed") + "]";
  }
}
