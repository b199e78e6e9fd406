package dev.cumulus;

import java.util.List;
import java.util.Locale;

/** Console tables of usage and bills: left-aligns the first columns, right-aligns the others. */
final class TextTable {
  private TextTable() {}

  static String format(List<String[]> rows, int leftColumns) {
    int columns = rows.get(0).length;
    int[] width = new int[columns];
    for (String[] row : rows) {
      for (int i = 0; i < columns; i++) {
        width[i] = Math.max(width[i], row[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    for (int r = 0; r < rows.size(); r++) {
      String[] row = rows.get(r);
      for (int i = 0; i < columns; i++) {
        String format = i < leftColumns ? "%-" + width[i] + "s" : "%" + width[i] + "s";
        sb.append(i == 0 ? "" : "  ").append(String.format(Locale.ROOT, format, row[i]));
      }
      sb.append('\n');
      if (r == 0 || r == rows.size() - 2) {
        int total = 0;
        for (int w : width) {
          total += w;
        }
        sb.append("-".repeat(total + 2 * (columns - 1))).append('\n');
      }
    }
    return sb.toString();
  }
}
