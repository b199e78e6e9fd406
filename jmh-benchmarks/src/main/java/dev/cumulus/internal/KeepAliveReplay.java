package dev.cumulus.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Keep-alive policies replayed on synthetic arrival traces, on a simulated clock: the instance pool
 * of the runtime ({@link InstancePool}, with the {@link IdleHistogram} of {@code KeepAlive.adaptive()}
 * or a fixed keep-alive) driven call by call through a day of calls in a few milliseconds, counting
 * cold starts and warm instance-seconds (the integral of the instances alive over time: what
 * keeping them costs). Baselines in the same run: fixed keep-alives of 30 s (the default, and the
 * platforms' scale-to-zero grace) and 10 minutes (about what the platforms keep idle instances).
 *
 * <p>The traces have the shapes "Serverless in the Wild" (Shahrad et al., USENIX ATC 2020) reports
 * for Azure Functions: timers (the commonest trigger: a call every minute, every 10 minutes, every
 * hour), bursts at random gaps, rare calls (mostly beyond the histogram's 4-hour range), and a timer
 * whose period changes at noon. Every trace is drawn from a seeded random generator (printed; rerun
 * with {@code -Dcumulus.seed=}); a call runs for its duration on the simulated clock and holds an
 * instance, so the calls of a burst that overlap need several.
 *
 * <p>What it measures is the policy and the pool, not the runtime around them: workers, queues and
 * threads are left out (a call takes an instance when it starts and gives it back when it ends, as
 * a worker does around the calls it drains), and instance creation takes no simulated time. In this
 * package (as Caffeine's benchmarks sit beside the code they measure) because the pool and the clock
 * are the runtime's internals.
 *
 * <p>Run: {@code java -cp jmh-benchmarks/target/benchmarks.jar dev.cumulus.internal.KeepAliveReplay}
 * (a second or two; prints Markdown).
 */
public final class KeepAliveReplay {
  static final Duration DAY = Duration.ofHours(24);

  private KeepAliveReplay() {}

  /** A call: when it starts and how long it runs, in nanoseconds of the simulated clock. */
  record Call(long at, long nanos) {}

  /** A keep-alive policy under test. */
  record Policy(String name, long fallbackNanos, boolean adaptive) {
    static Policy fixed(Duration d) {
      String name = d.toMinutes() > 0 ? "fixed " + d.toMinutes() + " min" : "fixed " + d.toSeconds() + " s";
      return new Policy(name, d.toNanos(), false);
    }

    static Policy adaptiveDefault() {
      return new Policy("adaptive", Duration.ofSeconds(30).toNanos(), true);
    }
  }

  /** What a policy did on a trace. */
  record Result(String trace, String policy, int calls, long coldStarts, long preWarms, double warmInstanceSeconds,
      int peakInstances, List<long[]> steps) {
    double coldShare() {
      return calls == 0 ? 0 : (double) coldStarts / calls;
    }
  }

  /** A clock that moves only when the replay moves it, and integrates the pool's live instances over time. */
  static final class SimClock implements Clock {
    private static final class Task implements Timer {
      final long due;
      final long seq;
      final Runnable body;
      boolean cancelled;

      Task(long due, long seq, Runnable body) {
        this.due = due;
        this.seq = seq;
        this.body = body;
      }

      @Override
      public void cancel() {
        cancelled = true;
      }
    }

    private final PriorityQueue<Task> tasks =
        new PriorityQueue<>(Comparator.comparingLong((Task t) -> t.due).thenComparingLong(t -> t.seq));
    private long now = 1;
    private long seq;
    private InstancePool pool;
    double instanceNanos;
    int peak;
    /** Each change of the live instances: when, and the count from then on (for the population figures). */
    final List<long[]> steps = new ArrayList<>();

    @Override
    public long nanoTime() {
      return now;
    }

    @Override
    public Timer schedule(Runnable task, long delayNanos) {
      Task t = new Task(now + Math.max(0, delayNanos), seq++, task);
      tasks.add(t);
      return t;
    }

    @Override
    public Timer scheduleIdle(Runnable task, long delayNanos) {
      return schedule(task, delayNanos);
    }

    @Override
    public void shutdown() {}

    /** Moves to {@code target}, running each timer due on the way at its time. */
    void advanceTo(long target) {
      for (Task t; (t = tasks.peek()) != null && t.due <= target; ) {
        tasks.poll();
        if (!t.cancelled) {
          moveTo(t.due);
          t.body.run();
          observe();
        }
      }
      moveTo(target);
    }

    private void moveTo(long t) {
      if (t > now) {
        instanceNanos += (double) pool.live() * (t - now);
        now = t;
      }
    }

    void observe() {
      int live = pool.live();
      peak = Math.max(peak, live);
      if (steps.isEmpty() || steps.get(steps.size() - 1)[1] != live) {
        steps.add(new long[] {now, live});
      }
    }
  }

  /** Replays {@code calls} (sorted by start) against one policy, until {@code endNanos}. */
  static Result replay(String trace, List<Call> calls, long endNanos, Policy policy) {
    SimClock clock = new SimClock();
    long[] inits = new long[1];
    // Instances are created and closed on the replay's own thread: nothing runs behind its back.
    Function<Runnable, CompletableFuture<Void>> synchronous = task -> {
      task.run();
      return CompletableFuture.completedFuture(null);
    };
    IdleHistogram histogram = policy.adaptive()
        ? new IdleHistogram(Duration.ofHours(4).toNanos(), policy.fallbackNanos()) : null;
    InstancePool pool = new InstancePool(trace, clock, policy.fallbackNanos(), histogram, 0, () -> {
      inits[0]++;
      return new Object();
    }, synchronous, InstancePool.Scaling.NONE);
    clock.pool = pool;
    long cold = 0;
    record End(long at, Object instance) {}
    PriorityQueue<End> ends = new PriorityQueue<>(Comparator.comparingLong(End::at));
    for (Call c : calls) {
      for (End e; (e = ends.peek()) != null && e.at() <= c.at(); ) {
        ends.poll();
        clock.advanceTo(e.at());
        pool.release(e.instance());
        clock.observe();
      }
      clock.advanceTo(c.at());
      Object instance = pool.acquire();
      if (instance == null) {
        cold++;
        instance = pool.create();
      }
      clock.observe();
      ends.add(new End(c.at() + c.nanos(), instance));
    }
    for (End e; (e = ends.poll()) != null; ) {
      clock.advanceTo(e.at());
      pool.release(e.instance());
      clock.observe();
    }
    clock.advanceTo(Math.max(endNanos, clock.nanoTime()));
    return new Result(trace, policy.name(), calls.size(), cold, pool.preWarms(), clock.instanceNanos / 1e9, clock.peak,
        clock.steps);
  }

  // ---------------------------------------------------------------------------------------------
  // Traces

  private static long nanos(Duration d) {
    return d.toNanos();
  }

  /** A timer: a call every {@code period} (± {@code jitter}), each running {@code run}. */
  static List<Call> timer(SplittableRandom random, Duration period, Duration jitter, Duration run, long from,
      long until) {
    List<Call> calls = new ArrayList<>();
    for (long t = from; t < until; t += nanos(period)) {
      long j = jitter.isZero() ? 0 : random.nextLong(-nanos(jitter), nanos(jitter) + 1);
      calls.add(new Call(Math.max(0, t + j), nanos(run)));
    }
    return calls;
  }

  /**
   * Bursts at exponential gaps of mean {@code meanGap}: each of 1 to {@code maxCalls} calls,
   * {@code spacing} apart, each running {@code run} (longer than the spacing: they overlap).
   */
  static List<Call> bursts(SplittableRandom random, Duration meanGap, int maxCalls, Duration spacing, Duration run,
      long until) {
    List<Call> calls = new ArrayList<>();
    long t = exponential(random, meanGap);
    while (t < until) {
      int n = 1 + random.nextInt(maxCalls);
      for (int i = 0; i < n; i++) {
        calls.add(new Call(t + i * nanos(spacing), nanos(run)));
      }
      t += (n - 1) * nanos(spacing) + nanos(run) + exponential(random, meanGap);
    }
    return calls;
  }

  /** Calls at exponential gaps of mean {@code meanGap} (a Poisson process). */
  static List<Call> poisson(SplittableRandom random, Duration meanGap, Duration run, long until) {
    List<Call> calls = new ArrayList<>();
    for (long t = exponential(random, meanGap); t < until; t += exponential(random, meanGap)) {
      calls.add(new Call(t, nanos(run)));
    }
    return calls;
  }

  private static long exponential(SplittableRandom random, Duration mean) {
    return (long) (-Math.log(1 - random.nextDouble()) * nanos(mean));
  }

  /** A named trace and how long it lasts. */
  record Trace(String name, List<Call> calls, long endNanos) {}

  /** The traces of the report, drawn from {@code seed}. */
  static List<Trace> traces(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    long day = nanos(DAY);
    long week = 7 * day;
    Duration second = Duration.ofSeconds(1);
    Duration half = Duration.ofMillis(500);
    List<Trace> traces = new ArrayList<>();
    traces.add(new Trace("timer, every minute (1 day)",
        timer(random.split(), Duration.ofMinutes(1), second, half, 0, day), day));
    traces.add(new Trace("timer, every 10 min (1 day)",
        timer(random.split(), Duration.ofMinutes(10), second, half, 0, day), day));
    traces.add(new Trace("timer, hourly (1 week)",
        timer(random.split(), Duration.ofHours(1), second, half, 0, week), week));
    List<Call> changing = new ArrayList<>(timer(random.split(), Duration.ofMinutes(10), second, half, 0, day / 2));
    changing.addAll(timer(random.split(), Duration.ofMinutes(25), second, half, day / 2, day));
    traces.add(new Trace("timer, 10 min then 25 min from noon (1 day)", changing, day));
    traces.add(new Trace("bursts of 1-20 calls, gaps exp. mean 15 min (1 day)",
        bursts(random.split(), Duration.ofMinutes(15), 20, Duration.ofMillis(100), Duration.ofMillis(300), day), day));
    traces.add(new Trace("rare: Poisson, mean gap 6 h (4 weeks)",
        poisson(random.split(), Duration.ofHours(6), half, 4 * week), 4 * week));
    return traces;
  }

  static List<Policy> policies() {
    return List.of(Policy.fixed(Duration.ofSeconds(30)), Policy.fixed(Duration.ofMinutes(10)), Policy.adaptiveDefault());
  }

  /** Every policy on every trace, as Markdown. */
  static String report(long seed) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "Seed %d. Cold starts (share of calls) and warm instance-hours per"
        + " policy; adaptive = `KeepAlive.adaptive()` (fallback 30 s, range 4 h).%n%n", seed));
    List<Policy> policies = policies();
    out.append("| trace | calls |");
    for (Policy p : policies) {
      out.append(' ').append(p.name()).append(": cold | warm h |");
    }
    out.append(" adaptive pre-warms |\n|---|---:|");
    out.append("---:|---:|".repeat(policies.size())).append("---:|\n");
    double[] coldTotal = new double[policies.size()];
    double[] warmTotal = new double[policies.size()];
    List<List<List<long[]>>> stepsByPolicy = new ArrayList<>();
    for (int i = 0; i < policies.size(); i++) {
      stepsByPolicy.add(new ArrayList<>());
    }
    for (Trace t : traces(seed)) {
      out.append("| ").append(t.name()).append(" | ").append(t.calls().size()).append(" |");
      long preWarms = 0;
      for (int i = 0; i < policies.size(); i++) {
        Result r = replay(t.name(), t.calls(), t.endNanos(), policies.get(i));
        stepsByPolicy.get(i).add(r.steps());
        coldTotal[i] += r.coldStarts();
        warmTotal[i] += r.warmInstanceSeconds();
        out.append(String.format(Locale.ROOT, " %d (%.0f %%) | %.1f |", r.coldStarts(), 100 * r.coldShare(),
            r.warmInstanceSeconds() / 3600));
        if (policies.get(i).adaptive()) {
          preWarms = r.preWarms();
        }
      }
      out.append(' ').append(preWarms).append(" |\n");
    }
    out.append("| **all six** | |");
    for (int i = 0; i < policies.size(); i++) {
      out.append(String.format(Locale.ROOT, " **%.0f** | **%.1f** |", coldTotal[i], warmTotal[i] / 3600));
    }
    out.append(" |\n\nThe six functions in one runtime, over the first day: warm instances at once, on average"
        + " (time-weighted) and at the most.\n\n| policy | average | most |\n|---|---:|---:|\n");
    for (int i = 0; i < policies.size(); i++) {
      double[] population = population(stepsByPolicy.get(i), nanos(DAY));
      out.append(String.format(Locale.ROOT, "| %s | %.1f | %.0f |%n", policies.get(i).name(), population[0],
          population[1]));
    }
    return out.toString();
  }

  /**
   * The sum of several functions' live instances over {@code [0, until)}, from each one's steps:
   * its time-weighted average and its maximum.
   */
  static double[] population(List<List<long[]>> functions, long until) {
    List<long[]> deltas = new ArrayList<>(); // {time, change}
    for (List<long[]> steps : functions) {
      long before = 0;
      for (long[] step : steps) {
        if (step[0] < until) {
          deltas.add(new long[] {step[0], step[1] - before});
          before = step[1];
        }
      }
    }
    deltas.sort(Comparator.comparingLong(d -> d[0]));
    double area = 0;
    long live = 0;
    long most = 0;
    long at = 0;
    for (long[] d : deltas) {
      area += (double) live * (d[0] - at);
      at = d[0];
      live += d[1];
      most = Math.max(most, live);
    }
    area += (double) live * (until - at);
    return new double[] {area / until, most};
  }

  /**
   * Prints the report.
   *
   * @param args unused; {@code -Dcumulus.seed=} picks the traces (default 1)
   */
  public static void main(String[] args) {
    long seed = Long.getLong("cumulus.seed", 1);
    long t0 = System.nanoTime();
    String report = report(seed);
    System.out.println(report);
    System.out.printf(Locale.ROOT, "(replayed in %d ms)%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
  }
}
