package dev.cumulus.examples.pipeline;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.text.Normalizer;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Currency;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

/**
 * Writes realistic, deterministic order exports, one CSV file per day, into an inbox: ids, timestamps
 * with the customer's UTC offset, prices in several currencies, free text with commas, quotes,
 * line breaks and non-ASCII characters, messy but valid values that cleaning fixes, and a few bad
 * rows of every {@link Defect.Kind}. One file is malformed on purpose: the day's export compressed
 * with gzip but still named {@code .csv}. One file is a Windows export (byte order mark, CRLF).
 *
 * <p>The same {@link Options} always give the same bytes ({@link Random} is specified to the bit), and
 * every {@link GeneratedFile} says which lines are bad and why, so tests can check the loader
 * against it. Each file is written beside its final name and renamed in, so a watcher never sees it
 * half written. Instances are immutable and thread-safe.
 */
public final class OrderCsvGenerator {
  /** Where each day's orders come from: country, currency, time zone. */
  private record Market(String country, String currency, ZoneId zone) {}

  private static final List<Market> MARKETS = List.of(
      new Market("DE", "EUR", ZoneId.of("Europe/Berlin")),
      new Market("FR", "EUR", ZoneId.of("Europe/Paris")),
      new Market("SE", "SEK", ZoneId.of("Europe/Stockholm")),
      new Market("GB", "GBP", ZoneId.of("Europe/London")),
      new Market("US", "USD", ZoneId.of("America/New_York")),
      new Market("US", "USD", ZoneId.of("America/Los_Angeles")),
      new Market("BR", "BRL", ZoneId.of("America/Sao_Paulo")),
      new Market("JP", "JPY", ZoneId.of("Asia/Tokyo")),
      new Market("IN", "INR", ZoneId.of("Asia/Kolkata")));

  private static final List<String> FIRST_NAMES = List.of("Jürgen", "Zoë", "Søren", "Łukasz", "José",
      "Aoife", "Chloé", "İlkay", "Björk", "Nguyễn Văn", "Marie-Claire", "Ana", "Ólafur", "Priya", "Kenji");
  private static final List<String> LAST_NAMES = List.of("Müller", "O'Brien", "García", "Dvořák",
      "Ødegaard", "Smith", "Tanaka", "Kowalski", "Núñez", "Ševčík", "Fernández", "Nakamura", "Patel");
  private static final List<String> COMPANIES = List.of("ACME, Inc.", "Bob's \"Best\" Bikes",
      "佐藤商事株式会社", "Müller & Söhne GmbH", "Café \"Le Zinc\", Paris", "Ørsted A/S");
  private static final List<String> NOTES = List.of("Leave at the door, please", "Gift wrap: \"birthday\"",
      "Call before delivery\n2nd floor, ring twice", "🎁 for Zoë", "Rückgabe bis 14.12.",
      "Fragile; \"this side up\"", "配達前に電話してください", "  ",
      "Deliver between 9:00 and 17:00, Mon–Fri");

  /** ISO 8601 with seconds always written (ISO_OFFSET_DATE_TIME drops ":00"), as exporters do. */
  private static final DateTimeFormatter ISO_OFFSET =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ssXXX", Locale.ROOT);
  private static final Instant EPOCH_BUG = Instant.EPOCH;

  private final Options options;

  /**
   * Creates a generator.
   *
   * @param options how many files and rows, the seed and the first day
   * @throws NullPointerException if {@code options} is null
   */
  public OrderCsvGenerator(Options options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  /**
   * Writes the files into {@code inbox} (created if needed), one per day from
   * {@link Options#firstDay()}.
   *
   * @param inbox the directory to write into
   * @return what was written, in file order, with the bad lines of each file
   * @throws UncheckedIOException if a file cannot be written
   */
  public List<GeneratedFile> generate(Path inbox) {
    try {
      Files.createDirectories(inbox);
      Random random = new Random(options.seed());
      List<GeneratedFile> files = new ArrayList<>();
      long nextOrderId = 100_001;
      for (int f = 0; f < options.files(); f++) {
        LocalDate day = options.firstDay().plusDays(f);
        boolean windows = f == options.windowsFile();
        boolean malformed = f == options.malformedFile();
        Day content = day(random, day, nextOrderId, windows);
        nextOrderId += options.rowsPerFile();
        byte[] bytes = content.text().getBytes(StandardCharsets.UTF_8);
        if (windows) {
          bytes = withBom(bytes);
        }
        if (malformed) {
          bytes = gzip(bytes);
        }
        Path file = inbox.resolve("orders-" + day + ".csv");
        writeAndRenameIn(file, bytes);
        files.add(new GeneratedFile(file, content.dataRows(), malformed ? List.of() : content.defects(), malformed,
            bytes.length));
      }
      return List.copyOf(files);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private record Day(String text, int dataRows, List<Defect> defects) {}

  /** One good row's values, kept so a later duplicate can repeat it exactly. */
  private record Row(List<String> values) {}

  private Day day(Random random, LocalDate day, long firstOrderId, boolean windows) throws IOException {
    StringWriter out = new StringWriter();
    CSVFormat format = CSVFormat.RFC4180.builder().setRecordSeparator(windows ? "\r\n" : "\n").get();
    List<Defect> defects = new ArrayList<>();
    List<Row> goodRows = new ArrayList<>();
    long line = 1;
    try (CSVPrinter printer = new CSVPrinter(out, format)) {
      printer.printRecord(OrderCsv.COLUMNS);
      for (int i = 0; i < options.rowsPerFile(); i++) {
        line++;
        List<String> values;
        if (random.nextDouble() < options.defectRate()) {
          Defect.Kind kind = Defect.Kind.values()[random.nextInt(Defect.Kind.values().length)];
          if (kind == Defect.Kind.DUPLICATE && goodRows.isEmpty()) {
            kind = Defect.Kind.MISSING_VALUE;
          }
          values = kind == Defect.Kind.DUPLICATE
              ? goodRows.get(random.nextInt(goodRows.size())).values()
              : broken(random, kind, good(random, day, firstOrderId + i));
          defects.add(new Defect(line, kind));
        } else {
          values = messy(random, good(random, day, firstOrderId + i));
          goodRows.add(new Row(values));
        }
        printer.printRecord(values);
        line += lineBreaksIn(values);
      }
    }
    return new Day(out.toString(), options.rowsPerFile(), List.copyOf(defects));
  }

  /** A clean row: the values as a well-behaved exporter writes them. */
  private static List<String> good(Random random, LocalDate day, long orderId) {
    Market market = MARKETS.get(random.nextInt(MARKETS.size()));
    Instant at = day.atStartOfDay(ZoneOffset.UTC).toInstant().plusSeconds(random.nextInt(86_400));
    String customer = random.nextInt(5) == 0
        ? COMPANIES.get(random.nextInt(COMPANIES.size()))
        : FIRST_NAMES.get(random.nextInt(FIRST_NAMES.size())) + " " + LAST_NAMES.get(random.nextInt(LAST_NAMES.size()));
    int digits = Currency.getInstance(market.currency()).getDefaultFractionDigits();
    BigDecimal price = digits == 0
        ? BigDecimal.valueOf(100 + random.nextInt(49_900))
        : BigDecimal.valueOf(99 + random.nextInt(49_900), 2);
    String note = random.nextInt(3) == 0 ? NOTES.get(random.nextInt(NOTES.size())) : "";
    List<String> values = new ArrayList<>(List.of(
        "ORD-" + orderId,
        ISO_OFFSET.format(at.atZone(market.zone()).toOffsetDateTime()),
        customer,
        market.country(),
        String.format(Locale.ROOT, "SKU-%05d", random.nextInt(2_000)),
        Integer.toString(1 + random.nextInt(random.nextInt(10) == 0 ? 50 : 5)),
        price.setScale(digits, RoundingMode.UNNECESSARY).toPlainString(),
        market.currency(),
        note));
    return values;
  }

  /** A valid row as real exports write them now and then: cleaning fixes these, nothing is rejected. */
  private static List<String> messy(Random random, List<String> values) {
    if (random.nextInt(10) != 0) {
      return values;
    }
    List<String> v = new ArrayList<>(values);
    switch (random.nextInt(6)) {
      case 0 -> v.set(OrderCsv.COUNTRY, v.get(OrderCsv.COUNTRY).toLowerCase(Locale.ROOT));
      case 1 -> v.set(OrderCsv.CURRENCY, " " + v.get(OrderCsv.CURRENCY).toLowerCase(Locale.ROOT));
      case 2 -> v.set(OrderCsv.CUSTOMER, "  " + v.get(OrderCsv.CUSTOMER).replace(" ", "   ") + " ");
      case 3 -> v.set(OrderCsv.CUSTOMER, Normalizer.normalize(v.get(OrderCsv.CUSTOMER), Normalizer.Form.NFD));
      case 4 -> v.set(OrderCsv.SKU, v.get(OrderCsv.SKU).toLowerCase(Locale.ROOT));
      default -> v.set(OrderCsv.UNIT_PRICE, " " + v.get(OrderCsv.UNIT_PRICE) + "\t");
    }
    return v;
  }

  /** A row with exactly one defect of the given kind. */
  private static List<String> broken(Random random, Defect.Kind kind, List<String> values) {
    List<String> v = new ArrayList<>(values);
    int pick = random.nextInt(3);
    switch (kind) {
      case MISSING_VALUE -> v.set(pick == 0 ? OrderCsv.ORDER_ID : pick == 1 ? OrderCsv.CUSTOMER : OrderCsv.SKU,
          pick == 1 ? "   " : "");
      case WRONG_FIELD_COUNT -> {
        v.remove(v.size() - 1);
        v.remove(v.size() - 1);
      }
      case BAD_TIMESTAMP -> v.set(OrderCsv.ORDERED_AT, switch (pick) {
        case 0 -> "11/03/2026 14:05";
        case 1 -> v.get(OrderCsv.ORDERED_AT).substring(0, 19).replace('T', ' ');
        default -> "yesterday";
      });
      case BAD_NUMBER -> {
        if (pick == 0) {
          v.set(OrderCsv.QUANTITY, "three");
        } else if (pick == 1) {
          v.set(OrderCsv.QUANTITY, "2.5");
        } else {
          v.set(OrderCsv.UNIT_PRICE, "N/A");
        }
      }
      case OUT_OF_RANGE -> {
        if (pick == 0) {
          v.set(OrderCsv.QUANTITY, random.nextBoolean() ? "0" : "-2");
        } else if (pick == 1) {
          v.set(OrderCsv.UNIT_PRICE, "-" + v.get(OrderCsv.UNIT_PRICE));
        } else {
          v.set(OrderCsv.ORDERED_AT, ISO_OFFSET.format(EPOCH_BUG.atOffset(ZoneOffset.UTC)));
        }
      }
      case UNKNOWN_CODE -> {
        if (pick == 0) {
          v.set(OrderCsv.COUNTRY, "Germany");
        } else if (pick == 1) {
          v.set(OrderCsv.COUNTRY, "XX");
        } else {
          v.set(OrderCsv.CURRENCY, "BTC");
        }
      }
      case TOO_MANY_DECIMALS -> {
        String currency = v.get(OrderCsv.CURRENCY);
        v.set(OrderCsv.UNIT_PRICE, currency.equals("JPY") ? "1500.50" : v.get(OrderCsv.UNIT_PRICE) + "9");
      }
      case DUPLICATE -> throw new IllegalArgumentException("a duplicate repeats a good row");
    }
    return v;
  }

  private static int lineBreaksIn(List<String> values) {
    int n = 0;
    for (String value : values) {
      n += (int) value.chars().filter(c -> c == '\n').count();
    }
    return n;
  }

  private static byte[] withBom(byte[] bytes) {
    byte[] out = new byte[bytes.length + 3];
    out[0] = (byte) 0xEF;
    out[1] = (byte) 0xBB;
    out[2] = (byte) 0xBF;
    System.arraycopy(bytes, 0, out, 3, bytes.length);
    return out;
  }

  private static byte[] gzip(byte[] bytes) throws IOException {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    try (OutputStream gzip = new GZIPOutputStream(buffer)) {
      gzip.write(bytes);
    }
    byte[] out = buffer.toByteArray();
    out[4] = out[5] = out[6] = out[7] = 0; // no modification time: same bytes on every run
    return out;
  }

  private static void writeAndRenameIn(Path file, byte[] bytes) throws IOException {
    Path partial = file.resolveSibling("." + file.getFileName() + ".part");
    Files.write(partial, bytes);
    Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * What to generate.
   *
   * @param files number of daily files
   * @param rowsPerFile data rows per file (the header is line 1)
   * @param seed the random seed: the same options give the same bytes
   * @param firstDay the day of the first file
   * @param defectRate the share of rows that are bad, {@code 0} to {@code 1}
   * @param malformedFile index of the file written gzip-compressed, or {@code -1} for none
   * @param windowsFile index of the file written with a byte order mark and CRLF, or {@code -1}
   */
  public record Options(int files, int rowsPerFile, long seed, LocalDate firstDay, double defectRate,
      int malformedFile, int windowsFile) {
    /**
     * Checks the options.
     *
     * @throws IllegalArgumentException naming the option and its value when one is out of range
     * @throws NullPointerException if {@code firstDay} is null
     */
    public Options {
      if (files < 1) {
        throw new IllegalArgumentException("files must be at least 1 but was " + files);
      }
      if (rowsPerFile < 1) {
        throw new IllegalArgumentException("rowsPerFile must be at least 1 but was " + rowsPerFile);
      }
      Objects.requireNonNull(firstDay, "firstDay");
      if (!(defectRate >= 0 && defectRate <= 1)) {
        throw new IllegalArgumentException("defectRate must be between 0 and 1 but was " + defectRate);
      }
      if (malformedFile < -1 || malformedFile >= files) {
        throw new IllegalArgumentException("malformedFile must be -1 or a file index below " + files
            + " but was " + malformedFile);
      }
      if (windowsFile < -1 || windowsFile >= files) {
        throw new IllegalArgumentException("windowsFile must be -1 or a file index below " + files
            + " but was " + windowsFile);
      }
    }

    /**
     * The pipeline's defaults: {@code files} days from 2026-11-02, 3 % bad rows, the fourth file
     * (or the last, if fewer) malformed and the second a Windows export.
     *
     * @param files number of files
     * @param rowsPerFile data rows per file
     * @param seed the random seed
     * @return the options
     * @throws IllegalArgumentException if a count is below 1
     */
    public static Options of(int files, int rowsPerFile, long seed) {
      return new Options(files, rowsPerFile, seed, LocalDate.of(2026, 11, 2), 0.03,
          Math.min(3, files - 1), files > 2 ? 1 : -1);
    }
  }

  /**
   * One file as written, with what the loader should find in it.
   *
   * @param path where it is
   * @param dataRows rows after the header
   * @param defects the bad rows, by line (empty for the malformed file)
   * @param malformed whether the file as a whole is not CSV text
   * @param bytes its size
   */
  public record GeneratedFile(Path path, int dataRows, List<Defect> defects, boolean malformed, long bytes) {
    /**
     * Copies the defect list.
     *
     * @throws NullPointerException if a component is null
     */
    public GeneratedFile {
      Objects.requireNonNull(path, "path");
      defects = List.copyOf(defects);
    }

    /**
     * Returns the rows a correct loader keeps.
     *
     * @return data rows less bad rows; zero for the malformed file
     */
    public int goodRows() {
      return malformed ? 0 : dataRows - defects.size();
    }
  }

  /**
   * A bad row the generator wrote on purpose.
   *
   * @param line the line it starts on (the header is line 1)
   * @param kind what is wrong with it
   */
  public record Defect(long line, Kind kind) {
    /** What is wrong with a row. */
    public enum Kind {
      /** {@code order_id}, {@code customer} or {@code sku} empty or blank. */
      MISSING_VALUE,
      /** Two fields short. */
      WRONG_FIELD_COUNT,
      /** A timestamp in a US format, without an offset, or not a timestamp at all. */
      BAD_TIMESTAMP,
      /** A quantity or price that is not a number of the right kind. */
      BAD_NUMBER,
      /** A quantity below 1, a negative price, or an order placed at the Unix epoch. */
      OUT_OF_RANGE,
      /** A country or currency that is not an ISO code. */
      UNKNOWN_CODE,
      /** A price with more decimals than its currency has. */
      TOO_MANY_DECIMALS,
      /** An exact repeat of an earlier row of the file. */
      DUPLICATE
    }
  }
}
