package dev.cumulus.benchmarks;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.RetryPolicy;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Memory of pending event retries: {@value #PENDING} events whose first attempt failed, each waiting
 * for a retry an hour or more away.
 *
 * <p>{@link #main} is the report: heap used (after full GCs) with all of them pending, minus the heap
 * used before, per pending retry, for Cumulus ({@code Fn.emit}, one retry timer for all of them) and
 * two baselines that hold the same wait otherwise: a {@link ScheduledThreadPoolExecutor} task per
 * retry (a hand-rolled retry scheduler), and a virtual thread sleeping per retry (what "a retry delay
 * is a timer, never a sleeping thread" rules out). Every contender holds the same input (an
 * {@code Integer}, 16 B) and shares one exception instance as the failure, so the figures are the
 * contenders' own bookkeeping. The JMH benchmark times the same ramp (until all are pending).
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar PendingEvents}; the report:
 * {@code java -Xmx1g --add-opens=java.base/java.lang=ALL-UNNAMED -cp
 * jmh-benchmarks/target/benchmarks.jar dev.cumulus.benchmarks.PendingEvents}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.lang=ALL-UNNAMED", "-Xmx1g"})
public class PendingEvents {
  /** Retries pending at once. */
  public static final int PENDING = 100_000;
  static final String CUMULUS = "cumulus-emit";
  static final String SCHEDULED_EXECUTOR = "scheduled-executor";
  static final String SLEEPING_THREADS = "sleeping-virtual-threads";
  /** The failure of every first attempt: one instance, so no contender pays for stack traces. */
  static final IllegalStateException DOWN = new IllegalStateException("down");

  /** Which contender holds the retries; the other two are the baselines. */
  @Param({CUMULUS, SCHEDULED_EXECUTOR, SLEEPING_THREADS})
  public String contender;

  Holder holder;

  /** Something that holds {@code n} pending retries until closed. */
  interface Holder extends AutoCloseable {
    /** Makes {@code n} retries pending and returns once all are. */
    void fill(int n) throws Exception;

    @Override
    void close();
  }

  static Holder open(String kind) {
    return switch (kind) {
      case CUMULUS -> new OnCumulus();
      case SCHEDULED_EXECUTOR -> new OnScheduledExecutor();
      case SLEEPING_THREADS -> new OnSleepingThreads();
      default -> throw new IllegalArgumentException(kind);
    };
  }

  /** Each event fails once and waits for a retry drawn from [0, 10 days]: pending all along. */
  static final class OnCumulus implements Holder {
    final Cumulus cumulus = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(100)).build();
    final Fn<Integer, Integer> fn = cumulus.register(FnSpec.<Integer, Integer>of("fails-once", i -> {
      throw DOWN;
    }).retry(RetryPolicy.exponential(1, Duration.ofDays(10), Duration.ofDays(10)))
        .eventCapacity(Integer.MAX_VALUE)
        .deadLetter(letter -> { })
        .build());
    long filled;

    @Override
    public void fill(int n) {
      for (int i = 0; i < n; i++) {
        fn.emit(1_000 + i); // not a cached Integer: 16 B of input each, as for the baselines
      }
      filled += n;
      while (fn.stats().eventRetries() < filled || fn.stats().inFlight() > 0) {
        LockSupport.parkNanos(1_000_000);
      }
    }

    @Override
    public void close() {
      cumulus.close(); // the retries still pending go to the (empty) sink
    }
  }

  static final class OnScheduledExecutor implements Holder {
    final ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1);

    OnScheduledExecutor() {
      executor.setRemoveOnCancelPolicy(true);
    }

    @Override
    public void fill(int n) {
      for (int i = 0; i < n; i++) {
        Integer input = 1_000 + i;
        Throwable error = DOWN;
        executor.schedule(() -> retry(input, error), 10, TimeUnit.DAYS);
      }
    }

    @Override
    public void close() {
      executor.shutdownNow();
    }
  }

  static final class OnSleepingThreads implements Holder {
    final CountDownLatch end = new CountDownLatch(1);

    @Override
    public void fill(int n) throws InterruptedException {
      CountDownLatch sleeping = new CountDownLatch(n);
      for (int i = 0; i < n; i++) {
        Integer input = 1_000 + i;
        Throwable error = DOWN;
        Thread.ofVirtual().start(() -> {
          sleeping.countDown();
          try {
            if (!end.await(10, TimeUnit.DAYS)) {
              retry(input, error);
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
      }
      sleeping.await();
    }

    @Override
    public void close() {
      end.countDown();
    }
  }

  static void retry(Integer input, Throwable error) {
    if (input == null || error == null) {
      throw new AssertionError();
    }
  }

  @TearDown(Level.Iteration)
  public void tearDown() {
    if (holder != null) {
      holder.close();
      holder = null;
    }
  }

  /** Makes {@value #PENDING} retries pending. @return how many */
  @Benchmark
  public int fill() throws Exception {
    return fill(PENDING);
  }

  int fill(int n) throws Exception {
    holder = open(contender);
    holder.fill(n);
    return n;
  }

  /** Prints heap used per pending retry, Cumulus and baselines. @param args ignored */
  public static void main(String[] args) throws Exception {
    System.out.println(report(PENDING));
  }

  static String report(int n) throws Exception {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "| %d pending retries | heap used | per pending retry |%n", n));
    sb.append("|---|---|---|\n");
    for (String kind : new String[] {CUMULUS, SCHEDULED_EXECUTOR, SLEEPING_THREADS}) {
      long bytes = heapOfPending(kind, n);
      sb.append(String.format(Locale.ROOT, "| %s | %.1f MiB | %d B |%n", kind, bytes / (1024.0 * 1024), bytes / n));
    }
    return sb.toString();
  }

  /** Heap bytes held while {@code n} retries are pending, over the heap before they were made. */
  static long heapOfPending(String kind, int n) throws Exception {
    try (Holder h = open(kind)) {
      h.fill(Math.min(n, 1_000)); // warm up the path once; these stay pending, before and after
      long before = Memory.heapAfterGc();
      h.fill(n);
      long during = Memory.heapAfterGc();
      return during - before;
    }
  }
}
