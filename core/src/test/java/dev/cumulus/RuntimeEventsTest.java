package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cumulus.internal.Registration;
import dev.cumulus.internal.RuntimeEvents;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** The runtime tells its listener seam each moment once, from one place. */
class RuntimeEventsTest {
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final RuntimeEvents recorder = new RuntimeEvents() {
    @Override
    public void firstWorker(Registration function) {
      events.add("firstWorker " + function.name());
    }

    @Override
    public void lastWorker(Registration function) {
      events.add("lastWorker " + function.name());
    }

    @Override
    public void coldStart(Registration function, long initNanos) {
      events.add("coldStart " + function.name());
    }

    @Override
    public void throttled(Registration function, String reason) {
      events.add("throttled " + function.name() + ": " + reason);
    }

    @Override
    public void timedOut(Registration function, Duration timeout) {
      events.add("timedOut " + function.name() + " " + timeout);
    }
  };

  @Test
  void aFunctionsLife_isToldOnceAMoment() throws Exception {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).events(recorder).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> f = c.register(FnSpec.withInstance("life", Object::new, (Object h, Integer i) -> {
        if (i > 0) {
          TestFunctions.await(gate);
        }
        return i;
      }).maxConcurrency(1).queueCapacity(0).timeout(Duration.ofSeconds(1)).build());
      assertThat(f.invoke(0)).isZero();
      await().until(() -> events.contains("lastWorker life"));
      assertThat(events).containsExactly("firstWorker life", "coldStart life", "lastWorker life");
      events.clear();

      CompletableFuture<Integer> slow = f.invokeAsync(1);
      await().until(() -> f.stats().inFlight() == 1);
      assertThatThrownBy(() -> f.invoke(2)).isInstanceOf(ThrottledException.class);
      clock.advance(Duration.ofSeconds(1));
      assertThat(slow).failsWithin(Duration.ofSeconds(30));
      gate.countDown();
      await().until(() -> events.contains("lastWorker life"));
      assertThat(events).containsExactly("firstWorker life",
          "throttled life: function 'life' is throttled: 1 running (maxConcurrency 1) and 0 waiting (queueCapacity 0)",
          "timedOut life PT1S", "lastWorker life");
    }
  }
}
