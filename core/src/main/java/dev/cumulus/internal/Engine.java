package dev.cumulus.internal;

import dev.cumulus.FnSpec;
import dev.cumulus.FunctionFailedException;
import dev.cumulus.MeteringMode;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.UnknownFunctionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The runtime behind {@link dev.cumulus.Cumulus}: the registry of functions, the runtime-wide
 * capacity, the carriers (in exact metering mode), the clock, and shutdown.
 */
public final class Engine {
  private static final System.Logger LOG = System.getLogger("dev.cumulus");
  private static final AtomicBoolean WARNED_WALL_CLOCK = new AtomicBoolean();

  private final Clock clock;
  private final boolean systemClock;
  private final @Nullable Carriers carriers;
  private final MeteringMode mode;
  private final Capacity capacity;
  private final long drainNanos;
  private final FunctionMeter systemMeter;
  private final Map<String, Deployment> functions = new ConcurrentHashMap<>();
  /** Unregistered functions still finishing what they accepted. */
  private final List<Deployment> retired = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Final stats of unregistered functions that finished, by name, so they stay on the bill. */
  private final Map<String, dev.cumulus.FunctionStats> retiredStats = new ConcurrentHashMap<>();
  /** Instances being closed on their own threads; close() waits for them. */
  private final java.util.Set<CompletableFuture<Void>> closingInstances = ConcurrentHashMap.newKeySet();
  private final java.time.Instant createdAt = java.time.Instant.now();
  private final ReentrantLock registration = new ReentrantLock();
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private final EventHub events = new EventHub(this, dev.cumulus.CumulusEvent.Subscription.BUFFER_CAPACITY);
  /** {@link #events} while anyone listens, else {@link LifecycleListener#NONE}: see {@link #lifecycle()}. */
  private volatile LifecycleListener lifecycle = LifecycleListener.NONE;

  /**
   * Creates a runtime.
   *
   * @param maxConcurrency runtime-wide limit of running invocations
   * @param requestedMode the mode asked for, or null for the best available
   * @param carrierThreads how many carriers (exact mode)
   * @param carrierKeepAlive how long an idle carrier lives
   * @param drainTimeout how long {@link #close()} lets accepted work finish
   * @param testClock a clock to use instead of the system's (tests), or null
   * @throws IllegalStateException if {@code EXACT} was asked for and cannot work in this JVM
   */
  public Engine(int maxConcurrency, @Nullable MeteringMode requestedMode, int carrierThreads,
      Duration carrierKeepAlive, Duration drainTimeout, @Nullable Clock testClock) {
    String unavailable = Carriers.unavailableReason();
    if (requestedMode == MeteringMode.EXACT && unavailable != null) {
      throw new IllegalStateException("meteringMode EXACT is not available: " + unavailable);
    }
    if (requestedMode == null && unavailable != null && WARNED_WALL_CLOCK.compareAndSet(false, true)) {
      LOG.log(System.Logger.Level.WARNING, "Cumulus meters wall-clock time only (MeteringMode."
          + "WALL_CLOCK_ONLY): " + unavailable + ". CPU time and allocated bytes will read zero.");
    }
    this.mode = requestedMode != null ? requestedMode
        : unavailable == null ? MeteringMode.EXACT : MeteringMode.WALL_CLOCK_ONLY;
    // Without metering, functions still run on Cumulus carriers when the JVM allows it, so that
    // "metering off" differs from "on" by the clock reads alone.
    this.carriers = Carriers.canStartThreads()
        ? new Carriers(carrierThreads, carrierKeepAlive.toNanos(), mode == MeteringMode.EXACT)
        : null;
    this.systemMeter = new FunctionMeter("cumulus-runtime", meterSlots());
    this.clock = testClock != null ? testClock
        : new SystemClock(carrierKeepAlive.toNanos(), body -> newThread("cumulus-timer", systemMeter, null, body));
    this.systemClock = testClock == null;
    this.capacity = new Capacity(maxConcurrency);
    this.drainNanos = drainTimeout.toNanos();
  }

  public MeteringMode meteringMode() {
    return mode;
  }

  public int maxConcurrency() {
    return capacity.max();
  }

  /** The runtime clock's time (a test clock's in tests). @return nanoseconds, only differences count */
  public long nanoTime() {
    return clock.nanoTime();
  }

  /** Slots of the runtime-wide capacity held by running workers now. @return slots in use */
  public int capacityInUse() {
    return capacity.inUse();
  }

  /** Subscriptions to events and observers of registrations. @return the hub */
  public EventHub events() {
    return events;
  }

  /**
   * The listener the runtime tells about functions' lives: {@link LifecycleListener#NONE} while
   * nobody listens. @return the listener
   */
  public LifecycleListener lifecycle() {
    return lifecycle;
  }

  /** Called by the hub when its first listener comes or its last one goes. */
  void listen(boolean anyone) {
    lifecycle = anyone ? events : LifecycleListener.NONE;
  }

  // ---------------------------------------------------------------------------------------------
  // Registry

  /**
   * Registers a function and provisions its {@code minInstances}.
   *
   * @throws IllegalStateException if the name is taken or its reserved concurrency does not fit
   * @throws RuntimeClosedException if the runtime is closed
   * @throws FunctionFailedException if creating a provisioned instance failed
   */
  public Deployment register(FnSpec<?, ?> spec, Supplier<?> init, BiFunction<Object, Object, Object> handler) {
    if (spec.cpuBudget().isPresent() && mode != MeteringMode.EXACT) {
      throw new IllegalStateException("function '" + spec.name() + "' has a cpuBudget, which needs"
          + " MeteringMode.EXACT, but this runtime meters " + mode);
    }
    Deployment d;
    registration.lock();
    try {
      if (closing.get()) {
        throw new RuntimeClosedException(spec.name(),
            "the Cumulus runtime is closed; cannot register function '" + spec.name() + "'");
      }
      if (functions.containsKey(spec.name())) {
        throw new IllegalStateException("a function named '" + spec.name() + "' is already registered");
      }
      int reserve = spec.maxConcurrency().orElse(0);
      if (reserve > capacity.max() - capacity.reserved()) {
        throw new IllegalStateException("function '" + spec.name() + "' reserves maxConcurrency "
            + reserve + " but only " + (capacity.max() - capacity.reserved()) + " of the runtime's"
            + " maxConcurrency " + capacity.max() + " is unreserved" + reservations());
      }
      d = new Deployment(this, spec, init, handler);
      capacity.reserve(reserve);
      functions.put(spec.name(), d);
      lifecycle.registered(d);
    } finally {
      registration.unlock();
    }
    if (spec.minInstances() > 0) {
      try {
        runMetered(d, d::provision);
      } catch (RuntimeException | Error e) {
        discard(d);
        throw new FunctionFailedException(spec.name(), "provisioning " + spec.minInstances()
            + " instances (minInstances) of function '" + spec.name() + "' failed: " + e, e);
      }
    }
    return d;
  }

  private String reservations() {
    StringBuilder sb = new StringBuilder();
    functions.values().stream().filter(f -> f.reserved() > 0)
        .sorted(Comparator.comparing(Deployment::name))
        .forEach(f -> sb.append(sb.isEmpty() ? " (reserved: " : ", ").append(f.name()).append('=').append(f.reserved()));
    return sb.isEmpty() ? "" : sb.append(')').toString();
  }

  /**
   * The function of that name.
   *
   * @throws UnknownFunctionException listing near names if there is none
   */
  public Deployment function(String name) {
    Deployment d = functions.get(name);
    if (d == null) {
      throw new UnknownFunctionException(name, NearNames.of(name, functions.keySet()));
    }
    return d;
  }

  /** The function of that name, or null. @param name the name @return the function or null */
  public @Nullable Deployment lookup(String name) {
    return functions.get(name);
  }

  /** How many functions are registered. @return the count */
  public int functionCount() {
    return functions.size();
  }

  public List<Deployment> functions() {
    List<Deployment> all = new ArrayList<>(functions.values());
    all.sort(Comparator.comparing(Deployment::name));
    return List.copyOf(all);
  }

  /**
   * Takes back a registration that never served a call (a group registration that failed halfway):
   * unlike {@link #unregister}, it leaves no line in the usage.
   */
  public void discard(Deployment d) {
    registration.lock();
    try {
      if (functions.remove(d.name(), d)) {
        capacity.reserve(-d.reserved());
        lifecycle.unregistered(d);
      }
    } finally {
      registration.unlock();
    }
    d.retire().whenComplete((v, e) -> lifecycle.retired(d));
  }

  public boolean unregister(String name) {
    Deployment d;
    registration.lock();
    try {
      d = functions.remove(name);
      if (d != null) {
        retired.add(d); // in the same step, so that the name's stats never miss it
        lifecycle.unregistered(d);
      }
    } finally {
      registration.unlock();
    }
    if (d == null) {
      return false;
    }
    d.retire().whenComplete((v, e) -> {
      registration.lock();
      try {
        capacity.reserve(-d.reserved());
        retiredStats.merge(d.name(), d.stats(), Engine::merge);
        retired.remove(d);
      } finally {
        registration.unlock();
      }
      lifecycle.retired(d);
    });
    return true;
  }

  public CompletableFuture<@Nullable Object> invokeAsync(String name, @Nullable Object input) {
    Deployment d = functions.get(name);
    if (d == null && closing.get()) {
      return CompletableFuture.failedFuture(new RuntimeClosedException(name,
          "the Cumulus runtime is closed; function '" + name + "' accepts no more calls"));
    }
    if (d == null) {
      return CompletableFuture.failedFuture(new UnknownFunctionException(name, NearNames.of(name, functions.keySet())));
    }
    return d.invokeAsync(input);
  }

  public @Nullable Object invoke(String name, @Nullable Object input) {
    return Deployment.await(name, invokeAsync(name, input));
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown

  public java.time.Instant createdAt() {
    return createdAt;
  }

  /**
   * Stats of every function by name, unregistered ones included: a name registered again gets one
   * line, the sum of its registrations (percentiles from the latest).
   */
  public List<dev.cumulus.FunctionStats> allStats() {
    Map<String, dev.cumulus.FunctionStats> byName = new java.util.TreeMap<>();
    registration.lock();
    try {
      byName.putAll(retiredStats);
      for (Deployment d : retired) {
        byName.merge(d.name(), d.stats(), Engine::merge);
      }
      for (Deployment d : functions.values()) {
        byName.merge(d.name(), d.stats(), Engine::merge);
      }
    } finally {
      registration.unlock();
    }
    return List.copyOf(byName.values());
  }

  /**
   * Stats of one name, as {@link #allStats()} has them: every registration of it summed, the live one,
   * those still finishing what they accepted and those that finished. Counters of a name therefore
   * never go back, whatever registrations come and go.
   *
   * @return the stats, or null if the name was never registered (or only discarded)
   */
  public dev.cumulus.@Nullable FunctionStats statsOf(String name) {
    List<Deployment> active = new ArrayList<>(2);
    dev.cumulus.FunctionStats finished;
    registration.lock();
    try {
      finished = retiredStats.get(name);
      for (Deployment d : retired) {
        if (d.name().equals(name)) {
          active.add(d);
        }
      }
      Deployment live = functions.get(name);
      if (live != null) {
        active.add(live);
      }
    } finally {
      registration.unlock();
    }
    dev.cumulus.FunctionStats sum = finished;
    for (Deployment d : active) {
      sum = sum == null ? d.stats() : merge(sum, d.stats());
    }
    return sum;
  }

  /** Sums two registrations' stats of one name; gauges and percentiles from the later one. */
  static dev.cumulus.FunctionStats merge(dev.cumulus.FunctionStats a, dev.cumulus.FunctionStats b) {
    return new dev.cumulus.FunctionStats(b.name(),
        a.invocations() + b.invocations(), a.successes() + b.successes(), a.failures() + b.failures(),
        a.timeouts() + b.timeouts(), a.throttles() + b.throttles(), a.rejected() + b.rejected(),
        a.cancelled() + b.cancelled(), a.coldStarts() + b.coldStarts(),
        a.inFlight() + b.inFlight(), a.queued() + b.queued(), a.warmInstances() + b.warmInstances(),
        Math.max(a.peakConcurrency(), b.peakConcurrency()), a.overdue() + b.overdue(),
        a.cpuTime().plus(b.cpuTime()), a.wallTime().plus(b.wallTime()), a.queueWait().plus(b.queueWait()),
        a.initTime().plus(b.initTime()), a.allocatedBytes() + b.allocatedBytes(),
        a.billedMillis() + b.billedMillis(), a.billedCpuMillis() + b.billedCpuMillis(),
        b.latency().samples() > 0 ? b.latency() : a.latency(),
        b.cpuPerInvocation().samples() > 0 ? b.cpuPerInvocation() : a.cpuPerInvocation());
  }

  public boolean isClosing() {
    return closing.get();
  }

  /**
   * Stops admission, lets accepted work finish until the drain deadline, fails the rest, closes
   * instances. Called from a function's own thread, it returns at once and the rest goes on in the
   * background (waiting there would wait for itself).
   */
  public void close() {
    boolean fromWorker = calledFromWorker();
    boolean first;
    registration.lock(); // so that no registration slips in after the drain's snapshot
    try {
      first = closing.compareAndSet(false, true);
    } finally {
      registration.unlock();
    }
    if (!first) {
      if (!fromWorker) {
        closed.join();
      }
      return;
    }
    if (fromWorker) {
      Thread.ofPlatform().name("cumulus-close").daemon().start(this::drainAndClose);
    } else {
      drainAndClose();
    }
  }

  private void drainAndClose() {
    try {
      List<Deployment> all = new ArrayList<>(functions());
      all.addAll(retired); // unregistered ones may still be finishing what they accepted
      CompletableFuture<?>[] drains = all.stream().map(Deployment::drain).toArray(CompletableFuture[]::new);
      CompletableFuture<Void> drained = CompletableFuture.allOf(drains);
      CompletableFuture<Void> deadline = new CompletableFuture<>();
      Clock.Timer timer = clock.schedule(() -> deadline.complete(null), drainNanos);
      CompletableFuture.anyOf(drained, deadline).join();
      timer.cancel();
      for (Deployment d : all) {
        d.abandonAll();
      }
      for (Deployment d : all) {
        d.instances.close();
      }
      // Instances close on their own threads (a slow close() must not hold up a timer); wait for
      // them here, as long as the drain timeout allows once more.
      CompletableFuture<?>[] closings = closingInstances.toArray(CompletableFuture[]::new);
      try {
        CompletableFuture.allOf(closings).get(Math.max(1, drainNanos), java.util.concurrent.TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        LOG.log(System.Logger.Level.WARNING, "some instances were still closing when close() returned");
      }
    } catch (Throwable e) {
      LOG.log(System.Logger.Level.ERROR, "closing the Cumulus runtime failed", e);
    } finally {
      clock.shutdown();
      events.runtimeClosed();
      closed.complete(null);
    }
  }

  private boolean calledFromWorker() {
    Thread current = Thread.currentThread();
    if (!current.isVirtual()) {
      return false;
    }
    for (Deployment d : functions.values()) {
      if (d.runsOn(current)) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Services for deployments

  Clock clock() {
    return clock;
  }

  boolean systemClock() {
    return systemClock;
  }

  boolean exact() {
    return mode == MeteringMode.EXACT;
  }

  /** Carrier threads the runtime's virtual threads share, or 0 on the JDK's default scheduler. */
  int parallelism() {
    Carriers c = carriers;
    return c == null ? 0 : c.parallelism();
  }

  Capacity capacity() {
    return capacity;
  }

  int meterSlots() {
    return carriers == null ? 0 : carriers.slots();
  }

  Thread newThread(String name, FunctionMeter meter, Carriers.@Nullable SegmentObserver observer, Runnable body) {
    Carriers c = carriers;
    return c != null ? c.newThread(name, meter, observer, body) : Thread.ofVirtual().name(name).unstarted(body);
  }

  /**
   * Runs short runtime work (failing a timed-out invocation's future, whose dependents then run)
   * off the timer thread, on a virtual thread of the JDK's own scheduler: functions that keep
   * Cumulus's carriers busy cannot delay it.
   */
  void runSystem(Runnable task) {
    Thread.ofVirtual().name("cumulus-runtime").start(() -> {
      try {
        task.run();
      } catch (Throwable e) {
        LOG.log(System.Logger.Level.ERROR, "Cumulus runtime task failed", e);
      }
    });
  }

  /** Runs {@code task} on a thread metered as {@code d}'s and waits for it. */
  private void runMetered(Deployment d, Runnable task) {
    try {
      startMetered(d, task).join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw e;
    }
  }

  /** Closes discarded instances on a metered thread of the function; never blocks the caller. */
  void closeInstances(Deployment d, List<Object> instances) {
    Runnable closeAll = () -> {
      for (Object instance : instances) {
        if (instance instanceof AutoCloseable closeable) {
          try {
            closeable.close();
          } catch (Throwable e) {
            LOG.log(System.Logger.Level.WARNING, "closing an instance of function '" + d.name()
                + "' failed", e);
          }
        }
      }
    };
    if (instances.stream().noneMatch(i -> i instanceof AutoCloseable)) {
      return;
    }
    CompletableFuture<Void> done = startMetered(d, closeAll);
    closingInstances.add(done);
    done.whenComplete((v, e) -> closingInstances.remove(done)); // at once if already done
  }

  /** Starts {@code task} on a thread metered as {@code d}'s; the future settles when it ends. */
  private CompletableFuture<Void> startMetered(Deployment d, Runnable task) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    newThread("cumulus-fn-" + d.name(), d.meter, null, () -> {
      try {
        task.run();
        done.complete(null);
      } catch (Throwable e) {
        done.completeExceptionally(e);
      }
    }).start();
    return done;
  }

  /** CPU ns and allocated bytes charged to {@code meter}, segments still running included. */
  long[] readUsage(FunctionMeter meter) {
    long[] out = new long[2];
    Carriers c = carriers;
    if (c == null || !exact()) {
      return out;
    }
    long[] part = new long[2];
    for (int slot = 0; slot < meter.slots(); slot++) {
      for (;;) {
        part[0] = 0;
        part[1] = 0;
        Carrier carrier = c.carrier(slot);
        if (carrier != null) {
          carrier.read(meter, part);
        } else {
          part[0] = meter.cellCpu(slot);
          part[1] = meter.cellAllocated(slot);
        }
        if (c.carrier(slot) == carrier) { // else a carrier ended and another took the slot: again
          break;
        }
      }
      out[0] += part[0];
      out[1] += part[1];
    }
    return out;
  }

  /** CPU time used so far by this runtime's live carrier threads (tests and diagnostics). */
  public long carrierCpuNanos() {
    Carriers c = carriers;
    return c == null ? 0 : c.cpuNanos();
  }

  /** Live carrier threads of this runtime (tests and diagnostics). */
  public int liveCarriers() {
    Carriers c = carriers;
    return c == null ? 0 : c.liveThreads();
  }

  void log(System.Logger.Level level, String message, Throwable e) {
    LOG.log(level, message, e);
  }
}
