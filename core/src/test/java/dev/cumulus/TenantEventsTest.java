package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * Events emitted for tenants ({@link Fn#emit(Object, CallOptions)}): each attempt is a call made for
 * the tenant (its usage, retries included), the backlog serves tenants in turns and shares its room
 * by weight, and idempotency keys are each tenant's own. Contention is made with a gate, never with
 * time: the assertions are about order and counts.
 */
class TenantEventsTest {

  @Test
  void eachAttemptOfATenantsEvent_isACallForThatTenant_retriesIncluded() {
    ManualClock clock = new ManualClock();
    Letters letters = new Letters();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      Fn<String, Integer> f = c.register(FnSpec.of("f", (String s) -> {
        if (s.equals("bad")) {
          throw new IllegalStateException("bad input");
        }
        return s.length();
      }).retry(RetryPolicy.exponential(2, Duration.ofSeconds(1), Duration.ofSeconds(1))).deadLetter(letters).build());

      f.emit("ok", CallOptions.tenant("acme"));
      f.emit("fine", CallOptions.tenant("acme"));
      f.emit("bad", CallOptions.tenant("acme"));
      f.emit("other", CallOptions.tenant("globex"));
      f.emit("none");
      f.emit("none either", CallOptions.none());
      await().until(() -> f.stats().eventsSucceeded() == 5 && f.stats().eventRetries() >= 1);
      clock.advance(Duration.ofSeconds(1));
      await().until(() -> f.stats().eventRetries() == 2);
      clock.advance(Duration.ofSeconds(1));
      await().until(() -> f.stats().eventsDeadLettered() == 1);

      Usage usage = c.usage();
      assertThat(usage.byTenant()).containsOnlyKeys("acme", "globex");
      FunctionStats acme = usage.byTenant().get("acme").functions().get(0);
      assertThat(acme.invocations()).as("2 events that ran once, 1 that ran 3 times").isEqualTo(5);
      assertThat(acme.successes()).isEqualTo(2);
      assertThat(acme.failures()).isEqualTo(3);
      FunctionStats globex = usage.byTenant().get("globex").functions().get(0);
      assertThat(globex.invocations()).isEqualTo(1);
      assertThat(globex.successes()).isEqualTo(1);
      // The function's own line has every attempt, tenant or not; the tenants' lines add up to theirs.
      assertThat(f.stats().invocations()).isEqualTo(8);
      assertThat(letters.received).singleElement().satisfies(l -> assertThat(l.attempts()).isEqualTo(3));
    }
  }

  @Test
  void aFloodOfOneTenantsEvents_doesNotHoldUpAnotherTenantsEvent() {
    CountDownLatch gate = new CountDownLatch(1);
    List<String> served = new CopyOnWriteArrayList<>();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = c.register(FnSpec.of("contended", (String s) -> {
        TestFunctions.await(gate);
        served.add(s);
        return s;
      }).maxConcurrency(1).build());
      f.emit("a-0", CallOptions.tenant("a")); // runs, and holds the function's one slot
      await().until(() -> f.stats().inFlight() == 1);
      int flood = 200;
      for (int i = 1; i <= flood; i++) {
        f.emit("a-" + i, CallOptions.tenant("a"));
      }
      f.emit("b-0", CallOptions.tenant("b"));
      assertThat(f.stats().eventsPending()).isEqualTo(flood + 2);

      gate.countDown();
      await().until(() -> f.stats().eventsSucceeded() == flood + 2);
      // Without turns b's event would be served after a's 200; with them it waits one round. (At
      // most one attempt waits in the call queue at a time, so the backlog's round decides.)
      assertThat(served.indexOf("b-0")).as("b's place in %s", served.subList(0, 5)).isBetween(1, 3);
      assertThat(served).filteredOn(s -> s.startsWith("a-")).as("a's own events in order")
          .isSortedAccordingTo((x, y) -> Integer.compare(Integer.parseInt(x.substring(2)), Integer.parseInt(y.substring(2))));
      assertThat(c.usage().byTenant().get("b").functions().get(0).invocations()).isEqualTo(1);
    }
  }

  @Test
  void aFullBacklog_stillTakesATenantBelowItsShare_andNoMoreThanTwiceItsCapacity() {
    CountDownLatch gate = new CountDownLatch(1);
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = c.register(FnSpec.of("small-backlog", (String s) -> {
        TestFunctions.await(gate);
        return s;
      }).maxConcurrency(1).eventCapacity(4).build());
      f.emit("a-0", CallOptions.tenant("a")); // runs: pending, but no longer waiting
      // a alone: 3 more fill the backlog (4 pending), a 5th fits its share of the waiting (4 of 4).
      for (int i = 1; i <= 4; i++) {
        f.emit("a-" + i, CallOptions.tenant("a"));
      }
      assertThatThrownBy(() -> f.emit("a-5", CallOptions.tenant("a")))
          .isInstanceOf(ThrottledException.class)
          .hasMessageContaining("function 'small-backlog' has 5 events pending (eventCapacity 4) and tenant 'a'"
              + " has its share of those waiting");
      // b, with nothing waiting, gets its share of the room (half of 4: a and b weigh the same)...
      f.emit("b-0", CallOptions.tenant("b"));
      f.emit("b-1", CallOptions.tenant("b"));
      assertThatThrownBy(() -> f.emit("b-2", CallOptions.tenant("b"))).isInstanceOf(ThrottledException.class);
      // ... while an event without a tenant finds the backlog full, and a is beyond its share.
      assertThatThrownBy(() -> f.emit("none")).isInstanceOf(ThrottledException.class)
          .hasMessage("function 'small-backlog' has 7 events pending (eventCapacity 4); the event was not accepted");
      assertThatThrownBy(() -> f.emit("a-6", CallOptions.tenant("a"))).isInstanceOf(ThrottledException.class);
      assertThat(f.stats().eventsThrottled()).isEqualTo(4);
      assertThat(f.stats().eventsPending()).isEqualTo(7);

      gate.countDown();
      await().until(() -> f.stats().eventsSucceeded() == 7);
      assertThat(f.stats().eventsPending()).isZero();
      f.emit("none"); // room again
      await().until(() -> f.stats().eventsSucceeded() == 8);
    }
  }

  @Test
  void aTenantWeighed3_getsThreeTurnsOfTheBacklogForEachOfAnother() {
    CountDownLatch gate = new CountDownLatch(1);
    List<String> served = new CopyOnWriteArrayList<>();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = c.register(FnSpec.of("weighted", (String s) -> {
        TestFunctions.await(gate);
        served.add(s);
        return s;
      }).maxConcurrency(1).tenantWeight("gold", 3).build());
      f.emit("x-0", CallOptions.tenant("x"));
      await().until(() -> f.stats().inFlight() == 1);
      for (int i = 0; i < 12; i++) {
        f.emit("s-" + i, CallOptions.tenant("silver"));
      }
      for (int i = 0; i < 12; i++) {
        f.emit("g-" + i, CallOptions.tenant("gold"));
      }
      gate.countDown();
      await().until(() -> f.stats().eventsSucceeded() == 25);
      // Over the first 16 served after x-0, gold had its three turns to silver's one, give or take
      // the one attempt that may wait in the call queue ahead of the backlog's round.
      long gold = served.subList(1, 17).stream().filter(s -> s.startsWith("g-")).count();
      assertThat(gold).as("gold's share of %s", served.subList(1, 17)).isBetween(11L, 12L);
    }
  }

  @Test
  void idempotencyKeys_areEachTenantsOwn() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, Integer> f = c.register(FnSpec.of("f", String::length).build());
      String acme = f.emit("x", "order-42", CallOptions.tenant("acme"));
      assertThat(f.emit("x", "order-42", CallOptions.tenant("acme"))).as("acme's retry").isEqualTo(acme);
      String globex = f.emit("x", "order-42", CallOptions.tenant("globex"));
      String untenanted = f.emit("x", "order-42");
      assertThat(globex).as("globex's key names globex's event").isNotEqualTo(acme);
      assertThat(untenanted).isNotIn(acme, globex);
      assertThat(f.emit("x", "order-42", CallOptions.none())).as("no tenant, as emit(input, key)").isEqualTo(untenanted);
      await().until(() -> f.stats().eventsSucceeded() == 3);
      assertThat(f.stats().eventDuplicates()).isEqualTo(2);
      assertThat(f.stats().eventsAccepted()).isEqualTo(3);
    }
  }

  @Test
  void emitWithOptions_refusesNulls_namingThem() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, Integer> f = c.register(FnSpec.of("f", String::length).build());
      assertThatThrownBy(() -> f.emit("x", (CallOptions) null))
          .isInstanceOf(NullPointerException.class).hasMessage("options");
      assertThatThrownBy(() -> f.emit("x", "k", null))
          .isInstanceOf(NullPointerException.class).hasMessage("options");
      assertThatThrownBy(() -> f.emit("x", null, CallOptions.tenant("acme")))
          .isInstanceOf(NullPointerException.class).hasMessage("idempotencyKey");
      assertThatThrownBy(() -> f.emit(null, CallOptions.tenant("acme")))
          .isInstanceOf(InvalidInputException.class);
      assertThat(f.stats().eventsAccepted()).isZero();
    }
  }
}
