package dev.cumulus.benchmarks;

import dev.cumulus.ConcurrencyLimit;
import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.ThrottledException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;

/**
 * An adaptive concurrency limit against fixed ones, in front of a simulated downstream with a
 * capacity knee: a call takes {@value #BASE_MILLIS} ms while at most {@code knee} run at once, and
 * {@code knee}-proportionally longer beyond (a server of {@code knee} slots that shares itself among
 * everything sent to it: its throughput stays {@code knee / base}, only latency grows).
 *
 * <p><b>Load.</b> Open loop: calls arrive at a fixed rate of 1.5 times the downstream's capacity,
 * from one thread, as {@code invokeAsync}; every function has {@code queueCapacity(}{@value #QUEUE}
 * {@code )}, so what the limit cannot take waits there, and the excess is throttled at once. Reported
 * per limit: successful calls per second, end-to-end latency of successful calls (call to completion,
 * queue wait included) at p50 and p99, the share throttled, and the most calls in the downstream at
 * once. Baselines in the same run: fixed limits around the knee, and fixed at the adaptive limit's
 * max ({@value #MAX}): what a function without an adaptive limit would do with that much headroom.
 * Targets: adaptive p99 below fixed-at-max, adaptive throughput at least 90 % of the best fixed one.
 *
 * <p><b>Step.</b> The knee moves mid-run (16, then 48, then 8, {@value #STEP_SECONDS} s each) under a
 * load of 1.5 times the largest capacity; the adaptive limit is sampled every 250 ms (its trace),
 * and each phase's throughput and p99 are set beside those of fixed-at-max and fixed at 16.
 *
 * <p>Run: {@code java --add-opens=java.base/java.lang=ALL-UNNAMED -cp
 * jmh-benchmarks/target/benchmarks.jar dev.cumulus.benchmarks.AdaptiveConcurrency}
 */
public final class AdaptiveConcurrency {
  static final long BASE_MILLIS = 5;
  static final int QUEUE = 100;
  static final int MAX = 256;
  static final int KNEE = 16;
  static final int STEP_SECONDS = 10;

  private AdaptiveConcurrency() {}

  /** The simulated downstream: latency flat up to {@code knee} calls at once, then growing. */
  static final class Downstream {
    final long baseNanos;
    volatile int knee;
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();

    Downstream(long baseNanos, int knee) {
      this.baseNanos = baseNanos;
      this.knee = knee;
    }

    Integer call(Integer x) {
      int c = inFlight.incrementAndGet();
      peak.accumulateAndGet(c, Math::max);
      try {
        LockSupport.parkNanos((long) (baseNanos * Math.max(1.0, (double) c / knee)));
        return x;
      } finally {
        inFlight.decrementAndGet();
      }
    }

    /** Calls per second at full use. */
    double capacity() {
      return knee * 1e9 / baseNanos;
    }
  }

  /** What one limit did over a measured interval. */
  record Result(String limit, double throughput, double p50Millis, double p99Millis, double throttledShare,
      int peakInFlight, int limitAtEnd) {}

  /** Calls in flight from the load's point of view, recorded as they complete. */
  static final class Load {
    final Recorder latency = new Recorder(3);
    final LongAdder ok = new LongAdder();
    final LongAdder throttled = new LongAdder();
    final LongAdder failed = new LongAdder();

    void submit(Fn<Integer, Integer> fn, int i) {
      long t0 = System.nanoTime();
      CompletableFuture<Integer> f = fn.invokeAsync(i);
      if (f.isDone()) { // throttled (or failed) at once: nothing to wait for
        settle(f, t0);
      } else {
        f.whenComplete((r, e) -> settle(f, t0));
      }
    }

    private void settle(CompletableFuture<Integer> f, long t0) {
      if (!f.isCompletedExceptionally()) {
        latency.recordValue(Math.max(1, (System.nanoTime() - t0) / 1_000));
        ok.increment();
      } else if (f.exceptionNow() instanceof ThrottledException) {
        throttled.increment();
      } else {
        failed.increment();
      }
    }
  }

  /** Sends calls at {@code perSecond} from the calling thread until {@code untilNanos}. */
  static void pace(Load load, Fn<Integer, Integer> fn, double perSecond, long untilNanos) {
    long start = System.nanoTime();
    double period = 1e9 / perSecond;
    for (long i = 0; ; i++) {
      long due = start + (long) (i * period);
      if (due - untilNanos >= 0) {
        return;
      }
      long wait = due - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      load.submit(fn, (int) i);
    }
  }

  static Fn<Integer, Integer> register(Cumulus c, Downstream d, ConcurrencyLimit limit) {
    return c.register(FnSpec.of("downstream-call", d::call).concurrency(limit).queueCapacity(QUEUE)
        .timeout(java.time.Duration.ofSeconds(30)).build());
  }

  static String name(ConcurrencyLimit limit) {
    return limit instanceof ConcurrencyLimit.Fixed f ? "fixed " + f.max() + (f.max() == MAX ? " (= max)" : "")
        : "adaptive (max " + ((ConcurrencyLimit.Adaptive) limit).max() + ")";
  }

  /** One limit under a steady overload of the downstream. */
  static Result steady(ConcurrencyLimit limit, int knee, double warmupSeconds, double seconds) {
    Downstream d = new Downstream(BASE_MILLIS * 1_000_000, knee);
    double rate = 1.5 * d.capacity();
    try (Cumulus c = Cumulus.create()) {
      Fn<Integer, Integer> fn = register(c, d, limit);
      Load load = new Load();
      pace(load, fn, rate, System.nanoTime() + (long) (warmupSeconds * 1e9));
      load.latency.getIntervalHistogram();
      long ok0 = load.ok.sum();
      long throttled0 = load.throttled.sum();
      d.peak.set(0);
      long t0 = System.nanoTime();
      pace(load, fn, rate, t0 + (long) (seconds * 1e9));
      long elapsed = System.nanoTime() - t0;
      Histogram h = load.latency.getIntervalHistogram();
      long ok = load.ok.sum() - ok0;
      long throttled = load.throttled.sum() - throttled0;
      Result r = new Result(name(limit), ok * 1e9 / elapsed, h.getValueAtPercentile(50) / 1e3,
          h.getValueAtPercentile(99) / 1e3, (double) throttled / Math.max(1, ok + throttled), d.peak.get(),
          fn.stats().concurrencyLimit());
      if (load.failed.sum() > 0) {
        throw new IllegalStateException(limit + ": " + load.failed.sum() + " calls failed");
      }
      return r;
    }
  }

  /** One point of the step run's trace. */
  record Point(double seconds, int knee, int limit, double throughput, double p99Millis, int inFlight) {}

  /** The step run of one limit: its trace, every {@code sampleMillis}. */
  static List<Point> step(ConcurrencyLimit limit, int[] knees, double phaseSeconds, long sampleMillis) {
    Downstream d = new Downstream(BASE_MILLIS * 1_000_000, knees[0]);
    int maxKnee = 0;
    for (int k : knees) {
      maxKnee = Math.max(maxKnee, k);
    }
    double rate = 1.5 * maxKnee * 1e9 / d.baseNanos;
    List<Point> trace = new ArrayList<>();
    try (Cumulus c = Cumulus.create()) {
      Fn<Integer, Integer> fn = register(c, d, limit);
      Load load = new Load();
      long t0 = System.nanoTime();
      long end = t0 + (long) (knees.length * phaseSeconds * 1e9);
      Thread sampler = Thread.ofPlatform().daemon().start(() -> {
        long ok = 0;
        long last = t0;
        for (long next = t0 + sampleMillis * 1_000_000; next - end <= 0; next += sampleMillis * 1_000_000) {
          LockSupport.parkNanos(next - System.nanoTime());
          long now = System.nanoTime();
          int phase = (int) Math.min(knees.length - 1, (now - t0) / (long) (phaseSeconds * 1e9));
          d.knee = knees[phase];
          Histogram h = load.latency.getIntervalHistogram();
          long okNow = load.ok.sum();
          trace.add(new Point((now - t0) / 1e9, d.knee, fn.stats().concurrencyLimit(),
              (okNow - ok) * 1e9 / (now - last), h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(99) / 1e3,
              d.inFlight.get()));
          ok = okNow;
          last = now;
        }
      });
      pace(load, fn, rate, end);
      try {
        sampler.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    return trace;
  }

  /** Per phase of a step run: median throughput and median p99 of its samples, its first second left out. */
  static double[] phase(List<Point> trace, int knee, int phaseIndex, double phaseSeconds) {
    List<Double> throughput = new ArrayList<>();
    List<Double> p99 = new ArrayList<>();
    for (Point p : trace) {
      double from = phaseIndex * phaseSeconds + 1;
      if (p.knee() == knee && p.seconds() > from && p.seconds() <= (phaseIndex + 1) * phaseSeconds) {
        throughput.add(p.throughput());
        p99.add(p.p99Millis());
      }
    }
    return new double[] {median(throughput), median(p99)};
  }

  static double median(List<Double> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2);
  }

  /**
   * The whole report as Markdown.
   *
   * @param seconds measured seconds per steady run (after {@code seconds / 2} of warm-up)
   * @param phaseSeconds seconds per phase of the step run
   */
  static String report(double seconds, double phaseSeconds) {
    StringBuilder out = new StringBuilder();
    List<ConcurrencyLimit> limits = List.of(ConcurrencyLimit.fixed(4), ConcurrencyLimit.fixed(8),
        ConcurrencyLimit.fixed(16), ConcurrencyLimit.fixed(32), ConcurrencyLimit.fixed(64),
        ConcurrencyLimit.fixed(MAX), ConcurrencyLimit.adaptive().withMax(MAX));
    List<Result> results = new ArrayList<>();
    for (ConcurrencyLimit limit : limits) {
      Result r = steady(limit, KNEE, seconds / 2, seconds);
      results.add(r);
      System.err.println(r);
    }
    Downstream model = new Downstream(BASE_MILLIS * 1_000_000, KNEE);
    out.append(String.format(Locale.ROOT, "Steady overload: knee %d, base latency %d ms (capacity %.0f calls/s),"
        + " offered %.0f calls/s, queueCapacity %d, %.0f s measured after %.0f s of warm-up.%n%n",
        KNEE, BASE_MILLIS, model.capacity(), 1.5 * model.capacity(), QUEUE, seconds, seconds / 2));
    out.append("| limit | calls/s | p50 ms | p99 ms | throttled | most in downstream | limit at end |\n");
    out.append("|---|---:|---:|---:|---:|---:|---:|\n");
    Result best = null;
    Result atMax = null;
    Result adaptive = null;
    for (Result r : results) {
      out.append(String.format(Locale.ROOT, "| %s | %.0f | %.1f | %.1f | %.0f %% | %d | %d |%n", r.limit(),
          r.throughput(), r.p50Millis(), r.p99Millis(), 100 * r.throttledShare(), r.peakInFlight(), r.limitAtEnd()));
      if (r.limit().startsWith("fixed") && (best == null || r.throughput() > best.throughput())) {
        best = r;
      }
      if (r.limit().contains("(= max)")) {
        atMax = r;
      }
      if (r.limit().startsWith("adaptive")) {
        adaptive = r;
      }
    }
    if (best != null && atMax != null && adaptive != null) {
      out.append(String.format(Locale.ROOT, "%nAdaptive: %.1f %% of the best fixed limit's throughput (%s), target"
          + " ≥ 90 %%: **%s**; p99 %.1f ms vs %.1f ms fixed at max (%.2f×), target below: **%s**.%n",
          100 * adaptive.throughput() / best.throughput(), best.limit(),
          adaptive.throughput() >= 0.9 * best.throughput() ? "met" : "missed",
          adaptive.p99Millis(), atMax.p99Millis(), adaptive.p99Millis() / atMax.p99Millis(),
          adaptive.p99Millis() < atMax.p99Millis() ? "met" : "missed"));
    }

    int[] knees = {16, 48, 8};
    out.append(String.format(Locale.ROOT, "%nStep: knee %d → %d → %d, %.0f s each, offered %.0f calls/s"
        + " (1.5 × the capacity at knee 48).%n%n", knees[0], knees[1], knees[2], phaseSeconds,
        1.5 * 48 * 1e3 / BASE_MILLIS));
    List<Point> adaptiveTrace = step(ConcurrencyLimit.adaptive().withMax(MAX), knees, phaseSeconds, 250);
    List<Point> maxTrace = step(ConcurrencyLimit.fixed(MAX), knees, phaseSeconds, 250);
    List<Point> kneeTrace = step(ConcurrencyLimit.fixed(16), knees, phaseSeconds, 250);
    out.append("| phase | capacity calls/s | adaptive calls/s | adaptive p99 ms | fixed 256 calls/s | fixed 256 p99 ms"
        + " | fixed 16 calls/s | fixed 16 p99 ms |\n");
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < knees.length; i++) {
      double[] a = phase(adaptiveTrace, knees[i], i, phaseSeconds);
      double[] m = phase(maxTrace, knees[i], i, phaseSeconds);
      double[] k = phase(kneeTrace, knees[i], i, phaseSeconds);
      out.append(String.format(Locale.ROOT, "| knee %d | %.0f | %.0f | %.1f | %.0f | %.1f | %.0f | %.1f |%n", knees[i],
          knees[i] * 1e3 / BASE_MILLIS, a[0], a[1], m[0], m[1], k[0], k[1]));
    }
    out.append("\nThe adaptive limit's trace (every 500 ms; throughput and p99 over the 250 ms before):\n\n");
    out.append("| s | knee | limit | in downstream | calls/s | p99 ms |\n|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 1; i < adaptiveTrace.size(); i += 2) {
      Point p = adaptiveTrace.get(i);
      out.append(String.format(Locale.ROOT, "| %.1f | %d | %d | %d | %.0f | %.1f |%n", p.seconds(), p.knee(), p.limit(),
          p.inFlight(), p.throughput(), p.p99Millis()));
    }
    return out.toString();
  }

  /**
   * Prints the report.
   *
   * @param args {@code [seconds per steady run] [seconds per step phase]}, default 6 and 10
   */
  public static void main(String[] args) {
    double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 6;
    double phase = args.length > 1 ? Double.parseDouble(args[1]) : STEP_SECONDS;
    System.out.println(report(seconds, phase));
  }
}
