package dev.cumulus.examples.pipeline;

import dev.cumulus.FnContext;
import dev.cumulus.FnSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.commons.io.input.BoundedInputStream;
import org.apache.iceberg.Snapshot;

/**
 * The {@code clean-and-load} function: reads one orders export (CSV), validates and cleans its rows
 * with {@link OrderRules}, and appends the good ones to the {@link OrdersTable} as one Iceberg
 * snapshot, reporting the bad ones with their line numbers. A file that fails (not CSV, wrong
 * header, too many bad rows, a failed commit) leaves the table unchanged: its Parquet files are
 * written as the rows come but deleted unless the commit succeeds. A file whose bytes were loaded
 * before is not committed again (each snapshot's summary keeps its file's SHA-256, known once the file
 * is read), so redelivering a file after a crash between commit and move does not duplicate its rows.
 *
 * <p>Register it with {@link #spec}: each function instance opens its own catalog and table handle
 * (the per-instance state of {@link FnSpec#withInstance}, closed when Cumulus retires the instance),
 * and instances commit concurrently. An instance is used by one invocation at a time. Each invocation
 * reports the bytes it read to Cumulus ({@link FnContext#addBytesProcessed}), failed files included:
 * they are on its receipt, its stats and the bill.
 */
public final class CleanAndLoad implements AutoCloseable {
  /** The function's name. */
  public static final String NAME = "clean-and-load";

  private static final System.Logger LOG = System.getLogger(CleanAndLoad.class.getName());
  private static final int REASONS_IN_MESSAGE = 5;

  private final OrdersTable table;
  private final OrderRules rules;
  private final Consumer<? super LoadResult> onLoaded;

  /**
   * Creates one instance.
   *
   * @param table this instance's table handle, closed with the instance
   * @param rules the row rules
   * @param onLoaded told of every file loaded (or found already loaded), after its commit; a
   *     listener that throws is logged and does not fail the load
   * @throws NullPointerException if an argument is null
   */
  public CleanAndLoad(OrdersTable table, OrderRules rules, Consumer<? super LoadResult> onLoaded) {
    this.table = Objects.requireNonNull(table, "table");
    this.rules = Objects.requireNonNull(rules, "rules");
    this.onLoaded = Objects.requireNonNull(onLoaded, "onLoaded");
  }

  /**
   * The function's spec: input a file's {@link Path}, output its {@link LoadResult}; each instance
   * opens the table in {@code warehouse} (creating it the first time). Add limits before
   * {@code build()}.
   *
   * @param warehouse the Iceberg warehouse directory
   * @param rules the row rules
   * @param onLoaded told of every file loaded
   * @return the spec's builder
   * @throws NullPointerException if an argument is null
   */
  public static FnSpec.Builder<Path, LoadResult> spec(Path warehouse, OrderRules rules,
      Consumer<? super LoadResult> onLoaded) {
    Objects.requireNonNull(warehouse, "warehouse");
    Objects.requireNonNull(rules, "rules");
    Objects.requireNonNull(onLoaded, "onLoaded");
    return FnSpec.<CleanAndLoad, Path, LoadResult>withInstance(NAME,
            () -> new CleanAndLoad(OrdersTable.open(warehouse), rules, onLoaded), CleanAndLoad::load)
        .inputType(Path.class)
        .outputType(LoadResult.class);
  }

  /**
   * Loads one file. Run by Cumulus, it reports the file's bytes as processed by its invocation.
   *
   * @param csv the file
   * @return what was loaded and what was rejected
   * @throws RejectedFileException if the file is not loaded at all (the table is unchanged)
   * @throws UncheckedIOException if the file cannot be read or the data files cannot be written
   * @throws org.apache.iceberg.exceptions.CommitFailedException if the commit lost every retry
   * @throws NullPointerException if {@code csv} is null
   */
  public LoadResult load(Path csv) {
    Objects.requireNonNull(csv, "csv");
    String name = csv.getFileName().toString();
    MessageDigest sha256 = sha256();
    try (InputStream file = Files.newInputStream(csv);
         BoundedInputStream in = BoundedInputStream.builder().setInputStream(new DigestInputStream(file, sha256)).get();
         OrdersTable.Append append = table.newAppend(name)) {
      try {
        return load(name, in, sha256, append);
      } finally {
        long read = in.getCount();
        FnContext.find().ifPresent(ctx -> ctx.addBytesProcessed(read)); // absent when called directly
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + csv, e);
    }
  }

  private LoadResult load(String name, BoundedInputStream in, MessageDigest sha256, OrdersTable.Append append) {
    OrderRules.FileCheck check = rules.forFile();
    List<BadRow> badRows = new ArrayList<>();
    int[] cleaned = {0};
    int rows = OrderCsvReader.read(in, name, (line, values) -> {
      switch (check.check(line, values)) {
        case OrderRules.Accepted accepted -> {
          append.add(accepted.order(), line);
          cleaned[0] += accepted.cleaned() ? 1 : 0;
        }
        case OrderRules.Rejected rejected -> badRows.add(rejected.row());
      }
    });
    // The parser read to the end of the file: the digest covers all of it.
    String hash = HexFormat.of().formatHex(sha256.digest());
    if (rows == 0) {
      throw new RejectedFileException(name + " has a header but no data rows", List.of());
    }
    if (badRows.size() > rules.maxRejectedFraction() * rows) {
      throw new RejectedFileException(String.format(Locale.ROOT, "%s: %d of %d rows are bad, over the limit of"
          + " %.0f%%; first: %s", name, badRows.size(), rows, rules.maxRejectedFraction() * 100,
          firstReasons(badRows)), badRows);
    }
    LoadResult result;
    Optional<Snapshot> earlier = table.snapshotThatLoaded(hash);
    if (earlier.isPresent()) {
      result = new LoadResult(name, hash, in.getCount(), rows, 0, 0, badRows, earlier.get().snapshotId(), 0, 0, true);
    } else {
      OrdersTable.Committed committed = append.commit(Map.of(
          OrdersTable.SOURCE_FILE, name,
          OrdersTable.SOURCE_SHA256, hash,
          OrdersTable.ROWS_REJECTED, Integer.toString(badRows.size())));
      result = new LoadResult(name, hash, in.getCount(), rows, (int) append.rows(), cleaned[0], badRows,
          committed.snapshotId(), committed.dataFiles(), committed.bytes(), false);
    }
    try {
      onLoaded.accept(result);
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "listener of " + NAME + " failed on " + name, e);
    }
    return result;
  }

  /** Closes this instance's table handle (when Cumulus retires the instance). */
  @Override
  public void close() {
    table.close();
  }

  private static String firstReasons(List<BadRow> badRows) {
    List<String> first = badRows.stream().limit(REASONS_IN_MESSAGE).map(BadRow::toString).toList();
    return String.join(" | ", first) + (badRows.size() > REASONS_IN_MESSAGE ? " | ..." : "");
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
