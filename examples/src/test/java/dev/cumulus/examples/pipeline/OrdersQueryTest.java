package dev.cumulus.examples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FunctionFailedException;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.iceberg.data.Record;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrdersQueryTest {
  @TempDir
  Path dir;

  private Path warehouse() {
    return dir.resolve("warehouse");
  }

  private List<OrderCsvGenerator.GeneratedFile> load(int files, int rows, long seed) {
    List<OrderCsvGenerator.GeneratedFile> generated = new OrderCsvGenerator(new OrderCsvGenerator.Options(files, rows,
        seed, LocalDate.of(2026, 11, 2), 0.03, -1, -1)).generate(dir.resolve("inbox-" + seed));
    try (CleanAndLoad load = new CleanAndLoad(OrdersTable.open(warehouse()), OrderRules.of(CleanAndLoadTest.CLOCK),
        r -> {})) {
      generated.forEach(f -> load.load(f.path()));
    }
    return generated;
  }

  @Test
  void run_aggregatesWhatIcebergsOwnReaderReads() throws IOException {
    load(3, 200, OrderCsvGeneratorTest.SEED);
    Map<String, BigDecimal> expected = new TreeMap<>();
    Map<String, Long> expectedCounts = new TreeMap<>();
    for (Record r : CleanAndLoadTest.readBack(warehouse())) {
      String currency = (String) r.getField("currency");
      BigDecimal amount = ((BigDecimal) r.getField("unit_price"))
          .multiply(BigDecimal.valueOf((Integer) r.getField("quantity")));
      expected.merge(currency, amount, BigDecimal::add);
      expectedCounts.merge(currency, 1L, Long::sum);
    }
    QueryResult result;
    try (OrdersQuery query = new OrdersQuery(OrdersTable.open(warehouse()))) {
      result = query.run("SELECT currency, count(*) AS orders, sum(quantity * unit_price) AS revenue"
          + " FROM orders GROUP BY currency ORDER BY currency");
    }

    assertThat(result.columns()).containsExactly("currency", "orders", "revenue");
    Map<String, Long> counts = result.rows().stream().collect(Collectors.toMap(r -> (String) r.get(0),
        r -> ((Number) r.get(1)).longValue(), (a, b) -> a, TreeMap::new));
    assertThat(counts).isEqualTo(expectedCounts);
    for (List<Object> row : result.rows()) {
      assertThat((BigDecimal) row.get(2)).isEqualByComparingTo(expected.get((String) row.get(0)));
    }
    assertThat(result.truncated()).isFalse();
    List<Path> parquet = CleanAndLoadTest.parquetFiles(warehouse());
    assertThat(result.dataFiles()).isEqualTo(parquet.size());
    long size = 0;
    for (Path p : parquet) {
      size += Files.size(p);
    }
    assertThat(result.bytesScanned()).isEqualTo(size);
    assertThat(result.toTable()).startsWith("currency  orders  revenue\n---");
  }

  @Test
  void run_seesEverySnapshotCommittedBeforeIt() {
    try (OrdersQuery query = new OrdersQuery(OrdersTable.open(warehouse()))) {
      QueryResult empty = query.run("SELECT count(*) AS n, min(ordered_at) AS first FROM orders");
      assertThat(empty.rows()).containsExactly(listOf(0L, null));
      assertThat(empty.snapshotId()).isZero();

      int first = load(1, 100, 1).get(0).goodRows();
      assertThat(query.run("SELECT count(*) FROM orders").rows()).containsExactly(List.of((long) first));
      int second = load(1, 100, 2).get(0).goodRows();
      assertThat(query.run("SELECT count(*) FROM orders").rows()).containsExactly(List.of((long) first + second));
    }
  }

  @Test
  void run_cannotTouchFilesOutsideTheTable_andABadStatementIsFree_andLeavesTheInstanceUsable() throws Exception {
    load(1, 20, OrderCsvGeneratorTest.SEED);
    Path secret = Files.writeString(dir.resolve("secret.csv"), "a,b\n1,2\n");

    try (Cumulus cumulus = Cumulus.create()) {
      Fn<String, QueryResult> query = cumulus.register(OrdersQuery.spec(warehouse()).build());

      for (String sql : List.of("SELECT * FROM read_csv('" + secret + "')",
          "COPY (SELECT * FROM orders) TO '" + dir.resolve("out.csv") + "'",
          "SET enable_external_access = true",
          "INSTALL iceberg")) {
        assertThatThrownBy(() -> query.invoke(sql))
            .isInstanceOf(FunctionFailedException.class)
            .cause().isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("query failed: ")
            .hasMessageMatching("(?s).*(Permission Error|configuration has been locked).*");
      }
      assertThatThrownBy(() -> query.invoke("SELEC nonsense"))
          .cause().hasMessageContaining("syntax error");
      QueryResult ran = query.invoke("SELECT count(*) > 0 FROM orders");
      assertThat(ran.rows()).containsExactly(List.of(true));
      assertThat(query.stats().coldStarts()).isEqualTo(1);
      assertThat(query.stats().bytesProcessed()).isEqualTo(ran.bytesScanned()).isPositive(); // failed ones are free
    }
    assertThat(dir.resolve("out.csv")).doesNotExist();
  }

  @Test
  void run_keepsAtMostMaxRows() {
    try (OrdersQuery query = new OrdersQuery(OrdersTable.open(warehouse()))) {
      QueryResult result = query.run("SELECT * FROM range(" + (OrdersQuery.MAX_ROWS + 5) + ")");

      assertThat(result.rows()).hasSize(OrdersQuery.MAX_ROWS);
      assertThat(result.truncated()).isTrue();
      assertThat(result.toTable()).endsWith("(first " + OrdersQuery.MAX_ROWS + " rows)\n");
    }
  }

  private static List<Object> listOf(Object... values) {
    return new ArrayList<>(java.util.Arrays.asList(values));
  }
}
