package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DeadlineWatchTest {

  /** A clock that only counts its pending timers and never fires them. */
  private static final class CountingClock implements Clock {
    final AtomicInteger pending = new AtomicInteger();

    @Override
    public long nanoTime() {
      return System.nanoTime();
    }

    @Override
    public Timer schedule(Runnable task, long delayNanos) {
      pending.incrementAndGet();
      AtomicInteger once = new AtomicInteger();
      return () -> {
        if (once.getAndIncrement() == 0) {
          pending.decrementAndGet();
        }
      };
    }

    @Override
    public Timer scheduleIdle(Runnable task, long delayNanos) {
      return schedule(task, delayNanos);
    }

    @Override
    public void shutdown() {}
  }

  private static final class Busy implements DeadlineWatch.Watched {
    final AtomicInteger workers = new AtomicInteger();
    final long first;

    Busy(long first) {
      this.first = first;
    }

    @Override
    public long check(long now) {
      return now + first;
    }

    @Override
    public long firstCheckNanos() {
      return first;
    }
  }

  @Test
  void dueTimeAndTimerInOneAtomic_concurrentStartsAndStops_leaveOneTimerWhileBusy_andNoneWhenIdle()
      throws Exception {
    long seed = Long.getLong("cumulus.seed", System.nanoTime());
    System.out.println("DeadlineWatchTest seed=" + seed);
    Random random = new Random(seed);
    CountingClock clock = new CountingClock();
    DeadlineWatch watch = new DeadlineWatch(clock);
    List<Busy> functions = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      functions.add(new Busy(1_000_000L * (1 + random.nextInt(1_000))));
    }
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      long threadSeed = random.nextLong();
      threads.add(Thread.ofPlatform().start(() -> {
        Random r = new Random(threadSeed);
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 20_000; i++) {
          Busy f = functions.get(r.nextInt(functions.size()));
          // As a worker pool does: the first worker watches, the last one unwatches.
          if (f.workers.getAndIncrement() == 0) {
            watch.watch(f);
          }
          if (f.workers.decrementAndGet() == 0) {
            watch.unwatch(f, () -> f.workers.get() > 0);
          }
        }
      }));
    }
    go.countDown();
    for (Thread t : threads) {
      t.join();
    }
    assertThat(watch.isIdle()).isTrue();
    assertThat(clock.pending).as("timers left on an idle runtime").hasValue(0);
    watch.watch(functions.get(0));
    assertThat(clock.pending).hasValue(1);
  }
}
