package dev.cumulus.internal;

import java.time.Duration;
import java.util.Locale;

/**
 * Durations as messages show them to people: {@code 200 ms}, {@code 2.5 s}, {@code 1.5 min},
 * {@code 3 days}, {@code 292 years}, never ISO-8601's {@code PT0.2S}. At most three significant
 * digits, trailing zeros dropped; any {@link Duration} can be shown, however long or negative.
 */
public final class DurationText {
  private static final long MICRO = 1_000;
  private static final long MILLI = 1_000_000;
  private static final double MINUTE = 60;
  private static final double HOUR = 60 * MINUTE;
  private static final double DAY = 24 * HOUR;
  private static final double YEAR = 365.25 * DAY;

  private DurationText() {}

  /**
   * Shows {@code d} in the largest unit in which it is at least 1 (days up to ten years, then years).
   *
   * @param d any duration
   * @return the text, such as {@code 200 ms}
   */
  public static String of(Duration d) {
    if (d.isNegative()) {
      return d.getSeconds() == Long.MIN_VALUE ? d.toString() : "-" + of(d.negated());
    }
    if (d.getSeconds() == 0) {
      return nanos(d.getNano());
    }
    double s = d.getSeconds() + d.getNano() / 1e9;
    if (s < MINUTE) {
      return number(s) + " s";
    }
    if (s < HOUR) {
      return number(s / MINUTE) + " min";
    }
    if (s < DAY) {
      return number(s / HOUR) + " h";
    }
    if (s < 10 * YEAR) {
      double days = s / DAY;
      return number(days) + (days == 1 ? " day" : " days");
    }
    return String.format(Locale.ROOT, "%,.0f years", s / YEAR);
  }

  /**
   * Shows a non-negative number of nanoseconds as {@link #of(Duration)} does.
   *
   * @param ns nanoseconds
   * @return the text
   */
  public static String nanos(long ns) {
    if (ns < 0 || ns >= 1_000_000_000L) {
      return of(Duration.ofNanos(ns));
    }
    if (ns == 0) {
      return "0 ms";
    }
    if (ns < MICRO) {
      return ns + " ns";
    }
    if (ns < MILLI) {
      return number(ns / 1e3) + " µs";
    }
    return number(ns / 1e6) + " ms";
  }

  /** Three significant digits (all the integer digits above 100), no trailing zeros. */
  private static String number(double v) {
    String text = v >= 100 ? String.format(Locale.ROOT, "%.0f", v)
        : v >= 10 ? String.format(Locale.ROOT, "%.1f", v)
        : String.format(Locale.ROOT, "%.2f", v);
    if (text.indexOf('.') >= 0) {
      text = text.replaceAll("0+$", "");
      if (text.endsWith(".")) {
        text = text.substring(0, text.length() - 1);
      }
    }
    return text;
  }
}
