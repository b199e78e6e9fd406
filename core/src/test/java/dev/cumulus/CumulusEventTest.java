package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cumulus.internal.Registration;
import dev.cumulus.internal.RuntimeEvents;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class CumulusEventTest {

  @Test
  void scalingEvents_reachTheListener_offTheCallersThread_inOrderPerFunction() {
    ManualClock clock = new ManualClock();
    Queue<CumulusEvent> events = new ConcurrentLinkedQueue<>();
    Queue<String> deliverers = new ConcurrentLinkedQueue<>();
    try (Cumulus c = Cumulus.builder().clock(clock).build();
        CumulusEvent.Subscription sub = c.subscribe(e -> {
          deliverers.add(Thread.currentThread() + " virtual=" + Thread.currentThread().isVirtual());
          events.add(e);
        })) {
      Fn<Integer, Integer> a = c.register(FnSpec.of("a", (Integer i) -> i).keepAlive(Duration.ofSeconds(10)).build());
      Fn<Integer, Integer> b = c.register(FnSpec.of("b", (Integer i) -> i).keepAlive(Duration.ofSeconds(20)).build());
      a.invoke(1);
      b.invoke(2);
      a.invoke(3);
      await().until(() -> a.stats().inFlight() == 0 && b.stats().inFlight() == 0);
      clock.advance(Duration.ofSeconds(11)); // a's instance expires
      clock.advance(Duration.ofSeconds(10)); // b's
      await().until(() -> b.stats().warmInstances() == 0 && a.stats().warmInstances() == 0);
      a.invoke(4); // from zero again
      c.unregister("b");
      await().until(() -> events.stream().anyMatch(e -> e instanceof CumulusEvent.Unregistered));
      await().until(() -> events.stream().filter(e -> e.function().equals("a")).count() == 6);

      Map<String, List<String>> byFunction = events.stream().collect(Collectors.groupingBy(
          CumulusEvent::function, Collectors.mapping(e -> e.getClass().getSimpleName(), Collectors.toList())));
      assertThat(byFunction.get("a")).containsExactly("Registered", "ScaledFromZero", "ColdStart",
          "ScaledToZero", "ScaledFromZero", "ColdStart");
      assertThat(byFunction.get("b")).containsExactly("Registered", "ScaledFromZero", "ColdStart",
          "ScaledToZero", "Unregistered");
      assertThat(events).filteredOn(e -> e instanceof CumulusEvent.ScaledFromZero)
          .allSatisfy(e -> assertThat(e.warmInstances()).isEqualTo(1));
      assertThat(events).filteredOn(e -> e instanceof CumulusEvent.ScaledToZero)
          .allSatisfy(e -> assertThat(e.warmInstances()).isZero());
      assertThat(events).filteredOn(e -> e instanceof CumulusEvent.ColdStart)
          .allSatisfy(e -> assertThat(((CumulusEvent.ColdStart) e).initTime().isNegative()).isFalse());
      assertThat(events).allSatisfy(e -> assertThat(e.at()).isBeforeOrEqualTo(Instant.now()));
      // A virtual thread, named, off the caller's thread and off Cumulus's carriers (where a thread
      // started from a worker would land by default: "VirtualThread[#n,name]/runnable@carrier").
      assertThat(deliverers).allSatisfy(t -> assertThat(t).contains(",cumulus-events]").endsWith("virtual=true")
          .doesNotContain("cumulus-carrier"));
      assertThat(sub.failures()).isZero();
      assertThat(sub.dropped()).isZero();
      assertThat(sub.delivered()).isEqualTo(events.size());
    }
  }

  @Test
  void aListenerThatThrows_isCountedAndLogged_andBreaksNothing() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Queue<CumulusEvent> good = new ConcurrentLinkedQueue<>();
    try (Cumulus c = Cumulus.builder().meterRegistry(registry).build();
        CumulusEvent.Subscription bad = c.subscribe(e -> {
          throw new IllegalStateException("a bug in the listener");
        });
        CumulusEvent.Subscription fine = c.subscribe(good::add)) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i * 2).build());
      for (int i = 0; i < 5; i++) {
        assertThat(f.invoke(i)).isEqualTo(i * 2);
      }
      c.unregister("f");
      // Registered, ScaledFromZero, ColdStart, Unregistered, and ScaledToZero as its instance closes.
      await().untilAsserted(() -> assertThat(good).as("delivered %s, %s", fine, bad)
          .extracting(e -> e.getClass().getSimpleName())
          .containsExactly("Registered", "ScaledFromZero", "ColdStart", "Unregistered", "ScaledToZero"));
      await().until(() -> bad.delivered() == 5);
      assertThat(bad.failures()).isEqualTo(5);
      assertThat(fine.failures()).isZero();
      assertThat(registry.get("cumulus.listener.failures").functionCounter().count()).isEqualTo(5);
      assertThat(c.register(FnSpec.of("g", (Integer i) -> i).build()).invoke(3)).isEqualTo(3);
      await().until(() -> bad.failures() == 8); // Registered, ScaledFromZero, ColdStart of g
    }
  }

  @Test
  void deliveryStartedFromAWorker_runsOffItsCarriers_soSequentialCallsStillShareOneInstance() {
    // Regression: a virtual thread started by a worker inherits the worker's scheduler, whose mounts
    // are reported to the worker. Delivery threads started that way made workers look blocked, so
    // more workers, and instances, were started: about one round in three had two cold starts.
    for (int round = 0; round < 40; round++) {
      try (Cumulus c = Cumulus.create();
          CumulusEvent.Subscription slow = c.subscribe(e -> TestFunctions.burn(1));
          CumulusEvent.Subscription quiet = c.subscribe(e -> { })) {
        Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i * 2).build());
        for (int i = 0; i < 5; i++) {
          assertThat(f.invoke(i)).isEqualTo(i * 2);
        }
        assertThat(f.stats().coldStarts()).as("round %d", round).isEqualTo(1);
      }
    }
  }

  @Test
  void aFloodOfThrottles_isCoalesced_andItsCountsAddUpExactly() {
    CountDownLatch gate = new CountDownLatch(1);
    CountDownLatch listenerGate = new CountDownLatch(1);
    Queue<CumulusEvent.Throttled> throttles = new ConcurrentLinkedQueue<>();
    AtomicBoolean blocked = new AtomicBoolean();
    try (Cumulus c = Cumulus.create()) {
      Fn<Integer, Integer> g = c.register(FnSpec.of("g", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).maxConcurrency(1).queueCapacity(0).build());
      CompletableFuture<Integer> running = g.invokeAsync(0);
      await().until(() -> g.stats().inFlight() == 1);
      try (CumulusEvent.Subscription sub = c.subscribe(e -> {
        if (e instanceof CumulusEvent.Throttled t) {
          throttles.add(t);
          if (blocked.compareAndSet(false, true)) {
            TestFunctions.await(listenerGate); // a slow listener: everything else piles up meanwhile
          }
        }
      })) {
        int flood = 100_000;
        for (int i = 0; i < flood; i++) {
          assertThat(g.invokeAsync(i)).isCompletedExceptionally();
        }
        assertThat(g.stats().throttles()).isEqualTo(flood);
        listenerGate.countDown();
        await().until(() -> throttles.stream().mapToLong(CumulusEvent.Throttled::count).sum() == flood);
        assertThat(sub.dropped()).isZero();
        assertThat(throttles).as("one delivered at once, the rest joined the one waiting").hasSizeLessThanOrEqualTo(2);
        assertThat(throttles).allSatisfy(t -> {
          assertThat(t.function()).isEqualTo("g");
          assertThat(t.inFlight()).isEqualTo(1);
        });
      }
      gate.countDown();
      assertThat(running.join()).isZero();
    }
  }

  @Test
  void aFloodOfOtherEvents_beyondTheBuffer_isDropped_andCountedExactly() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CountDownLatch listenerGate = new CountDownLatch(1);
    AtomicBoolean blocked = new AtomicBoolean();
    try (Cumulus c = Cumulus.builder().meterRegistry(registry).build()) {
      c.register(FnSpec.of("f", (Integer i) -> i).build());
      Registration f = Objects.requireNonNull(c.engine().registration("f"));
      try (CumulusEvent.Subscription sub = c.subscribe(e -> {
        if (blocked.compareAndSet(false, true)) {
          TestFunctions.await(listenerGate);
        }
      })) {
        RuntimeEvents runtime = c.engine().listener();
        runtime.timedOut(f, Duration.ofSeconds(1)); // taken by the delivery thread, which then waits
        await().untilTrue(blocked);
        int flood = 25_000;
        for (int i = 0; i < flood; i++) {
          runtime.timedOut(f, Duration.ofSeconds(1));
        }
        int capacity = CumulusEvent.Subscription.BUFFER_CAPACITY;
        assertThat(sub.dropped()).isEqualTo(flood - capacity);
        listenerGate.countDown();
        await().until(() -> sub.delivered() == 1 + capacity);
        assertThat(sub.dropped()).isEqualTo(flood - capacity);
        assertThat(c.engine().hub().droppedEvents()).isEqualTo(flood - capacity);
        assertThat(registry.get("cumulus.listener.dropped").functionCounter().count()).isEqualTo(flood - capacity);
      }
    }
  }

  @Test
  void limitChanges_areCoalescedWhileTheListenerIsBusy_intoAChain_andOtherEventsKeepTheirOrder() {
    CountDownLatch listenerGate = new CountDownLatch(1);
    AtomicBoolean blocked = new AtomicBoolean();
    Queue<CumulusEvent> events = new ConcurrentLinkedQueue<>();
    try (Cumulus c = Cumulus.create()) {
      c.register(FnSpec.of("f", (Integer i) -> i).build());
      c.register(FnSpec.of("g", (Integer i) -> i).build());
      Registration f = Objects.requireNonNull(c.engine().registration("f"));
      Registration g = Objects.requireNonNull(c.engine().registration("g"));
      try (CumulusEvent.Subscription sub = c.subscribe(e -> {
        if (blocked.compareAndSet(false, true)) {
          TestFunctions.await(listenerGate);
        }
        events.add(e);
      })) {
        RuntimeEvents runtime = c.engine().listener();
        runtime.timedOut(f, Duration.ofSeconds(1)); // taken by the delivery thread, which then waits
        await().untilTrue(blocked);
        int limit = 20;
        int changes = 10_000; // more than the buffer holds: coalesced, none is dropped
        for (int i = 0; i < changes; i++) {
          int next = limit + (i % 2 == 0 ? 4 : -3);
          runtime.concurrencyLimitChanged(f, limit, next);
          limit = next;
        }
        runtime.concurrencyLimitChanged(g, 10, 5); // another function's: an event of its own
        runtime.concurrencyLimitChanged(f, limit, limit + 1); // still joins f's: g's is not f's
        runtime.throttled(f, "full"); // after this, f's next change cannot join the one before it
        runtime.concurrencyLimitChanged(f, limit + 1, limit - 1);
        listenerGate.countDown();
        await().until(() -> sub.delivered() == 5);

        assertThat(sub.dropped()).isZero();
        assertThat(events).extracting(e -> e.getClass().getSimpleName() + " " + e.function()).containsExactly(
            "TimedOut f", "ConcurrencyLimitChanged f", "ConcurrencyLimitChanged g", "Throttled f",
            "ConcurrencyLimitChanged f");
        List<CumulusEvent.ConcurrencyLimitChanged> ofF = events.stream()
            .filter(e -> e instanceof CumulusEvent.ConcurrencyLimitChanged && e.function().equals("f"))
            .map(e -> (CumulusEvent.ConcurrencyLimitChanged) e).toList();
        assertThat(ofF.get(0).from()).isEqualTo(20);
        assertThat(ofF.get(0).to()).isEqualTo(limit + 1);
        assertThat(ofF.get(0).changes()).isEqualTo(changes + 1);
        assertThat(ofF.get(1).from()).as("a chain: each from the one before's to").isEqualTo(ofF.get(0).to());
        assertThat(ofF.get(1).to()).isEqualTo(limit - 1);
        assertThat(ofF.get(1).changes()).isEqualTo(1);
        assertThat(events).filteredOn(e -> e.function().equals("g")).singleElement()
            .isInstanceOfSatisfying(CumulusEvent.ConcurrencyLimitChanged.class, e -> {
              assertThat(e.from()).isEqualTo(10);
              assertThat(e.to()).isEqualTo(5);
              assertThat(e.changes()).isEqualTo(1);
            });
      }
    }
  }

  @Test
  void anIdleSubscription_holdsNoThread() {
    AtomicReference<Thread> deliverer = new AtomicReference<>();
    try (Cumulus c = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(100)).build();
        CumulusEvent.Subscription sub = c.subscribe(e -> deliverer.set(Thread.currentThread()))) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i).build());
      await().until(() -> deliverer.get() != null);
      Thread first = deliverer.get();
      await().until(() -> !first.isAlive() && c.engine().hub().deliveryThreads() == 0);

      f.invoke(1); // more events: a delivery thread again, and again it ends
      await().until(() -> sub.delivered() == 3);
      Thread second = deliverer.get();
      await().until(() -> !second.isAlive() && c.engine().hub().deliveryThreads() == 0);
      await().until(() -> c.engine().liveCarriers() == 0);
      assertThat(sub.dropped()).isZero();
    }
  }

  @Test
  void withNobodyListening_theRuntimeHoldsTheNoOpListener() {
    try (Cumulus c = Cumulus.create()) {
      assertThat(c.engine().listener()).isSameAs(RuntimeEvents.NONE);
      CumulusEvent.Subscription sub = c.subscribe(e -> { });
      assertThat(c.engine().listener()).isNotSameAs(RuntimeEvents.NONE);
      sub.close();
      sub.close(); // idempotent
      assertThat(c.engine().listener()).isSameAs(RuntimeEvents.NONE);
      CumulusMetrics metrics = CumulusMetrics.of(c);
      metrics.bindTo(new SimpleMeterRegistry());
      assertThat(c.engine().listener()).as("the binder follows registrations").isNotSameAs(RuntimeEvents.NONE);
      metrics.close();
      assertThat(c.engine().listener()).isSameAs(RuntimeEvents.NONE);
    }
  }

  @Test
  void aTimeout_andADeadLetter_carryTheirFigures() {
    ManualClock clock = new ManualClock();
    Queue<CumulusEvent> events = new ConcurrentLinkedQueue<>();
    CountDownLatch never = new CountDownLatch(1);
    Queue<DeadLetter> sunk = new ConcurrentLinkedQueue<>();
    try (Cumulus c = Cumulus.builder().clock(clock).build();
        CumulusEvent.Subscription sub = c.subscribe(events::add)) {
      Fn<Integer, Integer> slow = c.register(FnSpec.of("slow", (Integer i) -> {
        if (i < 0) {
          throw new IllegalStateException("event " + i + " fails, every time");
        }
        TestFunctions.await(never);
        return i;
      }).timeout(Duration.ofSeconds(2))
          .retry(RetryPolicy.exponential(2, Duration.ofSeconds(1), Duration.ofSeconds(1)))
          .deadLetter(sunk::add).build());
      CompletableFuture<Integer> call = slow.invokeAsync(1);
      await().until(() -> slow.stats().inFlight() == 1);
      clock.advance(Duration.ofSeconds(2));
      assertThat(call).failsWithin(Duration.ofSeconds(10));

      // A real dead letter: an event whose three attempts (the first and two retries) all fail.
      String eventId = slow.emit(-1);
      await().until(() -> {
        if (c.engine().events().pendingRetries() > 0) {
          clock.advance(Duration.ofSeconds(1)); // a retry's delay (at most 1 s)
        }
        return events.stream().anyMatch(e -> e instanceof CumulusEvent.DeadLettered);
      });
      CumulusEvent.TimedOut timedOut = (CumulusEvent.TimedOut) events.stream()
          .filter(e -> e instanceof CumulusEvent.TimedOut).findFirst().orElseThrow();
      assertThat(timedOut.function()).isEqualTo("slow");
      assertThat(timedOut.timeout()).isEqualTo(Duration.ofSeconds(2));
      assertThat(timedOut.inFlight()).as("the overdue invocation still runs").isEqualTo(1);
      assertThat(timedOut.warmInstances()).isEqualTo(1);
      CumulusEvent.DeadLettered letter = (CumulusEvent.DeadLettered) events.stream()
          .filter(e -> e instanceof CumulusEvent.DeadLettered).findFirst().orElseThrow();
      assertThat(letter).extracting(CumulusEvent.DeadLettered::function, CumulusEvent.DeadLettered::eventId,
          CumulusEvent.DeadLettered::attempts, CumulusEvent.DeadLettered::reason)
          .containsExactly("slow", eventId, 3, DeadLetter.Reason.RETRIES_EXHAUSTED);
      assertThat(sunk).singleElement().satisfies(l -> {
        assertThat(l.eventId()).isEqualTo(eventId);
        assertThat(l.reason()).isEqualTo(DeadLetter.Reason.RETRIES_EXHAUSTED);
      });
      assertThat(slow.stats().eventsDeadLettered()).as("counted before it is published").isEqualTo(1);
      assertThat(events).filteredOn(e -> e instanceof CumulusEvent.DeadLettered).hasSize(1);
      assertThat(sub.failures()).isZero();
      never.countDown();
    }
  }

  @Test
  void everyDeadLetter_isPublished_withItsReason_evenWhenTheSinkThrows() {
    ManualClock clock = new ManualClock();
    Queue<CumulusEvent.DeadLettered> published = new ConcurrentLinkedQueue<>();
    Map<String, DeadLetter.Reason> sunk = new java.util.concurrent.ConcurrentHashMap<>();
    Cumulus c = Cumulus.builder().clock(clock).build();
    try (CumulusEvent.Subscription sub = c.subscribe(e -> {
      if (e instanceof CumulusEvent.DeadLettered d) {
        published.add(d);
      }
    })) {
      Fn<String, String> f = c.register(FnSpec.<String, String>of("f", (String s) -> {
        throw s.equals("fatal") ? new IllegalArgumentException(s) : new IllegalStateException(s);
      }).retry(RetryPolicy.exponential(1_000, Duration.ofSeconds(1), Duration.ofSeconds(1))
              .withMaxEventAge(Duration.ofSeconds(3)).retryOn(e -> !(e instanceof IllegalArgumentException)))
          .deadLetter(letter -> {
            sunk.put(letter.eventId(), letter.reason());
            if ("fatal".equals(letter.input())) {
              throw new IllegalStateException("this sink fails on " + letter.eventId());
            }
          }).build());

      String fatal = f.emit("fatal");
      await().until(() -> published.size() == 1);
      String expiring = f.emit("expiring");
      await().until(() -> {
        if (c.engine().events().pendingRetries() > 0) {
          clock.advance(Duration.ofSeconds(1)); // a retry's delay (at most 1 s), until it is too old
        }
        return published.size() == 2;
      });
      String waiting = f.emit("waiting");
      await().until(() -> c.engine().events().pendingRetries() == 1);
      c.close(); // the retry still waiting goes to the sink

      await().until(() -> published.size() == 3);
      assertThat(published).extracting(CumulusEvent.DeadLettered::eventId, CumulusEvent.DeadLettered::reason)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple(fatal, DeadLetter.Reason.NOT_RETRYABLE),
              org.assertj.core.groups.Tuple.tuple(expiring, DeadLetter.Reason.EXPIRED),
              org.assertj.core.groups.Tuple.tuple(waiting, DeadLetter.Reason.SHUTDOWN));
      assertThat(sunk).containsExactlyInAnyOrderEntriesOf(Map.of(fatal, DeadLetter.Reason.NOT_RETRYABLE,
          expiring, DeadLetter.Reason.EXPIRED, waiting, DeadLetter.Reason.SHUTDOWN));
      assertThat(f.stats().eventsDeadLettered()).isEqualTo(3);
      assertThat(f.stats().deadLetterSinkFailures()).isEqualTo(1);
      assertThat(sub.failures()).isZero();
    } finally {
      c.close();
    }
  }

  @Test
  void aClosedSubscription_receivesNothingMore_evenClosedFromItsListener() {
    List<CumulusEvent> seen = new ArrayList<>();
    AtomicReference<CumulusEvent.Subscription> self = new AtomicReference<>();
    try (Cumulus c = Cumulus.create()) {
      CumulusEvent.Subscription sub = c.subscribe(e -> {
        synchronized (seen) {
          seen.add(e);
        }
        Objects.requireNonNull(self.get()).close();
      });
      self.set(sub);
      c.register(FnSpec.of("f", (Integer i) -> i).build()).invoke(1);
      await().until(() -> sub.delivered() >= 1);
      c.register(FnSpec.of("g", (Integer i) -> i).build()).invoke(2);
      await().until(() -> c.engine().hub().deliveryThreads() == 0);
      synchronized (seen) {
        assertThat(seen).hasSize(1);
      }
      assertThat(sub.toString()).contains("closed");
    }
  }

  @Test
  void events_rejectBadValues() {
    Instant now = Instant.now();
    assertThatThrownBy(() -> new CumulusEvent.Throttled("f", now, 0, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("count must be at least 1 but was 0");
    assertThatThrownBy(() -> new CumulusEvent.ColdStart(null, now, 0, 0, 0, Duration.ZERO))
        .isInstanceOf(NullPointerException.class).hasMessage("function");
    assertThatThrownBy(() -> new CumulusEvent.TimedOut("f", now, 0, 0, 0, null))
        .isInstanceOf(NullPointerException.class).hasMessage("timeout");
    assertThatThrownBy(() -> new CumulusEvent.ConcurrencyLimitChanged("f", now, 0, 0, 0, 0, 4, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("from must be at least 1 but was 0");
    assertThatThrownBy(() -> new CumulusEvent.ConcurrencyLimitChanged("f", now, 0, 0, 0, 4, -1, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("to must be at least 1 but was -1");
    assertThatThrownBy(() -> new CumulusEvent.ConcurrencyLimitChanged("f", now, 0, 0, 0, 4, 5, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("changes must be at least 1 but was 0");
    assertThatThrownBy(() -> new CumulusEvent.ConcurrencyLimitChanged("f", null, 0, 0, 0, 4, 5, 1))
        .isInstanceOf(NullPointerException.class).hasMessage("at");
    try (Cumulus c = Cumulus.create()) {
      assertThatThrownBy(() -> c.subscribe(null))
          .isInstanceOf(NullPointerException.class).hasMessage("listener");
    }
  }
}
