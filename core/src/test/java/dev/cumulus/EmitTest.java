package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** {@link Fn#emit}: accepted at once, run off the caller's thread under the function's limits. */
class EmitTest {
  @Test
  void emit_returnsTheIdAtOnce_andRunsOffTheCallersThread() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      AtomicReference<Thread> ranOn = new AtomicReference<>();
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        ranOn.set(Thread.currentThread());
        TestFunctions.await(gate);
        return s;
      }).build());

      String id = f.emit("x"); // returns although the function blocks
      assertThat(UUID.fromString(id).version()).isEqualTo(7);
      await().until(() -> ranOn.get() != null);
      assertThat(ranOn.get()).isNotSameAs(Thread.currentThread());
      assertThat(f.stats().eventsAccepted()).isEqualTo(1);
      assertThat(f.stats().eventsPending()).isEqualTo(1);

      gate.countDown();
      await().until(() -> f.stats().eventsSucceeded() == 1);
      FunctionStats s = f.stats();
      assertThat(s.eventsPending()).isZero();
      assertThat(s.eventsDeadLettered()).isZero();
      assertThat(s.invocations()).as("an attempt is an invocation").isEqualTo(1);
      assertThat(s.successes()).isEqualTo(1);
      assertThat(s.toString()).contains("events=1 (ok 1, dead-lettered 0, pending 0");
      assertThat(c.usage().eventsAccepted()).isEqualTo(1);
      assertThat(c.usage().eventsSucceeded()).isEqualTo(1);
      assertThat(c.usage().toString()).contains("events", "dead", "pending");
    }
  }

  @Test
  void ids_areUnique() {
    try (Cumulus c = Cumulus.create()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> i).build());
      Set<String> ids = ConcurrentHashMap.newKeySet();
      for (int i = 0; i < 10_000; i++) {
        ids.add(f.emit(i));
      }
      assertThat(ids).hasSize(10_000);
      await().until(() -> f.stats().eventsSucceeded() == 10_000);
    }
  }

  @Test
  void badInput_isRefusedAsInvokeRefusesIt_andNotAccepted() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, Integer> f = c.register(FnSpec.of("f", String::length).inputType(String.class).build());
      @SuppressWarnings({"unchecked", "rawtypes"})
      Fn<Object, Integer> raw = (Fn) f;
      assertThatThrownBy(() -> raw.emit(42)).isInstanceOf(InvalidInputException.class)
          .hasMessage("function 'f' expects an input of type java.lang.String but got java.lang.Integer");
      assertThatThrownBy(() -> f.emit(null)).isInstanceOf(InvalidInputException.class)
          .hasMessage("function 'f' does not accept a null input (it takes java.lang.String)");
      assertThatThrownBy(() -> f.emit("x", (String) null)).isInstanceOf(NullPointerException.class)
          .hasMessage("idempotencyKey");
      assertThatThrownBy(() -> f.emit("x", "")).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("idempotencyKey must be 1 to 256 characters but was 0 characters long (function 'f')");
      assertThatThrownBy(() -> f.emit("x", "k".repeat(257))).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("idempotencyKey must be 1 to 256 characters but was 257 characters long (function 'f')");
      assertThat(f.stats().eventsAccepted()).isZero();
      assertThat(f.stats().invocations()).isZero();
    }
  }

  @Test
  void supplierFunction_takesANullEvent() {
    try (Cumulus c = Cumulus.create()) {
      AtomicInteger runs = new AtomicInteger();
      Fn<Void, Integer> f = c.register(FnSpec.ofSupplier("tick", runs::incrementAndGet).build());
      f.emit(null);
      await().until(() -> f.stats().eventsSucceeded() == 1);
      assertThat(runs).hasValue(1);
    }
  }

  @Test
  void emit_afterCloseOrUnregister_isRefused() {
    Cumulus c = Cumulus.create();
    Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> s).build());
    Fn<String, String> g = c.register(FnSpec.of("g", (String s) -> s).build());
    c.unregister("g");
    assertThatThrownBy(() -> g.emit("x")).isInstanceOf(UnknownFunctionException.class);
    c.close();
    assertThatThrownBy(() -> f.emit("x")).isInstanceOf(RuntimeClosedException.class)
        .hasMessage("the Cumulus runtime is closed; function 'f' accepts no more events");
    assertThatThrownBy(() -> f.emit("x", "key")).isInstanceOf(RuntimeClosedException.class);
  }

  @Test
  void fullBacklog_throttlesTheEmit_andCountsIt() {
    try (Cumulus c = Cumulus.create()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        TestFunctions.await(gate);
        return s;
      }).eventCapacity(2).build());
      f.emit("a");
      f.emit("b");
      assertThatThrownBy(() -> f.emit("c")).isInstanceOf(ThrottledException.class)
          .hasMessage("function 'f' has 2 events pending (eventCapacity 2); the event was not accepted")
          .hasNoCause();
      assertThat(f.stats().eventsThrottled()).isEqualTo(1);
      assertThat(f.stats().eventsAccepted()).isEqualTo(2);
      gate.countDown();
      await().until(() -> f.stats().eventsSucceeded() == 2);
      f.emit("d"); // room again
      await().until(() -> f.stats().eventsSucceeded() == 3);
    }
  }

  @Test
  void throttledAttempt_waitsForCapacity_andIsNotAFailedAttempt() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      List<String> ran = new CopyOnWriteArrayList<>();
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        ran.add(s);
        if (s.equals("sync")) {
          TestFunctions.await(gate);
        }
        return s;
      }).maxConcurrency(1).queueCapacity(0).deadLetter(letters).build());
      var sync = f.invokeAsync("sync");
      await().until(() -> f.stats().inFlight() == 1);
      assertThatThrownBy(() -> f.invoke("other")).isInstanceOf(ThrottledException.class); // a call is throttled

      f.emit("event"); // an event waits instead
      assertThat(ran).containsExactly("sync");
      FunctionStats waiting = f.stats();
      assertThat(waiting.eventsPending()).isEqualTo(1);
      assertThat(waiting.failures()).isZero();
      assertThat(waiting.eventRetries()).isZero();

      gate.countDown();
      assertThat(sync.join()).isEqualTo("sync");
      await().until(() -> f.stats().eventsSucceeded() == 1);
      FunctionStats s = f.stats();
      assertThat(ran).containsExactly("sync", "event");
      assertThat(s.eventRetries()).as("no attempt was made while it waited").isZero();
      assertThat(s.throttles()).as("only the synchronous call was throttled").isEqualTo(1);
      assertThat(s.failures()).isZero();
      assertThat(letters.received).isEmpty();
    }
  }

  @Test
  void eventWaitsForRuntimeCapacity_heldByAnotherFunction() {
    try (Cumulus c = Cumulus.builder().maxConcurrency(1).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<String, String> hog = c.register(FnSpec.of("hog", (String s) -> {
        TestFunctions.await(gate);
        return s;
      }).build());
      AtomicInteger runs = new AtomicInteger();
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        runs.incrementAndGet();
        return s;
      }).build());
      var held = hog.invokeAsync("x");
      await().until(() -> hog.stats().inFlight() == 1);
      for (int i = 0; i < 5; i++) {
        f.emit("e" + i);
      }
      assertThat(runs).hasValue(0);
      assertThat(f.stats().queued()).as("one attempt waits in the queue, the rest in the backlog").isLessThanOrEqualTo(1);
      gate.countDown();
      held.join();
      await().until(() -> f.stats().eventsSucceeded() == 5);
      assertThat(runs).hasValue(5);
      assertThat(f.stats().failures()).isZero();
    }
  }

  @Test
  void synchronousCalls_doNotQueueBehindTheBacklog() {
    try (Cumulus c = Cumulus.create()) {
      CountDownLatch gate = new CountDownLatch(1);
      List<String> ran = new CopyOnWriteArrayList<>();
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        ran.add(s);
        if (s.equals("e0")) {
          TestFunctions.await(gate);
        }
        return s;
      }).maxConcurrency(1).queueCapacity(5).build());
      f.emit("e0");
      await().until(() -> ran.contains("e0"));
      for (int i = 1; i < 100; i++) {
        f.emit("e" + i); // 99 events wait in the backlog, not in the function's queue of 5
      }
      assertThat(f.stats().queued()).isZero();
      List<java.util.concurrent.CompletableFuture<String>> calls = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        calls.add(f.invokeAsync("call" + i)); // the queue has room for all five
      }
      gate.countDown();
      calls.forEach(java.util.concurrent.CompletableFuture::join);
      await().until(() -> f.stats().eventsSucceeded() == 100);
      // The calls ran right after the event that held the function, before the backlog.
      assertThat(ran.subList(0, 6)).containsExactly("e0", "call0", "call1", "call2", "call3", "call4");
      assertThat(f.stats().throttles()).isZero();
    }
  }

  @Test
  void idempotencyKey_seenInTheWindow_runsOnce_andAnswersTheFirstId() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      List<String> ran = new CopyOnWriteArrayList<>();
      Fn<String, String> f = c.register(FnSpec.of("f", (String s) -> {
        ran.add(s);
        return s;
      }).idempotencyWindow(Duration.ofMinutes(5)).build());
      String first = f.emit("a", "order-42");
      assertThat(f.emit("b", "order-42")).isEqualTo(first);
      await().until(() -> f.stats().eventsSucceeded() == 1);
      assertThat(f.emit("c", "order-42")).as("also after it ran").isEqualTo(first);
      String other = f.emit("d", "order-43");
      assertThat(other).isNotEqualTo(first);
      await().until(() -> f.stats().eventsSucceeded() == 2);
      assertThat(ran).containsExactly("a", "d");
      assertThat(f.stats().eventDuplicates()).isEqualTo(2);
      assertThat(f.stats().eventsAccepted()).isEqualTo(2);

      clock.advance(Duration.ofMinutes(4));
      assertThat(f.emit("e", "order-42")).as("still in the window").isEqualTo(first);
      clock.advance(Duration.ofMinutes(1));
      String again = f.emit("f", "order-42"); // the window has passed: a new event
      assertThat(again).isNotEqualTo(first);
      await().until(() -> f.stats().eventsSucceeded() == 3);
      assertThat(ran).containsExactly("a", "d", "f");
    }
  }

  @Test
  void concurrentDuplicates_runOnce_andAllGetTheFirstId() throws Exception {
    try (Cumulus c = Cumulus.create()) {
      AtomicInteger runs = new AtomicInteger();
      Fn<Integer, Integer> f = c.register(FnSpec.of("f", (Integer i) -> {
        runs.incrementAndGet();
        return i;
      }).build());
      int emitters = 32;
      for (int round = 0; round < 20; round++) {
        String key = "key-" + round;
        CountDownLatch start = new CountDownLatch(1);
        Set<String> ids = ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < emitters; i++) {
          int input = i;
          threads.add(Thread.ofPlatform().start(() -> {
            TestFunctions.await(start);
            ids.add(f.emit(input, key));
          }));
        }
        start.countDown();
        for (Thread t : threads) {
          t.join();
        }
        assertThat(ids).as("round %s", round).hasSize(1);
      }
      await().until(() -> f.stats().eventsSucceeded() == 20);
      assertThat(runs).hasValue(20);
      assertThat(f.stats().eventDuplicates()).isEqualTo(20L * (emitters - 1));
    }
  }

  @Test
  void aSinkThatThrows_isCounted_andTheEventStillEnds() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = c.register(FnSpec.<String, String>of("f", (String s) -> {
        throw new IllegalStateException("always");
      }).retry(RetryPolicy.none()).deadLetter(letter -> {
        throw new IllegalStateException("sink down");
      }).build());
      f.emit("x");
      await().until(() -> f.stats().eventsDeadLettered() == 1);
      FunctionStats s = f.stats();
      assertThat(s.deadLetterSinkFailures()).isEqualTo(1);
      assertThat(s.eventsPending()).isZero();
      assertThat(s.toString()).contains("sink failures 1");
    }
  }
}
