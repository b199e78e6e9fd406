package dev.cumulus.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Finds registered names close to a mistyped one (edit distance, case-insensitive, or prefix).
 *
 * <p>The name asked for may come from outside (an HTTP path, an event-bus address), so the work is
 * bounded whatever its length: registered names have at most {@value #MAX_NAME} characters, so a
 * longer name is compared by prefix only, and the distance is computed within a band of the
 * threshold around the diagonal, in three rows allocated once per lookup, stopping as soon as a row
 * is over the threshold. An unknown-name call costs O(names × length × threshold) steps and a few
 * hundred bytes, never a matrix per registered name.
 */
final class NearNames {
  private static final int MAX = 3;
  /** The longest function name (see {@code Checks.functionName}). */
  static final int MAX_NAME = 128;
  private static final int MIN_PREFIX = 3;

  private NearNames() {}

  static List<String> of(String wanted, Collection<String> names) {
    record Scored(String name, int distance) {}
    boolean tooLong = wanted.length() > MAX_NAME;
    int threshold = Math.max(2, Math.min(wanted.length(), MAX_NAME) / 3);
    int[][] rows = tooLong ? new int[0][] : new int[3][MAX_NAME + 1];
    List<Scored> near = new ArrayList<>();
    for (String name : names) {
      int d = tooLong || name.length() > MAX_NAME ? threshold + 1 : distance(wanted, name, threshold, rows);
      if (d > threshold && isPrefix(wanted, name)) {
        d = threshold; // a prefix of the other counts as near
      }
      if (d <= threshold) {
        near.add(new Scored(name, d));
      }
    }
    return near.stream()
        .sorted(Comparator.comparingInt(Scored::distance).thenComparing(Scored::name))
        .limit(MAX)
        .map(Scored::name)
        .toList();
  }

  /** Whether one of the two starts with the other (ignoring case), the shorter being 3 or more long. */
  private static boolean isPrefix(String a, String b) {
    String shorter = a.length() <= b.length() ? a : b;
    String longer = shorter == a ? b : a;
    return shorter.length() >= MIN_PREFIX && longer.regionMatches(true, 0, shorter, 0, shorter.length());
  }

  /**
   * The Levenshtein distance with adjacent transpositions (optimal string alignment) of {@code a}
   * and {@code b}, ignoring case, if it is at most {@code max}; otherwise {@code max + 1}. Only the
   * cells within {@code max} of the diagonal are computed, in {@code rows} (three rows of at least
   * {@code b.length() + 1}, reused between calls).
   */
  static int distance(String a, String b, int max, int[][] rows) {
    int n = a.length();
    int m = b.length();
    int over = max + 1;
    if (Math.abs(n - m) > max) {
      return over;
    }
    int[] before = rows[0]; // row i - 2
    int[] previous = rows[1]; // row i - 1
    int[] current = rows[2];
    for (int j = 0; j <= m; j++) {
      previous[j] = Math.min(j, over);
    }
    for (int i = 1; i <= n; i++) {
      int from = Math.max(1, i - max);
      int to = Math.min(m, i + max);
      current[0] = Math.min(i, over);
      if (from > 1) {
        current[from - 1] = over;
      }
      int rowMin = current[0];
      char ca = Character.toLowerCase(a.charAt(i - 1));
      for (int j = from; j <= to; j++) {
        char cb = Character.toLowerCase(b.charAt(j - 1));
        int v = Math.min(Math.min(previous[j], current[j - 1]) + 1, previous[j - 1] + (ca == cb ? 0 : 1));
        if (i > 1 && j > 1 && ca == Character.toLowerCase(b.charAt(j - 2))
            && Character.toLowerCase(a.charAt(i - 2)) == cb) {
          v = Math.min(v, before[j - 2] + 1);
        }
        current[j] = Math.min(v, over);
        rowMin = Math.min(rowMin, current[j]);
      }
      if (to < m) {
        current[to + 1] = over; // the next row reads one cell past this band
      }
      if (rowMin > max) {
        return over; // every alignment is already too far
      }
      int[] recycled = before;
      before = previous;
      previous = current;
      current = recycled;
    }
    return Math.min(previous[m], over);
  }
}
