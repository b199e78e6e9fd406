package dev.cumulus;

import java.time.Duration;
import java.util.Objects;

/**
 * A snapshot of one function's counters, gauges and metered usage since it was registered.
 *
 * <p>At rest the counters add up: {@code invocations == successes + failures + timeouts + throttles
 * + rejected + cancelled}, and {@code inFlight} and {@code queued} are zero. Once a caller holds an
 * invocation's result or failure, every snapshot taken afterwards includes that invocation, its CPU
 * time and its allocated bytes ("read your calls").
 *
 * <p>{@linkplain Fn#emit Events} have counters of their own, and each attempt of an event is also an
 * invocation (counted above like a call). At any time {@code eventsAccepted == eventsSucceeded +
 * eventsDeadLettered + eventsPending}; at rest {@code eventsPending} is zero.
 *
 * <p>CPU time and allocated bytes are measured only in {@link MeteringMode#EXACT}; in
 * {@link MeteringMode#WALL_CLOCK_ONLY} they are zero, never an estimate.
 *
 * <p>Snapshots combine like Caffeine's {@code CacheStats}: {@link #plus} adds two (the lines of two
 * registrations of one name), {@link #minus} gives what was used between an earlier snapshot and this
 * one. This record gains components as Cumulus grows, so its canonical constructor's parameter list
 * (and a record pattern over it) may change in a minor release: to make one, start from
 * {@link #builder(String)} or {@link #empty(String)}, which keep compiling when components are added.
 *
 * @param name the function's name
 * @param invocations calls that reached admission
 * @param successes invocations that returned a result
 * @param failures invocations whose code threw ({@link FunctionFailedException}), including those
 *     stopped for exceeding their CPU budget
 * @param timeouts invocations that ran past their timeout, or waited in the queue past the
 *     function's queue timeout ({@link FunctionTimeoutException}); the latter are also counted in
 *     {@code queueTimeouts}
 * @param throttles calls refused because the function was at its limits ({@link ThrottledException})
 * @param rejected calls refused by a closing runtime, or abandoned at its drain deadline
 *     ({@link RuntimeClosedException})
 * @param cancelled invocations whose caller cancelled the future before they started, or that were
 *     withdrawn because a function waited for them from inside a call chain that held every slot
 *     they could start in ({@link Fn#invokeAsync}); they never ran
 * @param coldStarts new instances created (each ran the function's init)
 * @param inFlight invocations running now, including overdue ones
 * @param queued invocations waiting to start
 * @param warmInstances instances alive now, busy or idle
 * @param peakConcurrency the most invocations that ran at once (counted as workers holding or
 *     taking one, so it may exceed the instances a CPU-bound function needed by the workers caught
 *     between two invocations)
 * @param overdue invocations that timed out but whose code has not returned yet: each still holds a
 *     concurrency slot
 * @param cpuTime CPU time used by the function's threads: its code, init, the dependent stages of
 *     its futures and the worker bookkeeping around them (so for a tiny function it can exceed
 *     {@code wallTime}; bills use {@code billedCpuMillis}, each invocation's own CPU)
 * @param wallTime wall-clock time from start to end of invocations, summed (what
 *     {@code billedMillis} bills, waits for a carrier included)
 * @param queueWait time invocations spent waiting to start, summed
 * @param initTime wall-clock time spent creating instances (cold starts), summed
 * @param allocatedBytes heap bytes allocated by the function's code
 * @param billedMillis billed duration: each invocation's wall time rounded up to a whole
 *     millisecond (at least 1 ms), summed, as the platforms bill duration. Wall time runs from the
 *     moment a worker starts the invocation (time in the queue before that is {@code queueWait},
 *     not billed) until its code returns, and includes every moment in between: sleeps, I/O, and
 *     also the time its thread, ready to run again after a sleep, I/O or a lock, waits for a free
 *     carrier. On a machine with more runnable work than carriers that wait can exceed the
 *     function's own time (measured on 2 loaded cores: calls that sleep 20 ms, 1 000 at a time, were
 *     billed 48 to 208 ms each). CPU billing ({@code billedCpuMillis}) excludes it
 * @param billedCpuMillis billed CPU: each invocation's CPU time rounded up to a whole millisecond
 *     (at least 1 ms), summed; zero unless metering is {@link MeteringMode#EXACT}
 * @param latency time from call to completion (queue wait included) over a recent window
 * @param cpuPerInvocation CPU time per invocation over a recent window (empty unless EXACT)
 * @param concurrencyLimit the most invocations the function may run at once now: the value of its
 *     {@linkplain ConcurrencyLimit#adaptive() adaptive} limit at this moment, its
 *     {@linkplain ConcurrencyLimit#fixed(int) fixed} limit, or, for a function without a limit of its
 *     own, what the runtime leaves unreserved
 * @param preWarms instances created ahead of a call by an {@linkplain KeepAlive#adaptive() adaptive
 *     keep-alive}, because its idle times said one was due (their init time is in {@code initTime};
 *     they are not cold starts: no call waited for them)
 * @param eventsAccepted events accepted by {@link Fn#emit} (emits answered by an idempotency key
 *     already seen are not counted here but in {@code eventDuplicates})
 * @param eventsSucceeded events whose attempt succeeded
 * @param eventsDeadLettered events handed to the {@link DeadLetterSink} (counted once the sink
 *     returned or threw)
 * @param eventsPending events accepted and not ended yet: waiting for capacity, running, waiting
 *     for a retry, or waiting for the dead-letter sink
 * @param eventRetries attempts scheduled again after a failed one
 * @param eventDuplicates emits answered with an earlier event's id (idempotency key seen in the window)
 * @param eventsThrottled emits refused because {@code eventCapacity} events were pending
 * @param deadLetterSinkFailures dead letters whose sink threw (each logged with the whole letter)
 * @param bytesProcessed bytes the function's code reported processing
 *     ({@link FnContext#addBytesProcessed}), summed over invocations; priced by
 *     {@link PriceModel#withPerTibProcessed}
 * @param queueTimeouts of the {@code timeouts}, the calls that waited in the queue past the
 *     function's {@linkplain FnSpec.Builder#queueTimeout(Duration) queue timeout}: they never ran,
 *     and are not billed
 */
public record FunctionStats(
    String name,
    long invocations,
    long successes,
    long failures,
    long timeouts,
    long throttles,
    long rejected,
    long cancelled,
    long coldStarts,
    int inFlight,
    int queued,
    int warmInstances,
    int peakConcurrency,
    int overdue,
    Duration cpuTime,
    Duration wallTime,
    Duration queueWait,
    Duration initTime,
    long allocatedBytes,
    long billedMillis,
    long billedCpuMillis,
    Percentiles latency,
    Percentiles cpuPerInvocation,
    int concurrencyLimit,
    long preWarms,
    long eventsAccepted,
    long eventsSucceeded,
    long eventsDeadLettered,
    long eventsPending,
    long eventRetries,
    long eventDuplicates,
    long eventsThrottled,
    long deadLetterSinkFailures,
    long bytesProcessed,
    long queueTimeouts) {

  /**
   * Checks the snapshot.
   *
   * @throws NullPointerException if a reference component is null
   */
  public FunctionStats {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(cpuTime, "cpuTime");
    Objects.requireNonNull(wallTime, "wallTime");
    Objects.requireNonNull(queueWait, "queueWait");
    Objects.requireNonNull(initTime, "initTime");
    Objects.requireNonNull(latency, "latency");
    Objects.requireNonNull(cpuPerInvocation, "cpuPerInvocation");
  }

  /**
   * Creates a snapshot of a function that has had no events: every event counter is zero.
   *
   * @param name the function's name
   * @param invocations calls that reached admission
   * @param successes invocations that returned a result
   * @param failures invocations whose code threw
   * @param timeouts invocations that ran past their timeout
   * @param throttles calls refused because the function was at its limits
   * @param rejected calls refused or abandoned by a closing runtime
   * @param cancelled invocations cancelled before they started
   * @param coldStarts new instances created
   * @param inFlight invocations running now
   * @param queued invocations waiting to start
   * @param warmInstances instances alive now
   * @param peakConcurrency the most invocations that ran at once
   * @param overdue invocations timed out whose code has not returned yet
   * @param cpuTime CPU time used by the function's threads
   * @param wallTime wall-clock time of invocations, summed
   * @param queueWait time invocations spent waiting to start, summed
   * @param initTime time spent creating instances, summed
   * @param allocatedBytes heap bytes allocated by the function's code
   * @param billedMillis billed duration in milliseconds
   * @param billedCpuMillis billed CPU in milliseconds
   * @param latency time from call to completion over a recent window
   * @param cpuPerInvocation CPU time per invocation over a recent window
   * @throws NullPointerException if a reference component is null
   */
  public FunctionStats(String name, long invocations, long successes, long failures, long timeouts,
      long throttles, long rejected, long cancelled, long coldStarts, int inFlight, int queued,
      int warmInstances, int peakConcurrency, int overdue, Duration cpuTime, Duration wallTime,
      Duration queueWait, Duration initTime, long allocatedBytes, long billedMillis,
      long billedCpuMillis, Percentiles latency, Percentiles cpuPerInvocation) {
    this(name, invocations, successes, failures, timeouts, throttles, rejected, cancelled, coldStarts,
        inFlight, queued, warmInstances, peakConcurrency, overdue, cpuTime, wallTime, queueWait,
        initTime, allocatedBytes, billedMillis, billedCpuMillis, latency, cpuPerInvocation,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  /**
   * Returns the stats of a function that has done nothing yet: every counter, gauge and duration
   * zero, no percentiles.
   *
   * @param name the function's name
   * @return the empty snapshot
   * @throws NullPointerException if {@code name} is null
   */
  public static FunctionStats empty(String name) {
    return builder(name).build();
  }

  /**
   * Returns a builder of a snapshot, every figure zero until set. Use it (rather than the canonical
   * constructor) to make a snapshot by hand, in a test say: it keeps compiling as components are added.
   *
   * @param name the function's name
   * @return a new builder
   * @throws NullPointerException if {@code name} is null
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /**
   * Returns the sum of this snapshot and {@code other}, as for two registrations of one name: counters,
   * gauges, durations and bytes are added, the peak is the larger one, the percentiles are
   * {@code other}'s when it has samples (else this one's), and the concurrency limit is
   * {@code other}'s (the later registration's). The name is this one's.
   *
   * @param other the snapshot to add
   * @return the sum
   * @throws NullPointerException if {@code other} is null
   */
  public FunctionStats plus(FunctionStats other) {
    Objects.requireNonNull(other, "other");
    return new FunctionStats(name,
        invocations + other.invocations, successes + other.successes, failures + other.failures,
        timeouts + other.timeouts, throttles + other.throttles, rejected + other.rejected,
        cancelled + other.cancelled, coldStarts + other.coldStarts,
        inFlight + other.inFlight, queued + other.queued, warmInstances + other.warmInstances,
        Math.max(peakConcurrency, other.peakConcurrency), overdue + other.overdue,
        cpuTime.plus(other.cpuTime), wallTime.plus(other.wallTime), queueWait.plus(other.queueWait),
        initTime.plus(other.initTime), allocatedBytes + other.allocatedBytes,
        billedMillis + other.billedMillis, billedCpuMillis + other.billedCpuMillis,
        other.latency.samples() > 0 ? other.latency : latency,
        other.cpuPerInvocation.samples() > 0 ? other.cpuPerInvocation : cpuPerInvocation,
        other.concurrencyLimit, preWarms + other.preWarms,
        eventsAccepted + other.eventsAccepted, eventsSucceeded + other.eventsSucceeded,
        eventsDeadLettered + other.eventsDeadLettered, eventsPending + other.eventsPending,
        eventRetries + other.eventRetries, eventDuplicates + other.eventDuplicates,
        eventsThrottled + other.eventsThrottled, deadLetterSinkFailures + other.deadLetterSinkFailures,
        bytesProcessed + other.bytesProcessed,
        queueTimeouts + other.queueTimeouts);
  }

  /**
   * Returns what was used between {@code earlier} and this snapshot: counters, durations and bytes
   * are the differences (never below zero), while gauges ({@code inFlight}, {@code queued},
   * {@code warmInstances}, {@code overdue}, {@code concurrencyLimit}, {@code eventsPending}), the peak
   * and the percentiles are this snapshot's.
   *
   * @param earlier a snapshot of the same function taken before this one
   * @return the difference
   * @throws NullPointerException if {@code earlier} is null
   */
  public FunctionStats minus(FunctionStats earlier) {
    Objects.requireNonNull(earlier, "earlier");
    return new FunctionStats(name,
        less(invocations, earlier.invocations), less(successes, earlier.successes),
        less(failures, earlier.failures), less(timeouts, earlier.timeouts),
        less(throttles, earlier.throttles), less(rejected, earlier.rejected),
        less(cancelled, earlier.cancelled), less(coldStarts, earlier.coldStarts),
        inFlight, queued, warmInstances, peakConcurrency, overdue,
        less(cpuTime, earlier.cpuTime), less(wallTime, earlier.wallTime),
        less(queueWait, earlier.queueWait), less(initTime, earlier.initTime),
        less(allocatedBytes, earlier.allocatedBytes), less(billedMillis, earlier.billedMillis),
        less(billedCpuMillis, earlier.billedCpuMillis), latency, cpuPerInvocation, concurrencyLimit,
        less(preWarms, earlier.preWarms),
        less(eventsAccepted, earlier.eventsAccepted), less(eventsSucceeded, earlier.eventsSucceeded),
        less(eventsDeadLettered, earlier.eventsDeadLettered), eventsPending,
        less(eventRetries, earlier.eventRetries), less(eventDuplicates, earlier.eventDuplicates),
        less(eventsThrottled, earlier.eventsThrottled),
        less(deadLetterSinkFailures, earlier.deadLetterSinkFailures),
        less(bytesProcessed, earlier.bytesProcessed),
        less(queueTimeouts, earlier.queueTimeouts));
  }

  private static long less(long a, long b) {
    return Math.max(0, a - b);
  }

  private static Duration less(Duration a, Duration b) {
    Duration d = a.minus(b);
    return d.isNegative() ? Duration.ZERO : d;
  }

  /**
   * Returns the invocations that ended, one way or another.
   *
   * @return {@code successes + failures + timeouts + throttles + rejected + cancelled}
   */
  public long completed() {
    return successes + failures + timeouts + throttles + rejected + cancelled;
  }

  @Override
  public String toString() {
    return name + ": invocations=" + invocations + " (ok " + successes + ", failed " + failures
        + ", timed out " + timeouts + (queueTimeouts > 0 ? " (" + queueTimeouts + " in the queue)" : "")
        + ", throttled " + throttles + ", rejected " + rejected
        + ", cancelled " + cancelled + "), inFlight=" + inFlight + ", queued=" + queued
        + ", warm=" + warmInstances + ", coldStarts=" + coldStarts
        + (preWarms > 0 ? ", preWarms=" + preWarms : "") + ", peak=" + peakConcurrency + ", limit=" + concurrencyLimit
        + (overdue > 0 ? ", overdue=" + overdue : "")
        + ", cpu=" + Durations.format(cpuTime) + ", wall=" + Durations.format(wallTime)
        + ", init=" + Durations.format(initTime) + ", allocated=" + allocatedBytes + " B"
        + ", billed=" + billedMillis + " ms (cpu " + billedCpuMillis + " ms)"
        + (bytesProcessed > 0 ? ", processed=" + bytesProcessed + " B" : "")
        + ", latency[" + latency + "]"
        + (eventsAccepted + eventDuplicates + eventsThrottled == 0 ? ""
            : ", events=" + eventsAccepted + " (ok " + eventsSucceeded + ", dead-lettered "
                + eventsDeadLettered + ", pending " + eventsPending + ", retries " + eventRetries
                + ", duplicates " + eventDuplicates + ", throttled " + eventsThrottled
                + (deadLetterSinkFailures > 0 ? ", sink failures " + deadLetterSinkFailures : "") + ")");
  }

  /**
   * Collects the figures of a {@link FunctionStats}; every figure not set is zero (percentiles
   * {@link Percentiles#EMPTY}). Not thread-safe; {@link #build()} may be called more than once.
   */
  public static final class Builder {
    private final String name;
    private long invocations;
    private long successes;
    private long failures;
    private long timeouts;
    private long throttles;
    private long rejected;
    private long cancelled;
    private long coldStarts;
    private int inFlight;
    private int queued;
    private int warmInstances;
    private int peakConcurrency;
    private long queueTimeouts;
    private int overdue;
    private Duration cpuTime = Duration.ZERO;
    private Duration wallTime = Duration.ZERO;
    private Duration queueWait = Duration.ZERO;
    private Duration initTime = Duration.ZERO;
    private long allocatedBytes;
    private long billedMillis;
    private long billedCpuMillis;
    private Percentiles latency = Percentiles.EMPTY;
    private Percentiles cpuPerInvocation = Percentiles.EMPTY;
    private int concurrencyLimit;
    private long preWarms;
    private long eventsAccepted;
    private long eventsSucceeded;
    private long eventsDeadLettered;
    private long eventsPending;
    private long eventRetries;
    private long eventDuplicates;
    private long eventsThrottled;
    private long deadLetterSinkFailures;
    private long bytesProcessed;

    private Builder(String name) {
      this.name = Objects.requireNonNull(name, "name");
    }

    /**
     * Sets {@link FunctionStats#invocations()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder invocations(long n) {
      this.invocations = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#successes()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder successes(long n) {
      this.successes = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#failures()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder failures(long n) {
      this.failures = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#timeouts()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder timeouts(long n) {
      this.timeouts = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#throttles()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder throttles(long n) {
      this.throttles = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#rejected()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder rejected(long n) {
      this.rejected = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#cancelled()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder cancelled(long n) {
      this.cancelled = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#coldStarts()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder coldStarts(long n) {
      this.coldStarts = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#inFlight()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder inFlight(int n) {
      this.inFlight = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#queued()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder queued(int n) {
      this.queued = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#warmInstances()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder warmInstances(int n) {
      this.warmInstances = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#peakConcurrency()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder peakConcurrency(int n) {
      this.peakConcurrency = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#overdue()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder overdue(int n) {
      this.overdue = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#cpuTime()}.
     *
     * @param d the value
     * @return this builder
     * @throws NullPointerException if {@code d} is null
     */
    public Builder cpuTime(Duration d) {
      this.cpuTime = Objects.requireNonNull(d, "cpuTime");
      return this;
    }

    /**
     * Sets {@link FunctionStats#wallTime()}.
     *
     * @param d the value
     * @return this builder
     * @throws NullPointerException if {@code d} is null
     */
    public Builder wallTime(Duration d) {
      this.wallTime = Objects.requireNonNull(d, "wallTime");
      return this;
    }

    /**
     * Sets {@link FunctionStats#queueWait()}.
     *
     * @param d the value
     * @return this builder
     * @throws NullPointerException if {@code d} is null
     */
    public Builder queueWait(Duration d) {
      this.queueWait = Objects.requireNonNull(d, "queueWait");
      return this;
    }

    /**
     * Sets {@link FunctionStats#initTime()}.
     *
     * @param d the value
     * @return this builder
     * @throws NullPointerException if {@code d} is null
     */
    public Builder initTime(Duration d) {
      this.initTime = Objects.requireNonNull(d, "initTime");
      return this;
    }

    /**
     * Sets {@link FunctionStats#allocatedBytes()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder allocatedBytes(long n) {
      this.allocatedBytes = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#billedMillis()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder billedMillis(long n) {
      this.billedMillis = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#billedCpuMillis()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder billedCpuMillis(long n) {
      this.billedCpuMillis = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#latency()}.
     *
     * @param p the value
     * @return this builder
     * @throws NullPointerException if {@code p} is null
     */
    public Builder latency(Percentiles p) {
      this.latency = Objects.requireNonNull(p, "latency");
      return this;
    }

    /**
     * Sets {@link FunctionStats#cpuPerInvocation()}.
     *
     * @param p the value
     * @return this builder
     * @throws NullPointerException if {@code p} is null
     */
    public Builder cpuPerInvocation(Percentiles p) {
      this.cpuPerInvocation = Objects.requireNonNull(p, "cpuPerInvocation");
      return this;
    }

    /**
     * Sets {@link FunctionStats#concurrencyLimit()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder concurrencyLimit(int n) {
      this.concurrencyLimit = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#preWarms()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder preWarms(long n) {
      this.preWarms = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#eventsAccepted()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder eventsAccepted(long n) {
      this.eventsAccepted = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#eventsSucceeded()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder eventsSucceeded(long n) {
      this.eventsSucceeded = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#eventsDeadLettered()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder eventsDeadLettered(long n) {
      this.eventsDeadLettered = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#eventsPending()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder eventsPending(long n) {
      this.eventsPending = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#eventRetries()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder eventRetries(long n) {
      this.eventRetries = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#eventDuplicates()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder eventDuplicates(long n) {
      this.eventDuplicates = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#eventsThrottled()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder eventsThrottled(long n) {
      this.eventsThrottled = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#deadLetterSinkFailures()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder deadLetterSinkFailures(long n) {
      this.deadLetterSinkFailures = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#bytesProcessed()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder bytesProcessed(long n) {
      this.bytesProcessed = n;
      return this;
    }

    /**
     * Sets {@link FunctionStats#queueTimeouts()}.
     *
     * @param n the value
     * @return this builder
     */
    public Builder queueTimeouts(long n) {
      this.queueTimeouts = n;
      return this;
    }

    /**
     * Builds the snapshot.
     *
     * @return the snapshot
     */
    public FunctionStats build() {
      return new FunctionStats(name, invocations, successes, failures, timeouts, throttles, rejected,
          cancelled, coldStarts, inFlight, queued, warmInstances, peakConcurrency, overdue, cpuTime,
          wallTime, queueWait, initTime, allocatedBytes, billedMillis, billedCpuMillis, latency,
          cpuPerInvocation, concurrencyLimit, preWarms, eventsAccepted, eventsSucceeded, eventsDeadLettered,
          eventsPending, eventRetries, eventDuplicates, eventsThrottled, deadLetterSinkFailures, bytesProcessed,
          queueTimeouts);
    }
  }
}
