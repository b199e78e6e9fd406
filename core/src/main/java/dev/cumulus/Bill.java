package dev.cumulus;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What a runtime's usage costs under a {@link PriceModel}: one line per function and a total. Amounts
 * are exact decimals ({@link BigDecimal}) in the model's currency. Immutable.
 *
 * <pre>{@code
 * Bill bill = cumulus.usage().bill(PriceModel.cloudflareWorkers());
 * System.out.println(bill.toTable());
 * }</pre>
 *
 * @param model the price model
 * @param meteringMode how the usage was metered
 * @param lines one line per function, by name
 * @param total the sum of the lines
 */
public record Bill(PriceModel model, MeteringMode meteringMode, List<Line> lines, BigDecimal total) {
  /**
   * Checks and copies the bill's parts.
   *
   * @throws NullPointerException if a component is null
   */
  public Bill {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(meteringMode, "meteringMode");
    lines = List.copyOf(lines);
    Objects.requireNonNull(total, "total");
  }

  /**
   * Prices every function of a usage.
   *
   * @param functions each function's stats
   * @param meteringMode how they were metered
   * @param model the model
   * @return the bill
   */
  static Bill of(List<FunctionStats> functions, MeteringMode meteringMode, PriceModel model) {
    List<Line> lines = new ArrayList<>();
    BigDecimal total = BigDecimal.ZERO.setScale(PriceModel.SCALE);
    for (FunctionStats s : functions) {
      Line line = model.price(s, meteringMode);
      lines.add(line);
      total = total.add(line.total());
    }
    return new Bill(model, meteringMode, lines, total);
  }

  /**
   * Formats the bill as an aligned console table. Amounts have six decimals, more (up to ten) when
   * that is needed to show the smallest amount. Bytes processed and their cost have columns of their
   * own when any line has some.
   *
   * @return the table, one line per function and a total
   */
  public String toTable() {
    int scale = moneyScale();
    boolean bytes = lines.stream().anyMatch(l -> l.bytesProcessed() > 0 || l.bytesCost().signum() != 0);
    List<String[]> rows = new ArrayList<>();
    String unit = lines.isEmpty() ? "usage" : lines.get(0).unit();
    rows.add(row(bytes, "function", "requests", unit, "processed", "request cost", "compute cost", "bytes cost",
        "total"));
    long requests = 0;
    long processed = 0;
    BigDecimal usage = BigDecimal.ZERO;
    BigDecimal requestCost = BigDecimal.ZERO;
    BigDecimal computeCost = BigDecimal.ZERO;
    BigDecimal bytesCost = BigDecimal.ZERO;
    for (Line l : lines) {
      rows.add(row(bytes, l.function(), Long.toString(l.requests()), plain(l.usage()), Usage.bytes(l.bytesProcessed()),
          money(l.requestCost(), scale), money(l.computeCost(), scale), money(l.bytesCost(), scale),
          money(l.total(), scale)));
      requests += l.requests();
      processed += l.bytesProcessed();
      usage = usage.add(l.usage());
      requestCost = requestCost.add(l.requestCost());
      computeCost = computeCost.add(l.computeCost());
      bytesCost = bytesCost.add(l.bytesCost());
    }
    rows.add(row(bytes, "TOTAL", Long.toString(requests), plain(usage), Usage.bytes(processed),
        money(requestCost, scale), money(computeCost, scale), money(bytesCost, scale), money(total, scale)));
    return "Bill (" + model.description() + ", metering " + meteringMode + ")\n" + TextTable.format(rows, 1);
  }

  /** A row of {@link #toTable}; without the two bytes columns unless {@code bytes}. */
  private static String[] row(boolean bytes, String function, String requests, String usage, String processed,
      String requestCost, String computeCost, String bytesCost, String total) {
    return bytes
        ? new String[] {function, requests, usage, processed, requestCost, computeCost, bytesCost, total}
        : new String[] {function, requests, usage, requestCost, computeCost, total};
  }

  @Override
  public String toString() {
    return toTable();
  }

  /** Six decimals, or enough to show two significant digits of the smallest amount (up to ten). */
  private int moneyScale() {
    int scale = 6;
    for (Line l : lines) {
      for (BigDecimal amount : List.of(l.requestCost(), l.computeCost(), l.bytesCost())) {
        if (amount.signum() > 0) {
          int needed = amount.scale() - amount.precision() + 2; // position of the 2nd significant digit
          scale = Math.max(scale, Math.min(PriceModel.SCALE, needed));
        }
      }
    }
    return scale;
  }

  private static String money(BigDecimal amount, int scale) {
    return amount.setScale(scale, RoundingMode.HALF_EVEN).toPlainString();
  }

  private static String plain(BigDecimal amount) {
    BigDecimal stripped = amount.stripTrailingZeros();
    return (stripped.scale() > 3 ? stripped.setScale(3, RoundingMode.HALF_EVEN) : stripped).toPlainString();
  }

  /**
   * One function's part of a bill. Like {@link FunctionStats}, this record gains components as
   * Cumulus bills more: make one with the constructor of the first six, which keeps compiling.
   *
   * @param function the function's name
   * @param requests billable requests
   * @param usage billed compute, in {@code unit}
   * @param unit {@code CPU-ms} or {@code GB-s} for the built-in models
   * @param requestCost cost of the requests
   * @param computeCost cost of the compute
   * @param bytesProcessed the bytes processed that were priced ({@link FunctionStats#bytesProcessed()})
   * @param bytesCost cost of the bytes processed; zero unless the model prices them
   *     ({@link PriceModel#withPerTibProcessed})
   */
  public record Line(String function, long requests, BigDecimal usage, String unit,
      BigDecimal requestCost, BigDecimal computeCost, long bytesProcessed, BigDecimal bytesCost) {
    /**
     * Checks the line.
     *
     * @throws NullPointerException if a component is null
     * @throws IllegalArgumentException if {@code bytesProcessed} is negative
     */
    public Line {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(usage, "usage");
      Objects.requireNonNull(unit, "unit");
      Objects.requireNonNull(requestCost, "requestCost");
      Objects.requireNonNull(computeCost, "computeCost");
      Objects.requireNonNull(bytesCost, "bytesCost");
      Checks.requireArgument(bytesProcessed >= 0, "bytesProcessed must not be negative but was %s", bytesProcessed);
    }

    /**
     * Creates a line without bytes processed: requests and compute only.
     *
     * @param function the function's name
     * @param requests billable requests
     * @param usage billed compute, in {@code unit}
     * @param unit the compute's unit
     * @param requestCost cost of the requests
     * @param computeCost cost of the compute
     * @throws NullPointerException if a component is null
     */
    public Line(String function, long requests, BigDecimal usage, String unit, BigDecimal requestCost,
        BigDecimal computeCost) {
      this(function, requests, usage, unit, requestCost, computeCost, 0, BigDecimal.ZERO);
    }

    /**
     * Returns the line's total.
     *
     * @return request cost plus compute cost plus bytes cost
     */
    public BigDecimal total() {
      return requestCost.add(computeCost).add(bytesCost);
    }
  }
}
