package dev.cumulus.vertx;

import dev.cumulus.Bill;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.MeteringMode;
import dev.cumulus.PriceModel;
import dev.cumulus.Usage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Turns successive {@link Usage} snapshots into the dashboard's frames: the figures of the moment,
 * rates over the interval since the previous snapshot (calls and CPU-ms per second), and the bill
 * with its projection per hour and per month at the rate of the last minute. Everything is derived
 * from the snapshots alone (their {@link Usage#until()} is the clock), so it is tested with made-up
 * usage and no timing.
 *
 * <p>Not thread-safe: the feed computes one frame at a time.
 */
final class DashboardFrames {
  /** The projection is the cost rate over this much of the recent past. */
  static final Duration PROJECTION_WINDOW = Duration.ofMinutes(1);
  /** An average month: 365 × 24 / 12 hours. */
  static final int HOURS_PER_MONTH = 730;

  /** The bill of one snapshot: each function's cost and the total, in the model's currency. */
  private record Costs(Instant at, Map<String, BigDecimal> byFunction, BigDecimal total) {}

  private final PriceModel model;
  private @Nullable Usage previous;
  /** Bills within the projection window, oldest first; the first one may be older (the base). */
  private final ArrayDeque<Costs> costs = new ArrayDeque<>();

  DashboardFrames(PriceModel model) {
    this.model = model;
  }

  /** Forgets the past: the next frame has no rates and no projection (the feed restarts). */
  void reset() {
    previous = null;
    costs.clear();
  }

  /**
   * The frame of a snapshot.
   *
   * @param usage the runtime's usage now
   * @param carrierThreads the runtime's live carrier threads now
   * @param registered the registered functions' specs by name (a function of the usage not among
   *     them was unregistered and keeps its line)
   */
  JsonObject next(Usage usage, int carrierThreads, Map<String, FnSpec<?, ?>> registered) {
    Usage before = previous;
    double seconds = before == null ? 0 : Duration.between(before.until(), usage.until()).toNanos() / 1e9;
    boolean rates = before != null && seconds > 0;
    Map<String, FunctionStats> earlier = new HashMap<>();
    if (before != null) {
      before.functions().forEach(s -> earlier.put(s.name(), s));
    }

    Bill bill = null;
    String billError = null;
    try {
      bill = usage.bill(model);
    } catch (RuntimeException e) { // a model that cannot price this metering mode, or a faulty one
      billError = "the price model cannot price this usage: " + e.getMessage();
    }
    Map<String, BigDecimal> cost = new HashMap<>();
    Costs now = null;
    Costs base = null;
    if (bill != null) {
      bill.lines().forEach(l -> cost.merge(l.function(), l.total(), BigDecimal::add));
      now = new Costs(usage.until(), cost, bill.total());
      base = projectionBase(now);
    }
    double hours = base == null ? 0 : Duration.between(base.at(), usage.until()).toNanos() / 3.6e12;

    boolean exact = usage.meteringMode() == MeteringMode.EXACT;
    JsonArray functions = new JsonArray();
    int inFlight = 0;
    int queued = 0;
    int warm = 0;
    long coldStarts = 0;
    long throttles = 0;
    long errors = 0;
    double callsPerSec = 0;
    double cpuMsPerSec = 0;
    for (FunctionStats s : usage.functions()) {
      FunctionStats was = earlier.get(s.name());
      FnSpec<?, ?> spec = registered.get(s.name());
      JsonObject f = new JsonObject()
          .put("name", s.name())
          .put("registered", spec != null)
          .put("maxConcurrency", spec == null || spec.maxConcurrency().isEmpty() ? null : spec.maxConcurrency().getAsInt())
          .put("queueCapacity", spec == null ? null : spec.queueCapacity())
          .put("inFlight", s.inFlight())
          .put("queued", s.queued())
          .put("warm", s.warmInstances())
          .put("coldStarts", s.coldStarts())
          .put("invocations", s.invocations())
          .put("throttles", s.throttles())
          .put("failures", s.failures())
          .put("timeouts", s.timeouts())
          .put("errors", s.failures() + s.timeouts());
      if (s.latency().samples() > 0) {
        f.put("p50Ms", millis(s.latency().p50())).put("p99Ms", millis(s.latency().p99()));
      }
      if (rates) {
        double calls = Math.max(0, s.invocations() - (was == null ? 0 : was.invocations())) / seconds;
        f.put("callsPerSec", calls);
        callsPerSec += calls;
        if (exact) {
          double cpu = Math.max(0, millis(s.cpuTime()) - (was == null ? 0 : millis(was.cpuTime()))) / seconds;
          f.put("cpuMsPerSec", cpu);
          cpuMsPerSec += cpu;
        }
      }
      if (now != null) {
        BigDecimal c = cost.getOrDefault(s.name(), BigDecimal.ZERO);
        f.put("cost", c.doubleValue());
        if (base != null && hours > 0) {
          double perHour = c.subtract(base.byFunction().getOrDefault(s.name(), BigDecimal.ZERO)).doubleValue() / hours;
          f.put("costPerHour", Math.max(0, perHour)).put("costPerMonth", Math.max(0, perHour) * HOURS_PER_MONTH);
        }
      }
      functions.add(f);
      inFlight += s.inFlight();
      queued += s.queued();
      warm += s.warmInstances();
      coldStarts += s.coldStarts();
      throttles += s.throttles();
      errors += s.failures() + s.timeouts();
    }

    JsonObject total = new JsonObject()
        .put("inFlight", inFlight)
        .put("queued", queued)
        .put("warm", warm)
        .put("coldStarts", coldStarts)
        .put("throttles", throttles)
        .put("errors", errors);
    if (rates) {
      total.put("callsPerSec", callsPerSec);
      if (exact) {
        total.put("cpuMsPerSec", cpuMsPerSec);
      }
    }
    if (now != null) {
      total.put("cost", now.total().doubleValue());
      if (base != null && hours > 0) {
        double perHour = Math.max(0, now.total().subtract(base.total()).doubleValue() / hours);
        total.put("costPerHour", perHour).put("costPerMonth", perHour * HOURS_PER_MONTH);
      }
    }

    previous = usage;
    return new JsonObject()
        .put("t", usage.until().toEpochMilli())
        .put("meteringMode", usage.meteringMode().name())
        .put("priceModel", model.description())
        .put("billError", billError)
        .put("projectionWindowSeconds", PROJECTION_WINDOW.toSeconds())
        .put("hoursPerMonth", HOURS_PER_MONTH)
        .put("carrierThreads", carrierThreads)
        .put("total", total)
        .put("functions", functions);
  }

  /**
   * Adds {@code now} to the window and returns the bill the projection starts from: the newest one
   * at least {@link #PROJECTION_WINDOW} old, or else the oldest kept; {@code null} if there is none
   * before {@code now}.
   */
  private @Nullable Costs projectionBase(Costs now) {
    Instant horizon = now.at().minus(PROJECTION_WINDOW);
    // Keep one bill at or beyond the horizon as the base; drop those older than it.
    while (costs.size() >= 2) {
      Iterator<Costs> oldest = costs.iterator();
      oldest.next();
      if (oldest.next().at().isAfter(horizon)) {
        break;
      }
      costs.removeFirst();
    }
    Costs base = costs.peekFirst();
    costs.addLast(now);
    return base;
  }

  /**
   * The small part of a frame the charts need, kept as history for clients that connect later:
   * time, carrier threads, CPU-ms per second, and each function's in-flight, queued and CPU-ms per
   * second. Its fields are named as in the frame, so a page reads both the same way.
   */
  static JsonObject point(JsonObject frame) {
    JsonArray functions = new JsonArray();
    for (Object o : frame.getJsonArray("functions")) {
      JsonObject f = (JsonObject) o;
      functions.add(new JsonObject()
          .put("name", f.getString("name"))
          .put("inFlight", f.getInteger("inFlight"))
          .put("queued", f.getInteger("queued"))
          .put("cpuMsPerSec", f.getValue("cpuMsPerSec")));
    }
    JsonObject total = frame.getJsonObject("total");
    return new JsonObject()
        .put("t", frame.getLong("t"))
        .put("carrierThreads", frame.getInteger("carrierThreads"))
        .put("total", new JsonObject()
            .put("inFlight", total.getInteger("inFlight"))
            .put("queued", total.getInteger("queued"))
            .put("cpuMsPerSec", total.getValue("cpuMsPerSec")))
        .put("functions", functions);
  }

  private static double millis(Duration d) {
    return d.toNanos() / 1e6;
  }
}
