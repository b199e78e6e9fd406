package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link Cumulus#watchRegistrations}: what adapters use to follow the set of functions. */
class WatchRegistrationsTest {
  private final Cumulus cumulus = Cumulus.create();
  private final List<String> seen = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    cumulus.close();
  }

  public interface Greeter {
    String greet(String who);
  }

  public static final class Beans {
    @Serverless(name = "bean.one")
    public String one(String s) {
      return s;
    }

    @Serverless(name = "bean.two")
    public String two(String s) {
      return s;
    }
  }

  @Test
  void watcher_hearsEveryWayOfRegistering_andUnregistering_afterTheChange() throws Exception {
    cumulus.register(FnSpec.of("before", (String s) -> s).build());
    AutoCloseable watch = cumulus.watchRegistrations(name -> {
      // Called after the change: the present state already shows it.
      seen.add(name + (isRegistered(name) ? "+" : "-"));
    });

    cumulus.register(FnSpec.of("plain", (String s) -> s).build());
    cumulus.registerAll(new Beans());
    cumulus.proxy(Greeter.class, who -> "hi " + who);
    cumulus.executor("pool").shutdown();
    cumulus.unregister("plain");
    cumulus.unregister("never-registered");
    watch.close();
    cumulus.register(FnSpec.of("after", (String s) -> s).build());

    assertThat(seen).containsExactly(
        "plain+", "bean.one+", "bean.two+", "Greeter.greet+", "pool+", "plain-");
  }

  @Test
  void failedRegistration_isNotReported() {
    cumulus.register(FnSpec.of("taken", (String s) -> s).build());
    cumulus.watchRegistrations(seen::add);

    assertThatThrownBy(() -> cumulus.register(FnSpec.of("taken", (String s) -> s).build()))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> cumulus.registerAll(new Object()))
        .isInstanceOf(IllegalArgumentException.class);

    assertThat(seen).isEmpty();
  }

  @Test
  void aRegistrationTakenBack_isReportedAsMadeAndAsTakenBack_andTheStateThenShowsItGone() {
    cumulus.watchRegistrations(name -> seen.add(name + (isRegistered(name) ? "+" : "-")));

    // Visible by name, then taken back when its provisioned instance cannot be created.
    assertThatThrownBy(() -> cumulus.register(FnSpec.withInstance("provisioned", () -> {
      throw new IllegalStateException("no database (injected)");
    }, (Object db, String s) -> s).minInstances(1).build())).isInstanceOf(FunctionFailedException.class);

    assertThat(seen).containsExactly("provisioned+", "provisioned-");
    assertThat(isRegistered("provisioned")).isFalse();
  }

  @Test
  void watchersAndSubscribers_areToldOfTheSameChanges_throughOneSeam() {
    List<String> events = new CopyOnWriteArrayList<>();
    try (CumulusEvent.Subscription sub = cumulus.subscribe(e -> {
      switch (e) {
        case CumulusEvent.Registered r -> events.add(r.function() + "+");
        case CumulusEvent.Unregistered u -> events.add(u.function() + "-");
        default -> { }
      }
    })) {
      cumulus.watchRegistrations(name -> seen.add(name + (isRegistered(name) ? "+" : "-")));
      cumulus.register(FnSpec.of("plain", (String s) -> s).build());
      cumulus.registerAll(new Beans());
      cumulus.unregister("plain");
      cumulus.unregister("bean.one");

      org.awaitility.Awaitility.await().until(() -> events.size() >= seen.size());
      assertThat(seen).containsExactly("plain+", "bean.one+", "bean.two+", "plain-", "bean.one-");
      assertThat(events).containsExactlyElementsOf(seen);
    }
  }

  @Test
  void throwingWatcher_neitherFailsTheRegistration_norSilencesTheOthers() {
    cumulus.watchRegistrations(name -> {
      throw new IllegalStateException("watcher bug");
    });
    cumulus.watchRegistrations(seen::add);

    Fn<String, String> fn = cumulus.register(FnSpec.of("f", (String s) -> s + "!").build());

    assertThat(fn.invoke("x")).isEqualTo("x!");
    assertThat(seen).containsExactly("f");
  }

  @Test
  void closingAHandle_removesOnlyItsOwnRegistration_ofAWatcherAddedTwice() throws Exception {
    java.util.function.Consumer<String> watcher = seen::add;
    AutoCloseable first = cumulus.watchRegistrations(watcher);
    cumulus.watchRegistrations(watcher);

    first.close();
    first.close(); // idempotent
    cumulus.register(FnSpec.of("g", (String s) -> s).build());

    assertThat(seen).containsExactly("g");
  }

  @Test
  void nullWatcher_isRejectedNamingTheParameter() {
    assertThatThrownBy(() -> cumulus.watchRegistrations(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("watcher");
  }

  private boolean isRegistered(String name) {
    return cumulus.functions().stream().anyMatch(f -> f.name().equals(name));
  }
}
