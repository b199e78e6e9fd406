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
 * @param name the function's name
 * @param invocations calls that reached admission
 * @param successes invocations that returned a result
 * @param failures invocations whose code threw ({@link FunctionFailedException}), including those
 *     stopped for exceeding their CPU budget
 * @param timeouts invocations that ran past their timeout ({@link FunctionTimeoutException})
 * @param throttles calls refused because the function was at its limits ({@link ThrottledException})
 * @param rejected calls refused by a closing runtime, or abandoned at its drain deadline
 *     ({@link RuntimeClosedException})
 * @param cancelled invocations whose caller cancelled the future before they started; they never ran
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
 * @param wallTime wall-clock time from start to end of invocations, summed
 * @param queueWait time invocations spent waiting to start, summed
 * @param initTime wall-clock time spent creating instances (cold starts), summed
 * @param allocatedBytes heap bytes allocated by the function's code
 * @param billedMillis billed duration: each invocation's wall time rounded up to a whole
 *     millisecond (at least 1 ms), summed, as the platforms bill duration
 * @param billedCpuMillis billed CPU: each invocation's CPU time rounded up to a whole millisecond
 *     (at least 1 ms), summed; zero unless metering is {@link MeteringMode#EXACT}
 * @param latency time from call to completion (queue wait included) over a recent window
 * @param cpuPerInvocation CPU time per invocation over a recent window (empty unless EXACT)
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
    long eventsAccepted,
    long eventsSucceeded,
    long eventsDeadLettered,
    long eventsPending,
    long eventRetries,
    long eventDuplicates,
    long eventsThrottled,
    long deadLetterSinkFailures) {

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
        0, 0, 0, 0, 0, 0, 0, 0);
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
        + ", timed out " + timeouts + ", throttled " + throttles + ", rejected " + rejected
        + ", cancelled " + cancelled + "), inFlight=" + inFlight + ", queued=" + queued
        + ", warm=" + warmInstances + ", coldStarts=" + coldStarts + ", peak=" + peakConcurrency
        + (overdue > 0 ? ", overdue=" + overdue : "")
        + ", cpu=" + Durations.format(cpuTime) + ", wall=" + Durations.format(wallTime)
        + ", init=" + Durations.format(initTime) + ", allocated=" + allocatedBytes + " B"
        + ", billed=" + billedMillis + " ms (cpu " + billedCpuMillis + " ms)"
        + ", latency[" + latency + "]"
        + (eventsAccepted + eventDuplicates + eventsThrottled == 0 ? ""
            : ", events=" + eventsAccepted + " (ok " + eventsSucceeded + ", dead-lettered "
                + eventsDeadLettered + ", pending " + eventsPending + ", retries " + eventRetries
                + ", duplicates " + eventDuplicates + ", throttled " + eventsThrottled
                + (deadLetterSinkFailures > 0 ? ", sink failures " + deadLetterSinkFailures : "") + ")");
  }
}
