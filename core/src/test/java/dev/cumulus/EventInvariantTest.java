package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.RepeatedTest;

/**
 * The events invariant under a seeded random mix: every accepted event ends exactly once, succeeded
 * or dead-lettered, and the counters say so. The mix: several functions with random limits, queues,
 * backlogs and retry policies; events that fail a few times, fail for good, fail non-retryably, or
 * block until released; duplicate idempotency keys; synchronous calls competing for the same slots;
 * the clock moving by random steps; a sink that sometimes throws; and a close whose drain deadline
 * catches some of it. Rerun one mix with {@code -Dcumulus.seed=<seed>}.
 */
class EventInvariantTest {
  /** What an event does, decided by the mix: fail so many times, never, non-retryably, or block. */
  record Task(long token, int failures, boolean notRetryable, boolean blocks) {}

  @RepeatedTest(3)
  void everyAcceptedEvent_endsExactlyOnce_andTheCountsSaySo() throws Exception {
    long seed = Long.getLong("cumulus.seed", System.nanoTime());
    System.out.println("EventInvariantTest seed: " + seed + " (rerun with -Dcumulus.seed=" + seed + ")");
    Random random = new Random(seed);
    ManualClock clock = new ManualClock();
    Cumulus c = Cumulus.builder().clock(clock).maxConcurrency(20 + random.nextInt(30)) // reservations take at most 16
        .drainTimeout(Duration.ofSeconds(5)).build();
    ManualTime.seedJitter(c, new java.util.SplittableRandom(seed));

    // Blocking events wait for the latch of their moment; the mix releases it now and then.
    java.util.concurrent.atomic.AtomicReference<CountDownLatch> release =
        new java.util.concurrent.atomic.AtomicReference<>(new CountDownLatch(1));
    Map<Long, AtomicInteger> attempts = new ConcurrentHashMap<>();
    Map<Long, AtomicInteger> returned = new ConcurrentHashMap<>();
    List<DeadLetter> letters = new CopyOnWriteArrayList<>();
    AtomicInteger sinkCalls = new AtomicInteger();
    List<Fn<Task, Long>> functions = new ArrayList<>();
    int functionCount = 2 + random.nextInt(3);
    for (int i = 0; i < functionCount; i++) {
      FnSpec.Builder<Task, Long> b = FnSpec.of("f" + i, (Task t) -> {
        int n = attempts.computeIfAbsent(t.token(), k -> new AtomicInteger()).incrementAndGet();
        if (t.blocks()) {
          TestFunctions.await(release.get()); // throws if interrupted (close abandons it)
        }
        if (n <= t.failures()) {
          throw t.notRetryable() ? new IllegalArgumentException("not retryable " + t.token())
              : new UncheckedIOException(new IOException("attempt " + n + " of " + t.token()));
        }
        if (Thread.currentThread().isInterrupted()) {
          throw new IllegalStateException("abandoned");
        }
        returned.computeIfAbsent(t.token(), k -> new AtomicInteger()).incrementAndGet();
        return t.token();
      }).timeout(Duration.ofDays(1)) // the clock moves by hours; no attempt should time out here
          .eventCapacity(20 + random.nextInt(300))
          .queueCapacity(random.nextInt(8))
          .retry(randomPolicy(random))
          .deadLetter(letter -> {
            letters.add(letter);
            if (sinkCalls.incrementAndGet() % 7 == 0) {
              throw new IllegalStateException("the sink fails now and then");
            }
          });
      if (random.nextBoolean()) {
        b.maxConcurrency(1 + random.nextInt(4));
      }
      functions.add(c.register(b.build()));
    }

    Map<String, Long> tokenOfEvent = new HashMap<>();
    Set<String> ids = new HashSet<>();
    long throttledEmits = 0;
    long tokens = 0;
    List<CompletableFuture<Long>> calls = new ArrayList<>();
    int steps = 1_500 + random.nextInt(1_000);
    for (int step = 0; step < steps; step++) {
      Fn<Task, Long> f = functions.get(random.nextInt(functions.size()));
      int op = random.nextInt(100);
      if (op < 60) {
        long token = tokens++;
        int failures = random.nextInt(10) < 6 ? 0 : random.nextInt(5);
        Task t = new Task(token, failures, failures > 0 && random.nextInt(4) == 0, random.nextInt(60) == 0);
        try {
          String id = random.nextInt(5) == 0 ? f.emit(t, "key-" + random.nextInt(50)) : f.emit(t);
          if (ids.add(id)) {
            tokenOfEvent.put(id, token);
          }
        } catch (ThrottledException e) {
          throttledEmits++;
        }
      } else if (op < 75) {
        calls.add(f.invokeAsync(new Task(-1, 0, false, false)));
      } else if (op < 88) {
        clock.advance(Duration.ofMillis(random.nextInt(3_000)));
      } else if (op < 93) {
        // A pause of the emitters (not a wait for any state): lets the functions catch up, so that
        // mixes go from overloaded to idle and back.
        java.util.concurrent.locks.LockSupport.parkNanos(random.nextInt(3_000_000));
      } else if (op < 97) {
        release.getAndSet(new CountDownLatch(1)).countDown();
      } else {
        clock.advance(Duration.ofMinutes(random.nextInt(10)));
      }
    }
    if (random.nextBoolean()) {
      // Let it settle: release what blocks, and move the clock until every event has ended (retries
      // and expiries happen on the way). Else the drain deadline of close catches what is left.
      release.get().countDown();
      for (int i = 0; i < 2_000 && pending(functions) > 0; i++) {
        clock.advance(Duration.ofSeconds(1));
        await().atMost(Duration.ofSeconds(30)).until(() -> functions.stream()
            .allMatch(f -> f.stats().inFlight() == 0 && f.stats().queued() == 0));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> pending(functions) == 0);
    }
    CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
    while (!closing.isDone()) {
      clock.advance(Duration.ofSeconds(1));
      try {
        closing.get(20, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        // keep the clock moving until the drain deadline has passed
      }
    }
    closing.get();
    release.get().countDown();
    for (CompletableFuture<Long> call : calls) {
      assertThat(call).isDone(); // a call is never stranded either
    }

    // Every letter is for an accepted event, and no event has two.
    Map<String, DeadLetter> letterOf = new HashMap<>();
    for (DeadLetter l : letters) {
      assertThat(tokenOfEvent).containsKey(l.eventId());
      assertThat(letterOf.put(l.eventId(), l)).as("second letter for %s", l.eventId()).isNull();
    }
    // An event without a letter succeeded: its function returned once for it, and only once.
    for (Map.Entry<String, Long> e : tokenOfEvent.entrySet()) {
      int returns = returned.getOrDefault(e.getValue(), new AtomicInteger()).get();
      DeadLetter l = letterOf.get(e.getKey());
      if (l == null) {
        assertThat(returns).as("event %s succeeded", e.getKey()).isEqualTo(1);
      } else if (l.reason() != DeadLetter.Reason.SHUTDOWN) {
        assertThat(returns).as("event %s was given up (%s)", e.getKey(), l.reason()).isZero();
      } else {
        assertThat(returns).as("event %s was shut down", e.getKey()).isLessThanOrEqualTo(1);
      }
    }
    long accepted = 0;
    long succeeded = 0;
    long deadLettered = 0;
    long throttled = 0;
    for (Fn<Task, Long> f : functions) {
      FunctionStats s = f.stats();
      assertThat(s.eventsPending()).as("%s: %s", f.name(), s).isZero();
      assertThat(s.eventsSucceeded() + s.eventsDeadLettered()).as("%s", s).isEqualTo(s.eventsAccepted());
      accepted += s.eventsAccepted();
      succeeded += s.eventsSucceeded();
      deadLettered += s.eventsDeadLettered();
      throttled += s.eventsThrottled();
    }
    assertThat(accepted).isEqualTo(ids.size());
    assertThat(deadLettered).isEqualTo(letters.size());
    assertThat(succeeded).isEqualTo(ids.size() - letters.size());
    assertThat(throttled).isEqualTo(throttledEmits);
    Usage u = c.usage();
    assertThat(u.eventsAccepted()).isEqualTo(accepted);
    assertThat(u.eventsPending()).isZero();
    assertThat(ManualTime.events(c).pendingRetries()).isZero();
    Map<DeadLetter.Reason, Long> reasons = new java.util.TreeMap<>();
    letters.forEach(l -> reasons.merge(l.reason(), 1L, Long::sum));
    System.out.println("EventInvariantTest: " + ids.size() + " events (" + succeeded + " succeeded, "
        + deadLettered + " dead-lettered " + reasons + ", " + throttledEmits + " emits throttled), "
        + calls.size() + " calls");
  }

  private static long pending(List<Fn<Task, Long>> functions) {
    return functions.stream().mapToLong(f -> f.stats().eventsPending()).sum();
  }

  private static RetryPolicy randomPolicy(Random random) {
    if (random.nextInt(5) == 0) {
      return RetryPolicy.none();
    }
    Duration initial = Duration.ofMillis(100 + random.nextInt(2_000));
    RetryPolicy p = RetryPolicy.exponential(random.nextInt(4), initial, initial.multipliedBy(1 + random.nextInt(20)));
    if (random.nextBoolean()) {
      p = p.withMaxEventAge(Duration.ofSeconds(10 + random.nextInt(600)));
    }
    if (random.nextBoolean()) {
      p = p.retryOn(e -> !(e instanceof IllegalArgumentException));
    }
    return p;
  }
}
