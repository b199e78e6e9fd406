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
    return "Bill (" + model.description() + ", metering " + meteringMode + ")\n" + TextTable.format(rows, 1);
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
}
