package dev.cumulus.internal;

import dev.cumulus.CallOptions;
import dev.cumulus.CumulusEvent;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionFailedException;
import dev.cumulus.FunctionStats;
import dev.cumulus.MeteringMode;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.UnknownFunctionException;
import dev.cumulus.internal.event.EventRuntime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The runtime behind {@link dev.cumulus.Cumulus}: the registry of functions and of those
 * unregistered but not gone yet, their usage, and shutdown. What the functions share at run time is
 * its {@link Platform}.
 */
public final class Engine {
  private static final System.Logger LOG = System.getLogger("dev.cumulus");
  private static final AtomicBoolean WARNED_WALL_CLOCK = new AtomicBoolean();
  /** How long close() waits for code past its timeout to return, so that its threads can end. */
  private static final long OVERDUE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** The least time close() gives the runtime's threads to end once they have nothing to run. */
  private static final long MIN_EXIT_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * A runtime's options, checked by {@code Cumulus.Builder}.
   *
   * @param maxConcurrency runtime-wide limit of running invocations
   * @param meteringMode the mode asked for, or null for the best available
   * @param carrierThreads how many carriers
   * @param carrierKeepAlive how long an idle carrier lives
   * @param drainTimeout how long {@link #close()} lets accepted work finish
   * @param maxCallDepth the deepest synchronous call chain allowed
   * @param maxTenants how many tenants are kept apart in usage
   * @param clock a clock to use instead of the system's (tests), or null
   * @param events who listens to the runtime's moments ({@link RuntimeEvents#NONE}: nobody)
   * @param code how to reach the code of a spec
   */
  public record Config(int maxConcurrency, @Nullable MeteringMode meteringMode, int carrierThreads,
      Duration carrierKeepAlive, Duration drainTimeout, int maxCallDepth, int maxTenants, @Nullable Clock clock,
      RuntimeEvents events, SpecCode code) {}

  private final Platform platform;
  private final MeteringMode mode;
  private final SpecCode code;
  private final long drainNanos;
  private final Map<String, Deployment> functions = new ConcurrentHashMap<>();
  /** Unregistered functions still finishing what they accepted. */
  private final List<Deployment> retired = new CopyOnWriteArrayList<>();
  /** Final stats of unregistered functions that are gone, by name, so they stay on the bill. */
  private final Map<String, FunctionStats> retiredStats = new ConcurrentHashMap<>();
  /** The same per tenant: tenant to function name to stats. */
  private final Map<String, Map<String, FunctionStats>> retiredTenantStats = new ConcurrentHashMap<>();
  private final Instant createdAt = Instant.now();
  private final ReentrantLock registration = new ReentrantLock();
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  /** The listener the runtime was built with ({@link RuntimeEvents#NONE} outside tests). */
  private final RuntimeEvents configured;
  /** Subscriptions and observers; the platform's listener while it has any. */
  private final EventHub hub;

  /**
   * Creates a runtime. It starts no thread until the first invocation.
   *
   * @param config its options
   * @throws IllegalStateException if {@code EXACT} was asked for and cannot work in this JVM
   */
  public Engine(Config config) {
    String noCarriers = CarrierPool.unavailableReason();
    String unavailable = noCarriers != null ? noCarriers
        : CpuClock.CPU_SUPPORTED ? null : "this JVM does not measure thread CPU time (ThreadMXBean)";
    if (config.meteringMode() == MeteringMode.EXACT && unavailable != null) {
      throw new IllegalStateException("meteringMode EXACT is not available: " + unavailable);
    }
    if (config.meteringMode() == null && unavailable != null && WARNED_WALL_CLOCK.compareAndSet(false, true)) {
      LOG.log(System.Logger.Level.WARNING, "Cumulus meters wall-clock time only (MeteringMode."
          + "WALL_CLOCK_ONLY): " + unavailable + ". CPU time and allocated bytes will read zero.");
    }
    this.mode = config.meteringMode() != null ? config.meteringMode()
        : unavailable == null ? MeteringMode.EXACT : MeteringMode.WALL_CLOCK_ONLY;
    // Without metering, functions still run on Cumulus carriers when the JVM allows it, so that
    // "metering off" differs from "on" by the clock reads alone.
    int slots = noCarriers == null ? CarrierPool.slots(config.carrierThreads()) : 0;
    Meter meter = new Meter(slots, mode == MeteringMode.EXACT);
    long keepAlive = config.carrierKeepAlive().toNanos();
    CarrierPool carriers = noCarriers == null ? new CarrierPool(config.carrierThreads(), keepAlive, meter) : null;
    this.platform = new Platform(config.clock(), carriers, meter, keepAlive, config.maxConcurrency(),
        config.maxCallDepth(), config.maxTenants(), config.events());
    this.configured = config.events();
    this.hub = new EventHub(configured, this::listenersChanged, CumulusEvent.Subscription.BUFFER_CAPACITY);
    this.code = config.code();
    this.drainNanos = config.drainTimeout().toNanos();
  }

  public MeteringMode meteringMode() {
    return mode;
  }

  public int maxConcurrency() {
    return platform.capacity.max();
  }

  public Instant createdAt() {
    return createdAt;
  }

  // ---------------------------------------------------------------------------------------------
  // Listeners

  /** Subscriptions to lifecycle events, and observers of every moment (the metrics binder, watchers). */
  public EventHub hub() {
    return hub;
  }

  /**
   * The listener the runtime tells its moments now: the hub while it has a subscription or an
   * observer, else the one it was built with ({@link RuntimeEvents#NONE} outside tests).
   */
  public RuntimeEvents listener() {
    return platform.events;
  }

  /** The hub's first listener came, or its last one went (under the hub's lock). */
  private void listenersChanged() {
    platform.events = hub.listening() ? hub : configured;
  }

  // ---------------------------------------------------------------------------------------------
  // Registry

  /**
   * Registers a function and provisions its {@code minInstances}.
   *
   * @param spec the function
   * @return the registered function
   * @throws IllegalStateException if the name is taken, its reserved concurrency does not fit, its
   *     minInstances exceed the runtime's maxConcurrency, or it has a CPU budget and this runtime does
   *     not meter CPU
   * @throws RuntimeClosedException if the runtime is closed
   * @throws FunctionFailedException if creating a provisioned instance failed
   */
  public Fn<?, ?> register(FnSpec<?, ?> spec) {
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
      Capacity capacity = platform.capacity;
      if (spec.minInstances() > capacity.max()) {
        throw new IllegalStateException("function '" + spec.name() + "' asks for minInstances "
            + spec.minInstances() + " but the runtime's maxConcurrency is " + capacity.max() + ": no more than "
            + capacity.max() + " of its calls can ever run at once, so the other instances could never be used");
      }
      int reserve = spec.maxConcurrency().orElse(0);
      if (reserve > capacity.max() - capacity.reserved()) {
        throw new IllegalStateException("function '" + spec.name() + "' reserves maxConcurrency "
            + reserve + " but only " + (capacity.max() - capacity.reserved()) + " of the runtime's"
            + " maxConcurrency " + capacity.max() + " is unreserved" + reservations());
      }
      d = new Deployment(platform, spec, code);
      capacity.reserve(reserve);
      functions.put(spec.name(), d);
    } finally {
      registration.unlock();
    }
    platform.events.registered(d);
    try {
      d.provision();
    } catch (RuntimeException | Error e) {
      discard(d);
      throw new FunctionFailedException(spec.name(), "provisioning " + spec.minInstances()
          + " instances (minInstances) of function '" + spec.name() + "' failed: " + e, e);
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
  public Fn<?, ?> function(String name) {
    Deployment d = functions.get(name);
    if (d == null) {
      throw new UnknownFunctionException(name, NearNames.of(name, functions.keySet()));
    }
    return d;
  }

  /** The function of that name, or null. */
  public @Nullable Fn<?, ?> registered(String name) {
    return functions.get(name);
  }

  /** The registered functions, sorted by name. */
  public List<Fn<?, ?>> functions() {
    List<Deployment> all = new ArrayList<>(functions.values());
    all.sort(Comparator.comparing(Deployment::name));
    return List.copyOf(all);
  }

  /**
   * Takes back a registration that never served a call (a group registration that failed halfway):
   * unlike {@link #unregister}, it leaves no line in the usage.
   */
  public void discard(Fn<?, ?> fn) {
    Deployment d = (Deployment) fn;
    boolean removed;
    registration.lock();
    try {
      removed = functions.remove(d.name(), d);
      if (removed) {
        platform.capacity.reserve(-d.reserved());
      }
    } finally {
      registration.unlock();
    }
    if (removed) {
      platform.events.unregistered(d);
    }
    // Its usage line is dropped: nothing to wait for, but listeners hear that it is gone.
    CompletableFuture<Void> unused = d.retire().whenComplete((v, e) -> {
      if (removed) {
        platform.events.retired(d);
      }
    });
  }

  /**
   * Unregisters a function: later calls fail as unknown; it keeps its usage line.
   *
   * @return whether it was registered
   */
  public boolean unregister(String name) {
    Deployment d;
    registration.lock();
    try {
      d = functions.remove(name);
      if (d != null) {
        retired.add(d); // in the same lock: a usage() never misses its line
      }
    } finally {
      registration.unlock();
    }
    if (d == null) {
      return false;
    }
    platform.events.unregistered(d);
    CompletableFuture<Void> unused = d.retire().whenComplete((v, e) -> {
      registration.lock();
      try {
        platform.capacity.reserve(-d.reserved());
        retiredStats.merge(d.name(), d.stats(), FunctionStats::plus);
        d.tenantStats().forEach((tenant, stats) -> retiredTenantStats
            .computeIfAbsent(tenant, t -> new ConcurrentHashMap<>()).merge(d.name(), stats, FunctionStats::plus));
        retired.remove(d);
      } finally {
        registration.unlock();
      }
      platform.events.retired(d);
    });
    return true;
  }

  public CompletableFuture<@Nullable Object> invokeAsync(String name, @Nullable Object input) {
    Deployment d = functions.get(name);
    if (d == null) {
      return CompletableFuture.failedFuture(unknown(name));
    }
    return d.invokeAsync(input);
  }

  public @Nullable Object invoke(String name, @Nullable Object input) {
    Deployment d = functions.get(name);
    if (d == null) {
      throw unknown(name);
    }
    return d.invoke(input);
  }

  public CompletableFuture<@Nullable Object> invokeAsync(String name, @Nullable Object input, CallOptions options) {
    Deployment d = functions.get(name);
    if (d == null) {
      return CompletableFuture.failedFuture(unknown(name));
    }
    return d.invokeAsync(input, options);
  }

  public @Nullable Object invoke(String name, @Nullable Object input, CallOptions options) {
    Deployment d = functions.get(name);
    if (d == null) {
      throw unknown(name);
    }
    return d.invoke(input, options);
  }

  private RuntimeException unknown(String name) {
    if (closing.get()) {
      // Not "function 'x' accepts no more calls": no function may be named so.
      return new RuntimeClosedException(name,
          "the Cumulus runtime is closed and accepts no more calls, whatever function they name");
    }
    return new UnknownFunctionException(name, NearNames.of(name, functions.keySet()));
  }

  /**
   * Stats of every function by name, unregistered ones included: a name registered again gets one
   * line, the sum of its registrations (percentiles from the latest).
   */
  public List<FunctionStats> allStats() {
    Map<String, FunctionStats> byName = new TreeMap<>();
    registration.lock();
    try {
      byName.putAll(retiredStats);
      for (Deployment d : retired) {
        byName.merge(d.name(), d.stats(), FunctionStats::plus);
      }
      for (Deployment d : functions.values()) {
        byName.merge(d.name(), d.stats(), FunctionStats::plus);
      }
    } finally {
      registration.unlock();
    }
    return List.copyOf(byName.values());
  }

  /**
   * Usage per tenant: tenant to the stats of each function it called, by function name (sorted),
   * unregistered functions included.
   */
  public Map<String, List<FunctionStats>> allTenantStats() {
    Map<String, Map<String, FunctionStats>> byTenant = new TreeMap<>();
    registration.lock();
    try {
      retiredTenantStats.forEach((tenant, lines) -> byTenant.computeIfAbsent(tenant, t -> new TreeMap<>()).putAll(lines));
      List<Deployment> all = new ArrayList<>(retired);
      all.addAll(functions.values());
      for (Deployment d : all) {
        d.tenantStats().forEach((tenant, stats) -> byTenant.computeIfAbsent(tenant, t -> new TreeMap<>())
            .merge(d.name(), stats, FunctionStats::plus));
      }
    } finally {
      registration.unlock();
    }
    Map<String, List<FunctionStats>> out = new TreeMap<>();
    byTenant.forEach((tenant, lines) -> out.put(tenant, List.copyOf(lines.values())));
    return out;
  }

  /**
   * Usage per tenant of one function name, as {@link #allTenantStats()} has it: every registration
   * of the name summed, so a tenant's line never goes back.
   *
   * @param name the function's name
   * @return tenant to that tenant's stats of the function (empty if it served no tenant)
   */
  public Map<String, FunctionStats> tenantStatsOf(String name) {
    Map<String, FunctionStats> byTenant = new HashMap<>();
    List<Deployment> active = new ArrayList<>(2);
    registration.lock();
    try {
      retiredTenantStats.forEach((tenant, lines) -> {
        FunctionStats s = lines.get(name);
        if (s != null) {
          byTenant.put(tenant, s);
        }
      });
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
    for (Deployment d : active) {
      d.tenantStats().forEach((tenant, stats) -> byTenant.merge(tenant, stats, FunctionStats::plus));
    }
    return byTenant;
  }

  /** Calls accounted under the tenant {@code other} because the runtime kept no more tenants apart. */
  public long tenantsFoldedCalls() {
    return platform.tenantNames.foldedCalls();
  }

  /**
   * Stats of one name, as {@link #allStats()} has them: every registration of it summed, the live
   * one, those still finishing what they accepted and those gone. So a name's counters never go
   * back, whatever registrations come and go.
   *
   * @param name the name
   * @return the stats, or null if the name was never registered (or only taken back)
   */
  public @Nullable FunctionStats statsOf(String name) {
    List<Deployment> active = new ArrayList<>(2);
    FunctionStats sum;
    registration.lock();
    try {
      sum = retiredStats.get(name);
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
    for (Deployment d : active) {
      sum = sum == null ? d.stats() : sum.plus(d.stats());
    }
    return sum;
  }

  /** The registrations of the functions registered now, sorted by name. */
  public List<Registration> registrations() {
    List<Deployment> all = new ArrayList<>(functions.values());
    all.sort(Comparator.comparing(Deployment::name));
    return List.copyOf(all);
  }

  /** The registration of that name now, or null. */
  public @Nullable Registration registration(String name) {
    return functions.get(name);
  }

  /** How many functions are registered now. */
  public int functionCount() {
    return functions.size();
  }

  /** Slots of the runtime-wide capacity held by workers now. */
  public int capacityInUse() {
    return platform.capacity.inUse();
  }

  /** The runtime clock's time (a test clock's in tests); only differences count. */
  public long nanoTime() {
    return platform.clock.nanoTime();
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown

  /**
   * Stops admission, lets accepted work finish until the drain deadline, fails the rest, closes
   * instances, shuts the carriers down and waits (bounded) for its threads to end. Called from a
   * function's own thread, it returns at once and the rest goes on in the background (waiting there
   * would wait for itself).
   */
  public void close() {
    boolean fromWorker = Worker.runsHere(platform);
    boolean first;
    registration.lock(); // so that no registration slips in after the drain's snapshot
    try {
      first = closing.compareAndSet(false, true);
      if (first) {
        platform.closing();
      }
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
      List<Deployment> all = new ArrayList<>(functions.values());
      all.addAll(retired); // unregistered ones may still be finishing what they accepted
      CompletableFuture<Void> drained = CompletableFuture.allOf(
          all.stream().map(Deployment::drain).toArray(CompletableFuture[]::new));
      CompletableFuture<Void> deadline = new CompletableFuture<>();
      Clock.Timer timer = platform.clock.schedule(() -> deadline.complete(null), drainNanos);
      CompletableFuture.anyOf(drained, deadline).join();
      timer.cancel();
      for (Deployment d : all) {
        d.abandonAll();
      }
      for (Deployment d : all) {
        CompletableFuture<Void> unused = d.instances.close(); // waited for below, as long as allowed
      }
      // Instances close on their own threads (a slow close() must not hold up a timer); wait for
      // them here, as long as the drain timeout allows once more.
      try {
        CompletableFuture.allOf(all.stream().map(d -> d.instances.closesInFlight())
            .toArray(CompletableFuture[]::new)).get(Math.max(1, drainNanos), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        LOG.log(System.Logger.Level.WARNING, "some instances were still closing when close() returned");
      }
      // Events given up by the drain go to their dead-letter sinks: let them, as long again.
      try {
        CompletableFuture.allOf(all.stream().map(Deployment::eventsEnded).toArray(CompletableFuture[]::new))
            .get(Math.max(1, drainNanos), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        LOG.log(System.Logger.Level.WARNING, "some dead letters were still being delivered when close() returned");
      }
    } catch (Throwable e) {
      LOG.log(System.Logger.Level.ERROR, "closing the Cumulus runtime failed", e);
    } finally {
      platform.closed();
      // close() returns once no thread of the runtime is alive, within bounds (said at DEBUG if not).
      if (!platform.awaitThreadsEnded(Math.min(drainNanos, OVERDUE_GRACE_NANOS), Math.max(drainNanos, MIN_EXIT_NANOS))) {
        LOG.log(System.Logger.Level.DEBUG, "some threads of the Cumulus runtime were still alive when close()"
            + " returned (code past its timeout that ignores the interrupt keeps them until it returns)");
      }
      try {
        platform.events.runtimeClosed();
      } catch (Throwable e) {
        LOG.log(System.Logger.Level.ERROR, "a listener of the Cumulus runtime failed on its close", e);
      }
      closed.complete(null);
    }
  }

  /**
   * Starts counting the most invocations of {@code fn} that run at once from now on (a load test's
   * own peak, apart from the function's peak since registration).
   *
   * @param fn a function of this runtime
   * @return the open window; close it when done
   */
  public PeakWindow openPeakWindow(Fn<?, ?> fn) {
    return ((Deployment) fn).openPeakWindow();
  }

  /** The runtime's event layer (tests: they seed its retry jitter and count its pending retries). */
  public EventRuntime events() {
    return platform.eventRuntime;
  }

  /** Whether {@link #close()} began. */
  public boolean isClosing() {
    return closing.get();
  }

  /** CPU time used so far by this runtime's live carrier threads (tests and diagnostics). */
  public long carrierCpuNanos() {
    CarrierPool c = platform.carriers;
    return c == null ? 0 : c.cpuNanos();
  }

  /** Live carrier threads of this runtime (tests and diagnostics). */
  public int liveCarriers() {
    CarrierPool c = platform.carriers;
    return c == null ? 0 : c.liveThreads();
  }
}
