package dev.cumulus.examples.pipeline;

import dev.cumulus.FnContext;
import dev.cumulus.FnSpec;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * The {@code query} function: runs one SQL statement over the orders table with embedded DuckDB and
 * returns its rows. The table is the view {@code orders} over {@code read_parquet([...])} of the data
 * files of the table's current snapshot, read from Iceberg's metadata on every call, so a query sees
 * every load committed before it began. (DuckDB's own Iceberg extension would be downloaded at run
 * time; this needs nothing from the network.)
 *
 * <p>Each function instance has its own in-memory DuckDB, closed with the instance, set up so that a
 * query can neither read nor write any file outside the table's data directory, and runs on the
 * calling thread ({@code threads = 1}), so that Cumulus meters all of its CPU: instances, not DuckDB
 * threads, give the parallelism. An instance is used by one invocation at a time.
 */
public final class OrdersQuery implements AutoCloseable {
  /** The function's name. */
  public static final String NAME = "query";
  /** Most rows a result carries; the rest are dropped and {@link QueryResult#truncated()} says so. */
  public static final int MAX_ROWS = 1_000;

  private final OrdersTable table;
  private final Connection duckdb;
  private long viewSnapshot = -1;

  /**
   * Creates one instance: an in-memory DuckDB that may read only the table's data directory.
   *
   * @param table this instance's table handle, closed with the instance (or at once if this fails)
   * @throws IllegalStateException if DuckDB cannot be started
   * @throws NullPointerException if {@code table} is null
   */
  public OrdersQuery(OrdersTable table) {
    this.table = Objects.requireNonNull(table, "table");
    try {
      duckdb = DriverManager.getConnection("jdbc:duckdb:");
    } catch (SQLException e) {
      table.close();
      throw new IllegalStateException("cannot start DuckDB for " + NAME + ": " + e.getMessage(), e);
    }
    try (Statement setup = duckdb.createStatement()) {
      setup.execute("SET threads = 1");
      setup.execute("SET memory_limit = '256MB'");
      setup.execute("SET TimeZone = 'UTC'");
      setup.execute("SET allowed_directories = [" + literal(table.location().resolve("data").toString()) + "]");
      setup.execute("SET enable_external_access = false");
      setup.execute("SET lock_configuration = true");
    } catch (SQLException e) {
      try {
        duckdb.close();
        table.close();
      } catch (SQLException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new IllegalStateException("cannot start DuckDB for " + NAME + ": " + e.getMessage(), e);
    }
  }

  /**
   * The function's spec: input one SQL statement over the view {@code orders}, output a
   * {@link QueryResult}; each instance opens the table in {@code warehouse} (creating it if absent)
   * and its own DuckDB. Add limits before {@code build()}.
   *
   * @param warehouse the Iceberg warehouse directory
   * @return the spec's builder
   * @throws NullPointerException if {@code warehouse} is null
   */
  public static FnSpec.Builder<String, QueryResult> spec(Path warehouse) {
    Objects.requireNonNull(warehouse, "warehouse");
    return FnSpec.<OrdersQuery, String, QueryResult>withInstance(NAME,
            () -> new OrdersQuery(OrdersTable.open(warehouse)), OrdersQuery::run)
        .inputType(String.class)
        .outputType(QueryResult.class);
  }

  /**
   * Runs one statement over the table's current snapshot. Run by Cumulus, a statement that ran
   * reports as processed by its invocation ({@link FnContext#addBytesProcessed}) the size of the
   * snapshot's data files (what a scan of the whole table reads; DuckDB may read less); a statement
   * that failed processed nothing, as query engines bill.
   *
   * @param sql a statement that reads the view {@code orders}
   * @return its columns and up to {@link #MAX_ROWS} rows
   * @throws IllegalArgumentException if DuckDB rejects the statement (the message is DuckDB's)
   * @throws IllegalStateException if the table has delete files (see {@link OrdersTable#currentDataFiles()})
   * @throws NullPointerException if {@code sql} is null
   */
  public QueryResult run(String sql) {
    Objects.requireNonNull(sql, "sql");
    OrdersTable.DataFiles files = table.currentDataFiles();
    try {
      if (files.snapshotId() != viewSnapshot) {
        try (Statement view = duckdb.createStatement()) {
          view.execute("CREATE OR REPLACE VIEW orders AS " + source(files));
        }
        viewSnapshot = files.snapshotId();
      }
      // A statement that fails is closed by the driver: one statement per query.
      try (Statement statement = duckdb.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
        ResultSetMetaData meta = rs.getMetaData();
        List<String> columns = new ArrayList<>(meta.getColumnCount());
        for (int c = 1; c <= meta.getColumnCount(); c++) {
          columns.add(meta.getColumnLabel(c));
        }
        List<List<Object>> rows = new ArrayList<>();
        boolean truncated = false;
        while (rs.next()) {
          if (rows.size() == MAX_ROWS) {
            truncated = true;
            break;
          }
          List<Object> row = new ArrayList<>(columns.size());
          for (int c = 1; c <= columns.size(); c++) {
            row.add(rs.getObject(c));
          }
          rows.add(Collections.unmodifiableList(row));
        }
        // As query engines bill: only queries that ran. Absent when called directly.
        FnContext.find().ifPresent(ctx -> ctx.addBytesProcessed(files.bytes()));
        return new QueryResult(columns, rows, truncated, files.snapshotId(), files.paths().size(), files.bytes());
      }
    } catch (SQLException e) {
      throw new IllegalArgumentException(NAME + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Closes this instance's DuckDB and table handle (when Cumulus retires the instance).
   *
   * @throws IllegalStateException if DuckDB fails to close
   */
  @Override
  public void close() {
    try {
      duckdb.close();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot close the DuckDB of " + NAME + ": " + e.getMessage(), e);
    } finally {
      table.close();
    }
  }

  /** The view's body: the snapshot's Parquet files, or an empty relation of the table's columns. */
  private static String source(OrdersTable.DataFiles files) {
    if (!files.paths().isEmpty()) {
      return "SELECT * FROM read_parquet(["
          + files.paths().stream().map(p -> literal(p.toString())).collect(Collectors.joining(", ")) + "])";
    }
    return "SELECT " + OrdersTable.SCHEMA.columns().stream()
        .map(f -> "CAST(NULL AS " + duckdbType(f.type()) + ") AS " + f.name())
        .collect(Collectors.joining(", ")) + " WHERE false";
  }

  private static String duckdbType(Type type) {
    return switch (type.typeId()) {
      case STRING -> "VARCHAR";
      case INTEGER -> "INTEGER";
      case LONG -> "BIGINT";
      case TIMESTAMP -> ((Types.TimestampType) type).shouldAdjustToUTC() ? "TIMESTAMPTZ" : "TIMESTAMP";
      case DECIMAL -> {
        Types.DecimalType decimal = (Types.DecimalType) type;
        yield "DECIMAL(" + decimal.precision() + ", " + decimal.scale() + ")";
      }
      default -> throw new IllegalStateException("no DuckDB type for " + type);
    };
  }

  private static String literal(String text) {
    return "'" + text.replace("'", "''") + "'";
  }
}
