package dev.cumulus.internal;

import dev.cumulus.FunctionStats;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * One tenant's usage of one function: what its calls did and what their invocations used, so that
 * each tenant can be billed. Written only for calls made for a tenant (a null check on every other
 * path), with striped adders: tenants' calls land on every carrier.
 *
 * <p>The figures are those of the tenant's invocations themselves: counters, each invocation's own
 * CPU time (the function's {@code cpuTime} also has its workers' time between invocations), wall
 * time, queue wait and billed milliseconds. Gauges, instances, init time, allocation and percentiles
 * belong to the function, not to a tenant, and are zero on a tenant's line.
 */
final class TenantTally {
  static final int SUCCESS = 0;
  static final int FAILURE = 1;
  static final int TIMEOUT = 2;
  static final int THROTTLED = 3;
  static final int REJECTED = 4;
  static final int CANCELLED = 5;

  private final LongAdder invocations = new LongAdder();
  private final LongAdder[] outcomes = {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(),
      new LongAdder(), new LongAdder()};
  /** Of the timeouts, calls that waited in the queue past the queue timeout (they never ran). */
  private final LongAdder queueTimeouts = new LongAdder();
  private final LongAdder coldStarts = new LongAdder();
  private final LongAdder cpuNanos = new LongAdder();
  private final LongAdder wallNanos = new LongAdder();
  private final LongAdder queueWaitNanos = new LongAdder();
  private final LongAdder billedMillis = new LongAdder();
  private final LongAdder billedCpuMillis = new LongAdder();

  /** A call for this tenant reached admission. */
  void called() {
    invocations.increment();
  }

  /** Counts how {@code inv} ended, if it was made for a tenant. */
  static void count(Invocation inv, int outcome) {
    CallTenant t = inv.tenant;
    if (t != null) {
      t.tally.outcomes[outcome].increment();
    }
  }

  /** Counts a call that never became an invocation (throttled, refused), if made for a tenant. */
  static void count(@Nullable CallTenant tenant, int outcome) {
    if (tenant != null) {
      tenant.tally.outcomes[outcome].increment();
    }
  }

  /** {@code inv} waited in the queue past the queue timeout: a timeout that never ran. */
  static void queueTimedOut(Invocation inv) {
    CallTenant t = inv.tenant;
    if (t != null) {
      t.tally.outcomes[TIMEOUT].increment();
      t.tally.queueTimeouts.increment();
    }
  }

  /** {@code inv} waited {@code nanos} in the queue before it started. */
  static void waited(Invocation inv, long nanos) {
    CallTenant t = inv.tenant;
    if (t != null) {
      t.tally.queueWaitNanos.add(nanos);
    }
  }

  /** {@code inv} created an instance. */
  static void coldStart(@Nullable Invocation inv) {
    CallTenant t = inv == null ? null : inv.tenant;
    if (t != null) {
      t.tally.coldStarts.increment();
    }
  }

  /** {@code inv} ran {@code wallNanos} and used {@code cpuNanos} (0 without CPU metering). */
  static void ran(Invocation inv, long wallNanos, long cpuNanos, boolean clocks) {
    CallTenant t = inv.tenant;
    if (t != null) {
      TenantTally tally = t.tally;
      tally.wallNanos.add(wallNanos);
      tally.billedMillis.add(Meter.billedMillis(wallNanos));
      if (clocks) {
        tally.cpuNanos.add(cpuNanos);
        tally.billedCpuMillis.add(Meter.billedMillis(cpuNanos));
      }
    }
  }

  /** This tenant's line for {@code function}. */
  FunctionStats stats(String function) {
    return FunctionStats.builder(function)
        .invocations(invocations.sum())
        .successes(outcomes[SUCCESS].sum())
        .failures(outcomes[FAILURE].sum())
        .timeouts(outcomes[TIMEOUT].sum())
        .throttles(outcomes[THROTTLED].sum())
        .rejected(outcomes[REJECTED].sum())
        .cancelled(outcomes[CANCELLED].sum())
        .coldStarts(coldStarts.sum())
        .cpuTime(Duration.ofNanos(cpuNanos.sum()))
        .wallTime(Duration.ofNanos(wallNanos.sum()))
        .queueWait(Duration.ofNanos(queueWaitNanos.sum()))
        .billedMillis(billedMillis.sum())
        .billedCpuMillis(billedCpuMillis.sum())
        .queueTimeouts(queueTimeouts.sum())
        .build();
  }
}
