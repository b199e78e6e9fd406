package dev.cumulus.internal.event;

import dev.cumulus.DeadLetter;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionFailedException;
import dev.cumulus.FunctionStats;
import dev.cumulus.InvalidInputException;
import dev.cumulus.RetryPolicy;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.ThrottledException;
import dev.cumulus.UnknownFunctionException;
import dev.cumulus.internal.CallTenant;
import dev.cumulus.internal.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * One function's events: the bounded backlog of {@code Fn.emit}, its dispatch into the function, the
 * outcome of each attempt (success, retry, dead letter) and the counters.
 *
 * <p><b>Dispatch.</b> Events wait here, not in the function's call queue, and are submitted as
 * invocations only while the function has a free slot ({@link EventHost#hasFreeSlot()}); when it has
 * none, at most one attempt waits in the call queue (so that the runtime's own capacity hand-over
 * wakes the function), and the rest wait here until an invocation ends ({@link #capacityFreed()}).
 * So synchronous callers never queue behind the backlog, and a throttled attempt is not a failed
 * one: it was never made. One thread dispatches at a time (a work-in-progress counter, no lock).
 *
 * <p><b>Tenants.</b> An event emitted for a tenant waits in its tenant's lane of the
 * {@link EventQueue}, which serves tenants in weighted round-robin as the function's call queue
 * does, and each of its attempts is a call made for that tenant (its turn in the call queue, its
 * usage). The backlog's room is shared the same way: a tenant with fewer events waiting than its
 * weighted share of {@code eventCapacity} is accepted even when the backlog is full, up to twice
 * {@code eventCapacity} pending.
 *
 * <p><b>Ending.</b> Every accepted event ends exactly once (a compare-and-set on the event): as a
 * success, or as a dead letter once the sink has had it. {@code pending} counts the events not ended
 * and bounds them by {@code eventCapacity}; the drain of {@code close()} waits for it to reach zero.
 */
public final class EventBacklog {
  /** Longest idempotency key accepted. */
  public static final int MAX_KEY_LENGTH = 256;

  private static final int OPEN = 0;
  /** close() began: no new events, no new retries; the backlog still runs. */
  private static final int DRAINING = 1;
  /** Unregistered: what waits is dead-lettered; running attempts finish. */
  private static final int RETIRED = 2;
  /** close()'s drain deadline passed: what waits is dead-lettered. */
  private static final int ABANDONED = 3;

  /**
   * An emit's answer.
   *
   * @param id the event's id
   * @param duplicate whether an earlier event had the key (nothing new was accepted)
   */
  public record Accepted(String id, boolean duplicate) {}

  private final EventHost host;
  private final EventRuntime runtime;
  private final Clock clock;
  private final String name;
  private final int capacity;
  private final RetryPolicy policy;
  private final long maxAgeNanos;
  private final DeadLetterOffice office;
  private final IdempotencyKeys keys;

  private final EventQueue ready = new EventQueue();
  /** Events in {@link #ready}; read on the function's hot path, so kept apart from the queue. */
  private final AtomicInteger readyCount = new AtomicInteger();
  /** Accepted and not ended: bounded by {@link #capacity}. */
  private final AtomicInteger pending = new AtomicInteger();
  /** Attempts submitted whose outcome has not been handled yet. */
  private final AtomicInteger inAdmission = new AtomicInteger();
  private final AtomicInteger wip = new AtomicInteger();
  /** An attempt was throttled: dispatch waits for an invocation to end. */
  private volatile boolean stalled;
  private volatile int state = OPEN;
  private final CompletableFuture<Void> drained = new CompletableFuture<>();
  private final CopyOnWriteArrayList<Runnable> shutdownHooks = new CopyOnWriteArrayList<>();

  private final LongAdder accepted = new LongAdder();
  private final LongAdder succeeded = new LongAdder();
  private final LongAdder deadLettered = new LongAdder();
  private final LongAdder retries = new LongAdder();
  private final LongAdder duplicates = new LongAdder();
  private final LongAdder throttled = new LongAdder();

  /**
   * Creates the backlog of a function.
   *
   * @param host the function
   * @param spec its spec (event capacity, retry policy, sink, idempotency window)
   * @param runtime the runtime's event layer
   */
  public EventBacklog(EventHost host, FnSpec<?, ?> spec, EventRuntime runtime) {
    this.host = host;
    this.runtime = runtime;
    this.clock = runtime.clock();
    this.name = spec.name();
    this.capacity = spec.eventCapacity();
    this.policy = spec.retry();
    this.maxAgeNanos = policy.maxEventAge().map(d -> d.toNanos()).orElse(Long.MAX_VALUE);
    this.office = new DeadLetterOffice(name, spec.deadLetter());
    this.keys = new IdempotencyKeys(clock, spec.idempotencyWindow().toNanos(), capacity);
  }

  /**
   * The event backlog of a function registered in this JVM.
   *
   * @param fn the function
   * @return its backlog
   * @throws IllegalArgumentException if {@code fn} is not a function of a runtime in this JVM
   */
  public static EventBacklog of(Object fn) {
    if (fn instanceof EventHost host) {
      return host.events();
    }
    throw new IllegalArgumentException("a trigger needs a function registered with a Cumulus runtime in"
        + " this JVM (Cumulus.register), but got " + fn.getClass().getName());
  }

  /** {@return the function's name} */
  public String functionName() {
    return name;
  }

  /** {@return the runtime's clock} */
  public Clock clock() {
    return clock;
  }

  /**
   * The instant of a reading of the runtime's clock.
   *
   * @param tick a reading of {@link #clock()}
   * @return the instant
   */
  public Instant instant(long tick) {
    return runtime.instant(tick);
  }

  // ---------------------------------------------------------------------------------------------
  // Emit

  /**
   * {@code Fn.emit}: accepts an event, or answers with the id of the event first accepted with the
   * same key within the window.
   *
   * @param input the input
   * @param key the idempotency key, or null; a tenant's keys are its own
   * @param tenant the tenant the event is emitted for, or null
   * @param listener learns how the event ends (null: nobody)
   * @return the event's id
   * @throws IllegalArgumentException if the key is empty or too long
   * @throws InvalidInputException if the input is not the function's
   * @throws UnknownFunctionException if the function was unregistered
   * @throws RuntimeClosedException if the runtime is closing
   * @throws ThrottledException if {@code eventCapacity} events are pending (and the tenant, if any,
   *     has its share of them waiting)
   */
  public Accepted emit(@Nullable Object input, @Nullable String key, @Nullable CallTenant tenant,
      @Nullable EventListener listener) {
    if (key != null) {
      checkKey(key);
    }
    InvalidInputException invalid = host.checkInput(input);
    if (invalid != null) {
      throw invalid;
    }
    checkOpen();
    if (key == null) {
      Event e = accept(input, tenant, listener);
      dispatch();
      return new Accepted(e.id(), false);
    }
    Event[] created = new Event[1];
    // Single flight: Caffeine computes a key's mapping once; concurrent emits of it wait for it.
    String id = keys.cache().get(IdempotencyKeys.scoped(key, tenant), k -> {
      Event e = accept(input, tenant, listener);
      created[0] = e;
      return e.id();
    });
    if (created[0] == null) {
      duplicates.increment();
      return new Accepted(id, true);
    }
    dispatch();
    return new Accepted(id, false);
  }

  private void checkKey(String key) {
    if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
      throw new IllegalArgumentException("idempotencyKey must be 1 to " + MAX_KEY_LENGTH
          + " characters but was " + key.length() + " characters long (function '" + name + "')");
    }
  }

  private void checkOpen() {
    int s = state;
    if (s == RETIRED) {
      throw new UnknownFunctionException(name, List.of());
    }
    if (s != OPEN || runtime.isClosing()) {
      throw new RuntimeClosedException(name,
          "the Cumulus runtime is closed; function '" + name + "' accepts no more events");
    }
  }

  private Event accept(@Nullable Object input, @Nullable CallTenant tenant, @Nullable EventListener listener) {
    for (;;) {
      int p = pending.get();
      // Full: only a tenant below its share of the waiting events gets in, up to twice the capacity
      // (so a flood from one tenant cannot fill the backlog for all).
      if (p >= capacity && (tenant == null || p >= 2L * capacity || !ready.belowFairShare(tenant, capacity))) {
        throttled.increment();
        throw new ThrottledException(name, "function '" + name + "' has " + p
            + " events pending (eventCapacity " + capacity + ")"
            + (tenant == null ? "" : " and tenant '" + tenant.name() + "' has its share of those waiting")
            + "; the event was not accepted");
      }
      if (pending.compareAndSet(p, p + 1)) {
        break;
      }
    }
    Event e = new Event(input, clock.nanoTime(), this, listener, tenant);
    accepted.increment();
    ready.offer(e);
    readyCount.incrementAndGet();
    if (state > DRAINING && ready.remove(e)) {
      // Retired or abandoned between checkOpen and the offer: refuse it rather than strand it.
      readyCount.decrementAndGet();
      accepted.decrement();
      ended();
      checkOpen();
      throw new RuntimeClosedException(name, "function '" + name + "' accepts no more events");
    }
    return e;
  }

  // ---------------------------------------------------------------------------------------------
  // Dispatch

  /**
   * An invocation of the function ended, so it may have capacity: dispatch what waits. Called by the
   * function on its hot path, so it costs one read when no event waits.
   */
  public void capacityFreed() {
    if (readyCount.get() == 0) {
      return;
    }
    stalled = false;
    dispatch();
  }

  private void dispatch() {
    if (wip.getAndIncrement() != 0) {
      return; // the thread dispatching now will pass once more
    }
    int missed = 1;
    do {
      try {
        dispatchReady();
      } catch (Throwable e) {
        EventRuntime.LOG.log(System.Logger.Level.ERROR, "dispatching events of function '" + name + "' failed", e);
      }
      missed = wip.addAndGet(-missed);
    } while (missed != 0);
  }

  private void dispatchReady() {
    while (!stalled && state <= DRAINING) {
      // Submit while the function has a free slot; without one, a single attempt may wait in its
      // queue, so that the runtime wakes the function when capacity frees up elsewhere.
      if (inAdmission.get() > 0 && !host.hasFreeSlot()) {
        return;
      }
      Event e = ready.poll();
      if (e == null) {
        return;
      }
      readyCount.decrementAndGet();
      long now = clock.nanoTime();
      if (now - e.acceptedAt > maxAgeNanos) {
        deadLetter(e, DeadLetter.Reason.EXPIRED, e.lastError);
        continue;
      }
      inAdmission.incrementAndGet();
      attempt(e, now);
    }
  }

  private void attempt(Event e, long now) {
    CompletableFuture<@Nullable Object> f;
    try {
      f = host.submitAttempt(e.input, e.tenant);
    } catch (Throwable t) {
      f = CompletableFuture.failedFuture(t);
    }
    if (f.state() == Future.State.FAILED) {
      Throwable refused = unwrap(f.exceptionNow());
      if (refused instanceof ThrottledException) {
        inAdmission.decrementAndGet();
        requeue(e); // never made: not an attempt
        return;
      }
      if (refused instanceof RuntimeClosedException || refused instanceof UnknownFunctionException) {
        inAdmission.decrementAndGet();
        deadLetter(e, DeadLetter.Reason.SHUTDOWN, e.lastError);
        return;
      }
    }
    if (e.attempts == 0) {
      e.firstAttemptAt = now;
    }
    e.lastAttemptAt = now;
    e.attempts++;
    var unused = f.whenComplete((result, failure) -> attemptEnded(e, failure)); // the outcome is handled there
  }

  /** A throttled attempt goes back to the front; dispatch waits until an invocation ends. */
  private void requeue(Event e) {
    ready.putBack(e);
    readyCount.incrementAndGet();
    stalled = true;
    // An invocation that ended between the throttle and the flag found nothing waiting: look again.
    if (host.hasFreeSlot()) {
      stalled = false;
    }
  }

  private void attemptEnded(Event e, @Nullable Throwable failure) {
    inAdmission.decrementAndGet();
    try {
      if (failure == null) {
        succeed(e);
      } else {
        failed(e, unwrap(failure));
      }
    } catch (Throwable bug) {
      EventRuntime.LOG.log(System.Logger.Level.ERROR, "handling the outcome of event " + e.id()
          + " of function '" + name + "' failed", bug);
      deadLetter(e, DeadLetter.Reason.NOT_RETRYABLE, failure != null ? failure : bug);
    } finally {
      dispatch();
    }
  }

  private void succeed(Event e) {
    if (!e.end()) {
      return;
    }
    succeeded.increment();
    EventListener l = e.listener;
    if (l != null) {
      try {
        l.succeeded(e.id(), e.input);
      } catch (Throwable t) {
        EventRuntime.LOG.log(System.Logger.Level.ERROR, "a listener of function '" + name
            + "' failed on event " + e.id(), t);
      }
    }
    ended();
  }

  private void failed(Event e, Throwable failure) {
    if (failure instanceof ThrottledException) {
      e.attempts--;
      requeue(e);
      return;
    }
    if (failure instanceof RuntimeClosedException || failure instanceof UnknownFunctionException) {
      deadLetter(e, DeadLetter.Reason.SHUTDOWN, e.lastError); // abandoned by close, or unregistered
      return;
    }
    Throwable error = failure instanceof FunctionFailedException f && name.equals(f.functionName())
        && f.getCause() != null ? f.getCause() : failure;
    e.lastError = error;
    boolean retryable;
    try {
      retryable = policy.isRetryable(error);
    } catch (Throwable t) {
      EventRuntime.LOG.log(System.Logger.Level.WARNING, "the retryOn predicate of function '" + name
          + "' threw; event " + e.id() + " is not retried", t);
      retryable = false;
    }
    if (!retryable) {
      deadLetter(e, DeadLetter.Reason.NOT_RETRYABLE, error);
    } else if (e.attempts > policy.maxRetries()) {
      deadLetter(e, DeadLetter.Reason.RETRIES_EXHAUSTED, error);
    } else if (state != OPEN) {
      deadLetter(e, DeadLetter.Reason.SHUTDOWN, error);
    } else {
      long delay = Math.min(runtime.backoffNanos(policy, e.attempts), Long.MAX_VALUE >> 2);
      long due = clock.nanoTime() + delay;
      if (due - e.acceptedAt > maxAgeNanos) {
        deadLetter(e, DeadLetter.Reason.EXPIRED, error); // it would be too old by its retry
        return;
      }
      e.dueAt = due;
      retries.increment();
      runtime.retries.schedule(e);
      if (state != OPEN && runtime.retries.remove(e)) {
        deadLetter(e, DeadLetter.Reason.SHUTDOWN, error); // closing began meanwhile and missed it
      }
    }
  }

  /** The retry timer gives back an event whose delay has passed. */
  void retryDue(Event e) {
    if (state != OPEN) {
      deadLetter(e, DeadLetter.Reason.SHUTDOWN, e.lastError);
      return;
    }
    ready.offerRetry(e); // it has waited already: it goes first (among its tenant's)
    readyCount.incrementAndGet();
    if (state > DRAINING && ready.remove(e)) {
      readyCount.decrementAndGet();
      deadLetter(e, DeadLetter.Reason.SHUTDOWN, e.lastError);
      return;
    }
    dispatch();
  }

  private void deadLetter(Event e, DeadLetter.Reason reason, @Nullable Throwable error) {
    if (!e.end()) {
      return;
    }
    boolean ran = e.attempts > 0;
    DeadLetter letter = new DeadLetter(name, e.id(), e.input, e.attempts,
        runtime.instant(ran ? e.firstAttemptAt : e.acceptedAt),
        runtime.instant(ran ? e.lastAttemptAt : e.acceptedAt), error, reason);
    office.post(letter, e.listener, () -> {
      deadLettered.increment();
      try {
        host.deadLettered(letter); // the lifecycle event: counted first, so a listener's stats() agrees
      } catch (Throwable t) {
        EventRuntime.LOG.log(System.Logger.Level.ERROR, "telling the listeners of function '" + name
            + "' about dead letter " + letter.eventId() + " failed", t);
      } finally {
        ended();
      }
    });
  }

  private void ended() {
    if (pending.decrementAndGet() == 0 && state != OPEN) {
      drained.complete(null);
    }
  }

  private static Throwable unwrap(Throwable t) {
    Throwable cause = t.getCause();
    return t instanceof CompletionException && cause != null ? cause : t;
  }

  // ---------------------------------------------------------------------------------------------
  // Closing

  /**
   * Runs {@code hook} once when the function stops taking events (the runtime closes, or the
   * function is unregistered); at once if it already did.
   *
   * @param hook what to run; must be short
   * @return undoes the registration
   */
  public AutoCloseable onShutdown(Runnable hook) {
    Objects.requireNonNull(hook, "hook");
    shutdownHooks.add(hook);
    if (state != OPEN || runtime.isClosing()) {
      runShutdownHooks();
    }
    return () -> shutdownHooks.remove(hook);
  }

  private void runShutdownHooks() {
    for (Runnable hook : shutdownHooks) {
      if (shutdownHooks.remove(hook)) {
        try {
          hook.run();
        } catch (Throwable t) {
          EventRuntime.LOG.log(System.Logger.Level.ERROR, "a shutdown hook of function '" + name + "' failed", t);
        }
      }
    }
  }

  /**
   * close() begins: no new events and no new retries; retries waiting are dead-lettered
   * ({@code SHUTDOWN}); the backlog keeps running.
   *
   * @return completes when every accepted event has ended (its dead letter delivered)
   */
  public CompletableFuture<Void> drain() {
    if (state == OPEN) {
      state = DRAINING;
    }
    giveUpWaiting(false);
    dispatch();
    return drained;
  }

  /**
   * close()'s drain deadline passed: what still waits is dead-lettered ({@code SHUTDOWN}). The
   * function then abandons the attempts in admission, which end the same way.
   */
  public void abandon() {
    state = ABANDONED;
    giveUpWaiting(true);
  }

  /**
   * The function is unregistered: later emits fail as for an unknown function, what waits is
   * dead-lettered ({@code SHUTDOWN}), running attempts finish but are not retried.
   *
   * @return completes when every accepted event has ended
   */
  public CompletableFuture<Void> retire() {
    if (state < RETIRED) {
      state = RETIRED;
    }
    giveUpWaiting(true);
    return drained;
  }

  private void giveUpWaiting(boolean backlogToo) {
    runShutdownHooks();
    for (Event e : runtime.retries.removeAll(this)) {
      deadLetter(e, DeadLetter.Reason.SHUTDOWN, e.lastError);
    }
    if (backlogToo) {
      for (Event e = ready.poll(); e != null; e = ready.poll()) {
        readyCount.decrementAndGet();
        deadLetter(e, DeadLetter.Reason.SHUTDOWN, e.lastError);
      }
    }
    if (pending.get() == 0) {
      drained.complete(null);
    }
  }

  /**
   * Completes when every accepted event has ended, after close or unregister began.
   *
   * @return the future
   */
  public CompletableFuture<Void> drained() {
    return drained;
  }

  // ---------------------------------------------------------------------------------------------
  // Stats

  /**
   * Adds this backlog's counters to a function's stats.
   *
   * @param stats the function's stats, being built
   * @return {@code stats}, with the event counters set
   */
  public FunctionStats.Builder addTo(FunctionStats.Builder stats) {
    // Ended first, accepted last: pending can only be over-counted by a racing emit, never negative.
    long ok = succeeded.sum();
    long dead = deadLettered.sum();
    long in = accepted.sum();
    return stats.eventsAccepted(in).eventsSucceeded(ok).eventsDeadLettered(dead)
        .eventsPending(Math.max(0, in - ok - dead)).eventRetries(retries.sum())
        .eventDuplicates(duplicates.sum()).eventsThrottled(throttled.sum())
        .deadLetterSinkFailures(office.sinkFailures.sum());
  }

  @Override
  public String toString() {
    return "EventBacklog[" + name + ", pending=" + pending.get() + ", ready=" + readyCount.get()
        + ", inAdmission=" + inAdmission.get() + "]";
  }
}
