package dev.cumulus.vertx;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Finds a {@link PrometheusMeterRegistry} in a registry (itself, or one of a composite's). Prometheus
 * support is an optional dependency: this class is loaded only once {@link #AVAILABLE} says that
 * {@code micrometer-registry-prometheus} is on the class path, so an application without it never
 * touches the missing classes.
 */
final class PrometheusScrape {
  /** Whether {@code micrometer-registry-prometheus} is present. */
  static final boolean AVAILABLE = present();

  private PrometheusScrape() {}

  /** The scrape of {@code registry} in the Prometheus text format, or null if it is no Prometheus one. */
  static @Nullable Supplier<String> of(MeterRegistry registry) {
    return AVAILABLE ? Finder.find(registry) : null;
  }

  private static boolean present() {
    try {
      Class.forName("io.micrometer.prometheusmetrics.PrometheusMeterRegistry", false,
          PrometheusScrape.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /** Holds the references to Prometheus classes, resolved only when it is first used. */
  private static final class Finder {
    static @Nullable Supplier<String> find(MeterRegistry registry) {
      if (registry instanceof PrometheusMeterRegistry p) {
        return p::scrape;
      }
      if (registry instanceof CompositeMeterRegistry c) {
        for (MeterRegistry r : c.getRegistries()) {
          Supplier<String> s = find(r);
          if (s != null) {
            return s;
          }
        }
      }
      return null;
    }
  }
}
