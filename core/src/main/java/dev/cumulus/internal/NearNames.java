package dev.cumulus.internal;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** Finds registered names close to a mistyped one (edit distance, case-insensitive, or prefix). */
final class NearNames {
  private static final int MAX = 3;

  private NearNames() {}

  static List<String> of(String wanted, Collection<String> names) {
    String w = wanted.toLowerCase(Locale.ROOT);
    int threshold = Math.max(2, w.length() / 3);
    record Scored(String name, int distance) {}
    return names.stream()
        .map(n -> {
          String lower = n.toLowerCase(Locale.ROOT);
          int d = distance(w, lower);
          if (d > threshold && (lower.startsWith(w) || w.startsWith(lower)) && Math.min(w.length(), lower.length()) >= 3) {
            d = threshold; // a prefix of the other counts as near
          }
          return new Scored(n, d);
        })
        .filter(s -> s.distance <= threshold)
        .sorted(Comparator.comparingInt(Scored::distance).thenComparing(Scored::name))
        .limit(MAX)
        .map(Scored::name)
        .toList();
  }

  /** Levenshtein distance with adjacent transpositions (optimal string alignment). */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          v = Math.min(v, d[i - 2][j - 2] + 1);
        }
        d[i][j] = v;
      }
    }
    return d[a.length()][b.length()];
  }
}
