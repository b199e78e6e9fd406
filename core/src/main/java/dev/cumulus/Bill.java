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
   * @param usage the usage
   * @param model the model
   * @return the bill
   */
  static Bill of(Usage usage, PriceModel model) {
    List<Line> lines = new ArrayList<>();
    BigDecimal total = BigDecimal.ZERO.setScale(PriceModel.SCALE);
    for (FunctionStats s : usage.functions()) {
      Line line = model.price(s, usage.meteringMode());
      lines.add(line);
      total = total.add(line.total());
    }
    return new Bill(model, usage.meteringMode(), lines, total);
  }

  /**
   * Formats the bill as an aligned console table. Amounts have six decimals, more (up to ten) when
   * that is needed to show the smallest amount.
   *
   * @return the table, one line per function and a total
   */
  public String toTable() {
    int scale = moneyScale();
    List<String[]> rows = new ArrayList<>();
    String unit = lines.isEmpty() ? "usage" : lines.get(0).unit();
    rows.add(new String[] {"function", "requests", unit, "request cost", "compute cost", "total"});
    long requests = 0;
    BigDecimal usage = BigDecimal.ZERO;
    BigDecimal requestCost = BigDecimal.ZERO;
    BigDecimal computeCost = BigDecimal.ZERO;
    for (Line l : lines) {
      rows.add(new String[] {l.function(), Long.toString(l.requests()), plain(l.usage()),
          money(l.requestCost(), scale), money(l.computeCost(), scale), money(l.total(), scale)});
      requests += l.requests();
      usage = usage.add(l.usage());
      requestCost = requestCost.add(l.requestCost());
      computeCost = computeCost.add(l.computeCost());
    }
    rows.add(new String[] {"TOTAL", Long.toString(requests), plain(usage), money(requestCost, scale),
        money(computeCost, scale), money(total, scale)});
    return "Bill (" + model.description() + ", metering " + meteringMode + ")\n" + Table.format(rows, 1);
  }

  @Override
  public String toString() {
    return toTable();
  }

  /** Six decimals, or enough to show two significant digits of the smallest amount (up to ten). */
  private int moneyScale() {
    int scale = 6;
    for (Line l : lines) {
      for (BigDecimal amount : List.of(l.requestCost(), l.computeCost())) {
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
   * One function's part of a bill.
   *
   * @param function the function's name
   * @param requests billable requests
   * @param usage billed compute, in {@code unit}
   * @param unit {@code CPU-ms} or {@code GB-s} for the built-in models
   * @param requestCost cost of the requests
   * @param computeCost cost of the compute
   */
  public record Line(String function, long requests, BigDecimal usage, String unit,
      BigDecimal requestCost, BigDecimal computeCost) {
    /**
     * Checks the line.
     *
     * @throws NullPointerException if a component is null
     */
    public Line {
      Objects.requireNonNull(function, "function");
      Objects.requireNonNull(usage, "usage");
      Objects.requireNonNull(unit, "unit");
      Objects.requireNonNull(requestCost, "requestCost");
      Objects.requireNonNull(computeCost, "computeCost");
    }

    /**
     * Returns the line's total.
     *
     * @return request cost plus compute cost
     */
    public BigDecimal total() {
      return requestCost.add(computeCost);
    }
  }

  /** Left-aligns the first column, right-aligns the others. */
  static final class Table {
    private Table() {}

    static String format(List<String[]> rows, int leftColumns) {
      int columns = rows.get(0).length;
      int[] width = new int[columns];
      for (String[] row : rows) {
        for (int i = 0; i < columns; i++) {
          width[i] = Math.max(width[i], row[i].length());
        }
      }
      StringBuilder sb = new StringBuilder();
      for (int r = 0; r < rows.size(); r++) {
        String[] row = rows.get(r);
        for (int i = 0; i < columns; i++) {
          String format = i < leftColumns ? "%-" + width[i] + "s" : "%" + width[i] + "s";
          sb.append(i == 0 ? "" : "  ").append(String.format(Locale.ROOT, format, row[i]));
        }
        sb.append('\n');
        if (r == 0 || r == rows.size() - 2) {
          int total = 0;
          for (int w : width) {
            total += w;
          }
          sb.append("-".repeat(total + 2 * (columns - 1))).append('\n');
        }
      }
      return sb.toString();
    }
  }
}
