package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;
import static dev.cumulus.Checks.requireState;

import dev.cumulus.internal.Engine;
import dev.cumulus.internal.EventHub;
import dev.cumulus.internal.Registration;
import dev.cumulus.internal.RuntimeEvents;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * Publishes a runtime's figures to Micrometer: one set of meters per function (tag
 * {@code function}) and a few for the whole runtime. {@link Cumulus.Builder#meterRegistry} binds one
 * for you; by hand:
 *
 * <pre>{@code
 * CumulusMetrics metrics = CumulusMetrics.builder(cumulus).tags(Tags.of("app", "billing")).build();
 * metrics.bindTo(registry);   // any MeterRegistry; several are fine
 * }</pre>
 *
 * <h2>Meters</h2>
 * <table>
 *   <caption>Meters of every function, tagged {@code function}</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>unit</th><th>meaning</th></tr>
 *   <tr><td>{@code cumulus.invocations}</td><td>FunctionCounter</td><td>{@code outcome}: success,
 *       failure, timeout, throttled, rejected, cancelled</td><td></td><td>calls that reached admission,
 *       by how they ended ({@link FunctionStats#successes()} and its siblings)</td></tr>
 *   <tr><td>{@code cumulus.invocation.latency}</td><td>FunctionTimer; a Timer with a percentile
 *       histogram if {@linkplain Builder#percentileHistogram asked}</td><td></td><td>seconds</td><td>time
 *       from call to completion, queue wait included, of invocations that ran</td></tr>
 *   <tr><td>{@code cumulus.cpu.time}</td><td>FunctionCounter</td><td></td><td>seconds</td><td>CPU time
 *       of the function's threads ({@link FunctionStats#cpuTime()}; zero unless {@code EXACT})</td></tr>
 *   <tr><td>{@code cumulus.cpu.billed}</td><td>FunctionCounter</td><td></td><td>seconds</td><td>billed
 *       CPU: each invocation's CPU rounded up to a millisecond ({@link FunctionStats#billedCpuMillis()})</td></tr>
 *   <tr><td>{@code cumulus.billed.duration}</td><td>FunctionCounter</td><td></td><td>seconds</td>
 *       <td>billed duration: each invocation's wall time rounded up to a millisecond
 *       ({@link FunctionStats#billedMillis()})</td></tr>
 *   <tr><td>{@code cumulus.allocated}</td><td>FunctionCounter</td><td></td><td>bytes</td><td>heap
 *       allocated by the function's threads (zero unless {@code EXACT})</td></tr>
 *   <tr><td>{@code cumulus.processed}</td><td>FunctionCounter</td><td></td><td>bytes</td><td>bytes the
 *       function's code reported processing ({@link FnContext#addBytesProcessed},
 *       {@link FunctionStats#bytesProcessed()}); Prometheus: {@code cumulus_processed_bytes_total}</td></tr>
 *   <tr><td>{@code cumulus.cold.starts}</td><td>FunctionCounter</td><td></td><td></td><td>instances
 *       created by a call (each ran the function's init)</td></tr>
 *   <tr><td>{@code cumulus.init.time}</td><td>FunctionCounter</td><td></td><td>seconds</td><td>time
 *       spent creating instances, provisioned ones included</td></tr>
 *   <tr><td>{@code cumulus.in.flight}</td><td>Gauge</td><td></td><td>invocations</td><td>invocations
 *       running now, overdue ones included</td></tr>
 *   <tr><td>{@code cumulus.queued}</td><td>Gauge</td><td></td><td>invocations</td><td>invocations
 *       waiting to start</td></tr>
 *   <tr><td>{@code cumulus.warm}</td><td>Gauge</td><td></td><td>instances</td><td>instances alive,
 *       busy or idle</td></tr>
 *   <tr><td>{@code cumulus.concurrency.peak}</td><td>Gauge</td><td></td><td>invocations</td><td>the
 *       most invocations that ran at once</td></tr>
 *   <tr><td>{@code cumulus.concurrency.limit}</td><td>Gauge</td><td></td><td>invocations</td><td>the
 *       most that may run at once now, the limit in force ({@link FunctionStats#concurrencyLimit()}):
 *       the value of its {@linkplain ConcurrencyLimit#adaptive() adaptive} limit at the scrape, its
 *       {@linkplain ConcurrencyLimit#fixed(int) fixed} (reserved) limit, or what the runtime leaves
 *       unreserved (0 once unregistered)</td></tr>
 *   <tr><td>{@code cumulus.events}</td><td>FunctionCounter</td><td>{@code outcome}: succeeded,
 *       dead_lettered, duplicate, throttled</td><td>events</td><td>{@linkplain Fn#emit emits} by what
 *       became of them: accepted events once they ended ({@link FunctionStats#eventsSucceeded()},
 *       {@link FunctionStats#eventsDeadLettered()}), and emits that accepted none (a duplicate
 *       idempotency key, {@link FunctionStats#eventDuplicates()}; a full backlog,
 *       {@link FunctionStats#eventsThrottled()})</td></tr>
 *   <tr><td>{@code cumulus.emitted}</td><td>FunctionCounter</td><td></td><td>events</td><td>events
 *       accepted ({@link FunctionStats#eventsAccepted()}): the succeeded, the dead-lettered and the
 *       pending</td></tr>
 *   <tr><td>{@code cumulus.pending}</td><td>Gauge</td><td></td><td>events</td><td>events accepted
 *       and not ended ({@link FunctionStats#eventsPending()}): waiting, running, waiting to retry,
 *       or with the dead-letter sink</td></tr>
 *   <tr><td>{@code cumulus.event.retries}</td><td>FunctionCounter</td><td></td><td>retries</td><td>retries
 *       scheduled after a failed attempt ({@link FunctionStats#eventRetries()})</td></tr>
 *   <tr><td>{@code cumulus.dead.letter.sink.failures}</td><td>FunctionCounter</td><td></td><td>failures</td>
 *       <td>times the function's {@link DeadLetterSink} threw ({@link FunctionStats#deadLetterSinkFailures()};
 *       the letter was logged and counts as delivered)</td></tr>
 * </table>
 *
 * <table>
 *   <caption>Meters of each tenant of a function, tagged {@code function} and {@code tenant}</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>unit</th><th>meaning</th></tr>
 *   <tr><td>{@code cumulus.tenant.invocations}</td><td>FunctionCounter</td><td>{@code outcome}: as
 *       {@code cumulus.invocations}</td><td></td><td>calls made for the tenant (an event's attempts
 *       included), by how they ended</td></tr>
 *   <tr><td>{@code cumulus.tenant.cpu.time}</td><td>FunctionCounter</td><td></td><td>seconds</td><td>CPU
 *       time of those invocations, each invocation's own (zero unless {@code EXACT})</td></tr>
 *   <tr><td>{@code cumulus.tenant.cpu.billed}</td><td>FunctionCounter</td><td></td><td>seconds</td>
 *       <td>their billed CPU</td></tr>
 *   <tr><td>{@code cumulus.tenant.billed.duration}</td><td>FunctionCounter</td><td></td><td>seconds</td>
 *       <td>their billed duration</td></tr>
 *   <tr><td>{@code cumulus.tenant.queue.wait}</td><td>FunctionCounter</td><td></td><td>seconds</td>
 *       <td>time they waited in the function's queue, summed</td></tr>
 * </table>
 *
 * <p>These are the lines of {@link Usage#byTenant()}, read at the scrape: they appear when a function
 * first serves a {@linkplain CallOptions#tenant(String) tenant} (a moment later, on a thread of their
 * own) and go with the function's meters. Their number is bounded: the runtime keeps
 * {@link Cumulus.Builder#maxTenants(int)} tenants apart and accounts the rest under the tenant
 * {@code other} (counted by {@code cumulus.tenants.folded}), so a function has at most
 * {@code maxTenants + 1} tenants' meters, whatever names its callers make up.
 * {@link Builder#tenantMeters(boolean) tenantMeters(false)} leaves them out.
 *
 * <table>
 *   <caption>Meters of the runtime</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>unit</th><th>meaning</th></tr>
 *   <tr><td>{@code cumulus.functions}</td><td>Gauge</td><td></td><td>functions</td><td>functions
 *       registered</td></tr>
 *   <tr><td>{@code cumulus.carriers.live}</td><td>Gauge</td><td></td><td>threads</td><td>Cumulus's
 *       carrier threads alive (0 when idle: scale to zero)</td></tr>
 *   <tr><td>{@code cumulus.capacity.used}</td><td>Gauge</td><td></td><td>invocations</td><td>slots of
 *       the runtime-wide {@code maxConcurrency} held now</td></tr>
 *   <tr><td>{@code cumulus.capacity.limit}</td><td>Gauge</td><td></td><td>invocations</td><td>the
 *       runtime-wide {@code maxConcurrency}</td></tr>
 *   <tr><td>{@code cumulus.metering.mode}</td><td>Gauge</td><td>{@code mode}: exact,
 *       wall_clock_only</td><td></td><td>always 1; the tag says how the runtime meters</td></tr>
 *   <tr><td>{@code cumulus.listener.failures}</td><td>FunctionCounter</td><td></td><td></td><td>times an
 *       event listener threw ({@link CumulusEvent.Subscription#failures()}, all subscriptions)</td></tr>
 *   <tr><td>{@code cumulus.listener.dropped}</td><td>FunctionCounter</td><td></td><td></td><td>lifecycle
 *       events dropped because a listener's buffer was full ({@link CumulusEvent.Subscription#dropped()})</td></tr>
 *   <tr><td>{@code cumulus.tenants.folded}</td><td>FunctionCounter</td><td></td><td>calls</td><td>calls
 *       and emits made for a tenant beyond {@link Cumulus.Builder#maxTenants(int)}, accounted under the
 *       tenant {@code other}</td></tr>
 * </table>
 *
 * <p>In Prometheus the names become {@code cumulus_invocations_total},
 * {@code cumulus_invocation_latency_seconds_count} and {@code _sum}, {@code cumulus_cpu_time_seconds_total},
 * {@code cumulus_warm_instances}, {@code cumulus_events_total}, {@code cumulus_emitted_events_total},
 * {@code cumulus_pending_events} and so on.
 *
 * <h2>Cost</h2>
 * Nothing is counted twice: the meters read the counters the runtime keeps anyway (its
 * {@link Fn#stats()}), so an invocation costs the same with or without a registry, unless a
 * percentile histogram is asked for, which records every latency. A function's meters share one
 * stats snapshot, taken when the first of them is read and reused by the others for up to a second
 * (a meter read twice takes a new one): a scrape costs one {@code stats()} per function (and, for a
 * function that served tenants, one reading of its tenants' usage, shared the same way by their
 * meters), and a meter read at most a second after a sibling may show the sibling's moment.
 *
 * <h2>Registrations</h2>
 * A function's meters appear when it is registered and are removed once it is unregistered and has
 * finished what it accepted. The meters of a <b>name</b> count every registration of it, as
 * {@link Cumulus#usage()} does: registering a name again continues its counters from where they
 * stood, so they never go back (a percentile histogram, which only the registry keeps, starts again).
 * Registering a name again never fails with "meter already exists". When the runtime closes, its
 * meters are removed.
 *
 * <p>A registry that throws costs its meters, never a call: failures are logged. Bind several runtimes
 * to one registry with a tag that tells them apart ({@link Builder#tags}); binding the same registry
 * twice does nothing. Instances are thread-safe.
 */
public final class CumulusMetrics implements MeterBinder, AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.cumulus");
  /** How long a function's stats snapshot may serve the meters that have not read it yet. */
  private static final long SNAPSHOT_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final String INVOCATIONS = "Calls of the function that reached admission, by outcome";
  private static final String LATENCY = "Time from call to completion of the function's invocations"
      + " that ran, queue wait included";
  private static final String INVOCATIONS_UNIT = "invocations";
  private static final String EVENTS = "Events emitted to the function, by what became of them: succeeded or"
      + " dead-lettered once ended, or not accepted (duplicate idempotency key, backlog full)";
  private static final String EVENTS_UNIT = "events";
  private static final String TENANT_INVOCATIONS = "Calls of the function made for the tenant that reached"
      + " admission, by outcome (an event's attempts included)";
  private static final String SECONDS = "seconds";

  private final Engine engine;
  private final Tags tags;
  private final boolean percentileHistogram;
  private final boolean tenantMeters;
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<MeterRegistry, Binding> bindings = new IdentityHashMap<>();
  private boolean closed;

  private CumulusMetrics(Engine engine, Tags tags, boolean percentileHistogram, boolean tenantMeters) {
    this.engine = engine;
    this.tags = tags;
    this.percentileHistogram = percentileHistogram;
    this.tenantMeters = tenantMeters;
  }

  /**
   * Returns a binder of {@code cumulus}'s meters with no extra tag and no percentile histogram.
   *
   * @param cumulus the runtime
   * @return the binder, bound to no registry yet
   * @throws NullPointerException if {@code cumulus} is null
   */
  public static CumulusMetrics of(Cumulus cumulus) {
    return builder(cumulus).build();
  }

  /**
   * Returns a builder of a binder of {@code cumulus}'s meters.
   *
   * @param cumulus the runtime
   * @return the builder
   * @throws NullPointerException if {@code cumulus} is null
   */
  public static Builder builder(Cumulus cumulus) {
    Objects.requireNonNull(cumulus, "cumulus");
    return new Builder(cumulus);
  }

  /**
   * Registers the meters with {@code registry}: the runtime's, and those of every function registered
   * now or later. Binding a registry a second time does nothing.
   *
   * @param registry the registry
   * @throws NullPointerException if {@code registry} is null
   * @throws IllegalStateException if this binder was closed
   * @throws RuntimeClosedException if the runtime is closed (its meters were removed)
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    if (engine.isClosing()) {
      throw new RuntimeClosedException(null, "the Cumulus runtime is closed; it has no meters to bind");
    }
    Binding binding;
    lock.lock();
    try {
      requireState(!closed, "this CumulusMetrics was closed; create another to bind %s", registry);
      if (bindings.containsKey(registry)) {
        return;
      }
      binding = new Binding(registry);
      bindings.put(registry, binding);
    } finally {
      lock.unlock();
    }
    binding.start();
  }

  /**
   * Removes every meter this binder registered, from every registry, and stops following the
   * runtime's functions. Idempotent.
   */
  @Override
  public void close() {
    List<Binding> all;
    lock.lock();
    try {
      closed = true;
      all = new ArrayList<>(bindings.values());
      bindings.clear();
    } finally {
      lock.unlock();
    }
    for (Binding b : all) {
      b.close();
    }
  }

  @Override
  public String toString() {
    return "CumulusMetrics{tags=" + tags + ", percentileHistogram=" + percentileHistogram
        + ", tenantMeters=" + tenantMeters + "}";
  }

  /** The meters of one registry, following the runtime's registrations. */
  private final class Binding implements RuntimeEvents {
    private final MeterRegistry registry;
    private final ReentrantLock bindingLock = new ReentrantLock();
    /** Guarded by {@link #bindingLock}. */
    private final Map<String, FunctionMeters> byName = new HashMap<>();
    private final List<Meter> runtimeMeters = new ArrayList<>();
    private @Nullable AutoCloseable observation;
    private boolean bindingClosed;
    private boolean warned;

    Binding(MeterRegistry registry) {
      this.registry = registry;
    }

    void start() {
      bindingLock.lock();
      try {
        bindRuntime();
      } finally {
        bindingLock.unlock();
      }
      AutoCloseable o = engine.hub().observe(this);
      bindingLock.lock();
      try {
        observation = o;
        if (bindingClosed) {
          closeQuietly(o);
          return;
        }
      } finally {
        bindingLock.unlock();
      }
      // After observing, so that none is missed; one registered meanwhile is seen twice, harmlessly.
      for (Registration d : engine.registrations()) {
        registered(d);
      }
    }

    private void bindRuntime() {
      add(runtimeMeters, Gauge.builder("cumulus.functions", engine, e -> e.functionCount())
          .tags(tags).baseUnit("functions").description("Functions registered"));
      add(runtimeMeters, Gauge.builder("cumulus.carriers.live", engine, e -> e.liveCarriers())
          .tags(tags).baseUnit(BaseUnits.THREADS)
          .description("Carrier threads of Cumulus alive; none when every function is idle"));
      add(runtimeMeters, Gauge.builder("cumulus.capacity.used", engine, e -> e.capacityInUse())
          .tags(tags).baseUnit(INVOCATIONS_UNIT)
          .description("Slots of the runtime-wide concurrency limit held now"));
      add(runtimeMeters, Gauge.builder("cumulus.capacity.limit", engine, e -> e.maxConcurrency())
          .tags(tags).baseUnit(INVOCATIONS_UNIT)
          .description("The runtime-wide concurrency limit (maxConcurrency)"));
      add(runtimeMeters, Gauge.builder("cumulus.metering.mode", engine, e -> 1)
          .tags(tags).tag("mode", engine.meteringMode().name().toLowerCase(Locale.ROOT))
          .description("Always 1; the tag mode says how the runtime meters compute"));
      add(runtimeMeters, FunctionCounter.builder("cumulus.listener.failures", engine,
              e -> e.hub().listenerFailures())
          .tags(tags).description("Times an event listener threw"));
      add(runtimeMeters, FunctionCounter.builder("cumulus.listener.dropped", engine,
              e -> e.hub().droppedEvents())
          .tags(tags).description("Lifecycle events dropped because a listener's buffer was full"));
      add(runtimeMeters, FunctionCounter.builder("cumulus.tenants.folded", engine, e -> e.tenantsFoldedCalls())
          .tags(tags).baseUnit("calls")
          .description("Calls and emits made for a tenant beyond maxTenants, accounted under the tenant other"));
    }

    @Override
    public void registered(Registration d) {
      bindingLock.lock();
      try {
        if (bindingClosed) {
          return;
        }
        FunctionMeters m = byName.get(d.name());
        if (m == null) {
          m = new FunctionMeters(d.name());
          bindFunction(m);
          byName.put(d.name(), m);
        }
        if (m.deployments.add(d)) {
          Timer histogram = m.histogram;
          if (histogram != null) {
            d.addLatencyTimer(histogram);
          }
          if (d.isGone()) { // found by start() after it had already retired
            forget(m, d);
          }
        }
      } finally {
        bindingLock.unlock();
      }
      // After the name's meters exist: a tenant served from now on finds them (tenantServed), and
      // one served before is read here. Read without our lock, which never holds the runtime's.
      syncTenants(d.name(), tenantMeters ? engine.tenantStatsOf(d.name()).keySet() : Set.of());
    }

    @Override
    public void tenantServed(Registration d, String tenant) {
      if (!tenantMeters) {
        return;
      }
      // On a caller's thread (an event loop, a worker): registry work goes to a thread of its own.
      EventHub.startOffCarriers("cumulus-metrics", () -> syncTenants(d.name(), Set.of(tenant)));
    }

    /** Registers the meters of the tenants of {@code name} that have none yet. */
    private void syncTenants(String name, Set<String> tenants) {
      if (tenants.isEmpty()) {
        return;
      }
      bindingLock.lock();
      try {
        FunctionMeters m = byName.get(name);
        if (m == null || bindingClosed) {
          return; // not registered yet (registered() reads the tenants after), or gone
        }
        for (String tenant : tenants) {
          if (m.tenants.add(tenant)) {
            bindTenant(m, tenant);
          }
        }
      } finally {
        bindingLock.unlock();
      }
    }

    @Override
    public void retired(Registration d) {
      // This may run on a worker: registry work goes to a thread of its own.
      EventHub.startOffCarriers("cumulus-metrics", () -> {
        bindingLock.lock();
        try {
          FunctionMeters m = byName.get(d.name());
          if (m != null && m.deployments.contains(d)) {
            forget(m, d);
          }
        } finally {
          bindingLock.unlock();
        }
      });
    }

    @Override
    public void runtimeClosed() {
      close();
    }

    /** Lock held. Stops following {@code d}; the name's meters go with its last registration. */
    private void forget(FunctionMeters m, Registration d) {
      m.deployments.remove(d);
      if (m.histogram != null) {
        d.removeLatencyTimer(m.histogram);
      }
      if (m.deployments.isEmpty()) {
        byName.remove(m.name);
        removeAll(m.meters);
      }
    }

    void close() {
      AutoCloseable o;
      bindingLock.lock();
      try {
        if (bindingClosed) {
          return;
        }
        bindingClosed = true;
        o = observation;
        for (FunctionMeters m : byName.values()) {
          Timer histogram = m.histogram;
          if (histogram != null) {
            m.deployments.forEach(d -> d.removeLatencyTimer(histogram));
          }
          removeAll(m.meters);
        }
        byName.clear();
        removeAll(runtimeMeters);
      } finally {
        bindingLock.unlock();
      }
      if (o != null) {
        closeQuietly(o);
      }
    }

    private void bindFunction(FunctionMeters m) {
      Tags t = tags.and("function", m.name);
      List<Meter> out = m.meters;
      outcome(m, t, "success", FunctionStats::successes);
      outcome(m, t, "failure", FunctionStats::failures);
      outcome(m, t, "timeout", FunctionStats::timeouts);
      outcome(m, t, "throttled", FunctionStats::throttles);
      outcome(m, t, "rejected", FunctionStats::rejected);
      outcome(m, t, "cancelled", FunctionStats::cancelled);
      if (percentileHistogram) {
        // Every latency recorded (only when asked): Prometheus buckets count every call since the
        // timer was created.
        Meter timer = add(out, Timer.builder("cumulus.invocation.latency").tags(t).description(LATENCY)
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofNanos(100_000))
            .maximumExpectedValue(Duration.ofSeconds(60)));
        m.histogram = timer instanceof Timer tm ? tm : null;
      } else {
        int count = m.reader();
        int total = m.reader();
        add(out, FunctionTimer.builder("cumulus.invocation.latency", m,
                fm -> ran(fm.read(count)),
                fm -> totalLatencyNanos(fm.read(total)), TimeUnit.NANOSECONDS)
            .tags(t).description(LATENCY));
      }
      counter(m, t, "cumulus.cpu.time", SECONDS, "CPU time used by the function's threads",
          s -> seconds(s.cpuTime()));
      counter(m, t, "cumulus.cpu.billed", SECONDS,
          "Billed CPU: each invocation's CPU time rounded up to a millisecond",
          s -> s.billedCpuMillis() / 1e3);
      counter(m, t, "cumulus.billed.duration", SECONDS,
          "Billed duration: each invocation's wall time rounded up to a millisecond",
          s -> s.billedMillis() / 1e3);
      counter(m, t, "cumulus.allocated", BaseUnits.BYTES, "Heap allocated by the function's threads",
          s -> (double) s.allocatedBytes());
      counter(m, t, "cumulus.processed", BaseUnits.BYTES,
          "Bytes the function's code reported processing (FnContext.addBytesProcessed)",
          s -> (double) s.bytesProcessed());
      counter(m, t, "cumulus.cold.starts", null, "Instances created by a call (each ran the init)",
          s -> (double) s.coldStarts());
      counter(m, t, "cumulus.init.time", SECONDS,
          "Time spent creating instances, provisioned ones included", s -> seconds(s.initTime()));
      gauge(m, t, "cumulus.in.flight", INVOCATIONS_UNIT, "Invocations running now, overdue ones included",
          s -> s.inFlight());
      gauge(m, t, "cumulus.queued", INVOCATIONS_UNIT, "Invocations waiting to start", s -> s.queued());
      gauge(m, t, "cumulus.warm", "instances", "Instances alive, busy or idle", s -> s.warmInstances());
      gauge(m, t, "cumulus.concurrency.peak", INVOCATIONS_UNIT, "The most invocations that ran at once",
          s -> s.peakConcurrency());
      add(out, Gauge.builder("cumulus.concurrency.limit", m, fm -> fm.limit())
          .tags(t).baseUnit(INVOCATIONS_UNIT)
          .description("The most invocations that may run at once now: the adaptive limit in force,"
              + " the reserved maxConcurrency, or what the runtime leaves unreserved"));
      // Events (Fn.emit): every emit is one of accepted (then succeeded, dead-lettered, or pending),
      // duplicate or throttled.
      eventOutcome(m, t, "succeeded", FunctionStats::eventsSucceeded);
      eventOutcome(m, t, "dead_lettered", FunctionStats::eventsDeadLettered);
      eventOutcome(m, t, "duplicate", FunctionStats::eventDuplicates);
      eventOutcome(m, t, "throttled", FunctionStats::eventsThrottled);
      counter(m, t, "cumulus.emitted", EVENTS_UNIT,
          "Events accepted by emit; a duplicate idempotency key is no new event", s -> (double) s.eventsAccepted());
      gauge(m, t, "cumulus.pending", EVENTS_UNIT,
          "Events accepted and not ended: waiting, running, waiting to retry, or with the dead-letter sink",
          s -> s.eventsPending());
      counter(m, t, "cumulus.event.retries", "retries", "Retries of events scheduled after a failed attempt",
          s -> (double) s.eventRetries());
      counter(m, t, "cumulus.dead.letter.sink.failures", "failures",
          "Times the function's dead-letter sink threw; the letter was logged and counts as delivered",
          s -> (double) s.deadLetterSinkFailures());
    }

    /**
     * Lock held. The meters of one tenant of a function, reading the tenant's usage (as
     * {@link Usage#byTenant()} has it) from one snapshot per function and scrape.
     */
    private void bindTenant(FunctionMeters m, String tenant) {
      Tags t = tags.and("function", m.name).and("tenant", tenant);
      tenantCounter(m, tenant, t.and("outcome", "success"), "cumulus.tenant.invocations", null, TENANT_INVOCATIONS,
          s -> (double) s.successes());
      tenantCounter(m, tenant, t.and("outcome", "failure"), "cumulus.tenant.invocations", null, TENANT_INVOCATIONS,
          s -> (double) s.failures());
      tenantCounter(m, tenant, t.and("outcome", "timeout"), "cumulus.tenant.invocations", null, TENANT_INVOCATIONS,
          s -> (double) s.timeouts());
      tenantCounter(m, tenant, t.and("outcome", "throttled"), "cumulus.tenant.invocations", null, TENANT_INVOCATIONS,
          s -> (double) s.throttles());
      tenantCounter(m, tenant, t.and("outcome", "rejected"), "cumulus.tenant.invocations", null, TENANT_INVOCATIONS,
          s -> (double) s.rejected());
      tenantCounter(m, tenant, t.and("outcome", "cancelled"), "cumulus.tenant.invocations", null, TENANT_INVOCATIONS,
          s -> (double) s.cancelled());
      tenantCounter(m, tenant, t, "cumulus.tenant.cpu.time", SECONDS,
          "CPU time of the invocations made for the tenant: each invocation's own", s -> seconds(s.cpuTime()));
      tenantCounter(m, tenant, t, "cumulus.tenant.cpu.billed", SECONDS,
          "Billed CPU of the invocations made for the tenant, each rounded up to a millisecond",
          s -> s.billedCpuMillis() / 1e3);
      tenantCounter(m, tenant, t, "cumulus.tenant.billed.duration", SECONDS,
          "Billed duration of the invocations made for the tenant, each rounded up to a millisecond",
          s -> s.billedMillis() / 1e3);
      tenantCounter(m, tenant, t, "cumulus.tenant.queue.wait", SECONDS,
          "Time the invocations made for the tenant waited in the function's queue, summed",
          s -> seconds(s.queueWait()));
    }

    private void tenantCounter(FunctionMeters m, String tenant, Tags t, String name, @Nullable String unit,
        String description, ToDoubleFunction<FunctionStats> value) {
      long[] seen = {0}; // the tenant snapshot this meter read last
      FunctionCounter.Builder<FunctionMeters> b = FunctionCounter.builder(name, m,
          fm -> value.applyAsDouble(fm.readTenant(tenant, seen))).tags(t).description(description);
      if (unit != null) {
        b.baseUnit(unit);
      }
      add(m.meters, b);
    }

    private void eventOutcome(FunctionMeters m, Tags t, String outcome, ToDoubleFunction<FunctionStats> value) {
      int reader = m.reader();
      add(m.meters, FunctionCounter.builder("cumulus.events", m, fm -> value.applyAsDouble(fm.read(reader)))
          .tags(t).tag("outcome", outcome).baseUnit(EVENTS_UNIT).description(EVENTS));
    }

    private void outcome(FunctionMeters m, Tags t, String outcome, ToDoubleFunction<FunctionStats> value) {
      int reader = m.reader();
      add(m.meters, FunctionCounter.builder("cumulus.invocations", m, fm -> value.applyAsDouble(fm.read(reader)))
          .tags(t).tag("outcome", outcome).description(INVOCATIONS));
    }

    private void counter(FunctionMeters m, Tags t, String name, @Nullable String unit, String description,
        ToDoubleFunction<FunctionStats> value) {
      int reader = m.reader();
      FunctionCounter.Builder<FunctionMeters> b =
          FunctionCounter.builder(name, m, fm -> value.applyAsDouble(fm.read(reader))).tags(t).description(description);
      if (unit != null) {
        b.baseUnit(unit);
      }
      add(m.meters, b);
    }

    private void gauge(FunctionMeters m, Tags t, String name, String unit, String description,
        ToDoubleFunction<FunctionStats> value) {
      int reader = m.reader();
      add(m.meters, Gauge.builder(name, m, fm -> value.applyAsDouble(fm.read(reader)))
          .tags(t).baseUnit(unit).description(description));
    }

    /** Registers a meter; a registry that throws loses the meter, the runtime nothing. */
    private @Nullable Meter add(List<Meter> into, Object builder) {
      try {
        Meter meter = switch (builder) {
          case Gauge.Builder<?> g -> g.register(registry);
          case FunctionCounter.Builder<?> c -> c.register(registry);
          case FunctionTimer.Builder<?> f -> f.register(registry);
          case Timer.Builder tb -> tb.register(registry);
          default -> throw new IllegalArgumentException("not a meter builder: " + builder);
        };
        into.add(meter);
        return meter;
      } catch (RuntimeException e) {
        registryFailed("registering a Cumulus meter with " + registry.getClass().getName() + " failed", e);
        return null;
      }
    }

    private void removeAll(List<Meter> meters) {
      for (Meter meter : meters) {
        try {
          registry.remove(meter);
        } catch (RuntimeException e) {
          registryFailed("removing a Cumulus meter from " + registry.getClass().getName() + " failed", e);
        }
      }
      meters.clear();
    }

    private void registryFailed(String message, RuntimeException e) {
      if (!warned) { // once per registry with its stack trace; the rest briefly
        warned = true;
        LOG.log(System.Logger.Level.WARNING, message + "; the runtime goes on without that meter", e);
      } else {
        LOG.log(System.Logger.Level.DEBUG, message + ": " + e);
      }
    }
  }

  /** The meters of one function name in one registry, and the stats snapshot they share. */
  private final class FunctionMeters {
    final String name;
    final List<Meter> meters = new ArrayList<>();
    /** The registrations of the name whose usage the meters still follow (identity). */
    final Set<Registration> deployments = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    @Nullable Timer histogram;
    /** The tenants whose meters are registered. Guarded by the binding's lock. */
    final Set<String> tenants = new java.util.HashSet<>();
    private int readers;
    private final ReentrantLock snapshotLock = new ReentrantLock();
    private @Nullable FunctionStats snapshot;
    private long readBy;
    private long takenAt;

    FunctionMeters(String name) {
      this.name = name;
    }

    /** A new reader index: each value a meter reads has its own (at most 64). */
    int reader() {
      return readers++;
    }

    /**
     * The stats for reader {@code reader}: the shared snapshot if this reader has not read it yet
     * and it is fresh, else a new one (so every scrape takes one, and only one, per function).
     */
    FunctionStats read(int reader) {
      long bit = 1L << reader;
      snapshotLock.lock();
      try {
        FunctionStats s = snapshot;
        if (s != null && (readBy & bit) == 0 && engine.nanoTime() - takenAt < SNAPSHOT_NANOS) {
          readBy |= bit;
          return s;
        }
      } finally {
        snapshotLock.unlock();
      }
      // Taken without the lock: the runtime's registration lock is never taken inside ours.
      FunctionStats fresh = engine.statsOf(name);
      snapshotLock.lock();
      try {
        if (fresh == null) {
          fresh = snapshot != null ? snapshot : FunctionStats.empty(name);
        }
        snapshot = fresh;
        readBy = bit;
        takenAt = engine.nanoTime();
        return fresh;
      } finally {
        snapshotLock.unlock();
      }
    }

    double limit() {
      Registration d = engine.registration(name);
      return d == null ? 0 : d.concurrencyLimit();
    }

    // The tenants' meters share one snapshot of every tenant's usage of the function, as the
    // function's meters share one of its stats: a meter that has not read the latest one, taken
    // less than a second ago, reads it; else it takes a new one. Generations instead of reader
    // bits: a function may have maxTenants + 1 tenants of ten meters each.
    private Map<String, FunctionStats> tenantSnapshot = Map.of();
    private long tenantGeneration;
    private long tenantTakenAt;

    FunctionStats readTenant(String tenant, long[] seen) {
      snapshotLock.lock();
      try {
        if (tenantGeneration != 0 && seen[0] != tenantGeneration
            && engine.nanoTime() - tenantTakenAt < SNAPSHOT_NANOS) {
          seen[0] = tenantGeneration;
          return tenantSnapshot.getOrDefault(tenant, FunctionStats.empty(name));
        }
      } finally {
        snapshotLock.unlock();
      }
      // Taken without the lock: the runtime's registration lock is never taken inside ours.
      Map<String, FunctionStats> fresh = engine.tenantStatsOf(name);
      snapshotLock.lock();
      try {
        Map<String, FunctionStats> merged = new HashMap<>(tenantSnapshot);
        merged.putAll(fresh); // a line never goes back, even if a reading were to miss it
        tenantSnapshot = merged;
        tenantGeneration++;
        tenantTakenAt = engine.nanoTime();
        seen[0] = tenantGeneration;
        return merged.getOrDefault(tenant, FunctionStats.empty(name));
      } finally {
        snapshotLock.unlock();
      }
    }
  }

  /**
   * Invocations that ran to their end: those that succeeded, failed or timed out, less the overdue
   * and those that timed out in the queue (they never ran).
   */
  private static long ran(FunctionStats s) {
    return Math.max(0, s.successes() + s.failures() + s.timeouts() - s.queueTimeouts() - s.overdue());
  }

  private static double totalLatencyNanos(FunctionStats s) {
    return (double) s.queueWait().toNanos() + s.wallTime().toNanos();
  }

  private static double seconds(Duration d) {
    return d.getSeconds() + d.getNano() / 1e9;
  }


  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      LOG.log(System.Logger.Level.DEBUG, "closing an observation failed: " + e);
    }
  }

  /**
   * Options of a {@link CumulusMetrics}. Mutable, single-use and not thread-safe, like every builder
   * here; what it builds is immutable in its options.
   */
  public static final class Builder {
    private static final Set<String> RESERVED = Set.of("function", "outcome", "mode", "tenant");
    private @Nullable Cumulus cumulus;
    private Tags tags = Tags.empty();
    private boolean percentileHistogram;
    private boolean tenantMeters = true;
    private boolean built;

    Builder(@Nullable Cumulus cumulus) {
      this.cumulus = cumulus;
    }

    /**
     * Adds tags to every meter, for instance to tell several runtimes bound to one registry apart.
     *
     * @param tags the tags
     * @return this builder
     * @throws NullPointerException if {@code tags} is null
     * @throws IllegalArgumentException if a tag's key is one the meters use ({@code function},
     *     {@code outcome}, {@code mode}, {@code tenant})
     */
    public Builder tags(Iterable<Tag> tags) {
      Objects.requireNonNull(tags, "tags");
      for (Tag tag : tags) {
        requireArgument(!RESERVED.contains(tag.getKey()),
            "tag key '%s' is used by Cumulus's own meters; pick another", tag.getKey());
      }
      this.tags = this.tags.and(tags);
      return this;
    }

    /**
     * Records every invocation's latency in a Micrometer {@link Timer} with a percentile histogram
     * (buckets from 100 µs to 60 s), so that a registry such as Prometheus's can compute percentiles
     * across instances. That is work on every call: about 0.2 µs, measured on a no-op function (40 %
     * of its time; {@code MetricsOverhead} in the benchmarks). Off by default: the latency is then a
     * {@link FunctionTimer} over the runtime's own counters, which costs invocations nothing.
     *
     * @param enabled whether to publish the histogram
     * @return this builder
     */
    public Builder percentileHistogram(boolean enabled) {
      this.percentileHistogram = enabled;
      return this;
    }

    /**
     * Publishes, or not, the meters of each tenant of each function ({@code cumulus.tenant.*},
     * tagged {@code function} and {@code tenant}): on by default. They exist only for functions that
     * served {@linkplain CallOptions#tenant(String) tenants}, and are bounded by
     * {@link Cumulus.Builder#maxTenants(int)}: ten series per tenant and function, for at most
     * {@code maxTenants} tenants and {@code other}. Turn them off when that is more series than the
     * registry should hold; {@link Usage#byTenant()} keeps the same figures either way.
     *
     * @param enabled whether to publish the tenants' meters
     * @return this builder
     */
    public Builder tenantMeters(boolean enabled) {
      this.tenantMeters = enabled;
      return this;
    }

    /**
     * Builds the binder.
     *
     * @return the binder, bound to no registry yet
     * @throws IllegalStateException if this builder already built one, or was given by
     *     {@link Cumulus.Builder#meterRegistry(MeterRegistry, java.util.function.Consumer)}, which builds it
     */
    public CumulusMetrics build() {
      Cumulus c = cumulus;
      if (c == null) {
        throw new IllegalStateException("this builder is Cumulus.Builder.meterRegistry's: set options"
            + " on it, the runtime builds it");
      }
      return buildFor(c);
    }

    CumulusMetrics buildFor(Cumulus c) {
      requireState(!built, "this builder already built a CumulusMetrics");
      built = true;
      return new CumulusMetrics(c.engine(), tags, percentileHistogram, tenantMeters);
    }
  }
}
