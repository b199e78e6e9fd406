package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The idle stack of {@link InstancePool} is lock-free: threads that take and return instances race
 * with the expiry and with close. Whatever the interleaving, an instance is never handed to two
 * users at once, never closed while in use, closed exactly once, and the pool's count of live
 * instances ends where the instances do.
 */
class InstancePoolTest {
  private static final long KEEP_ALIVE = TimeUnit.MILLISECONDS.toNanos(5);

  /** A clock whose idle timers run when the test calls {@link #runDue}. */
  private static final class SteppedClock implements Clock {
    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final ConcurrentLinkedQueue<Object[]> idleTimers = new ConcurrentLinkedQueue<>();

    @Override
    public long nanoTime() {
      return now.get();
    }

    @Override
    public Timer schedule(Runnable task, long delayNanos) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Timer scheduleIdle(Runnable task, long delayNanos) {
      AtomicBoolean cancelled = new AtomicBoolean();
      idleTimers.add(new Object[] {now.get() + delayNanos, task, cancelled});
      return () -> cancelled.set(true);
    }

    @Override
    public void shutdown() {}

    void runDue() {
      List<Object[]> due = new ArrayList<>();
      for (Object[] t : idleTimers) {
        if ((long) t[0] <= now.get()) {
          due.add(t);
        }
      }
      for (Object[] t : due) {
        idleTimers.remove(t);
        if (!((AtomicBoolean) t[2]).get()) {
          ((Runnable) t[1]).run();
        }
      }
    }
  }

  /** Decisions of the adaptive keep-alive at random, in clock steps of the race (half a keep-alive). */
  private static final class ScriptedDecisions extends IdleHistogram {
    private static final long STEP = KEEP_ALIVE / 2;
    private final Random random;

    ScriptedDecisions(long seed) {
      super(240 * STEP, KEEP_ALIVE, STEP); // a burst ends after a step of idleness
      this.random = new Random(seed);
    }

    @Override
    Decision decide() {
      return random.nextInt(3) == 0
          ? Decision.keep(STEP * (1 + random.nextInt(4)), true)
          : new Decision(STEP * (2 + random.nextInt(3)), STEP * (1 + random.nextInt(4)), true);
    }
  }

  /** An instance that reports being used twice at once, or closed while used or twice. */
  private static final class Instance implements AutoCloseable {
    final AtomicInteger users = new AtomicInteger();
    final AtomicInteger closes = new AtomicInteger();
    final List<String> violations;

    Instance(List<String> violations) {
      this.violations = violations;
    }

    void use() {
      if (users.incrementAndGet() != 1) {
        violations.add("used by two at once");
      }
      if (closes.get() != 0) {
        violations.add("used after it was closed");
      }
      Thread.onSpinWait();
      users.decrementAndGet();
    }

    @Override
    public void close() {
      if (users.get() != 0) {
        violations.add("closed while in use");
      }
      if (closes.incrementAndGet() != 1) {
        violations.add("closed twice");
      }
    }
  }

  @Test
  void takeAndReturnRacingExpiryAndClose_neverShareNorLoseAnInstance() throws Exception {
    race(false);
  }

  /**
   * The same race with the adaptive keep-alive: every busy/idle transition of the pool records an
   * idle time and asks for a decision, scripted at random (keep for a while, or unload after a clock
   * step and pre-warm after a few), so that expiries, unloads and pre-warms race with the threads
   * that take and return instances.
   */
  @Test
  void takeAndReturnRacingTheAdaptiveKeepAlive_neverShareNorLoseAnInstance() throws Exception {
    race(true);
  }

  private void race(boolean adaptive) throws Exception {
    for (int seed = 1; seed <= 5; seed++) {
      List<String> violations = new java.util.concurrent.CopyOnWriteArrayList<>();
      ConcurrentLinkedQueue<Instance> created = new ConcurrentLinkedQueue<>();
      SteppedClock clock = new SteppedClock();
      IdleHistogram idleTimes = adaptive ? new ScriptedDecisions(seed) : null;
      // Scaling from and to zero alternate, from zero first, whatever the races (told under the lock).
      AtomicBoolean atZero = new AtomicBoolean(true);
      AtomicInteger crossings = new AtomicInteger();
      InstancePool.Scaling scaling = toZero -> {
        crossings.incrementAndGet();
        if (atZero.getAndSet(toZero) == toZero) {
          violations.add((toZero ? "to" : "from") + " zero twice in a row");
        }
      };
      InstancePool pool = new InstancePool("f", clock, KEEP_ALIVE, idleTimes, seed % 2, () -> {
        Instance i = new Instance(violations);
        created.add(i);
        return i;
      }, task -> CompletableFuture.runAsync(task), scaling);
      pool.provision();

      int threads = adaptive ? 3 : 6;
      AtomicBoolean stop = new AtomicBoolean();
      CountDownLatch done = new CountDownLatch(threads);
      Random seeds = new Random(seed);
      for (int t = 0; t < threads; t++) {
        Random random = new Random(seeds.nextLong());
        Thread.ofPlatform().start(() -> {
          try {
            for (int k = 0; k < 20_000; k++) {
              Object o = pool.acquire();
              Instance i = o != null ? (Instance) o : (Instance) pool.create();
              i.use();
              if (random.nextInt(500) == 0) {
                pool.discard(i); // as after an Error
              } else {
                pool.release(i);
              }
              if (adaptive && random.nextInt(8) == 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(20_000); // let the pool go idle now and then
              }
            }
          } finally {
            done.countDown();
          }
        });
      }
      Thread expiring = Thread.ofPlatform().start(() -> {
        while (!stop.get()) {
          clock.now.addAndGet(KEEP_ALIVE / 2);
          clock.runDue();
        }
      });
      assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
      stop.set(true);
      expiring.join();

      pool.stopKeepingMinimum();
      pool.close().get(10, TimeUnit.SECONDS);
      pool.closesInFlight().get(10, TimeUnit.SECONDS);
      if (adaptive) {
        System.out.printf("adaptive race, seed %d: %d instances created, %d of them pre-warmed%n", seed,
            created.size(), pool.preWarms());
      }
      assertThat(violations).as("seed %d", seed).isEmpty();
      assertThat(pool.live()).as("seed %d: live after close", seed).isZero();
      assertThat(atZero).as("seed %d: scaled to zero at the end", seed).isTrue();
      assertThat(crossings.get()).as("seed %d: from zero, and back", seed).isPositive().isEven();
      for (Instance i : created) {
        assertThat(i.closes.get()).as("seed %d: closes of an instance", seed).isEqualTo(1);
      }
    }
  }

  @Test
  void leastRecentlyUsedSurplusExpiresFirst_andTheMinimumStays() {
    SteppedClock clock = new SteppedClock();
    List<String> violations = new ArrayList<>();
    InstancePool pool = new InstancePool("f", clock, KEEP_ALIVE, 1, () -> new Instance(violations), task -> {
      task.run(); // closes on the calling thread, so that the test sees them at once
      return CompletableFuture.completedFuture(null);
    }, InstancePool.Scaling.NONE);
    pool.provision();
    Object a = pool.acquire();
    assertThat(pool.acquire()).isNull(); // none idle: a cold start
    Object b = pool.create();
    pool.release(a);
    clock.now.addAndGet(KEEP_ALIVE / 2);
    pool.release(b);
    assertThat(pool.live()).isEqualTo(2);

    clock.now.addAndGet(KEEP_ALIVE / 2);
    clock.runDue(); // a idle for keepAlive: closed; b stays
    assertThat(pool.live()).isEqualTo(1);
    assertThat(((Instance) a).closes.get()).isEqualTo(1);

    clock.now.addAndGet(KEEP_ALIVE * 10);
    clock.runDue(); // b is the minimum: it stays however long it idles
    assertThat(pool.live()).isEqualTo(1);
    assertThat(pool.acquire()).isSameAs(b);
    assertThat(violations).isEmpty();
  }
}
