package dev.cumulus.examples.pipeline;

import dev.cumulus.Bill;
import dev.cumulus.Cumulus;
import dev.cumulus.DeadLetter;
import dev.cumulus.Fn;
import dev.cumulus.FunctionStats;
import dev.cumulus.MeteringMode;
import dev.cumulus.PriceModel;
import dev.cumulus.RetryPolicy;
import dev.cumulus.Usage;
import dev.cumulus.trigger.DirectoryTrigger;
import dev.cumulus.trigger.Trigger;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.iceberg.Snapshot;
import org.jspecify.annotations.Nullable;

/**
 * The ingestion pipeline, end to end: order exports land in {@code inbox/}, the
 * {@code clean-and-load} function cleans each into the Iceberg table {@code shop.orders}, the
 * {@code query} function answers SQL over it with DuckDB, and the bill shows what each function
 * cost in requests, CPU and bytes. Run it with
 *
 * <pre>{@code
 * java --add-opens java.base/java.lang=ALL-UNNAMED --enable-native-access=ALL-UNNAMED \
 *      -cp examples/target/cumulus-examples.jar dev.cumulus.examples.pipeline.IngestionPipeline
 * }</pre>
 *
 * (options: {@code --dir DIR --files N --rows N --seed N}; the first JVM option gives exact CPU
 * metering, the second lets DuckDB, zstd and Hadoop load their native code without a warning).
 *
 * <p>The inbox is a {@link DirectoryTrigger}: each file that lands in it is an event of
 * {@code clean-and-load}, retried when it fails for a passing reason (an I/O error, a lost commit)
 * but not when the file itself is rejected ({@link RejectedFileException}); the trigger moves the
 * file to {@code processed/} or {@code failed/} (with its error beside it). The run ends once every
 * generated file has been moved.
 */
public final class IngestionPipeline {
  /** The sample query printed at the end. */
  static final String SAMPLE_QUERY = """
      SELECT currency, count(*) AS orders, sum(quantity) AS items, sum(quantity * unit_price) AS revenue,
             count(DISTINCT country) AS countries
      FROM orders GROUP BY currency ORDER BY currency""";

  /** Scan pricing in the style of query engines: USD 6.25 per TiB read (BigQuery on-demand, 2023–2025). */
  static final BigDecimal USD_PER_TIB = new BigDecimal("6.25");

  private static final int BAD_ROWS_SHOWN = 3;
  /** How long the run waits for the trigger to finish the generated files (the loads take seconds). */
  private static final Duration OUTCOMES_DEADLINE = Duration.ofMinutes(10);
  private static final long POLL_MILLIS = 20;

  private IngestionPipeline() {}

  /**
   * Runs the pipeline in a new temporary directory (or {@code --dir}) and leaves it there to look at.
   *
   * @param args {@code --dir DIR}, {@code --files N}, {@code --rows N}, {@code --seed N}
   * @throws Exception if the pipeline fails
   */
  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println("usage: IngestionPipeline [--dir DIR] [--files N] [--rows N] [--seed N]");
      System.exit(2);
      return;
    }
    Path dir = options.dir() != null ? options.dir() : Files.createTempDirectory("cumulus-pipeline-");
    run(dir, options, Clock.systemUTC(), System.out);
  }

  /**
   * Runs the pipeline once in {@code dir}.
   *
   * @param dir the working directory ({@code inbox/}, {@code warehouse/}, {@code rejects/})
   * @param options what to generate
   * @param clock the clock of the loads (what "in the future" means)
   * @param out where to print
   * @return what happened, for tests
   * @throws IOException if a directory or file cannot be written
   */
  static Summary run(Path dir, Options options, Clock clock, PrintStream out) throws IOException {
    Path inbox = Files.createDirectories(dir.resolve("inbox"));
    Path warehouse = dir.resolve("warehouse");
    List<LoadResult> loads = Collections.synchronizedList(new ArrayList<>());
    List<DeadLetter> failures = Collections.synchronizedList(new ArrayList<>());

    // Deployment: the table exists before its functions do (instances would create it too, racing).
    try (Cumulus cumulus = Cumulus.create(); OrdersTable table = OrdersTable.open(warehouse)) {
      out.printf(Locale.ROOT, "Cumulus ingestion pipeline: JDK %s, metering %s%nworking directory %s%n%n",
          Runtime.version(), cumulus.meteringMode(), dir);

      Fn<Path, LoadResult> load = cumulus.register(
          CleanAndLoad.spec(warehouse, OrderRules.of(clock), loads::add)
              .maxConcurrency(2)
              .timeout(Duration.ofMinutes(5))
              // A rejected file fails the same way every time: to failed/ at once, not after retries.
              .retry(RetryPolicy.defaults().retryOn(e -> !(e instanceof RejectedFileException)))
              .deadLetter(failures::add)
              .build());
      Fn<String, QueryResult> query = cumulus.register(
          OrdersQuery.spec(warehouse)
              .maxConcurrency(4)
              .timeout(Duration.ofMinutes(1))
              .build());

      // Every *.csv that lands in inbox/ is an event of clean-and-load, then moves to processed/ or failed/.
      List<OrderCsvGenerator.GeneratedFile> generated;
      try (Trigger trigger = DirectoryTrigger.watch(inbox).glob("*.csv").invoke(load)) {
        generated = new OrderCsvGenerator(
            OrderCsvGenerator.Options.of(options.files(), options.rows(), options.seed())).generate(inbox);
        String malformed = generated.stream().filter(OrderCsvGenerator.GeneratedFile::malformed)
            .map(g -> g.path().getFileName() + " is gzip-compressed on purpose").findFirst().orElse("none malformed");
        out.printf(Locale.ROOT, "generated %d files of %d rows into inbox/ (seed %d); %s%n%n", generated.size(),
            options.rows(), options.seed(), malformed);
        awaitMoved(trigger, generated, failures, OUTCOMES_DEADLINE);
      }

      out.printf(Locale.ROOT, "%s, %d files, at most %d at once, from %s:%n", CleanAndLoad.NAME, generated.size(),
          load.spec().maxConcurrency().orElse(0), DirectoryTrigger.class.getSimpleName());
      Map<String, LoadResult> byFile = loads.stream().collect(Collectors.toMap(LoadResult::file, r -> r, (a, b) -> b));
      Map<String, DeadLetter> failedByFile = failures.stream()
          .collect(Collectors.toMap(l -> fileName(l.input()), l -> l, (a, b) -> b));
      for (OrderCsvGenerator.GeneratedFile file : generated.stream()
          .sorted(Comparator.comparing(OrderCsvGenerator.GeneratedFile::path)).toList()) {
        String name = file.path().getFileName().toString();
        DeadLetter failure = failedByFile.get(name);
        LoadResult loaded = byFile.get(name);
        if (loaded != null) {
          printLoad(out, dir, loaded);
        } else if (failure != null) {
          Path errorFile = errorFile(inbox.resolve(DirectoryTrigger.FAILED), failure.eventId());
          Throwable error = failure.error();
          out.printf(Locale.ROOT, "  %s  FAILED (%s, %d attempt%s) -> %s%n      %s%n", name, failure.reason(),
              failure.attempts(), failure.attempts() == 1 ? "" : "s",
              errorFile == null ? "inbox/" + DirectoryTrigger.FAILED + "/" : dir.relativize(errorFile),
              error == null ? "no error" : error.getMessage());
        } else {
          out.printf(Locale.ROOT, "  %s  no outcome recorded%n", name); // not expected: the wait above
        }
      }

      OrdersTable.DataFiles files = table.currentDataFiles();
      int snapshots = 0;
      for (Snapshot ignored : table.table().snapshots()) {
        snapshots++;
      }
      out.printf(Locale.ROOT, "%ntable %s: %d snapshots, %d rows in %d Parquet files (%s) at %s%n%n",
          OrdersTable.ID, snapshots, files.records(), files.paths().size(), bytes(files.bytes()),
          dir.relativize(table.location()));

      QueryResult sample = query.invoke(SAMPLE_QUERY);
      out.println(OrdersQuery.NAME + "> " + SAMPLE_QUERY.replace("\n", "\n       "));
      out.print(sample.toTable());
      out.printf(Locale.ROOT, "(snapshot %d, %d data files, %s scanned)%n%n", sample.snapshotId(), sample.dataFiles(),
          bytes(sample.bytesScanned()));

      Usage usage = cumulus.usage();
      out.println(usage);
      // Requests and compute as serverless platforms bill them, and bytes processed as query engines do.
      PriceModel model = (cumulus.meteringMode() == MeteringMode.EXACT
          ? PriceModel.cloudflareWorkers()
          : PriceModel.awsLambdaX86(512)).withPerTibProcessed(USD_PER_TIB);
      Bill bill = usage.bill(model);
      out.println(bill.toTable());
      Map<String, Long> processed = usage.functions().stream().collect(Collectors.toMap(FunctionStats::name,
          FunctionStats::bytesProcessed, Long::sum, TreeMap::new));
      return new Summary(dir, generated, List.copyOf(loads), List.copyOf(failures), sample, usage, processed, snapshots,
          files.records());
    }
  }

  /**
   * Waits until every generated file has left the inbox, the trigger has counted an outcome for each
   * (it counts a file once it has moved to {@code processed/} or {@code failed/}), and the sink has
   * the dead letter of each failed one (letters reach the sink on a thread of their own).
   */
  private static void awaitMoved(Trigger trigger, List<OrderCsvGenerator.GeneratedFile> generated,
      List<DeadLetter> letters, Duration deadline) {
    long end = System.nanoTime() + deadline.toNanos();
    while (true) {
      Trigger.Stats stats = trigger.stats();
      boolean allMoved = stats.succeeded() + stats.deadLettered() >= generated.size()
          && letters.size() >= stats.deadLettered()
          && generated.stream().noneMatch(g -> Files.exists(g.path()));
      if (allMoved) {
        return;
      }
      if (System.nanoTime() - end > 0 || !trigger.isOpen()) {
        throw new IllegalStateException("the inbox's files were not all processed within " + deadline
            + (trigger.isOpen() ? "" : " (the trigger stopped)") + ": " + stats);
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the inbox", e);
      }
    }
  }

  private static String fileName(@Nullable Object input) {
    return input instanceof Path p && p.getFileName() != null ? p.getFileName().toString() : String.valueOf(input);
  }

  /** The error file the trigger wrote for an event: the one in {@code failed/} naming its id. */
  private static @Nullable Path errorFile(Path failed, String eventId) throws IOException {
    try (Stream<Path> files = Files.list(failed)) {
      for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".error.txt")).sorted().toList()) {
        if (Files.readAllLines(f, StandardCharsets.UTF_8).contains("event: " + eventId)) {
          return f;
        }
      }
    }
    return null;
  }

  private static void printLoad(PrintStream out, Path dir, LoadResult result) throws IOException {
    if (result.alreadyLoaded()) {
      out.printf(Locale.ROOT, "  %s  already loaded by snapshot %d: nothing committed%n", result.file(),
          result.snapshotId());
      return;
    }
    out.printf(Locale.ROOT, "  %s  %d rows: %d loaded (%d cleaned), %d rejected -> snapshot %d%n", result.file(),
        result.rowsRead(), result.rowsLoaded(), result.rowsCleaned(), result.badRows().size(), result.snapshotId());
    if (result.badRows().isEmpty()) {
      return;
    }
    Path rejects = dir.resolve("rejects").resolve(result.file() + ".txt");
    Files.createDirectories(rejects.getParent());
    Files.write(rejects, result.badRows().stream().map(BadRow::toString).toList(), StandardCharsets.UTF_8);
    result.badRows().stream().limit(BAD_ROWS_SHOWN).forEach(bad -> out.println("      " + bad));
    if (result.badRows().size() > BAD_ROWS_SHOWN) {
      out.printf(Locale.ROOT, "      ... all %d in %s%n", result.badRows().size(), dir.relativize(rejects));
    }
  }

  private static String bytes(long b) {
    if (b < 1024) {
      return b + " B";
    } else if (b < 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
    }
    return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
  }

  /**
   * What to run.
   *
   * @param dir the working directory, or null for a new temporary one
   * @param files how many daily files to generate
   * @param rows data rows per file
   * @param seed the generator's seed
   */
  record Options(@Nullable Path dir, int files, int rows, long seed) {
    static Options parse(String... args) {
      Path dir = null;
      int files = 6;
      int rows = 1_000;
      long seed = 42;
      for (int i = 0; i < args.length; i++) {
        String option = args[i];
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("option " + option + " needs a value");
        }
        String value = args[++i];
        try {
          switch (option) {
            case "--dir" -> dir = Path.of(value);
            case "--files" -> files = Integer.parseInt(value);
            case "--rows" -> rows = Integer.parseInt(value);
            case "--seed" -> seed = Long.parseLong(value);
            default -> throw new IllegalArgumentException("unknown option " + option);
          }
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("option " + option + " needs a number but was " + value);
        }
      }
      if (files < 1 || rows < 1) {
        throw new IllegalArgumentException("--files and --rows must be at least 1 but were " + files + " and " + rows);
      }
      return new Options(dir, files, rows, seed);
    }
  }

  /**
   * What one run did.
   *
   * @param dir the working directory
   * @param generated the files written into the inbox
   * @param loads what each loaded file gave, in completion order
   * @param failures the dead letters of the files that failed, each also in {@code inbox/failed/}
   * @param sample the sample query's result
   * @param usage the runtime's usage at the end
   * @param bytes bytes processed by function
   * @param snapshots the table's snapshots at the end
   * @param tableRows the rows of its current snapshot
   */
  record Summary(Path dir, List<OrderCsvGenerator.GeneratedFile> generated, List<LoadResult> loads,
      List<DeadLetter> failures, QueryResult sample, Usage usage, Map<String, Long> bytes, int snapshots,
      long tableRows) {
    List<LoadResult> loadsByFile() {
      return loads.stream().sorted(Comparator.comparing(LoadResult::file)).toList();
    }
  }
}
