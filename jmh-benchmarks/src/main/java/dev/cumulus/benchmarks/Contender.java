package dev.cumulus.benchmarks;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.MeteringMode;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.function.Function;

/**
 * One way of running a batch of tasks that a user could pick instead of Cumulus, or Cumulus itself,
 * behind one interface so that every benchmark treats them alike: the same task body, the same
 * concurrency limit where the contender has one, no rejection (every queue holds the whole batch),
 * a future per task, and a wait for all of them.
 */
abstract class Contender implements AutoCloseable {
  /** Cumulus {@code invokeAsync}, metering {@link MeteringMode#EXACT}, default timeout and stats on. */
  static final String CUMULUS = "cumulus";
  /** Cumulus with {@link MeteringMode#WALL_CLOCK_ONLY}: same carriers, no clock reads. */
  static final String CUMULUS_METERING_OFF = "cumulus-metering-off";
  /** {@link Executors#newVirtualThreadPerTaskExecutor()}. */
  static final String VIRTUAL_THREADS = "virtual-threads";
  /** Virtual thread per task, concurrency limited by a {@link Semaphore} (the JDK's advice). */
  static final String VIRTUAL_THREADS_SEMAPHORE = "virtual-threads+semaphore";
  /** {@link Executors#newFixedThreadPool(int)} of {@code nproc} threads. */
  static final String FIXED_POOL = "fixed-pool";
  /** Resilience4j {@link Bulkhead} + Micrometer {@link Timer} around the virtual-thread executor. */
  static final String BULKHEAD_TIMER = "bulkhead+timer";

  static final int NPROC = Runtime.getRuntime().availableProcessors();

  /** The task body, given its input; every contender runs the same one. */
  final Function<Integer, Integer> body;

  private Contender(Function<Integer, Integer> body) {
    this.body = body;
  }

  /**
   * Creates a contender.
   *
   * @param kind one of the constants of this class
   * @param body the task
   * @param concurrency the concurrency limit of contenders that have one
   * @param queue how many tasks may wait beyond the limit (Cumulus's queueCapacity)
   */
  static Contender of(String kind, Function<Integer, Integer> body, int concurrency, int queue) {
    return switch (kind) {
      case CUMULUS -> new OnCumulus(body, MeteringMode.EXACT, concurrency, queue);
      case CUMULUS_METERING_OFF -> new OnCumulus(body, MeteringMode.WALL_CLOCK_ONLY, concurrency, queue);
      case VIRTUAL_THREADS -> new OnExecutor(body, Executors.newVirtualThreadPerTaskExecutor(), null, null);
      case VIRTUAL_THREADS_SEMAPHORE -> new OnExecutor(body, Executors.newVirtualThreadPerTaskExecutor(),
          new Semaphore(concurrency), null);
      case FIXED_POOL -> new OnExecutor(body, Executors.newFixedThreadPool(NPROC), null, null);
      case BULKHEAD_TIMER -> new OnExecutor(body, Executors.newVirtualThreadPerTaskExecutor(), null,
          new BulkheadTimer(concurrency));
      default -> throw new IllegalArgumentException("unknown contender '" + kind + "'");
    };
  }

  /** Starts one task on {@code input}. */
  abstract Future<Integer> submit(Integer input);

  /**
   * Submits {@code n} tasks, all on {@code input}, and waits for every one.
   *
   * @return how many completed normally
   */
  final int runBatch(int n, Integer input) {
    Future<?>[] futures = new Future<?>[n];
    for (int i = 0; i < n; i++) {
      futures[i] = submit(input);
    }
    return awaitAll(futures);
  }

  static int awaitAll(Future<?>[] futures) {
    int ok = 0;
    for (Future<?> f : futures) {
      try {
        f.get();
        ok++;
      } catch (ExecutionException e) {
        // counted as not ok
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    return ok;
  }

  @Override
  public abstract void close();

  /** Cumulus: one function, invoked with {@code invokeAsync}. */
  static final class OnCumulus extends Contender {
    final Cumulus cumulus;
    final Fn<Integer, Integer> fn;

    OnCumulus(Function<Integer, Integer> body, MeteringMode mode, int concurrency, int queue) {
      super(body);
      this.cumulus = Cumulus.builder()
          .meteringMode(mode)
          .maxConcurrency(Math.max(Cumulus.DEFAULT_MAX_CONCURRENCY, concurrency))
          .build();
      this.fn = cumulus.register(FnSpec.of("task", body)
          .maxConcurrency(concurrency)
          .queueCapacity(queue)
          .build());
    }

    @Override
    CompletableFuture<Integer> submit(Integer input) {
      return fn.invokeAsync(input);
    }

    @Override
    public void close() {
      cumulus.close();
    }
  }

  /** An {@link ExecutorService}, optionally with a semaphore or a bulkhead and timer around the task. */
  static final class OnExecutor extends Contender {
    private final ExecutorService executor;
    private final Semaphore semaphore; // null: no limit
    private final BulkheadTimer bulkhead; // null: none

    OnExecutor(Function<Integer, Integer> body, ExecutorService executor, Semaphore semaphore,
        BulkheadTimer bulkhead) {
      super(body);
      this.executor = executor;
      this.semaphore = semaphore;
      this.bulkhead = bulkhead;
    }

    @Override
    Future<Integer> submit(Integer input) {
      if (semaphore != null) {
        return executor.submit(() -> {
          semaphore.acquire();
          try {
            return body.apply(input);
          } finally {
            semaphore.release();
          }
        });
      }
      if (bulkhead != null) {
        return executor.submit(() -> bulkhead.call(body, input));
      }
      return executor.submit(() -> body.apply(input));
    }

    @Override
    public void close() {
      executor.close();
    }
  }

  /** What a user assembles by hand: a bulkhead that limits concurrency, a timer that records latency. */
  static final class BulkheadTimer {
    final Bulkhead bulkhead;
    final Timer timer;

    BulkheadTimer(int concurrency) {
      this.bulkhead = Bulkhead.of("task", BulkheadConfig.custom()
          .maxConcurrentCalls(concurrency)
          .maxWaitDuration(Duration.ofMinutes(1)) // wait, as Cumulus's queue does, rather than reject
          .build());
      this.timer = Timer.builder("task").register(new SimpleMeterRegistry());
    }

    Integer call(Function<Integer, Integer> body, Integer input) {
      return timer.record(() -> bulkhead.executeSupplier(() -> body.apply(input)));
    }
  }
}
