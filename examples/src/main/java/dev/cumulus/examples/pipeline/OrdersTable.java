package dev.cumulus.examples.pipeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.CommitStateUnknownException;
import org.apache.iceberg.exceptions.NoSuchTableException;
import org.apache.iceberg.hadoop.HadoopCatalog;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.types.Types;

/**
 * The {@code shop.orders} Apache Iceberg table, in a Hadoop catalog on the local file system: a
 * warehouse directory holding {@code shop/orders/metadata/v<N>.metadata.json} and Parquet data files
 * partitioned by the day of {@code ordered_at}, which any Iceberg reader can open (Spark or Trino with
 * a Hadoop catalog on the warehouse, PyIceberg on the newest metadata file).
 *
 * <p>Each instance holds its own catalog and {@link Table} handle and is used by one thread at a time,
 * as a function instance is. Commits from several instances of one JVM are safe: Iceberg retries a
 * commit that lost the race, and {@link InProcessLockManager} makes the metadata file's rename
 * atomic between them. Several JVMs writing the same table need a catalog that locks across
 * processes (JDBC, REST, Hive); a Hadoop catalog on local files does not.
 */
public final class OrdersTable implements AutoCloseable {
  /** The table's name in the catalog. */
  public static final TableIdentifier ID = TableIdentifier.of("shop", "orders");

  /** Columns of the orders export, cleaned, plus where each row came from. */
  public static final Schema SCHEMA = new Schema(
      Types.NestedField.required(1, "order_id", Types.StringType.get()),
      Types.NestedField.required(2, "ordered_at", Types.TimestampType.withZone()),
      Types.NestedField.required(3, "customer", Types.StringType.get()),
      Types.NestedField.required(4, "country", Types.StringType.get()),
      Types.NestedField.required(5, "sku", Types.StringType.get()),
      Types.NestedField.required(6, "quantity", Types.IntegerType.get()),
      Types.NestedField.required(7, "unit_price", Types.DecimalType.of(12, 2)),
      Types.NestedField.required(8, "currency", Types.StringType.get()),
      Types.NestedField.optional(9, "note", Types.StringType.get()),
      Types.NestedField.required(10, "source_file", Types.StringType.get()),
      Types.NestedField.required(11, "source_line", Types.LongType.get()));

  /** One partition per UTC day of {@code ordered_at}. */
  public static final PartitionSpec SPEC = PartitionSpec.builderFor(SCHEMA).day("ordered_at").build();

  /** Snapshot summary property: the name of the file a snapshot loaded. */
  public static final String SOURCE_FILE = "cumulus.source-file";
  /** Snapshot summary property: the SHA-256 of the file's bytes (what makes a reload a no-op). */
  public static final String SOURCE_SHA256 = "cumulus.source-sha256";
  /** Snapshot summary property: how many rows of the file were rejected. */
  public static final String ROWS_REJECTED = "cumulus.rows-rejected";

  /** Data files are written whole, one per partition and load; never rolled at this size. */
  private static final long TARGET_FILE_BYTES = 128L * 1024 * 1024;
  private static final AtomicInteger TASKS = new AtomicInteger();

  private final HadoopCatalog catalog;
  private final Table table;

  private OrdersTable(HadoopCatalog catalog, Table table) {
    this.catalog = catalog;
    this.table = table;
  }

  /**
   * Opens the table in a warehouse directory, creating it (and the directory) if it does not exist.
   * Safe when several instances race to create it.
   *
   * @param warehouse the warehouse directory
   * @return the table, with a catalog of its own; close it when done
   * @throws NullPointerException if {@code warehouse} is null
   */
  public static OrdersTable open(Path warehouse) {
    Objects.requireNonNull(warehouse, "warehouse");
    HadoopCatalog catalog = new HadoopCatalog();
    catalog.setConf(new Configuration());
    catalog.initialize("hadoop", Map.of(
        // Hadoop paths are not URI-encoded: "file:" + the plain absolute path, spaces and all.
        CatalogProperties.WAREHOUSE_LOCATION, "file:" + warehouse.toAbsolutePath(),
        CatalogProperties.LOCK_IMPL, InProcessLockManager.class.getName()));
    try {
      return new OrdersTable(catalog, load(catalog));
    } catch (RuntimeException e) {
      closeQuietly(catalog, e);
      throw e;
    }
  }

  private static Table load(HadoopCatalog catalog) {
    try {
      return catalog.loadTable(ID);
    } catch (NoSuchTableException absent) {
      try {
        return catalog.createTable(ID, SCHEMA, SPEC, Map.of(TableProperties.COMMIT_NUM_RETRIES, "10"));
      } catch (AlreadyExistsException raced) {
        return catalog.loadTable(ID);
      }
    }
  }

  /**
   * Closes this handle's catalog.
   *
   * @throws UncheckedIOException if the catalog fails to close
   */
  @Override
  public void close() {
    try {
      catalog.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close the catalog of " + ID, e);
    }
  }

  private static void closeQuietly(HadoopCatalog catalog, Exception failure) {
    try {
      catalog.close();
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /**
   * Returns the Iceberg table.
   *
   * @return the table handle of this instance
   */
  public Table table() {
    return table;
  }

  /**
   * Returns the table's directory on the local file system.
   *
   * @return the directory holding {@code metadata/} and {@code data/}
   */
  public Path location() {
    return localPath(table.location());
  }

  /**
   * Finds the snapshot that loaded a file with these bytes, if any, after reading the table's newest
   * metadata.
   *
   * @param sha256 the file's SHA-256, in hex
   * @return the snapshot whose summary has that {@link #SOURCE_SHA256}
   */
  public Optional<Snapshot> snapshotThatLoaded(String sha256) {
    table.refresh();
    for (Snapshot snapshot : table.snapshots()) {
      if (sha256.equals(snapshot.summary().get(SOURCE_SHA256))) {
        return Optional.of(snapshot);
      }
    }
    return Optional.empty();
  }

  /**
   * Starts an append of one file's rows. Nothing is visible to readers until
   * {@link Append#commit}; closing an append that was not committed deletes what it wrote.
   *
   * @param sourceFile the name of the file the rows come from
   * @return the append, for one thread
   */
  public Append newAppend(String sourceFile) {
    return new Append(sourceFile);
  }

  /**
   * Lists the data files of the current snapshot, after reading the table's newest metadata.
   *
   * @return the snapshot's id and files; no files (and id 0) while the table has no snapshot
   * @throws IllegalStateException if the snapshot has delete files, which reading the Parquet files
   *     directly would ignore
   */
  public DataFiles currentDataFiles() {
    table.refresh();
    Snapshot current = table.currentSnapshot();
    if (current == null) {
      return new DataFiles(0, List.of(), 0, 0);
    }
    List<Path> paths = new ArrayList<>();
    long bytes = 0;
    long records = 0;
    try (CloseableIterable<FileScanTask> tasks = table.newScan().useSnapshot(current.snapshotId()).planFiles()) {
      for (FileScanTask task : tasks) {
        if (!task.deletes().isEmpty()) {
          throw new IllegalStateException("table " + ID + " has delete files in snapshot " + current.snapshotId()
              + "; its Parquet files alone do not hold its rows");
        }
        paths.add(localPath(task.file().location()));
        bytes += task.file().fileSizeInBytes();
        records += task.file().recordCount();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new DataFiles(current.snapshotId(), paths, bytes, records);
  }

  private static Path localPath(String location) {
    return Path.of(new org.apache.hadoop.fs.Path(location).toUri());
  }

  /**
   * The data files of one snapshot.
   *
   * @param snapshotId the snapshot
   * @param paths its Parquet files
   * @param bytes their total size
   * @param records their total row count
   */
  public record DataFiles(long snapshotId, List<Path> paths, long bytes, long records) {
    /**
     * Copies the paths.
     *
     * @throws NullPointerException if {@code paths} is null
     */
    public DataFiles {
      paths = List.copyOf(paths);
    }
  }

  /**
   * The rows of one file on their way into the table: written to Parquet as they come, one open file
   * per day partition, and committed as one snapshot. Not thread-safe.
   */
  public final class Append implements AutoCloseable {
    private final String sourceFile;
    private final FanoutDataWriter<Record> writer;
    private final PartitionKey partition = new PartitionKey(SPEC, SCHEMA);
    private final InternalRecordWrapper wrapper = new InternalRecordWrapper(SCHEMA.asStruct());
    private List<DataFile> written = List.of();
    private boolean closed;
    private boolean committed;
    private boolean finished;
    private long rows;

    private Append(String sourceFile) {
      this.sourceFile = sourceFile;
      GenericFileWriterFactory files = new GenericFileWriterFactory.Builder(table)
          .dataFileFormat(FileFormat.PARQUET)
          .build();
      OutputFileFactory names = OutputFileFactory.builderFor(table, 1, TASKS.incrementAndGet())
          .format(FileFormat.PARQUET)
          .operationId(UUID.randomUUID().toString())
          .build();
      this.writer = new FanoutDataWriter<>(files, names, table.io(), TARGET_FILE_BYTES);
    }

    /**
     * Writes one order.
     *
     * @param order the clean order
     * @param line the line of the source file it came from
     * @throws UncheckedIOException if writing fails
     */
    public void add(Order order, long line) {
      GenericRecord record = GenericRecord.create(SCHEMA);
      record.setField("order_id", order.orderId());
      record.setField("ordered_at", order.orderedAt());
      record.setField("customer", order.customer());
      record.setField("country", order.country());
      record.setField("sku", order.sku());
      record.setField("quantity", order.quantity());
      record.setField("unit_price", order.unitPrice());
      record.setField("currency", order.currency());
      record.setField("note", order.note());
      record.setField("source_file", sourceFile);
      record.setField("source_line", line);
      partition.partition(wrapper.wrap(record));
      writer.write(record, SPEC, partition);
      rows++;
    }

    /**
     * Returns the orders written so far.
     *
     * @return the count
     */
    public long rows() {
      return rows;
    }

    /**
     * Closes the data files and commits them as one snapshot whose summary carries
     * {@code properties}. If the commit fails, the files are deleted and the table is unchanged.
     *
     * @param properties extra snapshot summary properties
     * @return the committed snapshot
     * @throws IllegalStateException if the append was committed or closed already
     * @throws org.apache.iceberg.exceptions.CommitFailedException if the commit lost every retry
     * @throws UncheckedIOException if closing the data files fails
     */
    public Committed commit(Map<String, String> properties) {
      if (closed) {
        throw new IllegalStateException("append of " + sourceFile + " is closed");
      }
      closeWriter();
      AppendFiles append = table.newAppend();
      written.forEach(append::appendFile);
      properties.forEach(append::set);
      try {
        append.commit();
      } catch (CommitStateUnknownException unknown) {
        committed = true; // it may have landed: the files must stay
        throw unknown;
      }
      committed = true;
      // This instance's handle saw no other commit since ours: its current snapshot is ours.
      Snapshot snapshot = table.currentSnapshot();
      long bytes = written.stream().mapToLong(DataFile::fileSizeInBytes).sum();
      return new Committed(snapshot.snapshotId(), written.size(), bytes);
    }

    /** Deletes what was written unless it was committed. */
    @Override
    public void close() {
      if (finished) {
        return;
      }
      finished = true;
      if (!closed) {
        try {
          closeWriter();
        } catch (RuntimeException e) {
          // Files that failed to close are not in the writer's result; the ones that closed go below.
        }
      }
      if (!committed) {
        for (DataFile file : written) {
          table.io().deleteFile(file.location());
        }
      }
    }

    private void closeWriter() {
      closed = true;
      try {
        writer.close();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot close the data files of " + sourceFile, e);
      }
      written = writer.result().dataFiles();
    }
  }

  /**
   * A committed append.
   *
   * @param snapshotId the snapshot it made
   * @param dataFiles how many Parquet files it added
   * @param bytes their total size
   */
  public record Committed(long snapshotId, int dataFiles, long bytes) {}
}
