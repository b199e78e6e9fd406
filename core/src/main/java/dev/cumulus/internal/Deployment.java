package dev.cumulus.internal;

import dev.cumulus.CallerInterruptedException;
import dev.cumulus.CumulusException;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.InvalidInputException;
import dev.cumulus.Percentiles;
import dev.cumulus.UnknownFunctionException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A registered function: the {@link Fn} its callers hold, and its life from registration to the
 * moment nothing of it runs any more. It checks inputs and hands calls to its {@link Admission};
 * its {@link WorkerPool} runs them with its {@link InstancePool}, metered in its {@link Meter.Account}.
 *
 * <p>Life: serving → (unregistered) retiring: later calls fail as unknown, accepted ones finish,
 * overdue ones return, then its instances close and it is gone; or (close) draining: every accepted
 * call's future settles, or is failed at the drain deadline.
 */
final class Deployment implements Fn<@Nullable Object, @Nullable Object> {
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

  private volatile boolean draining;
  private volatile boolean retired;
  private final CompletableFuture<Void> drained = new CompletableFuture<>();
  private final AtomicBoolean closingInstances = new AtomicBoolean();
  private volatile @Nullable CompletableFuture<Void> instancesClosed;
  private final CompletableFuture<Void> gone = new CompletableFuture<>();

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
    this.instances = new InstancePool(name, platform.clock, spec.keepAlive().toNanos(), spec.minInstances(),
        code.init(spec), task -> platform.startMetered(account, task));
    this.outstanding = new Outstanding(account);
    this.pool = new WorkerPool(name, platform, id, code.handler(spec), code.function(spec), instances, account, latency,
        cpuPerInvocation, new InvocationQueue(id), outstanding, spec.timeout(),
        spec.cpuBudget().map(Duration::toNanos).orElse(0L), spec.queueTimeout().orElse(null), this::lifecycle);
    this.admission = new Admission(id, platform, pool, outstanding, spec.queueCapacity());
    id.admission = admission;
  }

  int reserved() {
    return id.reserved;
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
    return await(name, submit(input, caller));
  }

  @Override
  public CompletableFuture<@Nullable Object> invokeAsync(@Nullable Object input) {
    InvalidInputException invalid = checkInput(input);
    if (invalid != null) {
      return CompletableFuture.failedFuture(invalid);
    }
    return submit(input, null);
  }

  private CompletableFuture<@Nullable Object> submit(@Nullable Object input, @Nullable Invocation caller) {
    if (retired) {
      return CompletableFuture.failedFuture(new UnknownFunctionException(name, "function '" + name
          + "' was unregistered: this Fn belongs to that registration, which takes no more calls;"
          + " if '" + name + "' was registered again, get it with cumulus.function(\"" + name + "\")"));
    }
    return admission.submit(input, caller);
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

  private @Nullable InvalidInputException checkInput(@Nullable Object input) {
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
    return FunctionStats.builder(name)
        .invocations(accepted + throttles + refused)
        .successes(account.sum(Meter.SUCCESSES))
        .failures(account.sum(Meter.FAILURES) + pool.otherFailures())
        .timeouts(pool.timeouts())
        .queueTimeouts(pool.queueTimeouts())
        .throttles(throttles)
        .rejected(refused + pool.abandoned())
        .cancelled(account.sum(Meter.CANCELLED))
        .coldStarts(account.sum(Meter.COLD_STARTS))
        .inFlight((int) Math.max(0, started - finished))
        .queued((int) Math.max(0, accepted - started))
        .warmInstances(instances.live())
        .peakConcurrency(pool.peak())
        .overdue(pool.overdue())
        .cpuTime(Duration.ofNanos(usage[0]))
        .wallTime(Duration.ofNanos(account.sum(Meter.WALL)))
        .queueWait(Duration.ofNanos(account.sum(Meter.QUEUE_WAIT)))
        .initTime(Duration.ofNanos(account.sum(Meter.INIT) + instances.provisionNanos()))
        .allocatedBytes(usage[1])
        .billedMillis(account.sum(Meter.BILLED))
        .billedCpuMillis(account.sum(Meter.BILLED_CPU))
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

  /** Stops taking calls (close): settles once every accepted call's future is settled. */
  CompletableFuture<Void> drain() {
    draining = true;
    instances.stopKeepingMinimum();
    pool.wakeIdle();
    lifecycle();
    return drained;
  }

  /**
   * Unregisters: later calls fail as unknown; settles once everything accepted has ended (overdue
   * calls returned too, so that their use is counted), no worker is left and the instances are closed.
   */
  CompletableFuture<Void> retire() {
    retired = true;
    instances.stopKeepingMinimum();
    pool.wakeIdle();
    lifecycle();
    return gone;
  }

  /** Starts counting the most invocations that run at once from now on (a load test's own peak). */
  PeakWindow openPeakWindow() {
    return pool.openPeakWindow();
  }

  /** Fails what is still queued or running (close's drain deadline passed). */
  void abandonAll() {
    pool.abandonAll();
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
