package dev.cumulus.examples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.Receipt;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.hadoop.HadoopTables;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CleanAndLoadTest {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-01T00:00:00Z"), ZoneOffset.UTC);
  static final String HEADER = String.join(",", OrderCsv.COLUMNS) + "\n";

  @TempDir
  Path dir;

  private Path warehouse() {
    return dir.resolve("warehouse");
  }

  private List<OrderCsvGenerator.GeneratedFile> generate(int files, int rows) {
    return new OrderCsvGenerator(new OrderCsvGenerator.Options(files, rows, OrderCsvGeneratorTest.SEED,
        LocalDate.of(2026, 11, 2), 0.05, -1, files > 1 ? 1 : -1)).generate(dir.resolve("inbox"));
  }

  private Path write(String name, String content) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, content, StandardCharsets.UTF_8);
    return file;
  }

  /** Every row of the table's current snapshot, read by Iceberg's own generic reader. */
  static List<Record> readBack(Path warehouse) throws IOException {
    try (OrdersTable table = OrdersTable.open(warehouse);
         CloseableIterable<Record> records = IcebergGenerics.read(table.table()).build()) {
      List<Record> rows = new ArrayList<>();
      records.forEach(r -> rows.add(r.copy()));
      return rows;
    }
  }

  static List<Snapshot> snapshots(Path warehouse) {
    try (OrdersTable table = OrdersTable.open(warehouse)) {
      List<Snapshot> snapshots = new ArrayList<>();
      table.table().snapshots().forEach(snapshots::add);
      return snapshots;
    }
  }

  static List<Path> parquetFiles(Path warehouse) throws IOException {
    Path data = warehouse.resolve("shop/orders/data");
    if (!Files.exists(data)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(data)) {
      return files.filter(p -> p.getFileName().toString().endsWith(".parquet")).sorted().toList();
    }
  }

  static String sha256(Path file) throws IOException {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void load_appendsTheGoodRows_oneSnapshotPerFile_andReportsTheBadOnesByLine() throws IOException {
    List<OrderCsvGenerator.GeneratedFile> files = generate(3, 300);
    List<LoadResult> told = new ArrayList<>();

    try (CleanAndLoad load = new CleanAndLoad(OrdersTable.open(warehouse()), OrderRules.of(CLOCK), told::add)) {
      for (OrderCsvGenerator.GeneratedFile file : files) {
        LoadResult result = load.load(file.path());

        assertThat(result.rowsRead()).isEqualTo(file.dataRows());
        assertThat(result.rowsLoaded()).isEqualTo(file.goodRows());
        assertThat(result.badRows()).extracting(BadRow::line)
            .containsExactlyElementsOf(file.defects().stream().map(OrderCsvGenerator.Defect::line).toList());
        assertThat(result.rowsCleaned()).isPositive();
        assertThat(result.sha256()).isEqualTo(sha256(file.path()));
        assertThat(result.alreadyLoaded()).isFalse();
      }
    }

    List<Record> rows = readBack(warehouse());
    assertThat(rows).hasSize(files.stream().mapToInt(OrderCsvGenerator.GeneratedFile::goodRows).sum());
    Map<Object, Long> rowsByFile = rows.stream().collect(Collectors.groupingBy(r -> r.getField("source_file"),
        TreeMap::new, Collectors.counting()));
    assertThat(rowsByFile).isEqualTo(files.stream().collect(Collectors.toMap(f -> f.path().getFileName().toString(),
        f -> (long) f.goodRows(), (a, b) -> a, TreeMap::new)));
    List<Snapshot> snapshots = snapshots(warehouse());
    assertThat(snapshots).hasSize(files.size());
    // A reader with nothing but the table's path (as Spark's load(path) does) sees the same table.
    Table byPath = new HadoopTables(new Configuration()).load(warehouse().resolve("shop/orders").toString());
    try (CloseableIterable<Record> records = IcebergGenerics.read(byPath).select("order_id").build()) {
      assertThat(records).hasSize(rows.size());
    }
    assertThat(byPath.snapshots()).hasSize(files.size());
    for (int i = 0; i < files.size(); i++) {
      Map<String, String> summary = snapshots.get(i).summary();
      assertThat(summary).containsEntry(OrdersTable.SOURCE_FILE, files.get(i).path().getFileName().toString())
          .containsEntry(OrdersTable.SOURCE_SHA256, sha256(files.get(i).path()))
          .containsEntry(OrdersTable.ROWS_REJECTED, Integer.toString(files.get(i).defects().size()))
          .containsEntry("added-records", Integer.toString(files.get(i).goodRows()));
    }
    assertThat(told).extracting(LoadResult::snapshotId)
        .containsExactlyElementsOf(snapshots.stream().map(Snapshot::snapshotId).toList());
  }

  @Test
  void load_keepsEveryValue_asCleaned_withItsSourceLine() throws IOException {
    Path file = write("orders-test.csv", HEADER
        + "ORD-1,2026-11-02T23:30:00-05:00,\"  Zoë   O'Brien \",us,sku-7,2,19.9,usd,"
        + "\"Call first,\nthen \"\"ring\"\" twice\"\n"
        + "ORD-2,2026-11-03T08:00:00+09:00,佐藤商事株式会社,JP,SKU-8,1,1500,JPY,\n");

    try (CleanAndLoad load = new CleanAndLoad(OrdersTable.open(warehouse()), OrderRules.of(CLOCK), r -> {})) {
      assertThat(load.load(file).rowsCleaned()).isEqualTo(1);
    }

    List<Record> rows = readBack(warehouse()).stream()
        .sorted((a, b) -> a.getField("order_id").toString().compareTo(b.getField("order_id").toString())).toList();
    Record first = rows.get(0);
    assertThat(((OffsetDateTime) first.getField("ordered_at")).toInstant())
        .isEqualTo(Instant.parse("2026-11-03T04:30:00Z"));
    assertThat(first.getField("customer")).isEqualTo("Zoë O'Brien");
    assertThat(first.getField("country")).isEqualTo("US");
    assertThat(first.getField("sku")).isEqualTo("SKU-7");
    assertThat(first.getField("quantity")).isEqualTo(2);
    assertThat(first.getField("unit_price")).isEqualTo(new BigDecimal("19.90"));
    assertThat(first.getField("currency")).isEqualTo("USD");
    assertThat(first.getField("note")).isEqualTo("Call first,\nthen \"ring\" twice");
    assertThat(first.getField("source_file")).isEqualTo("orders-test.csv");
    assertThat(first.getField("source_line")).isEqualTo(2L);
    Record second = rows.get(1);
    assertThat(second.getField("customer")).isEqualTo("佐藤商事株式会社");
    assertThat(second.getField("unit_price")).isEqualTo(new BigDecimal("1500.00"));
    assertThat(second.getField("note")).isNull();
    assertThat(second.getField("source_line")).isEqualTo(4L);
  }

  @Test
  void load_failingFiles_leaveTheTableUnchanged_andDeleteWhatTheyWrote() throws IOException {
    Path good = write("good.csv", HEADER + "ORD-1,2026-11-02T10:00:00Z,Ana,DE,SKU-1,1,1.00,EUR,\n");
    Path gzip = write("gzip.csv", "\u001F\u008B not really");
    Path mostlyBad = write("bad.csv", HEADER
        + "ORD-1,2026-11-02T10:00:00Z,Ana,DE,SKU-1,1,1.00,EUR,\n"
        + "ORD-2,2026-11-02T10:00:00Z,Ana,DE,SKU-1,1,1.00,EUR,\n"
        + "ORD-3,yesterday,Ana,DE,SKU-1,1,1.00,EUR,\n"
        + "ORD-4,2026-11-02T10:00:00Z,Ana,Germany,SKU-1,1,1.00,EUR,\n"
        + "ORD-5,2026-11-02T10:00:00Z,Ana,DE,SKU-1,0,1.00,EUR,\n");
    Path headerOnly = write("empty.csv", HEADER);
    Files.write(gzip, new byte[] {0x1F, (byte) 0x8B, 8, 0, 0, 0, 0, 0});

    try (CleanAndLoad load = new CleanAndLoad(OrdersTable.open(warehouse()), OrderRules.of(CLOCK), r -> {})) {
      long snapshot = load.load(good).snapshotId();
      List<Path> filesBefore = parquetFiles(warehouse());

      assertThatThrownBy(() -> load.load(gzip)).isInstanceOf(RejectedFileException.class)
          .hasMessageContaining("gzip.csv is not CSV text: it is a gzip file");
      assertThatThrownBy(() -> load.load(mostlyBad)).isInstanceOf(RejectedFileException.class)
          .hasMessage("bad.csv: 3 of 5 rows are bad, over the limit of 50%; first: line 4: ordered_at: \"yesterday\""
              + " is not an ISO 8601 timestamp | line 5: country: \"Germany\" is not an ISO 3166 country code"
              + " | line 6: quantity: 0 is not between 1 and 10000")
          .satisfies(e -> assertThat(((RejectedFileException) e).badRows()).extracting(BadRow::line)
              .containsExactly(4L, 5L, 6L));
      assertThatThrownBy(() -> load.load(headerOnly)).isInstanceOf(RejectedFileException.class)
          .hasMessage("empty.csv has a header but no data rows");

      assertThat(snapshots(warehouse())).extracting(Snapshot::snapshotId).containsExactly(snapshot);
      // bad.csv's two good rows were written to Parquet before the file was rejected, then deleted.
      assertThat(parquetFiles(warehouse())).isEqualTo(filesBefore);
      assertThat(readBack(warehouse())).hasSize(1);
    }
  }

  @Test
  void load_sameBytesAgain_underAnyName_writesNothing() throws IOException {
    OrderCsvGenerator.GeneratedFile file = generate(1, 50).get(0);
    Path copy = Files.copy(file.path(), dir.resolve("redelivered.csv"));

    try (CleanAndLoad load = new CleanAndLoad(OrdersTable.open(warehouse()), OrderRules.of(CLOCK), r -> {})) {
      LoadResult first = load.load(file.path());
      List<Path> filesAfterFirst = parquetFiles(warehouse());
      LoadResult again = load.load(copy);

      assertThat(again.alreadyLoaded()).isTrue();
      assertThat(again.snapshotId()).isEqualTo(first.snapshotId());
      assertThat(again.rowsLoaded()).isZero();
      assertThat(again).hasToString("redelivered.csv: already loaded by snapshot " + first.snapshotId()
          + ", nothing committed");
      assertThat(parquetFiles(warehouse())).isEqualTo(filesAfterFirst);
    }
    assertThat(snapshots(warehouse())).hasSize(1);
    assertThat(readBack(warehouse())).hasSize(file.goodRows());
  }

  @Test
  void invoke_manyFilesAtOnce_onSeveralInstances_commitsEveryOne() throws IOException {
    List<OrderCsvGenerator.GeneratedFile> files = generate(8, 100);

    try (Cumulus cumulus = Cumulus.create()) {
      Fn<Path, LoadResult> load = cumulus.register(
          CleanAndLoad.spec(warehouse(), OrderRules.of(CLOCK), r -> {}).maxConcurrency(4).build());
      List<CompletableFuture<Receipt<LoadResult>>> calls =
          files.stream().map(f -> load.invokeMeteredAsync(f.path())).toList();
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();

      assertThat(load.stats().successes()).isEqualTo(files.size());
      assertThat(load.stats().coldStarts()).isBetween(1L, 4L);
      // Each invocation's bytes are its own file's, and the function's are all of them.
      for (int i = 0; i < files.size(); i++) {
        assertThat(calls.get(i).join().bytesProcessed()).isEqualTo(files.get(i).bytes());
      }
      assertThat(load.stats().bytesProcessed())
          .isEqualTo(files.stream().mapToLong(OrderCsvGenerator.GeneratedFile::bytes).sum());
    }

    List<Snapshot> snapshots = snapshots(warehouse());
    assertThat(snapshots).hasSize(files.size());
    assertThat(snapshots).extracting(s -> s.summary().get(OrdersTable.SOURCE_FILE))
        .containsExactlyInAnyOrderElementsOf(files.stream().map(f -> f.path().getFileName().toString()).toList());
    assertThat(readBack(warehouse())).hasSize(files.stream().mapToInt(OrderCsvGenerator.GeneratedFile::goodRows).sum());
  }
}
