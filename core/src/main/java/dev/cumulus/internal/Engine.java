package dev.cumulus.internal;

import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionFailedException;
import dev.cumulus.FunctionStats;
import dev.cumulus.MeteringMode;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.UnknownFunctionException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
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
   * @param clock a clock to use instead of the system's (tests), or null
   * @param events who listens to the runtime's moments ({@link RuntimeEvents#NONE}: nobody)
   * @param code how to reach the code of a spec
   */
  public record Config(int maxConcurrency, @Nullable MeteringMode meteringMode, int carrierThreads,
      Duration carrierKeepAlive, Duration drainTimeout, int maxCallDepth, @Nullable Clock clock,
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
  private final Instant createdAt = Instant.now();
  private final ReentrantLock registration = new ReentrantLock();
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();

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
        config.maxCallDepth(), config.events());
    this.code = config.code();
    this.drainNanos = config.drainTimeout().toNanos();
  }

  public MeteringMode meteringMode() {
    return mode;
  }

  /** Whether {@link #close()} was called: the runtime takes no more calls. */
  public boolean isClosing() {
    return closing.get();
  }

  public int maxConcurrency() {
    return platform.capacity.max();
  }

  public Instant createdAt() {
    return createdAt;
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
    registration.lock();
    try {
      if (functions.remove(d.name(), d)) {
        platform.capacity.reserve(-d.reserved());
      }
    } finally {
      registration.unlock();
    }
    CompletableFuture<Void> unused = d.retire(); // its usage line is dropped: nothing to wait for
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
    CompletableFuture<Void> unused = d.retire().whenComplete((v, e) -> {
      registration.lock();
      try {
        platform.capacity.reserve(-d.reserved());
        retiredStats.merge(d.name(), d.stats(), FunctionStats::plus);
        retired.remove(d);
      } finally {
        registration.unlock();
      }
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
    } catch (Throwable e) {
      LOG.log(System.Logger.Level.ERROR, "closing the Cumulus runtime failed", e);
    } finally {
      platform.closed();
      // close() returns once no thread of the runtime is alive: within bounds, and a warning if not.
      if (!platform.awaitThreadsEnded(Math.min(drainNanos, OVERDUE_GRACE_NANOS), Math.max(drainNanos, MIN_EXIT_NANOS))) {
        LOG.log(System.Logger.Level.DEBUG, "some threads of the Cumulus runtime were still alive when close()"
            + " returned (code past its timeout that ignores the interrupt keeps them until it returns)");
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
