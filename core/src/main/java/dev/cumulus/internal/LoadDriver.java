package dev.cumulus.internal;

import dev.cumulus.FunctionFailedException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Drives a closed-loop load: {@code concurrency} caller virtual threads, each making one call at a
 * time, until a number of calls has been made or a duration has passed. Memory stays fixed however
 * long it runs (a histogram, counters, at most {@value #MAX_ERROR_TYPES} error types). Callers run on
 * the JDK's default scheduler, not on the runtime's carriers, so that their work is not metered as
 * the function's.
 */
public final class LoadDriver {
  /** Distinct error types kept by name; further ones are counted under {@value #OTHER_ERRORS}. */
  static final int MAX_ERROR_TYPES = 64;
  static final String OTHER_ERRORS = "(other types)";
  private static final long TICK_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long PROGRESS_AFTER_NANOS = TimeUnit.SECONDS.toNanos(2);

  private final String label;
  private final Function<Object, CompletableFuture<?>> call;
  private final Supplier<?> inputs;
  private final int concurrency;
  private final long maxCalls; // 0: bounded by duration
  private final long durationNanos; // 0: bounded by maxCalls
  private final ProgressLine progress;

  private final AtomicLong issued = new AtomicLong();
  private final LongAdder completed = new LongAdder();
  private final LongAdder successes = new LongAdder();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  /**
   * Every call's latency, for the whole run: Micrometer's HdrHistogram-backed histogram, whose
   * window never rotates here (callers record concurrently; the progress line reads it live).
   */
  private final io.micrometer.core.instrument.distribution.TimeWindowPercentileHistogram latency =
      new io.micrometer.core.instrument.distribution.TimeWindowPercentileHistogram(
          io.micrometer.core.instrument.Clock.SYSTEM,
          io.micrometer.core.instrument.distribution.DistributionStatisticConfig.builder()
              .percentiles(0.5, 0.9, 0.99)
              .percentilePrecision(2)
              .expiry(java.time.Duration.ofDays(36_500))
              .bufferLength(1)
              .build()
              .merge(io.micrometer.core.instrument.distribution.DistributionStatisticConfig.DEFAULT),
          false);
  private final java.util.concurrent.atomic.LongAccumulator maxLatency =
      new java.util.concurrent.atomic.LongAccumulator(Math::max, 0);
  private final AtomicReference<@Nullable RuntimeException> supplierFailure = new AtomicReference<>();
  private volatile boolean stopped;
  private volatile long deadline;

  /**
   * @param label what the progress line is about (the function's name)
   * @param call starts one call
   * @param inputs supplies each call's input; called by many threads at once
   * @param concurrency calls in flight at once
   * @param maxCalls stop after this many calls, or 0
   * @param durationNanos stop issuing calls after this long, or 0
   * @param progress where progress goes
   */
  public LoadDriver(String label, Function<Object, CompletableFuture<?>> call, Supplier<?> inputs,
      int concurrency, long maxCalls, long durationNanos, ProgressLine progress) {
    if ((maxCalls > 0) == (durationNanos > 0)) {
      throw new IllegalArgumentException("exactly one of maxCalls and durationNanos must be positive");
    }
    this.label = label;
    this.call = call;
    this.inputs = inputs;
    this.concurrency = concurrency;
    this.maxCalls = maxCalls;
    this.durationNanos = durationNanos;
    this.progress = progress;
  }

  /** What a run measured. */
  public record Result(long calls, long successes, Map<String, Long> errors, long elapsedNanos,
      long p50, long p90, long p99, long max, boolean interrupted) {}

  /**
   * Runs the load and returns when every caller has ended. If the calling thread is interrupted, no
   * new call starts, the calls in flight are waited for, and the result says so (the thread's
   * interrupt status is set again).
   *
   * @return the measurements
   * @throws RuntimeException what the input supplier threw, after the callers stopped
   */
  public Result run() {
    CountDownLatch done = new CountDownLatch(concurrency);
    Thread.Builder factory = Thread.ofVirtual().name("loadtest-" + label + "-", 0);
    long start = System.nanoTime();
    deadline = start + durationNanos;
    for (int i = 0; i < concurrency; i++) {
      factory.start(() -> {
        try {
          callLoop();
        } finally {
          done.countDown();
        }
      });
    }
    boolean interrupted = false;
    long lastTick = start;
    long lastCalls = 0;
    long nextTick = start + TICK_NANOS;
    for (;;) {
      try {
        if (done.await(Math.max(0, nextTick - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          break;
        }
      } catch (InterruptedException e) {
        interrupted = true;
        stopped = true;
        continue;
      }
      long now = System.nanoTime();
      nextTick = now + TICK_NANOS;
      boolean longRun = durationNanos > PROGRESS_AFTER_NANOS || now - start >= PROGRESS_AFTER_NANOS;
      if (longRun && progress.enabled()) {
        long calls = completed.sum();
        progress.update(progressText(now - start, calls, (calls - lastCalls) * 1e9 / Math.max(1, now - lastTick)));
        lastCalls = calls;
        lastTick = now;
      }
    }
    long elapsed = System.nanoTime() - start;
    progress.finish();
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    RuntimeException failure = supplierFailure.get();
    if (failure != null) {
      throw failure;
    }
    long[] q = percentiles();
    return new Result(completed.sum(), successes.sum(), errorsByCount(), elapsed, q[0], q[1], q[2],
        maxLatency.get(), interrupted);
  }

  private void callLoop() {
    while (!stopped && permit()) {
      Object input;
      try {
        input = inputs.get();
      } catch (RuntimeException e) {
        supplierFailure.compareAndSet(null, e);
        stopped = true;
        return;
      }
      long t0 = System.nanoTime();
      Throwable failure = null;
      try {
        call.apply(input).get();
      } catch (ExecutionException e) {
        failure = e.getCause() == null ? e : e.getCause();
      } catch (InterruptedException e) {
        return; // not ours to interrupt; only a stopping JVM would
      } catch (RuntimeException e) { // CancellationException, or a call that threw instead of failing its future
        failure = e;
      }
      long nanos = Math.max(0, System.nanoTime() - t0);
      latency.recordLong(nanos);
      maxLatency.accumulate(nanos);
      if (failure == null) {
        successes.increment();
      } else {
        countError(failure);
      }
      completed.increment();
    }
  }

  private boolean permit() {
    if (maxCalls > 0) {
      return issued.getAndIncrement() < maxCalls;
    }
    return System.nanoTime() - deadline < 0;
  }

  private void countError(Throwable failure) {
    String type = errorType(failure);
    LongAdder count = errors.get(type);
    if (count == null) {
      count = errors.size() < MAX_ERROR_TYPES ? errors.computeIfAbsent(type, t -> new LongAdder())
          : errors.computeIfAbsent(OTHER_ERRORS, t -> new LongAdder());
    }
    count.increment();
  }

  /**
   * The name an error is counted under: the simple name of the exception the caller got, and for a
   * {@link FunctionFailedException} the type of what the function threw, in parentheses.
   */
  static String errorType(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof FunctionFailedException f && f.getCause() != null) {
      return name(f) + "(" + name(f.getCause()) + ")";
    }
    return name(t);
  }

  private static String duration(long ns) {
    if (ns < 1_000_000) {
      return String.format(Locale.ROOT, "%.1f µs", ns / 1e3);
    } else if (ns < 1_000_000_000) {
      return String.format(Locale.ROOT, "%.1f ms", ns / 1e6);
    }
    return String.format(Locale.ROOT, "%.2f s", ns / 1e9);
  }

  private static String name(Throwable t) {
    String simple = t.getClass().getSimpleName();
    return simple.isEmpty() ? t.getClass().getName() : simple;
  }

  /** p50, p90, p99 of the calls so far, in nanoseconds, never above the maximum. */
  private long[] percentiles() {
    long max = maxLatency.get();
    var values = latency.takeSnapshot(completed.sum(), 0, max).percentileValues();
    long[] q = new long[values.length];
    for (int i = 0; i < q.length; i++) {
      q[i] = Math.min(max, Math.round(values[i].value()));
    }
    return q;
  }

  private Map<String, Long> errorsByCount() {
    Map<String, Long> sorted = new LinkedHashMap<>();
    errors.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue().sum()))
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    return sorted;
  }

  private String progressText(long elapsedNanos, long calls, double recentRate) {
    long errorCount = errors.values().stream().mapToLong(LongAdder::sum).sum();
    long[] p99 = {percentiles()[2]};
    String time = durationNanos > 0
        ? String.format(Locale.ROOT, "%.0f s / %.0f s", elapsedNanos / 1e9, durationNanos / 1e9)
        : String.format(Locale.ROOT, "%.0f s", elapsedNanos / 1e9);
    String count = maxCalls > 0
        ? String.format(Locale.ROOT, "%,d / %,d calls", calls, maxCalls)
        : String.format(Locale.ROOT, "%,d calls", calls);
    return String.format(Locale.ROOT, "load test of '%s': %s  %s  %,.0f calls/s  p99 %s  errors %,d",
        label, time, count, recentRate, duration(p99[0]), errorCount);
  }
}
