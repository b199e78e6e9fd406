package dev.cumulus.examples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cumulus.DeadLetter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestionPipelineTest {
  @TempDir
  Path dir;

  @Test
  void run_loadsTheGoodFiles_failsTheMalformedOne_queriesAndBills() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    IngestionPipeline.Options options = IngestionPipeline.Options.parse("--files", "5", "--rows", "300", "--seed",
        Long.toString(OrderCsvGeneratorTest.SEED));

    IngestionPipeline.Summary summary = IngestionPipeline.run(dir, options, CleanAndLoadTest.CLOCK,
        new PrintStream(bytes, true, StandardCharsets.UTF_8));

    String out = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(out);
    List<OrderCsvGenerator.GeneratedFile> generated = summary.generated();
    OrderCsvGenerator.GeneratedFile malformed = generated.get(3);
    assertThat(malformed.malformed()).isTrue();
    Path inbox = dir.resolve("inbox");

    // Files: the good ones in processed/, the malformed one in failed/ with its error.
    for (OrderCsvGenerator.GeneratedFile file : generated) {
      String name = file.path().getFileName().toString();
      assertThat(inbox.resolve(name)).doesNotExist();
      assertThat(inbox.resolve((file.malformed() ? "failed/" : "processed/") + name)).exists();
    }
    assertThat(Files.readString(inbox.resolve("failed/orders-2026-11-05.csv.error.txt")))
        .startsWith("orders-2026-11-05.csv is not CSV text: it is a gzip file")
        .contains("reason: NOT_RETRYABLE", "attempts: 1", RejectedFileException.class.getName());
    // Its dead letter: not retried, since a rejected file fails the same way every time.
    assertThat(summary.failures()).singleElement().satisfies(letter -> {
      assertThat(letter.input()).isEqualTo(inbox.resolve("orders-2026-11-05.csv"));
      assertThat(letter.reason()).isEqualTo(DeadLetter.Reason.NOT_RETRYABLE);
      assertThat(letter.attempts()).isEqualTo(1);
      assertThat(letter.error()).isInstanceOf(RejectedFileException.class);
    });

    // Loads: every good file once, its bad rows by line, one snapshot each.
    List<LoadResult> loads = summary.loadsByFile();
    List<OrderCsvGenerator.GeneratedFile> good = generated.stream().filter(f -> !f.malformed()).toList();
    assertThat(loads).hasSize(good.size());
    for (int i = 0; i < good.size(); i++) {
      assertThat(loads.get(i).rowsLoaded()).isEqualTo(good.get(i).goodRows());
      assertThat(loads.get(i).badRows()).extracting(BadRow::line)
          .containsExactlyElementsOf(good.get(i).defects().stream().map(OrderCsvGenerator.Defect::line).toList());
      BadRow first = loads.get(i).badRows().get(0);
      assertThat(out).contains("      " + first);
      assertThat(dir.resolve("rejects/" + loads.get(i).file() + ".txt")).exists();
    }
    int goodRows = good.stream().mapToInt(OrderCsvGenerator.GeneratedFile::goodRows).sum();
    assertThat(summary.snapshots()).isEqualTo(good.size());
    assertThat(summary.tableRows()).isEqualTo(goodRows);
    assertThat(CleanAndLoadTest.snapshots(dir.resolve("warehouse"))).hasSize(good.size());
    assertThat(CleanAndLoadTest.readBack(dir.resolve("warehouse"))).hasSize(goodRows);

    // The query: every loaded order, by currency.
    QueryResult sample = summary.sample();
    assertThat(sample.columns()).containsExactly("currency", "orders", "items", "revenue", "countries");
    assertThat(sample.rows().stream().mapToLong(r -> ((Number) r.get(1)).longValue()).sum()).isEqualTo(goodRows);

    // The bill: both functions, CPU and bytes.
    assertThat(summary.usage().functions()).extracting(s -> s.name())
        .containsExactlyInAnyOrder("clean-and-load", "query");
    assertThat(summary.usage().functions()).filteredOn(s -> s.name().equals("clean-and-load"))
        .singleElement().satisfies(s -> {
          assertThat(s.successes()).isEqualTo(good.size());
          assertThat(s.failures()).isEqualTo(1);
        });
    Map<String, Long> processed = summary.bytes();
    assertThat(processed.get("clean-and-load")).isGreaterThanOrEqualTo(
        good.stream().mapToLong(OrderCsvGenerator.GeneratedFile::bytes).sum());
    assertThat(processed.get("query")).isEqualTo(sample.bytesScanned()).isPositive();
    assertThat(out)
        .contains("orders-2026-11-05.csv  FAILED (NOT_RETRYABLE, 1 attempt) -> inbox/failed/orders-2026-11-05.csv.error.txt")
        .contains("clean-and-load, 5 files, at most 2 at once, from DirectoryTrigger:")
        .contains("table shop.orders: " + good.size() + " snapshots, " + goodRows + " rows")
        .contains("query> SELECT currency")
        .contains("Usage over")
        .contains("Bill (").contains("+ 6.25 per TiB processed").contains("bytes cost");
    assertThat(summary.usage().bytesProcessed()).isEqualTo(processed.get("clean-and-load") + processed.get("query"));
  }

  @Test
  void run_again_onTheSameDirectory_findsEveryFileAlreadyLoaded() throws IOException {
    IngestionPipeline.Options options = IngestionPipeline.Options.parse("--files", "2", "--rows", "50");
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    IngestionPipeline.run(dir, options, CleanAndLoadTest.CLOCK, quiet);

    IngestionPipeline.Summary again = IngestionPipeline.run(dir, options, CleanAndLoadTest.CLOCK, quiet);

    assertThat(again.loads()).hasSize(1).allSatisfy(r -> assertThat(r.alreadyLoaded()).isTrue());
    assertThat(again.snapshots()).isEqualTo(1);
    assertThat(dir.resolve("inbox/processed/orders-2026-11-02 (1).csv")).exists(); // the trigger's suffix
    assertThat(dir.resolve("inbox/orders-2026-11-02.csv")).doesNotExist();
  }

  @Test
  void options_badArguments_areRefusedWithAClearMessage() {
    assertThatThrownBy(() -> IngestionPipeline.Options.parse("--rows")).hasMessage("option --rows needs a value");
    assertThatThrownBy(() -> IngestionPipeline.Options.parse("--rows", "many"))
        .hasMessage("option --rows needs a number but was many");
    assertThatThrownBy(() -> IngestionPipeline.Options.parse("--speed", "1")).hasMessage("unknown option --speed");
    assertThatThrownBy(() -> IngestionPipeline.Options.parse("--files", "0"))
        .hasMessage("--files and --rows must be at least 1 but were 0 and 1000");
    assertThat(IngestionPipeline.Options.parse()).isEqualTo(new IngestionPipeline.Options(null, 6, 1_000, 42));
  }
}
