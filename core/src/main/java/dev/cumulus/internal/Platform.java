package dev.cumulus.internal;

import dev.cumulus.internal.event.EventRuntime;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * What every function of one runtime shares: time, the carrier threads, the meter, the runtime-wide
 * capacity, the deadline watch, the event layer's share (its one retry timer) and the listener seam,
 * and the ways to start the runtime's threads.
 */
final class Platform {
  private static final System.Logger LOG = System.getLogger("dev.cumulus");

  final Clock clock;
  /** Whether {@link #clock} is {@link System#nanoTime()} (not a test's clock). */
  final boolean systemClock;
  /** Cumulus carriers, or null when functions run on the JDK's own virtual-thread scheduler. */
  final @Nullable CarrierPool carriers;
  final Meter meter;
  final Capacity capacity;
  final DeadlineWatch watch;
  /** Who listens to the runtime's moments now: {@link RuntimeEvents#NONE} while nobody does (set by the engine). */
  volatile RuntimeEvents events;
  /** The event layer's share of the runtime: the retry timer of every function's events. */
  final EventRuntime eventRuntime;
  /** The deepest synchronous call chain allowed. */
  final int maxCallDepth;
  /** The tenants kept apart in usage, across the runtime's functions. */
  final TenantNames tenantNames;
  private volatile boolean closing;
  private volatile boolean closed;
  /** Completed once the carriers were shut down (the runtime closed and no function has a worker). */
  private final CompletableFuture<Void> carriersShutDown = new CompletableFuture<>();

  Platform(@Nullable Clock testClock, @Nullable CarrierPool carriers, Meter meter, long keepAliveNanos,
      int maxConcurrency, int maxCallDepth, int maxTenants, RuntimeEvents events) {
    this.carriers = carriers;
    this.meter = meter;
    this.clock = testClock != null ? testClock
        : new SystemClock(keepAliveNanos, body -> newThread("cumulus-timer", meter.runtime, null, body));
    this.systemClock = testClock == null;
    this.capacity = new Capacity(maxConcurrency);
    this.watch = new DeadlineWatch(clock);
    this.events = events;
    this.maxCallDepth = maxCallDepth;
    this.tenantNames = new TenantNames(maxTenants);
    this.eventRuntime = new EventRuntime(clock, this::isClosing);
  }

  /** Carrier threads the runtime's virtual threads share, or 0 on the JDK's default scheduler. */
  int parallelism() {
    CarrierPool c = carriers;
    return c == null ? 0 : c.parallelism();
  }

  /** The runtime clock at {@code nanos} of {@link System#nanoTime()}: the same, unless a test drives it. */
  long tick(long nanos) {
    return systemClock ? nanos : clock.nanoTime();
  }

  boolean isClosing() {
    return closing;
  }

  void closing() {
    closing = true;
  }

  /**
   * Creates an unstarted virtual thread metered as {@code account}'s, on the carriers if there are,
   * scheduled by {@code scheduler} (a worker) or plainly.
   */
  Thread newThread(String name, Meter.Account account, @Nullable Executor scheduler, Runnable body) {
    CarrierPool c = carriers;
    if (c == null) {
      return Thread.ofVirtual().name(name).unstarted(body);
    }
    return c.newThread(name, scheduler != null ? scheduler : c.scheduler(account), body);
  }

  /** Starts {@code task} on a thread metered as {@code account}'s; the future settles when it ends. */
  CompletableFuture<Void> startMetered(Meter.Account account, Runnable task) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    newThread("cumulus-fn-" + account.name, account, null, () -> {
      try {
        task.run();
        done.complete(null);
      } catch (Throwable e) {
        done.completeExceptionally(e);
      }
    }).start();
    return done;
  }

  /** Runs {@code task} on a thread metered as {@code account}'s and waits for it, rethrowing its failure. */
  void runMetered(Meter.Account account, Runnable task) {
    try {
      startMetered(account, task).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw e;
    }
  }

  /**
   * Runs short runtime work (failing a timed-out invocation's future, whose dependents then run)
   * off the timer thread, on a virtual thread of the JDK's own scheduler: functions that keep
   * Cumulus's carriers busy cannot delay it.
   */
  void runSystem(Runnable task) {
    Thread.ofVirtual().name("cumulus-runtime").start(() -> {
      try {
        task.run();
      } catch (Throwable e) {
        LOG.log(System.Logger.Level.ERROR, "Cumulus runtime task failed", e);
      }
    });
  }

  /**
   * The runtime is closed: its clock stops, and its carriers end once no function has a worker
   * (at once, or when the last overdue invocation returns).
   */
  void closed() {
    closed = true;
    clock.shutdown();
    shutDownIfIdle();
  }

  /** A function lost its last worker. */
  void functionIdle() {
    if (closed) {
      shutDownIfIdle();
    }
  }

  private void shutDownIfIdle() {
    CarrierPool c = carriers;
    if (c != null && watch.isIdle()) {
      c.shutdown();
      carriersShutDown.complete(null);
    }
  }

  /**
   * After {@link #closed()}: waits until the runtime's platform threads have ended, so that none is
   * alive when {@code close()} returns. Code past its timeout that ignores the interrupt keeps its
   * worker, hence the carriers, alive: it gets {@code overdueNanos} to return. The carriers and the
   * timer then get {@code exitNanos} to end. Returns at once on a thread of the runtime's carriers,
   * which could not end while it waits.
   *
   * @return whether every thread ended in time
   */
  boolean awaitThreadsEnded(long overdueNanos, long exitNanos) {
    CarrierPool c = carriers;
    if (c != null) {
      if (c.runsCurrentThread()) {
        return false;
      }
      try {
        carriersShutDown.get(overdueNanos, TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        return false; // overdue code still runs: its threads end when it returns
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      } catch (ExecutionException e) {
        throw new IllegalStateException(e); // never completed exceptionally
      }
      if (!c.awaitEnded(exitNanos)) {
        return false;
      }
    }
    return clock.awaitTermination(exitNanos);
  }

  void log(System.Logger.Level level, String message, @Nullable Throwable e) {
    LOG.log(level, message, e);
  }
}
