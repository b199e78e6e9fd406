package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InstancesTest {
  private final ManualClock clock = new ManualClock();
  private final Cumulus cumulus = Cumulus.builder().clock(clock).build();

  /** An instance that knows its number and whether it was closed. */
  static final class Resource implements AutoCloseable {
    final int id;
    volatile boolean closed;

    Resource(int id) {
      this.id = id;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  private final AtomicInteger created = new AtomicInteger();
  private final List<Resource> all = new CopyOnWriteArrayList<>();

  private Resource newResource() {
    Resource r = new Resource(created.incrementAndGet());

    all.add(r);
    return r;
  }

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void init_runsOncePerNewInstance_andWarmInstancesAreReused() {
    Fn<String, Integer> f = cumulus.register(FnSpec.withInstance("f", this::newResource,
        (Resource r, String s) -> r.id).build());
    for (int i = 0; i < 50; i++) {
      assertThat(f.invoke("x")).isEqualTo(1);
    }
    FunctionStats s = f.stats();
    assertThat(created).hasValue(1);
    assertThat(s.coldStarts()).isEqualTo(1);
    assertThat(s.initTime()).isPositive();
    assertThat(s.warmInstances()).isEqualTo(1);
  }

  @Test
  void concurrentDemand_createsInstances_thenTheMostRecentlyUsedIsReusedFirst() {
    CountDownLatch gate = new CountDownLatch(1);
    Fn<Boolean, Integer> f = cumulus.register(FnSpec.withInstance("f", this::newResource,
        (Resource r, Boolean wait) -> {
          if (wait) {
            TestFunctions.await(gate);
          }
          return r.id;
        }).build());
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      calls.add(f.invokeAsync(true));
    }
    await().until(() -> f.stats().inFlight() == 3);
    gate.countDown();
    calls.forEach(CompletableFuture::join);
    await().until(() -> f.stats().warmInstances() == 3 && f.stats().inFlight() == 0);
    assertThat(f.stats().coldStarts()).isEqualTo(3);
    // Sequential calls now always get the instance returned last.
    Integer first = f.invoke(false);
    for (int i = 0; i < 10; i++) {
      assertThat(f.invoke(false)).isEqualTo(first);
    }
    // ... so the others age out, the one in use stays.
    clock.advance(Duration.ofSeconds(29));
    assertThat(f.invoke(false)).isEqualTo(first);
    clock.advance(Duration.ofSeconds(2));
    await().until(() -> f.stats().warmInstances() == 1);
    await().until(() -> all.stream().filter(r -> r.closed).count() == 2);
    assertThat(all.stream().filter(r -> !r.closed).map(r -> r.id)).containsExactly(first);
  }

  @Test
  void idleInstances_areClosedAfterKeepAlive() {
    Fn<String, Integer> f = cumulus.register(FnSpec.withInstance("f", this::newResource,
        (Resource r, String s) -> r.id).keepAlive(Duration.ofMinutes(5)).build());
    f.invoke("x");
    await().until(() -> f.stats().inFlight() == 0);
    clock.advance(Duration.ofMinutes(4));
    assertThat(all.get(0).closed).isFalse();
    assertThat(f.stats().warmInstances()).isEqualTo(1);
    clock.advance(Duration.ofMinutes(2));
    await().until(() -> all.get(0).closed);
    assertThat(f.stats().warmInstances()).isZero();
    assertThat(f.invoke("again")).isEqualTo(2); // a cold start brings a new one
  }

  @Test
  void close_closesInstances() {
    Fn<String, Integer> f = cumulus.register(FnSpec.withInstance("f", this::newResource,
        (Resource r, String s) -> r.id).build());
    f.invoke("x");
    cumulus.close();
    assertThat(all).hasSize(1).allSatisfy(r -> assertThat(r.closed).isTrue());
  }

  @Test
  void minInstances_areWarmFromRegistration_andNeverExpire() {
    Fn<String, Integer> f = cumulus.register(FnSpec.withInstance("f", this::newResource,
        (Resource r, String s) -> r.id).minInstances(2).keepAlive(Duration.ofSeconds(10)).build());
    assertThat(created).hasValue(2);
    FunctionStats s = f.stats();
    assertThat(s.warmInstances()).isEqualTo(2);
    assertThat(s.coldStarts()).isZero();
    assertThat(s.initTime()).isPositive();
    f.invoke("x");
    assertThat(f.stats().coldStarts()).as("served by a provisioned instance").isZero();
    clock.advance(Duration.ofHours(1));
    assertThat(f.stats().warmInstances()).isEqualTo(2);
    assertThat(all).noneMatch(r -> r.closed);
  }

  @Test
  void minInstances_initFailure_failsRegistration() {
    assertThatThrownBy(() -> cumulus.register(FnSpec.withInstance("f",
        () -> { throw new IllegalStateException("no database"); }, (Object r, String s) -> s).minInstances(1).build()))
        .isInstanceOf(FunctionFailedException.class)
        .hasMessageContaining("provisioning 1 instances (minInstances) of function 'f' failed")
        .hasRootCauseMessage("no database");
    assertThat(cumulus.functions()).isEmpty();
  }

  @Test
  void initThatThrows_failsThatInvocation_andLeavesNoBrokenInstance() {
    AtomicInteger attempts = new AtomicInteger();
    Fn<String, String> f = cumulus.register(FnSpec.withInstance("flaky", () -> {
      if (attempts.incrementAndGet() == 1) {
        throw new IllegalStateException("first init fails");
      }
      return new StringBuilder("ok");
    }, (StringBuilder sb, String s) -> sb + s).build());
    assertThatThrownBy(() -> f.invoke("!"))
        .isInstanceOf(FunctionFailedException.class)
        .hasMessageContaining("init of a new instance of function 'flaky' failed")
        .hasCauseInstanceOf(IllegalStateException.class);
    await().until(() -> f.stats().inFlight() == 0);
    assertThat(f.stats().warmInstances()).isZero();
    assertThat(f.stats().failures()).isEqualTo(1);
    assertThat(f.invoke("!")).isEqualTo("ok!");
    assertThat(f.stats().coldStarts()).isEqualTo(1);
  }

  @Test
  void initReturningNull_failsClearly() {
    Fn<String, String> f = cumulus.register(FnSpec.withInstance("nil", () -> null, (Object o, String s) -> s).build());
    assertThatThrownBy(() -> f.invoke("x"))
        .isInstanceOf(FunctionFailedException.class)
        .hasRootCauseMessage("init of function 'nil' returned null");
  }

  @Test
  void statelessFunctions_countInstancesToo() {
    Fn<String, String> f = cumulus.register(FnSpec.of("plain", (String s) -> s).build());
    f.invoke("x");
    assertThat(f.stats().coldStarts()).isEqualTo(1);
    assertThat(f.stats().warmInstances()).isEqualTo(1);
  }
}
