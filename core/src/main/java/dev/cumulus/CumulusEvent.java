package dev.cumulus;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Something that happened in the life of a function: what a user watching scaling wants to see
 * without polling {@link Fn#stats()}. Receive them with {@link Cumulus#subscribe}.
 *
 * <pre>{@code
 * try (CumulusEvent.Subscription events = cumulus.subscribe(event -> {
 *   switch (event) {
 *     case CumulusEvent.ScaledFromZero e -> System.out.println(e.function() + " woke up");
 *     case CumulusEvent.ScaledToZero e -> System.out.println(e.function() + " scaled to zero");
 *     case CumulusEvent.Throttled e -> System.out.println(e.function() + " throttled x" + e.count());
 *     case CumulusEvent.ConcurrencyLimitChanged e ->
 *         System.out.println(e.function() + " limit " + e.from() + " -> " + e.to());
 *     default -> { }
 *   }
 * })) {
 *   // ... invoke functions
 * }
 * }</pre>
 *
 * <p>Every event names its function, the instant it happened, and the function's figures at that
 * moment: invocations running ({@link #inFlight()}), waiting ({@link #queued()}) and instances alive
 * ({@link #warmInstances()}). The figures are read without stopping the function, so calls that cross
 * that very instant may or may not be in them.
 *
 * <p><b>Scaling</b> is counted in instances, as the platforms count it: a function is at zero when it
 * holds no instance (its last one expired after {@code keepAlive}, or was closed), and scales from
 * zero when a call makes it create one. Worker threads come and go between calls (an idle function
 * holds none), so they would make a pair of events of every call of a quiet function.
 *
 * <p><b>Floods</b> stay bounded: {@link Throttled} and {@link ConcurrencyLimitChanged}, the two kinds
 * a busy function can produce by the thousand, are coalesced per function while they wait for a
 * listener; see {@link Subscription} for the rest.
 *
 * <p>Events are immutable, so thread-safe; the types are records. Kinds are added as Cumulus observes
 * more ({@link ConcurrencyLimitChanged} came with adaptive limits), so a {@code switch} over them
 * should keep a {@code default} branch, as the example does: an exhaustive one without it stops
 * compiling when a kind is added.
 */
public sealed interface CumulusEvent {
  /**
   * Returns the function's name.
   *
   * @return the name it is registered under
   */
  String function();

  /**
   * Returns when it happened (for a coalesced {@link Throttled} or {@link ConcurrencyLimitChanged},
   * when the last of the moments it stands for was).
   *
   * @return the instant
   */
  Instant at();

  /**
   * Returns the function's invocations running at that moment, overdue ones included.
   *
   * @return invocations running
   */
  int inFlight();

  /**
   * Returns the function's invocations waiting to start at that moment.
   *
   * @return invocations queued
   */
  int queued();

  /**
   * Returns the function's instances alive at that moment, busy or idle, including one being created.
   *
   * @return instances alive
   */
  int warmInstances();

  /**
   * The function was registered (by any means: {@code register}, {@code registerAll}, {@code proxy},
   * {@code executor}).
   *
   * @param function the function's name
   * @param at when
   * @param inFlight invocations running
   * @param queued invocations waiting
   * @param warmInstances instances alive
   */
  record Registered(String function, Instant at, int inFlight, int queued, int warmInstances)
      implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if {@code function} or {@code at} is null
     */
    public Registered {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
    }
  }

  /**
   * The function was unregistered: it takes no more calls, and finishes those it accepted.
   *
   * @param function the function's name
   * @param at when
   * @param inFlight invocations still running
   * @param queued invocations still waiting
   * @param warmInstances instances alive
   */
  record Unregistered(String function, Instant at, int inFlight, int queued, int warmInstances)
      implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if {@code function} or {@code at} is null
     */
    public Unregistered {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
    }
  }

  /**
   * The function held no instance and a call made it create one: it scaled from zero, and the call
   * is a cold start (a {@link ColdStart} follows when the instance is ready). Also sent when
   * provisioned instances ({@code minInstances}) are created at registration.
   *
   * @param function the function's name
   * @param at when
   * @param inFlight invocations running
   * @param queued invocations waiting
   * @param warmInstances instances alive, the one being created included (so at least 1)
   */
  record ScaledFromZero(String function, Instant at, int inFlight, int queued, int warmInstances)
      implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if {@code function} or {@code at} is null
     */
    public ScaledFromZero {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
    }
  }

  /**
   * A worker created a new instance of the function: its init ran (a cold start, counted in
   * {@link FunctionStats#coldStarts()}). Provisioned instances are not cold starts.
   *
   * @param function the function's name
   * @param at when the instance was ready
   * @param inFlight invocations running
   * @param queued invocations waiting
   * @param warmInstances instances alive
   * @param initTime how long its init ran
   */
  record ColdStart(String function, Instant at, int inFlight, int queued, int warmInstances,
      Duration initTime) implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if a reference component is null
     */
    public ColdStart {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(initTime, "initTime");
    }
  }

  /**
   * The function's last instance is gone (it expired after {@code keepAlive}, failed to initialise,
   * was discarded after a timeout, or was closed with the function): it holds nothing now, and its
   * next call is a cold start.
   *
   * @param function the function's name
   * @param at when
   * @param inFlight invocations running (instances being created do not count as alive yet)
   * @param queued invocations waiting
   * @param warmInstances instances alive: 0
   */
  record ScaledToZero(String function, Instant at, int inFlight, int queued, int warmInstances)
      implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if {@code function} or {@code at} is null
     */
    public ScaledToZero {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
    }
  }

  /**
   * Calls of the function were refused with {@link ThrottledException}: it was at its concurrency
   * limit and its queue was full. Throttles come in floods, so they are <b>coalesced</b>: while a
   * {@code Throttled} event of a function waits to be delivered and no other event of that function
   * came after it, further throttles add to its {@link #count()} (and update its instant and figures)
   * instead of queueing an event each. The counts of the delivered events add up to
   * {@link FunctionStats#throttles()}.
   *
   * @param function the function's name
   * @param at when the last of the calls was refused
   * @param inFlight invocations running then
   * @param queued invocations waiting then
   * @param warmInstances instances alive then
   * @param count how many calls this event stands for, at least 1
   */
  record Throttled(String function, Instant at, int inFlight, int queued, int warmInstances, long count)
      implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if {@code function} or {@code at} is null
     * @throws IllegalArgumentException if {@code count} is less than 1
     */
    public Throttled {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
      Checks.requireArgument(count >= 1, "count must be at least 1 but was %s", count);
    }
  }

  /**
   * An invocation of the function ran past its timeout: its caller got a
   * {@link FunctionTimeoutException} and the handler was interrupted.
   *
   * @param function the function's name
   * @param at when
   * @param inFlight invocations running, the overdue one included
   * @param queued invocations waiting
   * @param warmInstances instances alive
   * @param timeout the function's timeout
   */
  record TimedOut(String function, Instant at, int inFlight, int queued, int warmInstances,
      Duration timeout) implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if a reference component is null
     */
    public TimedOut {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(timeout, "timeout");
    }
  }

  /**
   * The function's {@linkplain ConcurrencyLimit#adaptive() adaptive} concurrency limit moved: its
   * estimator closed a window of invocations whose latency said the function does better with more
   * (or fewer) running at once. {@link #to()} is the limit in force from then on, as
   * {@link FunctionStats#concurrencyLimit()} and the meter {@code cumulus.concurrency.limit} show it.
   * Functions with a fixed limit never send it.
   *
   * <p>A limit moves at most once per window (20 ms or more), so a busy function can move it tens of
   * times a second; changes are <b>coalesced</b> as throttles are: while a
   * {@code ConcurrencyLimitChanged} of a function waits to be delivered and no other event of that
   * function came after it, a further change joins it: {@code to}, the instant and the figures become
   * the latest, {@code from} stays, and {@link #changes()} counts them. So the events of a function
   * delivered to one listener form a chain, each one's {@code from} the previous one's {@code to}
   * (unless an event was {@linkplain Subscription#dropped() dropped}), and a coalesced event may have
   * {@code from == to} (the limit went down and back up while the listener was busy).
   *
   * @param function the function's name
   * @param at when the last of the changes it stands for was made
   * @param inFlight invocations running then
   * @param queued invocations waiting then
   * @param warmInstances instances alive then
   * @param from the limit before the first of the changes it stands for, at least 1
   * @param to the limit after the last of them, at least 1
   * @param changes how many changes this event stands for, at least 1
   */
  record ConcurrencyLimitChanged(String function, Instant at, int inFlight, int queued, int warmInstances,
      int from, int to, int changes) implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if {@code function} or {@code at} is null
     * @throws IllegalArgumentException if {@code from}, {@code to} or {@code changes} is less than 1
     */
    public ConcurrencyLimitChanged {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
      Checks.requireArgument(from >= 1, "from must be at least 1 but was %s", from);
      Checks.requireArgument(to >= 1, "to must be at least 1 but was %s", to);
      Checks.requireArgument(changes >= 1, "changes must be at least 1 but was %s", changes);
    }
  }

  /**
   * An event emitted to the function ({@link Fn#emit}) was handed to its {@link DeadLetterSink}: its
   * retries ran out, it expired, its failure was not retryable, or the runtime shut down (or the
   * function was unregistered) before it could run. Published once the sink has had the letter
   * (returned, or thrown), so the function's {@link FunctionStats#eventsDeadLettered()} already
   * counts it; the letter itself is the sink's.
   *
   * @param function the function's name
   * @param at when the sink had it
   * @param inFlight invocations running
   * @param queued invocations waiting
   * @param warmInstances instances alive
   * @param eventId the event's id, as {@code emit} returned it ({@link DeadLetter#eventId()})
   * @param attempts how many times it ran ({@link DeadLetter#attempts()}; 0 if it never did)
   * @param reason why ({@link DeadLetter#reason()})
   */
  record DeadLettered(String function, Instant at, int inFlight, int queued, int warmInstances,
      String eventId, int attempts, DeadLetter.Reason reason) implements CumulusEvent {
    /**
     * Checks the event.
     *
     * @throws NullPointerException if a reference component is null
     */
    public DeadLettered {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(eventId, "eventId");
      Objects.requireNonNull(reason, "reason");
    }
  }

  /**
   * A listener's subscription to events ({@link Cumulus#subscribe}): closing it stops the delivery.
   *
   * <p>Each subscription has a buffer of at most {@value #BUFFER_CAPACITY} events waiting for its
   * listener. {@link Throttled} and {@link ConcurrencyLimitChanged} events are coalesced (see there),
   * so a flood of throttles, or a limit that keeps moving, holds one buffered event per function.
   * Any other event, and the first of a flood, that finds the buffer full is <b>dropped</b> and
   * counted ({@link #dropped()}, and the meter {@code cumulus.listener.dropped}): a listener slower than
   * the runtime loses events, never the runtime its memory or its speed.
   *
   * <p>Instances are thread-safe.
   */
  interface Subscription extends AutoCloseable {
    /** How many events at most wait for one listener; beyond, events are dropped and counted. */
    int BUFFER_CAPACITY = 10_000;

    /**
     * Returns how many events were handed to the listener, those it threw on included.
     *
     * @return events delivered
     */
    long delivered();

    /**
     * Returns how many times the listener threw. Each failure is counted here and in the meter
     * {@code cumulus.listener.failures}, and logged (the 1st, 2nd, 4th, 8th, ... with its stack
     * trace); the listener keeps receiving events.
     *
     * @return listener failures
     */
    long failures();

    /**
     * Returns how many events were dropped because the buffer was full.
     *
     * @return events dropped
     */
    long dropped();

    /**
     * Stops the delivery: events not delivered yet are discarded (not counted as dropped), and no
     * more arrive. An event being delivered when this is called may still reach the listener.
     * Idempotent; may be called from the listener itself.
     */
    @Override
    void close();
  }
}
