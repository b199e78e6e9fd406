package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A function's waiting calls: the lock-free FIFO of calls without a tenant ({@link InvocationQueue})
 * and, from the first call made for a tenant on, the round-robin of tenants ({@link TenantQueue}).
 * Until then, every operation costs the FIFO's own plus one read of a null field: a function whose
 * callers name no tenant queues as cheaply as before tenants existed.
 */
final class CallQueue {
  private static final VarHandle TENANTS;

  static {
    try {
      TENANTS = MethodHandles.lookup().findVarHandle(CallQueue.class, "tenants", TenantQueue.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final InvocationQueue fifo;
  @SuppressWarnings("unused") // TENANTS
  private volatile @Nullable TenantQueue tenants;

  CallQueue(InvocationQueue fifo) {
    this.fifo = fifo;
  }

  /** Appends {@code inv}: to the FIFO, or to its tenant's lane. */
  void offer(Invocation inv) {
    CallTenant tenant = inv.tenant;
    if (tenant == null) {
      fifo.offer(inv);
    } else {
      tenants().offer(inv, tenant);
    }
  }

  private TenantQueue tenants() {
    TenantQueue t = tenants;
    if (t == null) {
      TenantQueue fresh = new TenantQueue();
      t = TENANTS.compareAndSet(this, null, fresh) ? fresh : tenants;
    }
    return Objects.requireNonNull(t);
  }

  /** The next call to run, or {@code null} if none waits. */
  @Nullable Invocation poll() {
    TenantQueue t = tenants;
    return t == null ? fifo.poll() : t.poll(fifo);
  }

  /** Whether no call waits (one being offered right now counts as waiting in the FIFO). */
  boolean isEmpty() {
    TenantQueue t = tenants;
    return fifo.isEmpty() && (t == null || t.isEmpty());
  }

  /**
   * Takes out the calls that have waited {@code timeoutNanos} or more at {@code now} (runtime
   * clock), the oldest of the FIFO and of each tenant's lane first, and hands each to
   * {@code expired}.
   *
   * @return how long until the oldest call left has waited that long, or {@code Long.MAX_VALUE}
   */
  long expire(long now, long timeoutNanos, Consumer<Invocation> expired) {
    long next = fifo.expire(now, timeoutNanos, expired);
    TenantQueue t = tenants;
    return t == null ? next : Math.min(next, t.expire(now, timeoutNanos, expired));
  }

  /** See {@link InvocationQueue#forgetLast()}. */
  void forgetLast() {
    fifo.forgetLast();
  }

  /** Whether {@code tenant} waits less than its share of {@code capacity} places. */
  boolean belowFairShare(CallTenant tenant, int capacity) {
    return tenants().belowFairShare(tenant, capacity, !fifo.isEmpty());
  }
}
