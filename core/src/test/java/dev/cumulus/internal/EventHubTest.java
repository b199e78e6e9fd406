package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The hub passes every moment of {@link RuntimeEvents} on. Regression: it did not override
 * {@code concurrencyLimitChanged}, so while anyone subscribed or a registry was bound (the runtime then
 * holds the hub) the runtime's own listener and the observers were told of no change of an adaptive
 * limit. A moment added to {@link RuntimeEvents} without its forwarding fails here.
 */
class EventHubTest {

  @Test
  void theHubAndItsObserverWrapper_passOnEveryMomentOfRuntimeEvents() throws ClassNotFoundException {
    Class<?> observed = Class.forName(EventHub.class.getName() + "$Observed");
    List<String> missing = new ArrayList<>();
    for (Method moment : RuntimeEvents.class.getDeclaredMethods()) {
      if (!moment.isDefault()) {
        continue;
      }
      for (Class<?> forwarder : List.of(EventHub.class, observed)) {
        try {
          forwarder.getDeclaredMethod(moment.getName(), moment.getParameterTypes());
        } catch (NoSuchMethodException e) {
          missing.add(forwarder.getSimpleName() + "." + moment.getName());
        }
      }
    }
    assertThat(missing).as("moments not passed on").isEmpty();
  }

  @Test
  void anObserver_isToldOfLimitChangesAndNewTenants_andWhatItThrowsStaysWithIt() throws Exception {
    List<String> told = new ArrayList<>();
    RuntimeEvents configured = new RuntimeEvents() {
      @Override
      public void concurrencyLimitChanged(Registration fn, int from, int to) {
        told.add("configured " + from + "->" + to);
      }
    };
    EventHub hub = new EventHub(configured, () -> { }, 16);
    Registration fn = new Registration() {
      @Override
      public String name() {
        return "f";
      }

      @Override
      public int inFlightNow() {
        return 0;
      }

      @Override
      public int queuedNow() {
        return 0;
      }

      @Override
      public int warmNow() {
        return 0;
      }

      @Override
      public int concurrencyLimit() {
        return 1;
      }

      @Override
      public boolean isGone() {
        return false;
      }

      @Override
      public void addLatencyTimer(io.micrometer.core.instrument.Timer timer) {}

      @Override
      public void removeLatencyTimer(io.micrometer.core.instrument.Timer timer) {}
    };
    try (AutoCloseable observation = hub.observe(new RuntimeEvents() {
      @Override
      public void concurrencyLimitChanged(Registration f, int from, int to) {
        told.add("observer " + from + "->" + to);
        throw new IllegalStateException("a broken observer");
      }

      @Override
      public void tenantServed(Registration f, String tenant) {
        told.add("observer tenant " + tenant);
        throw new IllegalStateException("a broken observer");
      }
    })) {
      hub.concurrencyLimitChanged(fn, 20, 24);
      hub.tenantServed(fn, "acme");
    }
    hub.concurrencyLimitChanged(fn, 24, 30); // the observer is gone
    assertThat(told).containsExactly("configured 20->24", "observer 20->24", "observer tenant acme",
        "configured 24->30");
  }
}
