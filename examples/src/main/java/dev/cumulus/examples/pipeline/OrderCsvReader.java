package dev.cumulus.examples.pipeline;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.io.input.BOMInputStream;

/**
 * Reads an orders export with Apache Commons CSV (RFC 4180: quoted fields with commas, quotes and
 * line breaks) and hands each data row to a {@link RowHandler} with the line it starts on. The file
 * must be UTF-8 text (a byte order mark is skipped) whose header names the export's nine columns, in
 * any order; anything else, and CSV that cannot be parsed past some line, is a
 * {@link RejectedFileException} whose message says what the file looks like instead. Blank lines are
 * skipped. Stateless.
 */
final class OrderCsvReader {
  /** Receives each data row. */
  @FunctionalInterface
  interface RowHandler {
    /**
     * Takes one row.
     *
     * @param line the line the row starts on (the header is line 1)
     * @param values its fields in {@link OrderCsv#COLUMNS} order when it has as many as the header,
     *     otherwise as they are in the file
     */
    void row(long line, List<String> values);
  }

  private static final CSVFormat FORMAT = CSVFormat.RFC4180.builder()
      // Blank lines become one-field records that read() skips, so that the line number a record
      // starts on is exactly one past the lines consumed before it.
      .setIgnoreEmptyLines(false)
      .get();

  private OrderCsvReader() {}

  /**
   * Reads a whole export.
   *
   * @param in the file's bytes; closed when the parser reaches the end, and the caller closes it too
   * @param name the file's name, for messages
   * @param handler receives each data row, in file order
   * @return the number of data rows
   * @throws RejectedFileException if the file is not an orders export in CSV
   * @throws UncheckedIOException if reading fails
   */
  static int read(InputStream in, String name, RowHandler handler) {
    BufferedInputStream buffered = new BufferedInputStream(in);
    try {
      rejectBinary(buffered, name);
      InputStream withoutBom = BOMInputStream.builder().setInputStream(buffered).get();
      Reader text = new InputStreamReader(withoutBom, StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT));
      try (CSVParser parser = CSVParser.builder().setReader(text).setFormat(FORMAT).get()) {
        return read(parser, name, handler);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + name, e);
    }
  }

  private static int read(CSVParser parser, String name, RowHandler handler) {
    Iterator<CSVRecord> records = parser.iterator();
    int[] order = null;
    int rows = 0;
    while (true) {
      long line = parser.getCurrentLineNumber() + 1;
      CSVRecord record;
      try {
        if (!records.hasNext()) {
          break;
        }
        record = records.next();
      } catch (UncheckedIOException e) {
        throw unreadable(name, line, e);
      }
      List<String> values = record.toList();
      if (values.size() == 1 && values.get(0).isEmpty()) {
        continue;
      }
      if (order == null) {
        order = header(name, values);
        continue;
      }
      rows++;
      handler.row(line, values.size() == order.length ? inColumnOrder(values, order) : values);
    }
    if (order == null) {
      throw new RejectedFileException(name + " is empty: no header line", List.of());
    }
    return rows;
  }

  /** Returns, for each of the export's columns, its index in the file. */
  private static int[] header(String name, List<String> header) {
    List<String> names = new ArrayList<>(header.size());
    for (int i = 0; i < header.size(); i++) {
      names.add(header.get(i).strip().toLowerCase(Locale.ROOT));
    }
    Set<String> missing = new LinkedHashSet<>(OrderCsv.COLUMNS);
    missing.removeAll(names);
    Set<String> unexpected = new LinkedHashSet<>(names);
    OrderCsv.COLUMNS.forEach(unexpected::remove);
    if (!missing.isEmpty() || !unexpected.isEmpty() || names.size() != OrderCsv.COLUMNS.size()) {
      String shown = String.join(",", header);
      throw new RejectedFileException(name + " does not have the orders header (" + String.join(",", OrderCsv.COLUMNS)
          + "): line 1 is \"" + (shown.length() > 120 ? shown.substring(0, 120) + "…" : shown) + "\""
          + (missing.isEmpty() ? "" : "; missing " + missing)
          + (unexpected.isEmpty() ? "" : "; unexpected " + unexpected)
          + (header.size() == 1 && shown.contains(";") ? " (semicolon-separated? this export is comma-separated)" : ""),
          List.of());
    }
    int[] order = new int[OrderCsv.COLUMNS.size()];
    for (int c = 0; c < order.length; c++) {
      order[c] = names.indexOf(OrderCsv.COLUMNS.get(c));
    }
    return order;
  }

  private static List<String> inColumnOrder(List<String> values, int[] order) {
    List<String> ordered = new ArrayList<>(order.length);
    for (int index : order) {
      ordered.add(values.get(index));
    }
    return ordered;
  }

  private static RejectedFileException unreadable(String name, long line, UncheckedIOException e) {
    if (e.getCause() instanceof CharacterCodingException) {
      return new RejectedFileException(name + " is not UTF-8 text: invalid bytes in the record starting on line "
          + line, e.getCause());
    }
    return new RejectedFileException(name + " is not valid CSV from line " + line + " on: "
        + e.getCause().getMessage(), e.getCause());
  }

  /** Names the common binary files that arrive with a .csv name, by their first bytes. */
  private static void rejectBinary(BufferedInputStream in, String name) throws IOException {
    in.mark(4);
    byte[] magic = in.readNBytes(4);
    in.reset();
    String kind = null;
    if (magic.length >= 2 && (magic[0] & 0xFF) == 0x1F && (magic[1] & 0xFF) == 0x8B) {
      kind = "a gzip file (bytes 1f 8b): a compressed export saved under a .csv name?";
    } else if (magic.length == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
      kind = "a ZIP archive (bytes 50 4b 03 04): an Excel workbook (.xlsx) saved under a .csv name?";
    } else if (magic.length == 4 && magic[0] == 'P' && magic[1] == 'A' && magic[2] == 'R' && magic[3] == '1') {
      kind = "a Parquet file (bytes PAR1)";
    }
    if (kind != null) {
      throw new RejectedFileException(name + " is not CSV text: it is " + kind, List.of());
    }
  }
}
