package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Tenants of a contended function are served in weighted round-robin, and a flood from one tenant
 * cannot starve another, neither of turns nor of room in the queue. Measured by order of service,
 * never by time: the function runs one call at a time ({@code maxConcurrency(1)}), the first call
 * holds the only slot on a gate while the others are queued, and once the gate opens the order in
 * which the calls ran is the order the queue chose.
 */
class TenantFairnessTest {
  /** A function of one slot that records who ran, in order; the call "gate" waits for the latch. */
  private static final class Recorder {
    final List<String> order = new CopyOnWriteArrayList<>();
    final CountDownLatch gate = new CountDownLatch(1);

    String run(String who) {
      if (who.equals("gate")) {
        TestFunctions.await(gate);
      } else {
        order.add(who);
      }
      return who;
    }
  }

  private static Fn<String, String> register(Cumulus c, Recorder r, FnSpec.Builder<String, String> spec) {
    return c.register(spec.maxConcurrency(1).build());
  }

  private static FnSpec.Builder<String, String> spec(Recorder r) {
    return FnSpec.of("shared", r::run);
  }

  /** Holds the only slot with the gate call until the test has queued the rest. */
  private static CompletableFuture<String> holdTheSlot(Fn<String, String> f) {
    CompletableFuture<String> gate = f.invokeAsync("gate");
    await().until(() -> f.stats().inFlight() == 1);
    return gate;
  }

  private static List<CompletableFuture<String>> submit(Fn<String, String> f, String tenant, int n) {
    List<CompletableFuture<String>> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      calls.add(f.invokeAsync(tenant + i, CallOptions.tenant(tenant)));
    }
    return calls;
  }

  /** 1-based positions in the order of service of the calls whose label starts with {@code prefix}. */
  private static List<Integer> positions(List<String> order, String prefix) {
    return IntStream.range(0, order.size()).filter(i -> order.get(i).startsWith(prefix)).map(i -> i + 1)
        .boxed().toList();
  }

  @Test
  void aFloodFromOneTenant_doesNotStarveAnother() {
    Recorder r = new Recorder();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = register(c, r, spec(r));
      CompletableFuture<String> gate = holdTheSlot(f);
      List<CompletableFuture<String>> flood = submit(f, "A", 50); // A floods first
      List<CompletableFuture<String>> late = submit(f, "B", 5);   // B comes after all of A's calls
      r.gate.countDown();
      gate.join();
      flood.forEach(CompletableFuture::join);
      late.forEach(CompletableFuture::join);
      // Two tenants of equal weight: B's k-th call is the 2k-th served, not the 50+k-th (FIFO).
      assertThat(positions(r.order, "B")).containsExactly(2, 4, 6, 8, 10);
      // Within a tenant, first in first out.
      assertThat(r.order.stream().filter(s -> s.startsWith("A")).toList())
          .containsExactlyElementsOf(IntStream.range(0, 50).mapToObj(i -> "A" + i).toList());
      assertThat(r.order).hasSize(55);
    }
  }

  @Test
  void weights_giveATenantThatManyCallsPerTurn() {
    Recorder r = new Recorder();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = register(c, r, spec(r).tenantWeight("A", 3));
      CompletableFuture<String> gate = holdTheSlot(f);
      List<CompletableFuture<String>> a = submit(f, "A", 12);
      List<CompletableFuture<String>> b = submit(f, "B", 4);
      r.gate.countDown();
      gate.join();
      a.forEach(CompletableFuture::join);
      b.forEach(CompletableFuture::join);
      assertThat(String.join("", r.order.stream().map(s -> s.substring(0, 1)).toList()))
          .isEqualTo("AAABAAABAAABAAAB");
    }
  }

  @Test
  void callsWithoutATenant_takeATurnAsOneMoreTenant() {
    Recorder r = new Recorder();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = register(c, r, spec(r));
      CompletableFuture<String> gate = holdTheSlot(f);
      List<CompletableFuture<String>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        calls.add(f.invokeAsync("-" + i)); // no tenant
      }
      calls.addAll(submit(f, "A", 4));
      calls.addAll(submit(f, "B", 4));
      r.gate.countDown();
      gate.join();
      calls.forEach(CompletableFuture::join);
      // The round: the calls without a tenant, A, B, then again; each its own FIFO.
      assertThat(r.order).containsExactly("-0", "A0", "B0", "-1", "A1", "B1", "-2", "A2", "B2", "-3", "A3", "B3");
    }
  }

  @Test
  void aTenantArrivingLate_waitsAtMostOneRound() {
    Recorder r = new Recorder();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = register(c, r, spec(r).tenantWeight("A", 5).tenantWeight("B", 2));
      CompletableFuture<String> gate = holdTheSlot(f);
      List<CompletableFuture<String>> calls = new ArrayList<>(submit(f, "A", 30));
      calls.addAll(submit(f, "B", 30));
      calls.addAll(submit(f, "C", 1)); // weight 1: its call waits for at most one turn of A and B
      r.gate.countDown();
      gate.join();
      calls.forEach(CompletableFuture::join);
      assertThat(positions(r.order, "C")).singleElement().satisfies(p -> assertThat(p).isLessThanOrEqualTo(5 + 2 + 1));
    }
  }

  @Test
  void aFloodCannotFillTheQueueForOthers_eachTenantKeepsItsShareOfTheRoom() {
    Recorder r = new Recorder();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = register(c, r, spec(r).queueCapacity(10));
      CompletableFuture<String> gate = holdTheSlot(f);
      List<CompletableFuture<String>> a = submit(f, "A", 30);
      // A alone: the queue's 10 places are its share; the other 20 calls are throttled.
      assertThat(a.stream().filter(CompletableFuture::isCompletedExceptionally).count()).isEqualTo(20);
      List<CompletableFuture<String>> b = submit(f, "B", 6);
      // B arrives to a full queue and is still let in, up to its share (10 × 1/2): the 6th is throttled.
      assertThat(b.subList(0, 5)).noneMatch(CompletableFuture::isDone);
      assertThat(b.get(5)).isCompletedExceptionally();
      assertThat(f.invokeAsync("A-late", CallOptions.tenant("A"))).isCompletedExceptionally(); // A is past its share
      r.gate.countDown();
      gate.join();
      b.subList(0, 5).forEach(CompletableFuture::join);
      a.stream().filter(x -> !x.isCompletedExceptionally()).forEach(CompletableFuture::join);
      assertThat(positions(r.order, "B")).containsExactly(2, 4, 6, 8, 10);
      Map<String, Usage> tenants = c.usage().byTenant();
      assertThat(tenants.get("A").functions()).singleElement().satisfies(s -> {
        assertThat(s.invocations()).isEqualTo(31);
        assertThat(s.successes()).isEqualTo(10);
        assertThat(s.throttles()).isEqualTo(21);
      });
      assertThat(tenants.get("B").functions()).singleElement().satisfies(s -> {
        assertThat(s.successes()).isEqualTo(5);
        assertThat(s.throttles()).isEqualTo(1);
      });
    }
  }

  @Test
  void aCancelledTenantCall_neverRuns_andIsCountedForItsTenant() {
    Recorder r = new Recorder();
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = register(c, r, spec(r));
      CompletableFuture<String> gate = holdTheSlot(f);
      List<CompletableFuture<String>> a = submit(f, "A", 3);
      a.get(1).cancel(false);
      r.gate.countDown();
      gate.join();
      a.get(0).join();
      a.get(2).join();
      assertThat(r.order).containsExactly("A0", "A2");
      await().until(() -> c.usage().byTenant().get("A").functions().get(0).cancelled() == 1);
      FunctionStats s = c.usage().byTenant().get("A").functions().get(0);
      assertThat(s.invocations()).isEqualTo(s.completed()).isEqualTo(3);
    }
  }

  @Test
  void manyTenants_atOnce_everyCallEnds_andTheLinesAddUp() throws Exception {
    try (Cumulus c = Cumulus.create()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("busy", (Integer i) -> {
        Thread.yield();
        return i;
      }).maxConcurrency(4).tenantWeight("t3", 4).build());
      List<Thread> callers = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        String tenant = "t" + t;
        callers.add(Thread.ofVirtual().start(() -> {
          for (int i = 0; i < 500; i++) {
            assertThat(f.invoke(i, CallOptions.tenant(tenant))).isEqualTo(i);
          }
        }));
      }
      for (Thread t : callers) {
        t.join();
      }
      Usage usage = c.usage();
      assertThat(usage.byTenant()).hasSize(8);
      long successes = usage.byTenant().values().stream()
          .mapToLong(u -> u.functions().get(0).successes()).sum();
      assertThat(successes).isEqualTo(4_000).isEqualTo(f.stats().successes());
      assertThat(usage.byTenant().values().stream().mapToLong(u -> u.functions().get(0).billedMillis()).sum())
          .isEqualTo(f.stats().billedMillis());
    }
  }
}
