package dev.cumulus.examples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrderCsvGeneratorTest {
  /** The seed of the generator's tests; rerun another with -Dcumulus.seed=N. */
  static final long SEED = Long.getLong("cumulus.seed", 42);

  @TempDir
  Path dir;

  @Test
  void generate_sameOptions_sameBytes_otherSeed_otherBytes() throws IOException {
    System.out.println("OrderCsvGeneratorTest seed " + SEED + " (rerun with -Dcumulus.seed=" + SEED + ")");
    OrderCsvGenerator.Options options = OrderCsvGenerator.Options.of(3, 200, SEED);

    List<OrderCsvGenerator.GeneratedFile> first = new OrderCsvGenerator(options).generate(dir.resolve("a"));
    List<OrderCsvGenerator.GeneratedFile> second = new OrderCsvGenerator(options).generate(dir.resolve("b"));
    List<OrderCsvGenerator.GeneratedFile> other = new OrderCsvGenerator(OrderCsvGenerator.Options.of(3, 200, SEED + 1))
        .generate(dir.resolve("c"));

    for (int i = 0; i < first.size(); i++) {
      assertThat(Files.readAllBytes(first.get(i).path())).isEqualTo(Files.readAllBytes(second.get(i).path()));
      assertThat(first.get(i).defects()).isEqualTo(second.get(i).defects());
      assertThat(Files.readAllBytes(first.get(i).path())).isNotEqualTo(Files.readAllBytes(other.get(i).path()));
    }
  }

  @Test
  void generate_writesOneFilePerDay_withTheMalformedAndTheWindowsExportWhereTheOptionsSay() throws IOException {
    List<OrderCsvGenerator.GeneratedFile> files = new OrderCsvGenerator(OrderCsvGenerator.Options.of(6, 100, SEED))
        .generate(dir);

    assertThat(files).extracting(f -> f.path().getFileName().toString()).containsExactly("orders-2026-11-02.csv",
        "orders-2026-11-03.csv", "orders-2026-11-04.csv", "orders-2026-11-05.csv", "orders-2026-11-06.csv",
        "orders-2026-11-07.csv");
    assertThat(files).extracting(OrderCsvGenerator.GeneratedFile::malformed)
        .containsExactly(false, false, false, true, false, false);
    byte[] gzip = Files.readAllBytes(files.get(3).path());
    assertThat(gzip[0] & 0xFF).isEqualTo(0x1F);
    assertThat(gzip[1] & 0xFF).isEqualTo(0x8B);
    assertThat(files.get(3).goodRows()).isZero();
    byte[] windows = Files.readAllBytes(files.get(1).path());
    assertThat(new String(windows, 0, 3, StandardCharsets.ISO_8859_1)).isEqualTo("\u00EF\u00BB\u00BF");
    assertThat(new String(windows, StandardCharsets.UTF_8)).contains("\r\n");
    assertThat(Files.readString(files.get(0).path())).startsWith(String.join(",", OrderCsv.COLUMNS) + "\n")
        .doesNotContain("\r\n");
    try (var listing = Files.list(dir)) {
      assertThat(listing.map(p -> p.getFileName().toString())).noneMatch(name -> name.startsWith("."));
    }
  }

  @Test
  void generate_writesEveryKindOfDefect_onTheLinesItReports() throws IOException {
    List<OrderCsvGenerator.GeneratedFile> files = new OrderCsvGenerator(
        new OrderCsvGenerator.Options(2, 1_000, SEED, LocalDate.of(2026, 11, 2), 0.05, -1, -1)).generate(dir);

    Set<OrderCsvGenerator.Defect.Kind> kinds = EnumSet.noneOf(OrderCsvGenerator.Defect.Kind.class);
    for (OrderCsvGenerator.GeneratedFile file : files) {
      List<Long> lines = new ArrayList<>();
      try (InputStream in = Files.newInputStream(file.path())) {
        OrderCsvReader.read(in, file.path().getFileName().toString(), (line, values) -> lines.add(line));
      }
      assertThat(lines).hasSize(file.dataRows());
      for (OrderCsvGenerator.Defect defect : file.defects()) {
        assertThat(lines).contains(defect.line());
        kinds.add(defect.kind());
      }
      assertThat(file.defects().size()).isBetween(25, 75); // 5 % of 1 000
    }
    assertThat(kinds).containsExactlyInAnyOrder(OrderCsvGenerator.Defect.Kind.values());
  }

  @Test
  void options_outOfRange_areRefusedNamingTheOption() {
    LocalDate day = LocalDate.of(2026, 11, 2);
    assertThatThrownBy(() -> new OrderCsvGenerator.Options(0, 1, 1, day, 0, -1, -1))
        .hasMessage("files must be at least 1 but was 0");
    assertThatThrownBy(() -> new OrderCsvGenerator.Options(1, 0, 1, day, 0, -1, -1))
        .hasMessage("rowsPerFile must be at least 1 but was 0");
    assertThatThrownBy(() -> new OrderCsvGenerator.Options(1, 1, 1, day, 1.5, -1, -1))
        .hasMessage("defectRate must be between 0 and 1 but was 1.5");
    assertThatThrownBy(() -> new OrderCsvGenerator.Options(2, 1, 1, day, 0, 2, -1))
        .hasMessage("malformedFile must be -1 or a file index below 2 but was 2");
    assertThatThrownBy(() -> new OrderCsvGenerator.Options(2, 1, 1, day, 0, -1, 5))
        .hasMessage("windowsFile must be -1 or a file index below 2 but was 5");
    assertThatThrownBy(() -> new OrderCsvGenerator.Options(1, 1, 1, null, 0, -1, -1))
        .isInstanceOf(NullPointerException.class).hasMessage("firstDay");
  }
}
