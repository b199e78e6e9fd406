package dev.cumulus.vertx;

import dev.cumulus.Fn;
import dev.cumulus.FunctionStats;
import dev.cumulus.MeteringMode;
import io.vertx.core.http.HttpServerResponse;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * The figures of one invocation for the {@code Cumulus-Cpu-Ms}, {@code Cumulus-Billed-Ms} and
 * {@code Cumulus-Cold-Start} headers.
 *
 * <p>Cumulus's public API has no per-invocation receipt yet, only a function's running totals
 * ({@link Fn#stats()}), which include every invocation whose caller has its result. So a call's
 * figures are the difference of two snapshots, taken before the call and after its result, and they
 * are exact only when nothing else ran the function in between: no other call of it in flight or
 * queued at either snapshot, and exactly one more invocation counted. Then the headers are sent;
 * when other calls overlapped, they are left out rather than made up. To keep that cheap under load,
 * a call takes snapshots only when it is the gateway's only call of that function in flight.
 *
 * <p>Once core returns per-invocation figures with the result (the receipt the adapter asked for),
 * this class goes and every response gets the headers. Thread-safe.
 */
final class InvocationFigures {
  static final String CPU_MS = "Cumulus-Cpu-Ms";
  static final String BILLED_MS = "Cumulus-Billed-Ms";
  static final String COLD_START = "Cumulus-Cold-Start";

  /** This gateway's calls in flight per function; entries exist only for registered names called. */
  private final ConcurrentHashMap<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

  /** Starts watching one call of {@code fn}; {@link Probe#end} must follow, whatever the outcome. */
  Probe start(Fn<?, ?> fn) {
    AtomicInteger calls = inFlight.computeIfAbsent(fn.name(), n -> new AtomicInteger());
    FunctionStats before = calls.incrementAndGet() == 1 ? fn.stats() : null;
    if (before != null && (before.inFlight() > 0 || before.queued() > 0)) {
      before = null;
    }
    return new Probe(fn, calls, before);
  }

  /** One call being watched. Not thread-safe: used on the request's context only. */
  static final class Probe {
    private final Fn<?, ?> fn;
    private final AtomicInteger calls;
    private final @Nullable FunctionStats before;
    private boolean ended;

    private Probe(Fn<?, ?> fn, AtomicInteger calls, @Nullable FunctionStats before) {
      this.fn = fn;
      this.calls = calls;
      this.before = before;
    }

    /**
     * Ends the watch. After a success, puts the headers on {@code response} if the figures could be
     * attributed to this call alone.
     */
    void end(@Nullable HttpServerResponse response, MeteringMode mode) {
      if (ended) {
        return;
      }
      ended = true;
      FunctionStats b = before;
      FunctionStats a = b == null || response == null ? null : fn.stats();
      calls.decrementAndGet();
      if (b == null || a == null || response == null
          || a.invocations() - b.invocations() != 1 || a.successes() - b.successes() != 1
          || a.inFlight() != 0 || a.queued() != 0) {
        return;
      }
      response.putHeader(COLD_START, Boolean.toString(a.coldStarts() > b.coldStarts()));
      response.putHeader(BILLED_MS, Long.toString(a.billedMillis() - b.billedMillis()));
      if (mode == MeteringMode.EXACT) {
        // The invocation's own CPU as billed (rounded up to a whole millisecond, at least 1). Not the
        // difference of cpuTime: that also holds the worker's start and bookkeeping around the call.
        response.putHeader(CPU_MS, Long.toString(a.billedCpuMillis() - b.billedCpuMillis()));
      }
    }
  }
}
