package dev.cumulus.examples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

class OrderCsvReaderTest {
  private static final String HEADER = String.join(",", OrderCsv.COLUMNS);

  private record Row(long line, List<String> values) {}

  private static List<Row> read(byte[] bytes) {
    List<Row> rows = new ArrayList<>();
    int count = OrderCsvReader.read(new ByteArrayInputStream(bytes), "t.csv",
        (line, values) -> rows.add(new Row(line, values)));
    assertThat(count).isEqualTo(rows.size());
    return rows;
  }

  private static List<Row> read(String text) {
    return read(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void read_givesEachRowTheLineItStartsOn_acrossQuotedLineBreaksAndBlankLines() {
    String csv = HEADER + "\n"
        + "ORD-1,2026-11-02T10:00:00+01:00,\"Müller, Jürgen\",DE,SKU-1,1,9.99,EUR,\"Call first\nthen ring\ntwice\"\n"
        + "\n"
        + "ORD-2,2026-11-02T10:00:00Z,\"Bob's \"\"Best\"\" Bikes\",GB,SKU-2,2,1.00,GBP,\n";

    List<Row> rows = read(csv);

    assertThat(rows).extracting(Row::line).containsExactly(2L, 6L);
    assertThat(rows.get(0).values().get(OrderCsv.CUSTOMER)).isEqualTo("Müller, Jürgen");
    assertThat(rows.get(0).values().get(OrderCsv.NOTE)).isEqualTo("Call first\nthen ring\ntwice");
    assertThat(rows.get(1).values().get(OrderCsv.CUSTOMER)).isEqualTo("Bob's \"Best\" Bikes");
  }

  @Test
  void read_windowsExport_skipsTheByteOrderMark_andReadsCrLf() {
    byte[] text = (HEADER + "\r\n"
        + "ORD-1,2026-11-02T10:00:00Z,Zoë,FR,SKU-1,1,1.00,EUR,\"a\r\nb\"\r\n"
        + "ORD-2,2026-11-02T10:00:00Z,Ana,FR,SKU-1,1,1.00,EUR,\r\n")
        .getBytes(StandardCharsets.UTF_8);
    byte[] withBom = new byte[text.length + 3];
    withBom[0] = (byte) 0xEF;
    withBom[1] = (byte) 0xBB;
    withBom[2] = (byte) 0xBF;
    System.arraycopy(text, 0, withBom, 3, text.length);

    List<Row> rows = read(withBom);

    assertThat(rows).extracting(Row::line).containsExactly(2L, 4L);
    assertThat(rows.get(0).values().get(OrderCsv.ORDER_ID)).isEqualTo("ORD-1");
  }

  @Test
  void read_columnsInAnotherOrder_givesValuesInTheExportsOrder() {
    String csv = "Note, currency,unit_price,quantity,sku,country,customer,ordered_at,ORDER_ID\n"
        + "hi,EUR,1.00,3,SKU-9,DE,Ana,2026-11-02T10:00:00Z,ORD-7\n";

    assertThat(read(csv).get(0).values())
        .containsExactly("ORD-7", "2026-11-02T10:00:00Z", "Ana", "DE", "SKU-9", "3", "1.00", "EUR", "hi");
  }

  @Test
  void read_rowWithTooFewFields_isPassedOnAsItIs() {
    List<Row> rows = read(HEADER + "\nORD-1,2026-11-02T10:00:00Z,Ana\n");

    assertThat(rows.get(0).values()).containsExactly("ORD-1", "2026-11-02T10:00:00Z", "Ana");
  }

  @Test
  void read_wrongHeader_rejectsTheFile_namingMissingAndUnexpectedColumns() {
    assertThatThrownBy(() -> read("id,when,who\n1,2,3\n"))
        .isInstanceOf(RejectedFileException.class)
        .hasMessageContaining("t.csv does not have the orders header")
        .hasMessageContaining("missing [order_id, ordered_at")
        .hasMessageContaining("unexpected [id, when, who]");
  }

  @Test
  void read_semicolonSeparatedExport_saysSo() {
    assertThatThrownBy(() -> read(String.join(";", OrderCsv.COLUMNS) + "\n"))
        .isInstanceOf(RejectedFileException.class)
        .hasMessageContaining("semicolon-separated?");
  }

  @Test
  void read_gzipFile_isRejectedAsNotCsvText() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
      gzip.write((HEADER + "\n").getBytes(StandardCharsets.UTF_8));
    }

    assertThatThrownBy(() -> read(bytes.toByteArray()))
        .isInstanceOf(RejectedFileException.class)
        .hasMessage("t.csv is not CSV text: it is a gzip file (bytes 1f 8b):"
            + " a compressed export saved under a .csv name?");
  }

  @Test
  void read_excelWorkbook_isRejectedAsZip() {
    assertThatThrownBy(() -> read(new byte[] {'P', 'K', 3, 4, 20, 0, 6, 0}))
        .isInstanceOf(RejectedFileException.class)
        .hasMessageContaining("a ZIP archive (bytes 50 4b 03 04): an Excel workbook (.xlsx)");
  }

  @Test
  void read_invalidUtf8_isRejectedWithTheLine() {
    byte[] start = (HEADER + "\nORD-1,2026-11-02T10:00:00Z,Ana,DE,SKU-1,1,1.00,EUR,\nORD-2,2026-11-02T10:00:00Z,")
        .getBytes(StandardCharsets.UTF_8);
    byte[] latin1 = "Jos\u00e9,DE,SKU-1,1,1.00,EUR,\n".getBytes(StandardCharsets.ISO_8859_1);
    byte[] file = new byte[start.length + latin1.length];
    System.arraycopy(start, 0, file, 0, start.length);
    System.arraycopy(latin1, 0, file, start.length, latin1.length);

    assertThatThrownBy(() -> read(file))
        .isInstanceOf(RejectedFileException.class)
        .hasMessageStartingWith("t.csv is not UTF-8 text: invalid bytes in the record starting on line");
  }

  @Test
  void read_unterminatedQuote_isRejectedWithTheLineWhereParsingStopped() {
    String csv = HEADER + "\n"
        + "ORD-1,2026-11-02T10:00:00Z,Ana,DE,SKU-1,1,1.00,EUR,\n"
        + "ORD-2,2026-11-02T10:00:00Z,\"Ana,DE\n";

    assertThatThrownBy(() -> read(csv))
        .isInstanceOf(RejectedFileException.class)
        .hasMessageStartingWith("t.csv is not valid CSV from line 3 on:");
  }

  @Test
  void read_emptyFile_isRejected() {
    assertThatThrownBy(() -> read(""))
        .isInstanceOf(RejectedFileException.class)
        .hasMessage("t.csv is empty: no header line");
  }
}
