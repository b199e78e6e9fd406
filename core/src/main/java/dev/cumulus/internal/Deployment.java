package dev.cumulus.internal;

import dev.cumulus.CallOptions;
import dev.cumulus.CallerInterruptedException;
import dev.cumulus.ConcurrencyLimit;
import dev.cumulus.CumulusException;
import dev.cumulus.DeadLetter;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.InvalidInputException;
import dev.cumulus.KeepAlive;
import dev.cumulus.Percentiles;
import dev.cumulus.Receipt;
import dev.cumulus.UnknownFunctionException;
import dev.cumulus.internal.event.EventBacklog;
import dev.cumulus.internal.event.EventHost;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A registered function: the {@link Fn} its callers hold, and its life from registration to the
 * moment nothing of it runs any more. It checks inputs and hands calls to its {@link Admission};
 * its {@link WorkerPool} runs them with its {@link InstancePool}, metered in its {@link Meter.Account}.
 * Its events ({@code emit}) wait in its {@link EventBacklog}, a layer of their own above admission,
 * which reaches the function only as its {@link EventHost}. The runtime's listeners
 * ({@link RuntimeEvents}) see it as a {@link Registration}: each component tells them the moments
 * it owns, with this as the function.
 *
 * <p>Life: serving → (unregistered) retiring: later calls fail as unknown, accepted ones finish,
 * overdue ones return, then its instances close and it is gone; or (close) draining: every accepted
 * call's future settles, or is failed at the drain deadline.
 */
final class Deployment implements Fn<@Nullable Object, @Nullable Object>, EventHost, Registration {
  final String name;
  private final FnSpec<@Nullable Object, @Nullable Object> spec;
  private final Platform platform;
  private final Class<?> inputType;
  private final @Nullable Consumer<Object> inputCheck;
  private final FunctionId id;
  private final Meter.Account account;
  final InstancePool instances;
  private final Outstanding outstanding;
  private final WorkerPool pool;
  private final Admission admission;
  private final Distribution latency;
  private final Distribution cpuPerInvocation;
  /** The tenants it serves, kept apart in its usage (and {@link TenantNames#OTHER}), by name. */
  private final ConcurrentHashMap<String, CallTenant> tenants = new ConcurrentHashMap<>();
  /** Its events ({@code emit}): dispatched into admission while it has a free slot. */
  private final EventBacklog events;

  private volatile boolean draining;
  private volatile boolean retired;
  private final CompletableFuture<Void> drained = new CompletableFuture<>();
  private final AtomicBoolean closingInstances = new AtomicBoolean();
  private volatile @Nullable CompletableFuture<Void> instancesClosed;
  private final CompletableFuture<Void> gone = new CompletableFuture<>();
  /** {@link #retire()}'s answer, once it was asked: settles when the function is gone, events included. */
  private volatile @Nullable CompletableFuture<Void> retirement;

  @SuppressWarnings("unchecked")
  Deployment(Platform platform, FnSpec<?, ?> spec, SpecCode code) {
    this.platform = platform;
    this.spec = (FnSpec<@Nullable Object, @Nullable Object>) spec;
    this.name = spec.name();
    this.inputType = spec.inputType();
    this.inputCheck = code.inputCheck(spec);
    this.id = new FunctionId(name, spec.maxConcurrency().orElse(0), platform, inputType != Object.class);
    this.account = platform.meter.account(name);
    io.micrometer.core.instrument.Clock mc = Distribution.micrometerClock(platform.clock);
    this.latency = new Distribution(mc, platform.meter.sharedLane);
    this.cpuPerInvocation = new Distribution(mc, platform.meter.sharedLane);
    this.instances = new InstancePool(name, platform.clock, spec.keepAlive().toNanos(),
        spec.keepAlivePolicy() instanceof KeepAlive.Adaptive a
            ? new IdleHistogram(a.range().toNanos(), a.fallback().toNanos()) : null,
        spec.minInstances(), code.init(spec), task -> platform.startMetered(account, task), toZero -> {
          if (toZero) {
            platform.events.scaledToZero(this);
          } else {
            platform.events.scaledFromZero(this);
          }
        });
    this.outstanding = new Outstanding(account);
    this.events = new EventBacklog(this, spec, platform.eventRuntime);
    this.pool = new WorkerPool(this, platform, id, code.handler(spec), code.function(spec), instances, account, latency,
        cpuPerInvocation, new CallQueue(new InvocationQueue(id)), outstanding, spec.timeout(),
        spec.cpuBudget().map(Duration::toNanos).orElse(0L), spec.queueTimeout().orElse(null),
        spec.concurrency().orElse(null) instanceof ConcurrencyLimit.Adaptive a ? a : null, this::lifecycle,
        events::capacityFreed);
    this.admission = new Admission(this, id, platform, pool, outstanding, spec.queueCapacity());
    id.admission = admission;
  }

  int reserved() {
    return id.reserved;
  }

  /** Its workers (tests reach its state through this: {@link WorkerPool#describe}, admission's seams). */
  WorkerPool pool() {
    return pool;
  }

  // ---------------------------------------------------------------------------------------------
  // Fn

  @Override
  public String name() {
    return name;
  }

  @Override
  public FnSpec<@Nullable Object, @Nullable Object> spec() {
    return spec;
  }

  @Override
  public @Nullable Object invoke(@Nullable Object input) {
    return await(name, submitAndWait(input, null, false));
  }

  @Override
  public @Nullable Object invoke(@Nullable Object input, CallOptions options) {
    return await(name, submitAndWait(input, tenant(options), false));
  }

  @Override
  public CompletableFuture<@Nullable Object> invokeAsync(@Nullable Object input) {
    return submitAsync(input, null, false);
  }

  @Override
  public CompletableFuture<@Nullable Object> invokeAsync(@Nullable Object input, CallOptions options) {
    return submitAsync(input, tenant(options), false);
  }

  @Override
  @SuppressWarnings("unchecked") // a metered invocation completes with its receipt
  public Receipt<@Nullable Object> invokeMetered(@Nullable Object input) {
    return (Receipt<@Nullable Object>) Objects.requireNonNull(await(name, submitAndWait(input, null, true)));
  }

  @Override
  @SuppressWarnings("unchecked") // a metered invocation completes with its receipt
  public Receipt<@Nullable Object> invokeMetered(@Nullable Object input, CallOptions options) {
    return (Receipt<@Nullable Object>) Objects.requireNonNull(await(name, submitAndWait(input, tenant(options), true)));
  }

  @Override
  @SuppressWarnings("unchecked") // a metered invocation completes with its receipt
  public CompletableFuture<Receipt<@Nullable Object>> invokeMeteredAsync(@Nullable Object input) {
    CompletableFuture<?> call = submitAsync(input, null, true);
    return (CompletableFuture<Receipt<@Nullable Object>>) call;
  }

  @Override
  @SuppressWarnings("unchecked") // a metered invocation completes with its receipt
  public CompletableFuture<Receipt<@Nullable Object>> invokeMeteredAsync(@Nullable Object input, CallOptions options) {
    CompletableFuture<?> call = submitAsync(input, tenant(options), true);
    return (CompletableFuture<Receipt<@Nullable Object>>) call;
  }

  /** A synchronous call: checked, refused at once if its chain could only wait for itself. */
  private CompletableFuture<@Nullable Object> submitAndWait(@Nullable Object input, @Nullable CallTenant tenant,
      boolean metered) {
    InvalidInputException invalid = checkInput(input);
    if (invalid != null) {
      throw invalid;
    }
    if (Thread.currentThread().isInterrupted()) {
      // It could only be admitted and then given up on at once, still billed: it is not made.
      throw new CallerInterruptedException(name, false, new InterruptedException());
    }
    Invocation caller = Worker.runningHere();
    if (caller != null) {
      CumulusException refused = admission.refuseFromChain(caller);
      if (refused != null) {
        throw refused;
      }
    }
    return submit(input, caller, tenant, false, metered);
  }

  /** An asynchronous call: a bad input fails the future, never the caller. */
  private CompletableFuture<@Nullable Object> submitAsync(@Nullable Object input, @Nullable CallTenant tenant,
      boolean metered) {
    InvalidInputException invalid = checkInput(input);
    if (invalid != null) {
      return CompletableFuture.failedFuture(invalid);
    }
    return submit(input, null, tenant, false, metered);
  }

  @Override
  public String emit(@Nullable Object input) {
    return events.emit(input, null, null, null).id();
  }

  @Override
  public String emit(@Nullable Object input, String idempotencyKey) {
    return events.emit(input, Objects.requireNonNull(idempotencyKey, "idempotencyKey"), null, null).id();
  }

  @Override
  public String emit(@Nullable Object input, CallOptions options) {
    return events.emit(input, null, tenant(options), null).id();
  }

  @Override
  public String emit(@Nullable Object input, String idempotencyKey, CallOptions options) {
    Objects.requireNonNull(idempotencyKey, "idempotencyKey");
    return events.emit(input, idempotencyKey, tenant(options), null).id();
  }

  /**
   * @param event an event's attempt: admitted while the runtime drains, and beyond the queue's
   *     capacity (see {@link EventHost#submitAttempt})
   * @param metered the call completes with its {@link Receipt}
   */
  private CompletableFuture<@Nullable Object> submit(@Nullable Object input, @Nullable Invocation caller,
      @Nullable CallTenant tenant, boolean event, boolean metered) {
    if (retired) {
      return CompletableFuture.failedFuture(new UnknownFunctionException(name, "function '" + name
          + "' was unregistered: this Fn belongs to that registration, which takes no more calls;"
          + " if '" + name + "' was registered again, get it with cumulus.function(\"" + name + "\")"));
    }
    return admission.submit(input, caller, tenant, event, metered);
  }

  /** The tenant of a call's (or an emit's) options, or null. */
  private @Nullable CallTenant tenant(CallOptions options) {
    Objects.requireNonNull(options, "options");
    String tenant = options.tenant().orElse(null);
    if (tenant == null) {
      return null;
    }
    CallTenant known = tenants.get(tenant);
    if (known != null) {
      return known;
    }
    int weight = spec.tenantWeights().getOrDefault(tenant, 1);
    String account = platform.tenantNames.account(tenant);
    if (account.equals(tenant)) {
      return served(tenant, weight);
    }
    // Beyond the runtime's bound: served fairly under its own name, accounted as the others'.
    TenantTally other = served(account, spec.tenantWeights().getOrDefault(account, 1)).tally;
    return new CallTenant(tenant, weight, other);
  }

  /** The tenant whose usage is kept under {@code name}: created, and the listeners told, once. */
  private CallTenant served(String name, int weight) {
    CallTenant known = tenants.get(name);
    if (known != null) {
      return known;
    }
    CallTenant fresh = new CallTenant(name, weight, new TenantTally());
    CallTenant raced = tenants.putIfAbsent(name, fresh);
    if (raced != null) {
      return raced;
    }
    platform.events.tenantServed(this, name); // after the put: its usage is readable now
    return fresh;
  }

  /** The usage of each tenant it served, by tenant (sorted). */
  Map<String, FunctionStats> tenantStats() {
    Map<String, FunctionStats> byTenant = new TreeMap<>();
    tenants.forEach((tenant, t) -> byTenant.put(tenant, t.tally.stats(name)));
    return byTenant;
  }

  /** Waits for an invocation on behalf of a synchronous caller and rethrows its failure as is. */
  static @Nullable Object await(String name, CompletableFuture<@Nullable Object> future) {
    if (future instanceof Invocation inv) {
      try {
        inv.awaitDone();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CallerInterruptedException(name, true, e);
      }
    }
    if (future.isCancelled()) {
      throw new CumulusException(name, "the invocation of '" + name + "' was cancelled",
          new CancellationException());
    }
    if (future.isCompletedExceptionally()) {
      Throwable failure = future.exceptionNow();
      if (failure instanceof RuntimeException r) {
        throw r;
      }
      throw new CumulusException(name, "invocation of '" + name + "' failed", failure);
    }
    return future.join(); // done: does not wait
  }

  @Override
  public @Nullable InvalidInputException checkInput(@Nullable Object input) {
    if (input == null) {
      return inputType == Void.class ? null : new InvalidInputException(name, inputType, null);
    }
    if (inputType != Object.class && !inputType.isInstance(input)) {
      return new InvalidInputException(name, inputType, input.getClass());
    }
    if (inputCheck != null) {
      try {
        inputCheck.accept(input);
      } catch (IllegalArgumentException e) {
        return new InvalidInputException(name, String.valueOf(e.getMessage()));
      } catch (RuntimeException e) {
        return new InvalidInputException(name, "the inputCheck of function '" + name + "' refused the"
            + " input: " + e);
      }
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // EventHost: what its event backlog needs of it

  @Override
  public CompletableFuture<@Nullable Object> submitAttempt(@Nullable Object input, @Nullable CallTenant tenant) {
    return submit(input, null, tenant, true, false);
  }

  @Override
  public boolean hasFreeSlot() {
    return pool.hasFreeSlot();
  }

  @Override
  public EventBacklog events() {
    return events;
  }

  @Override
  public void deadLettered(DeadLetter letter) {
    platform.events.deadLettered(this, letter);
  }

  // ---------------------------------------------------------------------------------------------
  // Registration: what the runtime's listeners see of it

  @Override
  public int inFlightNow() {
    long finished = account.sum(Meter.FINISHED); // finished before started: never negative
    return (int) Math.max(0, account.sum(Meter.STARTED) - finished);
  }

  @Override
  public int queuedNow() {
    long started = account.sum(Meter.STARTED);
    return (int) Math.max(0, outstanding.accepted.get() - started);
  }

  @Override
  public int warmNow() {
    return instances.live();
  }

  @Override
  public int concurrencyLimit() {
    return pool.concurrencyLimit();
  }

  @Override
  public boolean isGone() {
    CompletableFuture<Void> r = retirement;
    return r != null && r.isDone();
  }

  @Override
  public void addLatencyTimer(io.micrometer.core.instrument.Timer timer) {
    latency.addTimer(timer);
  }

  @Override
  public void removeLatencyTimer(io.micrometer.core.instrument.Timer timer) {
    latency.removeTimer(timer);
  }

  @Override
  public FunctionStats stats() {
    long[] usage = new long[2];
    platform.meter.usage(account, usage);
    // Finished before started before accepted: each only grows, so the gauges never read negative.
    long finished = account.sum(Meter.FINISHED);
    long started = account.sum(Meter.STARTED);
    long accepted = outstanding.accepted.get();
    long throttles = admission.throttles();
    long refused = admission.refused();
    return events.addTo(FunctionStats.builder(name))
        .invocations(accepted + throttles + refused)
        .successes(account.sum(Meter.SUCCESSES))
        .failures(account.sum(Meter.FAILURES) + pool.otherFailures())
        .timeouts(pool.timeouts())
        .queueTimeouts(pool.queueTimeouts())
        .throttles(throttles)
        .rejected(refused + pool.abandoned())
        .cancelled(account.sum(Meter.CANCELLED))
        .coldStarts(account.sum(Meter.COLD_STARTS))
        .preWarms(instances.preWarms())
        .inFlight((int) Math.max(0, started - finished))
        .queued((int) Math.max(0, accepted - started))
        .warmInstances(instances.live())
        .peakConcurrency(pool.peak())
        .concurrencyLimit(pool.concurrencyLimit())
        .overdue(pool.overdue())
        .cpuTime(Duration.ofNanos(usage[0]))
        .wallTime(Duration.ofNanos(account.sum(Meter.WALL)))
        .queueWait(Duration.ofNanos(account.sum(Meter.QUEUE_WAIT)))
        .initTime(Duration.ofNanos(account.sum(Meter.INIT) + instances.provisionNanos()))
        .allocatedBytes(usage[1])
        .billedMillis(account.sum(Meter.BILLED))
        .billedCpuMillis(account.sum(Meter.BILLED_CPU))
        .bytesProcessed(account.sum(Meter.BYTES_PROCESSED))
        .latency(latency.snapshot())
        .cpuPerInvocation(platform.meter.clocks ? cpuPerInvocation.snapshot() : Percentiles.EMPTY)
        .build();
  }

  @Override
  public String toString() {
    return "Fn[" + name + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Life

  /** Creates {@code minInstances} warm instances; on a thread metered as this function's. */
  void provision() {
    if (spec.minInstances() > 0) {
      platform.runMetered(account, instances::provision);
    }
  }

  /**
   * Stops taking calls (close): settles once every accepted call's future is settled and every
   * accepted event has ended (the backlog runs on meanwhile).
   */
  CompletableFuture<Void> drain() {
    draining = true;
    instances.stopKeepingMinimum();
    pool.wakeIdle();
    lifecycle();
    return CompletableFuture.allOf(drained, events.drain());
  }

  /**
   * Unregisters: later calls fail as unknown; settles once everything accepted has ended (overdue
   * calls returned too, so that their use is counted), no worker is left, the instances are closed
   * and every accepted event has ended (those still waiting are dead-lettered).
   */
  CompletableFuture<Void> retire() {
    retired = true;
    instances.stopKeepingMinimum();
    pool.wakeIdle();
    lifecycle();
    CompletableFuture<Void> r = CompletableFuture.allOf(gone, events.retire());
    retirement = r;
    return r;
  }

  /** Starts counting the most invocations that run at once from now on (a load test's own peak). */
  PeakWindow openPeakWindow() {
    return pool.openPeakWindow();
  }

  /**
   * Fails what is still queued or running (close's drain deadline passed). Events first: nothing
   * more is dispatched, and the attempts failed here end as dead letters ({@code SHUTDOWN}).
   */
  void abandonAll() {
    events.abandon();
    pool.abandonAll();
  }

  /** Settles once every accepted event has ended, after close or unregister began. */
  CompletableFuture<Void> eventsEnded() {
    return events.drained();
  }

  /** Checks, whenever work ends while the function drains or retires, whether it is done. */
  private void lifecycle() {
    if (!draining && !retired) {
      return;
    }
    long notFinished = outstanding.now();
    // An overdue call (timed out or abandoned, its code still running) has its caller's answer;
    // other workers end soon after their last call, returning their instances.
    int overdue = pool.overdue();
    if (notFinished <= overdue && pool.liveWorkers() <= overdue) {
      drained.complete(null);
    }
    if (retired && notFinished == 0 && closingInstances.compareAndSet(false, true)) {
      CompletableFuture<Void> closed = instances.close();
      instancesClosed = closed;
      CompletableFuture<Void> unused = closed.whenComplete((v, e) -> lifecycle());
    }
    CompletableFuture<Void> closed = instancesClosed;
    if (closed != null && closed.isDone() && pool.liveWorkers() == 0) {
      gone.complete(null);
    }
  }
}
