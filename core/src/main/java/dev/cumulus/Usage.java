package dev.cumulus;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A runtime's metered usage: every function's stats, the runtime totals, the metering mode, and the
 * window the figures cover (from the runtime's creation to the snapshot). Functions that were
 * unregistered keep their line, so nothing used goes unbilled. Immutable.
 *
 * <p>Calls made for {@linkplain CallOptions#tenant(String) tenants} are in the functions' lines, and
 * again, tenant by tenant, in {@link #byTenant()}: one {@code Usage} per tenant, whose lines are
 * that tenant's use of each function, to bill it:
 *
 * <pre>{@code
 * Map<String, Usage> tenants = cumulus.usage().byTenant();
 * tenants.forEach((tenant, usage) -> System.out.println(tenant + ": " + usage.bill(model).total()));
 * }</pre>
 *
 * @param meteringMode how the usage was metered
 * @param since when the runtime was created
 * @param until when this snapshot was taken
 * @param functions each function's stats, by name
 * @param byTenant each tenant's usage, by tenant: its lines carry the counters and the time of that
 *     tenant's invocations (each invocation's own CPU time, wall time, queue wait, billed
 *     milliseconds), while gauges, instances, init time, allocated bytes and percentiles, which
 *     belong to a function rather than to a tenant, are zero; calls without a tenant are in no
 *     tenant's usage; tenants beyond {@link Cumulus.Builder#maxTenants(int)} are together under
 *     {@code "other"}; empty in a tenant's own usage
 */
public record Usage(MeteringMode meteringMode, Instant since, Instant until, List<FunctionStats> functions,
    Map<String, Usage> byTenant) {
  /**
   * Checks and copies the usage.
   *
   * @throws NullPointerException if a component is null
   */
  public Usage {
    Objects.requireNonNull(meteringMode, "meteringMode");
    Objects.requireNonNull(since, "since");
    Objects.requireNonNull(until, "until");
    functions = List.copyOf(functions);
    byTenant = Collections.unmodifiableMap(new TreeMap<>(byTenant));
  }

  /**
   * A usage without tenants.
   *
   * @param meteringMode how the usage was metered
   * @param since when the runtime was created
   * @param until when this snapshot was taken
   * @param functions each function's stats, by name
   * @throws NullPointerException if an argument is null
   */
  public Usage(MeteringMode meteringMode, Instant since, Instant until, List<FunctionStats> functions) {
    this(meteringMode, since, until, functions, Map.of());
  }

  /** {@return the window the figures cover} */
  public Duration window() {
    return Duration.between(since, until);
  }

  /** {@return the invocations of all functions} */
  public long invocations() {
    return functions.stream().mapToLong(FunctionStats::invocations).sum();
  }

  /** {@return the CPU time of all functions (zero unless EXACT)} */
  public Duration cpuTime() {
    return functions.stream().map(FunctionStats::cpuTime).reduce(Duration.ZERO, Duration::plus);
  }

  /** {@return the wall time of all invocations} */
  public Duration wallTime() {
    return functions.stream().map(FunctionStats::wallTime).reduce(Duration.ZERO, Duration::plus);
  }

  /** {@return the bytes allocated by all functions (zero unless EXACT)} */
  public long allocatedBytes() {
    return functions.stream().mapToLong(FunctionStats::allocatedBytes).sum();
  }

  /** {@return the billed wall milliseconds of all functions} */
  public long billedMillis() {
    return functions.stream().mapToLong(FunctionStats::billedMillis).sum();
  }

  /** {@return the billed CPU milliseconds of all functions} */
  public long billedCpuMillis() {
    return functions.stream().mapToLong(FunctionStats::billedCpuMillis).sum();
  }

  /** {@return the bytes all functions' code reported processing ({@link FnContext#addBytesProcessed})} */
  public long bytesProcessed() {
    return functions.stream().mapToLong(FunctionStats::bytesProcessed).sum();
  }

  /** {@return the events accepted by all functions ({@link Fn#emit})} */
  public long eventsAccepted() {
    return functions.stream().mapToLong(FunctionStats::eventsAccepted).sum();
  }

  /** {@return the events of all functions that succeeded} */
  public long eventsSucceeded() {
    return functions.stream().mapToLong(FunctionStats::eventsSucceeded).sum();
  }

  /** {@return the events of all functions handed to their dead-letter sinks} */
  public long eventsDeadLettered() {
    return functions.stream().mapToLong(FunctionStats::eventsDeadLettered).sum();
  }

  /** {@return the events of all functions accepted and not ended yet} */
  public long eventsPending() {
    return functions.stream().mapToLong(FunctionStats::eventsPending).sum();
  }

  /**
   * Prices this usage.
   *
   * @param model the price model
   * @return the bill, one line per function
   * @throws NullPointerException if {@code model} is null
   * @throws IllegalStateException if the model needs a metering mode this usage lacks
   */
  public Bill bill(PriceModel model) {
    Objects.requireNonNull(model, "model");
    return Bill.of(functions, meteringMode, model);
  }

  /**
   * Formats the usage as an aligned table, one line per function and a total; with a column of bytes
   * processed when any function reported some, and three more (events accepted, dead-lettered,
   * pending) when any function had events.
   */
  @Override
  public String toString() {
    boolean processed = functions.stream().anyMatch(s -> s.bytesProcessed() > 0);
    boolean events = functions.stream().anyMatch(s -> s.eventsAccepted() > 0);
    List<String[]> rows = new ArrayList<>();
    rows.add(row(processed, events, new String[] {"function", "calls", "ok", "failed", "timeouts", "throttled",
        "cold", "peak", "cpu", "wall", "alloc", "billed ms", "cpu ms"}, "processed",
        new String[] {"p50", "p99"}, "events", "dead", "pending"));
    for (FunctionStats s : functions) {
      rows.add(row(processed, events, new String[] {s.name(), Long.toString(s.invocations()),
          Long.toString(s.successes()),
          Long.toString(s.failures()), Long.toString(s.timeouts()), Long.toString(s.throttles()),
          Long.toString(s.coldStarts()), Integer.toString(s.peakConcurrency()),
          Durations.format(s.cpuTime()), Durations.format(s.wallTime()), bytes(s.allocatedBytes()),
          Long.toString(s.billedMillis()), Long.toString(s.billedCpuMillis())}, bytes(s.bytesProcessed()),
          new String[] {Durations.format(s.latency().p50()), Durations.format(s.latency().p99())},
          Long.toString(s.eventsAccepted()), Long.toString(s.eventsDeadLettered()),
          Long.toString(s.eventsPending())));
    }
    rows.add(row(processed, events, new String[] {"TOTAL", Long.toString(invocations()),
        Long.toString(functions.stream().mapToLong(FunctionStats::successes).sum()),
        Long.toString(functions.stream().mapToLong(FunctionStats::failures).sum()),
        Long.toString(functions.stream().mapToLong(FunctionStats::timeouts).sum()),
        Long.toString(functions.stream().mapToLong(FunctionStats::throttles).sum()),
        Long.toString(functions.stream().mapToLong(FunctionStats::coldStarts).sum()), "",
        Durations.format(cpuTime()), Durations.format(wallTime()), bytes(allocatedBytes()),
        Long.toString(billedMillis()), Long.toString(billedCpuMillis())}, bytes(bytesProcessed()),
        new String[] {"", ""},
        Long.toString(eventsAccepted()), Long.toString(eventsDeadLettered()), Long.toString(eventsPending())));
    String table = "Usage over " + Durations.format(window()) + " (metering " + meteringMode + ")\n"
        + TextTable.format(rows, 1);
    if (byTenant.isEmpty()) {
      return table;
    }
    List<String[]> tenants = new ArrayList<>();
    tenants.add(new String[] {"tenant", "function", "calls", "ok", "failed", "timeouts", "throttled", "cpu",
        "wall", "queue wait", "billed ms", "cpu ms"});
    byTenant.forEach((tenant, usage) -> {
      for (FunctionStats s : usage.functions()) {
        tenants.add(new String[] {tenant, s.name(), Long.toString(s.invocations()), Long.toString(s.successes()),
            Long.toString(s.failures()), Long.toString(s.timeouts()), Long.toString(s.throttles()),
            Durations.format(s.cpuTime()), Durations.format(s.wallTime()), Durations.format(s.queueWait()),
            Long.toString(s.billedMillis()), Long.toString(s.billedCpuMillis())});
      }
    });
    return table + "\nBy tenant\n" + TextTable.format(tenants, 2);
  }

  /** A row: the usage columns, bytes processed if shown, the percentiles, the event columns if shown. */
  private static String[] row(boolean processed, boolean events, String[] usage, String bytesProcessed,
      String[] percentiles, String... eventColumns) {
    List<String> all = new ArrayList<>(List.of(usage));
    if (processed) {
      all.add(bytesProcessed);
    }
    all.addAll(List.of(percentiles));
    if (events) {
      all.addAll(List.of(eventColumns));
    }
    return all.toArray(String[]::new);
  }

  /** Bytes in binary units (B, KiB, MiB, GiB, TiB), for tables. */
  static String bytes(long b) {
    if (b < 1024) {
      return b + " B";
    } else if (b < 1024 * 1024) {
      return String.format(java.util.Locale.ROOT, "%.1f KiB", b / 1024.0);
    } else if (b < 1024L * 1024 * 1024) {
      return String.format(java.util.Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
    } else if (b < 1024L * 1024 * 1024 * 1024) {
      return String.format(java.util.Locale.ROOT, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    }
    return String.format(java.util.Locale.ROOT, "%.2f TiB", b / (1024.0 * 1024 * 1024 * 1024));
  }
}
