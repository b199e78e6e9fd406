package dev.cumulus;

import java.time.Duration;
import java.util.Locale;

/** Human-readable durations for tables and {@code toString}: 812 ns, 3.4 µs, 12.0 ms, 2.50 s. */
final class Durations {
  private Durations() {}

  static String format(Duration d) {
    return nanos(d.toNanos());
  }

  static String nanos(long ns) {
    if (ns < 1_000) {
      return ns + " ns";
    } else if (ns < 1_000_000) {
      return String.format(Locale.ROOT, "%.1f µs", ns / 1e3);
    } else if (ns < 1_000_000_000) {
      return String.format(Locale.ROOT, "%.1f ms", ns / 1e6);
    }
    return String.format(Locale.ROOT, "%.2f s", ns / 1e9);
  }
}
