package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.ref.WeakReference;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A seeded randomised soak of the whole runtime: many functions with random limits, queues,
 * timeouts, keep-alives and provisioned instances; handlers that return, throw (errors too), block,
 * ignore interrupts, burn CPU, allocate and call other functions (themselves too, under a limit);
 * callers that invoke, invoke asynchronously, cancel, hold futures and get interrupted; functions
 * registered and unregistered under load; and {@code close()} at a random moment. Then it checks
 * what the runtime promises (README, "Guarantees"): every future completes exactly once and every
 * accepted call runs at most once; the counters add up and agree with what the callers saw, per
 * registration and on every usage line (unregistered ones included); nothing stays in flight or
 * queued; {@code minInstances} are kept; an instance serves one invocation at a time, is never used
 * after it was closed, and is closed exactly once; the results callers dropped are collectable while
 * they hold early futures; and no thread of the runtime outlives it. Every violation is collected,
 * and the test fails listing all of them.
 *
 * <p>Profiles: the short one (default) runs in {@code mvn verify}: about 15 s of load. The long one,
 * {@code -Dcumulus.soak=long}, runs at least a million invocations ({@code -Dcumulus.soak.invocations=}
 * to change); its results are in {@code core/SOAK.md}. The seed is printed; rerun one with
 * {@code -Dcumulus.seed=}. A watchdog prints every thread's stack ({@link Thread#getAllStackTraces()},
 * never {@code HotSpotDiagnosticMXBean.dumpThreads}, which crashes JDK 25 under virtual-thread load)
 * when the load stops making progress or a phase overruns.
 *
 * <pre>
 * mvn -B verify -pl core -Dtest=SoakTest -Dsurefire.failIfNoSpecifiedTests=false -Dcumulus.soak=long
 * </pre>
 */
class SoakTest {
  private static final Duration SHORT_LOAD = Duration.ofSeconds(15);
  private static final long LONG_INVOCATIONS = Long.getLong("cumulus.soak.invocations", 1_000_000);
  /** A phase that makes no progress for this long is reported as a hang, with every thread's stack. */
  private static final Duration STALL = Duration.ofSeconds(45);

  @Test
  @Timeout(value = 3, unit = TimeUnit.HOURS) // the watchdog and the bounded waits end a stuck run first
  void soak() throws Exception {
    boolean longProfile = "long".equalsIgnoreCase(System.getProperty("cumulus.soak", "short"));
    long seed = TestFunctions.seed("SoakTest" + (longProfile ? " (long)" : ""));
    Soak soak = new Soak(seed, longProfile);
    try {
      soak.run();
    } finally {
      soak.shutdownHelpers();
    }
    System.out.println(soak.summary());
    assertThat(soak.violations()).as("violations of the runtime's guarantees (seed %s)", seed).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------

  enum Kind { RETURN, CPU, SLEEP, STUBBORN, THROW, ERROR, OOM, ALLOCATE, CALL, RECURSE }

  /** The input of every soak function: what to do, and the call's unique id. */
  record Op(long id, Kind kind, int param, int depth, String target) {}

  /** How a call ended, as its caller saw it. */
  enum Outcome {
    SUCCESS, FAILED, TIMEOUT, THROTTLED, REJECTED, UNKNOWN_FUNCTION, INVALID, CANCELLED, INTERRUPTED,
    /** A CumulusException of no subclass (the recursion guard, an interrupted wait...). */
    OTHER,
    /** RuntimeClosedException on a call by name: refused before or at admission, either may count. */
    REJECTED_BY_NAME
  }

  /** An instance of a soak function: checks it serves one invocation at a time and is closed once. */
  static final class Tracked implements AutoCloseable {
    final String function;
    final int number;
    final AtomicBoolean inUse = new AtomicBoolean();
    final AtomicInteger closes = new AtomicInteger();

    Tracked(String function, int number) {
      this.function = function;
      this.number = number;
    }

    @Override
    public void close() {
      closes.incrementAndGet();
    }

    @Override
    public String toString() {
      return function + "#" + number;
    }
  }

  /** Per function name: outcomes seen by callers (top-level and nested). */
  static final class Tally {
    final Map<Outcome, LongAdder> outcomes = new ConcurrentHashMap<>();

    void add(Outcome o) {
      outcomes.computeIfAbsent(o, k -> new LongAdder()).increment();
    }

    long get(Outcome o) {
      LongAdder a = outcomes.get(o);
      return a == null ? 0 : a.sum();
    }

    /** Calls whose counting in stats is known: each went to exactly one counter. */
    long counted() {
      return get(Outcome.SUCCESS) + get(Outcome.FAILED) + get(Outcome.TIMEOUT) + get(Outcome.THROTTLED)
          + get(Outcome.REJECTED);
    }

    /** Calls that may or may not have been counted, under any counter. */
    long unknown() {
      return get(Outcome.CANCELLED) + get(Outcome.INTERRUPTED) + get(Outcome.OTHER) + get(Outcome.REJECTED_BY_NAME);
    }
  }

  /** A set of call ids (sequential longs) as bits, so a million calls cost 128 KiB, not 60 MiB. */
  static final class IdSet {
    private static final int CHUNK_BITS = 22; // 4 Mi ids = 64 Ki longs per chunk
    private final Map<Long, java.util.concurrent.atomic.AtomicLongArray> chunks = new ConcurrentHashMap<>();

    /** Adds {@code id}; false if it was there already. */
    boolean add(long id) {
      java.util.concurrent.atomic.AtomicLongArray chunk = chunks.computeIfAbsent(id >>> CHUNK_BITS,
          k -> new java.util.concurrent.atomic.AtomicLongArray(1 << (CHUNK_BITS - 6)));
      int bit = (int) (id & ((1L << CHUNK_BITS) - 1));
      long mask = 1L << (bit & 63);
      return (chunk.getAndAccumulate(bit >>> 6, mask, (a, b) -> a | b) & mask) == 0;
    }
  }

  /** The count and first examples of one kind of violation. */
  static final class ViolationKind {
    final AtomicInteger count = new AtomicInteger();
    final List<String> examples = new CopyOnWriteArrayList<>();
  }

  /** An error a handler throws on purpose. */
  static final class SoakError extends Error {
    private static final long serialVersionUID = 1L;

    SoakError() {
      super("thrown by a soak handler on purpose", null, false, false);
    }
  }

  static final class Soak {
    final long seed;
    final boolean longProfile;
    final Random random;
    final Map<String, ViolationKind> violationKinds = new ConcurrentHashMap<>();
    final AtomicLong violationCount = new AtomicLong();
    final Set<Thread> threadsBefore = ReliabilityRegressionTest.cumulusPlatformThreads();

    Cumulus cumulus;
    int runtimeMax;
    int reservedLeft;
    final AtomicInteger functionNumbers = new AtomicInteger();
    /** Live handles (registered now) and every handle ever registered, by name. */
    final List<Fn<Op, Object>> live = new CopyOnWriteArrayList<>();
    final Map<String, List<Fn<Op, Object>>> registrations = new ConcurrentHashMap<>();
    final List<String> unregisteredNames = new CopyOnWriteArrayList<>();
    final Map<String, Tally> tallies = new ConcurrentHashMap<>();
    final Map<Long, String> pending = new ConcurrentHashMap<>();
    final IdSet ran = new IdSet();
    final ConcurrentLinkedQueue<Tracked> instances = new ConcurrentLinkedQueue<>();
    final List<WeakReference<Object>> sampled = Collections.synchronizedList(new ArrayList<>());
    final List<CompletableFuture<Object>> held = new CopyOnWriteArrayList<>();
    final AtomicLong ids = new AtomicLong();
    final AtomicLong issued = new AtomicLong();
    final AtomicLong progress = new AtomicLong();
    final AtomicLong registrationFailures = new AtomicLong();
    final AtomicLong interrupts = new AtomicLong();
    volatile boolean stop;
    volatile String phase = "setup";
    volatile long phaseDeadline = Long.MAX_VALUE;
    final List<Thread> helpers = new ArrayList<>();
    long loadNanos;
    long startNanos;
    String heapAfterGc = "";

    Soak(long seed, boolean longProfile) {
      this.seed = seed;
      this.longProfile = longProfile;
      this.random = new Random(seed);
    }

    /**
     * Records a violation under its kind (the message without its numbers and details), keeping the
     * count of each kind and its first examples, so that one frequent kind cannot hide the others.
     */
    void violation(String what) {
      String kind = phase + ": " + what.replaceAll("fn-\\d+|\\d+", "N").replaceAll("[:(\\n].*", "").trim();
      ViolationKind k = violationKinds.computeIfAbsent(kind, x -> new ViolationKind());
      if (k.count.incrementAndGet() <= 3) {
        k.examples.add(phase + ": " + what);
      }
      violationCount.incrementAndGet();
    }

    /** One line per kind of violation: how many, and the first examples. */
    List<String> violations() {
      List<String> out = new ArrayList<>();
      new TreeMap<>(violationKinds).forEach((kind, k) -> out.add(kind + " [x" + k.count.get() + "], e.g.\n      "
          + String.join("\n      ", k.examples)));
      return out;
    }

    // ------------------------------------------------------------------------------------------
    // The run

    void run() throws Exception {
      startNanos = System.nanoTime();
      runtimeMax = 16 + random.nextInt(240);
      reservedLeft = runtimeMax / 2;
      Duration keepAlive = Duration.ofMillis(50 + random.nextInt(250));
      Duration drain = Duration.ofMillis(1_000 + random.nextInt(2_000));
      cumulus = Cumulus.builder().maxConcurrency(runtimeMax).carrierKeepAlive(keepAlive).drainTimeout(drain).build();
      System.out.printf(Locale.ROOT, "soak: runtime maxConcurrency=%d carrierKeepAlive=%s drainTimeout=%s%n",
          runtimeMax, keepAlive, drain);
      int functions = 6 + random.nextInt(7);
      for (int i = 0; i < functions; i++) {
        registerRandom(random.nextLong());
      }
      startWatchdog();

      phase("load", null);
      long loadStart = System.nanoTime();
      List<Thread> callers = startCallers(random.nextLong(), 10);
      Thread churn = startChurn(random.nextLong());
      Thread chaos = startInterrupter(random.nextLong(), callers);
      if (longProfile) {
        long nextReport = System.nanoTime();
        while (issued.get() < LONG_INVOCATIONS && violationCount.get() < 50) {
          Thread.sleep(200);
          if (System.nanoTime() - nextReport > 0) {
            nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            System.out.printf(Locale.ROOT, "soak: %,d calls issued, %d functions live%n", issued.get(), live.size());
          }
        }
      } else {
        Thread.sleep(SHORT_LOAD.toMillis());
      }
      stop = true;
      for (Thread t : List.of(churn, chaos)) {
        t.join();
      }
      for (Thread t : callers) {
        t.join();
      }
      loadNanos = System.nanoTime() - loadStart;

      phase("quiesce", Duration.ofSeconds(120));
      checkAtRest(false);
      checkMinInstances();
      checkCollectable("while the runtime is open, with early futures held");

      phase("close", Duration.ofSeconds(120));
      stop = false;
      List<Thread> lateCallers = startCallers(random.nextLong(), 6);
      Thread.sleep(100 + random.nextInt(1_500)); // close() at a random moment of the burst
      closeBounded(drain);
      stop = true;
      for (Thread t : lateCallers) {
        t.join();
      }

      phase("closed", Duration.ofSeconds(180));
      checkAtRest(true);
      checkNothingWarm();
      checkInstancesClosedOnce();
      checkNoThreadLeft(keepAlive);
      checkCollectable("after close");
      phase("done", null);
    }

    void phase(String name, Duration deadline) {
      phase = name;
      phaseDeadline = deadline == null ? Long.MAX_VALUE : System.nanoTime() + deadline.toNanos();
      progress.incrementAndGet();
      System.out.printf(Locale.ROOT, "soak: %s (%.1f s, %,d calls)%n", name, (System.nanoTime() - startNanos) / 1e9,
          issued.get());
    }

    // ------------------------------------------------------------------------------------------
    // Functions

    void registerRandom(long fnSeed) {
      registerRandom(fnSeed, false);
    }

    /**
     * Registers a random function; if its reservation does not fit (an unregistered function gives
     * its reservation back only when its drain ends), registers it without one, so that churn does
     * not wear the number of functions down.
     */
    void registerRandom(long fnSeed, boolean unreserved) {
      Random r = new Random(fnSeed);
      String name = !unregisteredNames.isEmpty() && r.nextInt(3) == 0
          ? unregisteredNames.get(r.nextInt(unregisteredNames.size()))
          : "fn-" + functionNumbers.incrementAndGet();
      int initFailPercent = r.nextInt(4) == 0 ? 10 : 0;
      int initHangMillis = r.nextInt(5) == 0 ? 20 + r.nextInt(300) : 0;
      AtomicInteger numbers = new AtomicInteger();
      FnSpec.Builder<Op, Object> b = FnSpec.withInstance(name, () -> {
        Random ir = new Random();
        if (initHangMillis > 0 && ir.nextInt(3) == 0) {
          TestFunctions.sleep(initHangMillis); // interruptible: a timeout during init interrupts it
        }
        if (initFailPercent > 0 && ir.nextInt(100) < initFailPercent) {
          throw new IllegalStateException("soak: init of " + name + " fails on purpose");
        }
        Tracked t = new Tracked(name, numbers.incrementAndGet());
        instances.add(t);
        return t;
      }, (Tracked t, Op op) -> handle(name, t, op));
      int limit = 0;
      synchronized (this) {
        if (!unreserved && r.nextBoolean() && reservedLeft >= 2) {
          limit = 1 + r.nextInt(Math.min(8, reservedLeft));
          reservedLeft -= limit;
        }
      }
      if (limit > 0) {
        b.maxConcurrency(limit);
      }
      b.queueCapacity(switch (r.nextInt(4)) {
        case 0 -> 0;
        case 1 -> r.nextInt(10);
        case 2 -> 50 + r.nextInt(200);
        default -> 10_000;
      });
      b.timeout(Duration.ofMillis(switch (r.nextInt(4)) {
        case 0 -> 30;
        case 1 -> 100;
        case 2 -> 500;
        default -> 2_000;
      }));
      b.keepAlive(Duration.ofMillis(20 + r.nextInt(500)));
      int min = r.nextInt(3) == 0 ? 1 + r.nextInt(2) : 0;
      if (limit > 0) {
        min = Math.min(min, limit);
      }
      b.minInstances(min);
      if (r.nextInt(6) == 0) {
        b.cpuBudget(Duration.ofMillis(5 + r.nextInt(50)));
      }
      FnSpec<Op, Object> spec = b.build();
      try {
        Fn<Op, Object> fn = cumulus.register(spec);
        registrations.computeIfAbsent(name, k -> new CopyOnWriteArrayList<>()).add(fn);
        unregisteredNames.remove(name);
        live.add(fn);
      } catch (FunctionFailedException e) {
        registrationFailures.incrementAndGet(); // provisioning minInstances hit a failing init
        synchronized (this) {
          reservedLeft += limit;
        }
        if (registrationFailures.get() % 1_000 != 0) {
          registerRandom(fnSeed * 31 + 17, unreserved); // another function instead, so the count holds
        }
      } catch (IllegalStateException e) {
        synchronized (this) {
          reservedLeft += limit;
        }
        if (limit > 0 && !unreserved) {
          registerRandom(fnSeed, true); // the reservation did not fit yet
        }
      } catch (RuntimeClosedException e) {
        synchronized (this) {
          reservedLeft += limit;
        }
      }
    }

    void unregisterRandom(Random r) {
      if (live.size() <= 3) {
        return;
      }
      Fn<Op, Object> fn = live.get(r.nextInt(live.size()));
      if (live.remove(fn) && cumulus.unregister(fn.name())) {
        unregisteredNames.add(fn.name());
        synchronized (this) {
          reservedLeft += fn.spec().maxConcurrency().orElse(0);
        }
      }
    }

    Object handle(String self, Tracked instance, Op op) {
      if (!ran.add(op.id())) {
        violation("call " + op.id() + " of " + self + " ran twice");
      }
      if (instance.closes.get() > 0) {
        violation("instance " + instance + " used after it was closed");
      }
      if (!instance.inUse.compareAndSet(false, true)) {
        violation("instance " + instance + " used by two invocations at once");
        return null;
      }
      try {
        return act(self, op);
      } finally {
        instance.inUse.set(false);
        if (instance.closes.get() > 0) {
          violation("instance " + instance + " closed while an invocation used it");
        }
      }
    }

    Object act(String self, Op op) {
      switch (op.kind()) {
        case RETURN:
          return new long[] {op.id()};
        case CPU:
          return TestFunctions.spinCpu(op.param());
        case SLEEP:
          TestFunctions.sleep(op.param());
          return op.param();
        case STUBBORN: { // ignores interrupts: may outlive its timeout
          long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(op.param());
          boolean interrupted = false;
          while (System.nanoTime() - end < 0) {
            LockSupport.parkNanos(end - System.nanoTime());
            interrupted |= Thread.interrupted();
          }
          if (interrupted) {
            Thread.currentThread().interrupt();
          }
          return op.param();
        }
        case THROW:
          throw new IllegalStateException("soak: thrown on purpose");
        case ERROR:
          throw new SoakError();
        case OOM:
          throw new OutOfMemoryError("soak: thrown by a handler on purpose");
        case ALLOCATE:
          return new byte[op.param() << 10];
        case CALL: {
          Fn<Op, Object> target = find(op.target());
          Op nested = nestedOp(new Random(op.id()), op.depth() + 1);
          callNested(target, op.target(), nested);
          return op.id();
        }
        case RECURSE: {
          if (op.param() > 1) {
            Fn<Op, Object> me = find(self);
            callNested(me, self, new Op(ids.incrementAndGet(), Kind.RECURSE, op.param() - 1, op.depth() + 1, self));
          }
          return op.param();
        }
        default:
          throw new AssertionError(op.kind());
      }
    }

    Fn<Op, Object> find(String name) {
      for (Fn<Op, Object> fn : live) {
        if (fn.name().equals(name)) {
          return fn;
        }
      }
      List<Fn<Op, Object>> all = registrations.get(name);
      return all == null || all.isEmpty() ? null : all.get(all.size() - 1); // stale: refused as unknown
    }

    void callNested(Fn<Op, Object> target, String name, Op op) {
      issued.incrementAndGet();
      if (target == null) {
        return;
      }
      Outcome o;
      try {
        target.invoke(op);
        o = Outcome.SUCCESS;
      } catch (Throwable e) {
        o = classify(e, false);
      }
      tally(name).add(o);
      progress.incrementAndGet();
    }

    Op nestedOp(Random r, int depth) {
      Kind kind = switch (r.nextInt(depth >= 2 ? 4 : 5)) {
        case 0 -> Kind.RETURN;
        case 1 -> Kind.CPU;
        case 2 -> Kind.SLEEP;
        case 3 -> Kind.THROW;
        default -> Kind.CALL;
      };
      return new Op(ids.incrementAndGet(), kind, kind == Kind.SLEEP ? r.nextInt(10) : r.nextInt(2), depth,
          pickName(r));
    }

    String pickName(Random r) {
      List<Fn<Op, Object>> l = live;
      return l.isEmpty() ? "none" : l.get(r.nextInt(l.size())).name();
    }

    Op randomOp(Random r) {
      int w = r.nextInt(100);
      Kind kind = w < 30 ? Kind.RETURN : w < 45 ? Kind.CPU : w < 60 ? Kind.SLEEP : w < 65 ? Kind.STUBBORN
          : w < 73 ? Kind.THROW : w < 77 ? Kind.ERROR : w < 78 ? Kind.OOM : w < 86 ? Kind.ALLOCATE
          : w < 95 ? Kind.CALL : Kind.RECURSE;
      int param = switch (kind) {
        case CPU -> r.nextInt(3);
        case SLEEP -> r.nextInt(30);
        case STUBBORN -> 10 + r.nextInt(200);
        case ALLOCATE -> 1 + r.nextInt(512);
        case RECURSE -> 2 + r.nextInt(3);
        default -> 0;
      };
      return new Op(ids.incrementAndGet(), kind, param, 0, pickName(r));
    }

    Tally tally(String name) {
      return tallies.computeIfAbsent(name, k -> new Tally());
    }

    static Outcome classify(Throwable e, boolean byName) {
      Throwable t = e;
      while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
          && t.getCause() != null) {
        t = t.getCause();
      }
      if (t instanceof java.util.concurrent.CancellationException) {
        return Outcome.CANCELLED;
      }
      if (t instanceof FunctionTimeoutException) {
        return Outcome.TIMEOUT;
      }
      if (t instanceof FunctionFailedException || t instanceof CpuBudgetExceededException) {
        return Outcome.FAILED;
      }
      if (t instanceof ThrottledException) {
        return Outcome.THROTTLED;
      }
      if (t instanceof RuntimeClosedException) {
        return byName ? Outcome.REJECTED_BY_NAME : Outcome.REJECTED;
      }
      if (t instanceof UnknownFunctionException) {
        return Outcome.UNKNOWN_FUNCTION;
      }
      if (t instanceof InvalidInputException) {
        return Outcome.INVALID;
      }
      if (t instanceof CumulusException c && c.getCause() instanceof InterruptedException) {
        return Outcome.INTERRUPTED;
      }
      if (t instanceof CumulusException) {
        return Outcome.OTHER;
      }
      return null; // not the runtime's: a violation
    }

    // ------------------------------------------------------------------------------------------
    // Threads that make the load

    List<Thread> startCallers(long callersSeed, int n) {
      Random r = new Random(callersSeed);
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        long s = r.nextLong();
        Runnable loop = () -> callerLoop(new Random(s));
        threads.add(i % 3 == 0 ? Thread.ofPlatform().name("soak-caller-" + i).start(loop)
            : Thread.ofVirtual().name("soak-caller-" + i).start(loop));
      }
      return threads;
    }

    void callerLoop(Random r) {
      boolean holding = false;
      while (!stop) {
        List<Fn<Op, Object>> l = live;
        Fn<Op, Object> fn;
        if (r.nextInt(40) == 0 && !registrations.isEmpty()) { // now and then a stale handle
          List<List<Fn<Op, Object>>> all = new ArrayList<>(registrations.values());
          List<Fn<Op, Object>> regs = all.get(r.nextInt(all.size()));
          fn = regs.get(r.nextInt(regs.size()));
        } else if (l.isEmpty()) {
          continue;
        } else {
          fn = l.get(r.nextInt(l.size()));
        }
        Op op = randomOp(r);
        issued.incrementAndGet();
        int mode = r.nextInt(100);
        try {
          if (mode < 35) {
            Outcome o;
            try {
              fn.invoke(op);
              o = Outcome.SUCCESS;
            } catch (Throwable e) {
              o = classify(e, false);
              if (o == null) {
                violation("a call of " + fn.name() + " threw " + e);
              }
            }
            record(fn.name(), o);
          } else if (mode < 45) {
            Outcome o;
            try {
              cumulus.invoke(fn.name(), op);
              o = Outcome.SUCCESS;
            } catch (Throwable e) {
              o = classify(e, true);
              if (o == null) {
                violation("a call of " + fn.name() + " by name threw " + e);
              }
            }
            record(fn.name(), o);
          } else {
            boolean byName = mode >= 92;
            @SuppressWarnings("unchecked")
            CompletableFuture<Object> f = byName ? cumulus.invokeAsync(fn.name(), op)
                : (CompletableFuture<Object>) (CompletableFuture<?>) fn.invokeAsync(op);
            boolean hold = !holding && r.nextInt(4) == 0;
            track(fn.name(), op, f, byName, hold);
            if (hold) {
              holding = true;
              held.add(f); // a caller that keeps one early future for the whole run
            }
            if (r.nextInt(12) == 0) {
              f.cancel(r.nextBoolean());
            }
          }
        } finally {
          if (Thread.interrupted()) {
            interrupts.incrementAndGet();
          }
          progress.incrementAndGet();
        }
      }
    }

    void record(String name, Outcome o) {
      if (o != null) {
        tally(name).add(o);
      }
    }

    void track(String name, Op op, CompletableFuture<Object> f, boolean byName, boolean willHold) {
      pending.put(op.id(), name);
      boolean sample = !willHold && (op.kind() == Kind.ALLOCATE || op.kind() == Kind.RETURN) && op.id() % 8 == 0;
      f.whenComplete((v, e) -> {
        if (pending.remove(op.id()) == null) {
          violation("the future of call " + op.id() + " completed twice");
        }
        Outcome o = e == null ? Outcome.SUCCESS : classify(e, byName);
        if (o == null) {
          violation("the future of a call of " + name + " failed with " + e);
        }
        record(name, o);
        if (sample && v != null) {
          sampled.add(new WeakReference<>(v));
        }
        progress.incrementAndGet();
      });
    }

    Thread startChurn(long churnSeed) {
      Random r = new Random(churnSeed);
      return helper("soak-churn", () -> {
        while (!stop) {
          TestFunctions.sleep(100 + r.nextInt(300));
          unregisterRandom(r);
          registerRandom(r.nextLong());
        }
      });
    }

    Thread startInterrupter(long chaosSeed, List<Thread> callers) {
      Random r = new Random(chaosSeed);
      return helper("soak-interrupter", () -> {
        while (!stop) {
          TestFunctions.sleep(20 + r.nextInt(80));
          callers.get(r.nextInt(callers.size())).interrupt();
        }
      });
    }

    Thread helper(String name, Runnable body) {
      Thread t = Thread.ofPlatform().name(name).daemon().start(() -> {
        try {
          body.run();
        } catch (Throwable e) {
          violation(name + " failed: " + e);
        }
      });
      helpers.add(t);
      return t;
    }

    void startWatchdog() {
      Thread t = Thread.ofPlatform().name("soak-watchdog").daemon().start(() -> {
        long last = -1;
        long lastChange = System.nanoTime();
        boolean dumped = false;
        while (!"done".equals(phase)) {
          try {
            Thread.sleep(500);
          } catch (InterruptedException e) {
            return;
          }
          long p = progress.get();
          long now = System.nanoTime();
          if (p != last) {
            last = p;
            lastChange = now;
          }
          boolean stalled = "load".equals(phase) && now - lastChange > STALL.toNanos();
          if (!dumped && (stalled || now - phaseDeadline > 0)) {
            dumped = true;
            violation((stalled ? "no progress for " + STALL : "phase overran its deadline")
                + "; every thread's stack follows on standard output");
            System.out.println(threadDump());
          }
        }
      });
      helpers.add(t);
    }

    void shutdownHelpers() {
      stop = true;
      phase = "done";
      for (Thread t : helpers) {
        t.interrupt();
      }
      if (cumulus != null) {
        cumulus.close();
      }
    }

    // ------------------------------------------------------------------------------------------
    // Checks

    /** Waits, bounded, for {@code condition}; false if it did not hold in time. */
    static boolean eventually(Duration atMost, BooleanSupplier condition) {
      long end = System.nanoTime() + atMost.toNanos();
      while (!condition.getAsBoolean()) {
        if (System.nanoTime() - end > 0) {
          return false;
        }
        TestFunctions.sleep(20);
      }
      return true;
    }

    /** What is left until {@code deadline} ({@link System#nanoTime()}), at least nothing. */
    static Duration until(long deadline) {
      return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    void checkAtRest(boolean closed) {
      if (!eventually(Duration.ofSeconds(closed ? 15 : 60), pending::isEmpty)) {
        violation(pending.size() + " futures never completed" + (closed ? " after close() returned" : "")
            + ", e.g. " + pending.entrySet().stream().limit(5).toList());
      }
      long restBy = System.nanoTime() + Duration.ofSeconds(30).toNanos(); // one deadline for them all
      for (Map.Entry<String, List<Fn<Op, Object>>> e : registrations.entrySet()) {
        for (Fn<Op, Object> fn : e.getValue()) {
          if (!eventually(until(restBy), () -> atRest(fn.stats()))) {
            violation("never at rest: " + fn.stats());
          }
        }
      }
      Map<String, FunctionStats> lines = new TreeMap<>();
      for (FunctionStats s : cumulus.usage().functions()) {
        lines.put(s.name(), s);
      }
      for (Map.Entry<String, List<Fn<Op, Object>>> e : registrations.entrySet()) {
        String name = e.getKey();
        long invocations = 0;
        long successes = 0;
        long failures = 0;
        long timeouts = 0;
        long throttles = 0;
        long rejected = 0;
        long cancelled = 0;
        long coldStarts = 0;
        long billed = 0;
        for (Fn<Op, Object> fn : e.getValue()) {
          FunctionStats s = fn.stats();
          if (s.invocations() != s.completed()) {
            violation("counters do not add up at rest: " + s);
          }
          invocations += s.invocations();
          successes += s.successes();
          failures += s.failures();
          timeouts += s.timeouts();
          throttles += s.throttles();
          rejected += s.rejected();
          cancelled += s.cancelled();
          coldStarts += s.coldStarts();
          billed += s.billedMillis();
        }
        Tally t = tally(name);
        long unknown = t.unknown();
        within(name + " invocations", invocations, t.counted(), t.counted() + unknown);
        within(name + " successes", successes, t.get(Outcome.SUCCESS), t.get(Outcome.SUCCESS) + unknown);
        within(name + " failures", failures, t.get(Outcome.FAILED), t.get(Outcome.FAILED) + unknown);
        within(name + " timeouts", timeouts, t.get(Outcome.TIMEOUT), t.get(Outcome.TIMEOUT) + unknown);
        within(name + " throttles", throttles, t.get(Outcome.THROTTLED), t.get(Outcome.THROTTLED) + unknown);
        within(name + " rejected", rejected, t.get(Outcome.REJECTED), t.get(Outcome.REJECTED) + unknown);
        within(name + " cancelled", cancelled, 0, t.get(Outcome.CANCELLED));
        FunctionStats line = lines.get(name);
        if (line == null) {
          if (invocations > 0) {
            violation("no usage line for " + name + " (" + invocations + " invocations)");
          }
          continue;
        }
        if (line.invocations() != invocations || line.successes() != successes || line.failures() != failures
            || line.timeouts() != timeouts || line.throttles() != throttles || line.rejected() != rejected
            || line.cancelled() != cancelled || line.coldStarts() != coldStarts || line.billedMillis() != billed
            || !atRest(line)) {
          violation("usage line differs from its registrations' stats (invocations " + invocations + ", ok "
              + successes + ", failed " + failures + ", timed out " + timeouts + ", throttled " + throttles
              + ", rejected " + rejected + ", cancelled " + cancelled + ", cold " + coldStarts + ", billed "
              + billed + " ms): " + line);
        }
      }
    }

    void checkNothingWarm() {
      long coldBy = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      for (List<Fn<Op, Object>> regs : registrations.values()) {
        for (Fn<Op, Object> fn : regs) {
          if (!eventually(until(coldBy), () -> fn.stats().warmInstances() == 0)) {
            violation("instances still warm after close: " + fn.stats());
          }
        }
      }
      for (FunctionStats line : cumulus.usage().functions()) {
        if (line.warmInstances() != 0 || !atRest(line)) {
          violation("usage line not at rest after close: " + line);
        }
      }
    }

    static boolean atRest(FunctionStats s) {
      return s.inFlight() == 0 && s.queued() == 0 && s.overdue() == 0 && s.invocations() == s.completed();
    }

    void within(String what, long value, long low, long high) {
      if (value < low || value > high) {
        violation(what + " = " + value + ", but the callers saw between " + low + " and " + high);
      }
    }

    void checkMinInstances() {
      long warmBy = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      for (Fn<Op, Object> fn : live) {
        int min = fn.spec().minInstances();
        if (min > 0 && !eventually(until(warmBy), () -> fn.stats().warmInstances() >= min)) {
          violation("minInstances " + min + " not kept: " + fn.stats());
        }
      }
    }

    void checkCollectable(String when) {
      List<WeakReference<Object>> refs;
      synchronized (sampled) {
        refs = new ArrayList<>(sampled);
      }
      boolean cleared = eventually(Duration.ofSeconds(20), () -> {
        System.gc();
        return refs.stream().allMatch(w -> w.get() == null);
      });
      if (!cleared) {
        long reachable = refs.stream().filter(w -> w.get() != null).count();
        violation(reachable + " of " + refs.size() + " dropped results still reachable " + when
            + " (" + held.size() + " early futures held)");
      }
      var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
      heapAfterGc = String.format(Locale.ROOT, "%.1f MiB used of %.0f MiB max", heap.getUsed() / 1048576.0,
          heap.getMax() / 1048576.0);
    }

    void checkInstancesClosedOnce() {
      if (!eventually(Duration.ofSeconds(30), () -> instances.stream().allMatch(t -> t.closes.get() >= 1))) {
        List<Tracked> open = instances.stream().filter(t -> t.closes.get() == 0).limit(10).toList();
        violation(instances.stream().filter(t -> t.closes.get() == 0).count() + " instances never closed, e.g. " + open);
      }
      List<String> twice = instances.stream().filter(t -> t.closes.get() > 1)
          .map(t -> t + " x" + t.closes.get()).limit(10).toList();
      if (!twice.isEmpty()) {
        violation("instances closed more than once: " + twice);
      }
    }

    void checkNoThreadLeft(Duration keepAlive) {
      if (!eventually(keepAlive.plusSeconds(30), () -> ReliabilityRegressionTest.newThreads(threadsBefore).isEmpty())) {
        violation("threads of the closed runtime still alive: " + ReliabilityRegressionTest.newThreads(threadsBefore));
      }
    }

    void closeBounded(Duration drain) throws InterruptedException {
      Thread closer = Thread.ofPlatform().name("soak-closer").start(cumulus::close);
      closer.join(drain.plusSeconds(60).toMillis());
      if (closer.isAlive()) {
        violation("close() did not return within its drain timeout + 60 s; threads:\n" + threadDump());
      }
    }

    static String threadDump() {
      StringBuilder sb = new StringBuilder("Thread dump (Thread.getAllStackTraces):\n");
      for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
        Thread t = e.getKey();
        sb.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
        for (StackTraceElement frame : e.getValue()) {
          sb.append("    at ").append(frame).append('\n');
        }
      }
      return sb.toString();
    }

    String summary() {
      Map<Outcome, Long> all = new TreeMap<>();
      for (Tally t : tallies.values()) {
        for (Outcome o : Outcome.values()) {
          all.merge(o, t.get(o), Long::sum);
        }
      }
      long invocations = registrations.values().stream().flatMap(List::stream)
          .mapToLong(fn -> fn.stats().invocations()).sum();
      return String.format(Locale.ROOT, "soak %s seed=%d: %,d calls issued, %,d invocations counted, load %.1f s"
              + " (%,.0f calls/s), total %.1f s; %d functions registered over the run (%d registrations failed),"
              + " %d instances, %d caller interrupts; outcomes %s; heap after GC %s; %d violations%s",
          longProfile ? "long" : "short", seed, issued.get(), invocations, loadNanos / 1e9,
          issued.get() / Math.max(1e-9, loadNanos / 1e9), (System.nanoTime() - startNanos) / 1e9,
          registrations.values().stream().mapToInt(List::size).sum(), registrationFailures.get(),
          instances.size(), interrupts.get(), all, heapAfterGc, violationCount.get(),
          violationCount.get() == 0 ? "" : ":\n  " + String.join("\n  ", violations()));
    }
  }
}
