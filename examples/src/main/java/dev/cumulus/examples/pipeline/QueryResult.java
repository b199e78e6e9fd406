package dev.cumulus.examples.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The rows of one query.
 *
 * @param columns the column labels
 * @param rows the rows, each a list of JDBC values ({@code String}, {@code Long},
 *     {@code BigDecimal}, {@code OffsetDateTime}, ...; null for SQL NULL)
 * @param truncated whether rows beyond {@link OrdersQuery#MAX_ROWS} were dropped
 * @param snapshotId the table snapshot the query read (0: the table had none)
 * @param dataFiles how many Parquet files the snapshot has
 * @param bytesScanned their total size
 */
public record QueryResult(List<String> columns, List<List<Object>> rows, boolean truncated, long snapshotId,
    int dataFiles, long bytesScanned) {
  /**
   * Copies the lists (rows may hold nulls).
   *
   * @throws NullPointerException if {@code columns} or {@code rows} is null
   */
  public QueryResult {
    columns = List.copyOf(columns);
    rows = List.copyOf(Objects.requireNonNull(rows, "rows"));
  }

  /**
   * Formats the result as an aligned console table: text left-aligned, numbers right-aligned.
   *
   * @return the table, with a header line
   */
  public String toTable() {
    List<String[]> cells = new ArrayList<>();
    cells.add(columns.toArray(String[]::new));
    for (List<Object> row : rows) {
      cells.add(row.stream().map(v -> v == null ? "NULL" : v.toString().replace("\n", "\\n")).toArray(String[]::new));
    }
    int[] width = new int[columns.size()];
    for (String[] row : cells) {
      for (int c = 0; c < width.length; c++) {
        width[c] = Math.max(width[c], row[c].codePointCount(0, row[c].length()));
      }
    }
    StringBuilder out = new StringBuilder();
    for (int r = 0; r < cells.size(); r++) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < width.length; c++) {
        String cell = cells.get(r)[c];
        String pad = " ".repeat(width[c] - cell.codePointCount(0, cell.length()));
        boolean number = r > 0 && rows.get(r - 1).get(c) instanceof Number;
        line.append(c == 0 ? "" : "  ").append(number ? pad + cell : cell + pad);
      }
      out.append(line.toString().stripTrailing()).append('\n');
      if (r == 0) {
        int total = 0;
        for (int w : width) {
          total += w;
        }
        out.append("-".repeat(total + 2 * (width.length - 1))).append('\n');
      }
    }
    if (truncated) {
      out.append("(first ").append(rows.size()).append(" rows)\n");
    }
    return out.toString();
  }
}
