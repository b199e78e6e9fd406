package dev.cumulus;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.function.Function;

/**
 * The shape both built-in {@link PriceModel}s share: a price per million billable requests plus a
 * price per unit of billed compute (CPU-ms, or GB-s).
 */
final class TwoPartPrice implements PriceModel {
  private final String description;
  private final BigDecimal perMillionRequests;
  private final String unit;
  private final BigDecimal perUnit;
  private final Function<FunctionStats, BigDecimal> usage;
  private final boolean needsExact;

  /**
   * @param perUnit price of one unit of {@code usage}
   * @param usage the billed compute of a function, in {@code unit}s
   * @param needsExact whether {@code usage} is CPU, metered only in {@link MeteringMode#EXACT}
   */
  TwoPartPrice(String description, BigDecimal perMillionRequests, String unit, BigDecimal perUnit,
      Function<FunctionStats, BigDecimal> usage, boolean needsExact) {
    this.description = description;
    this.perMillionRequests = perMillionRequests;
    this.unit = unit;
    this.perUnit = perUnit;
    this.usage = usage;
    this.needsExact = needsExact;
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public Bill.Line price(FunctionStats s, MeteringMode mode) {
    if (needsExact && mode != MeteringMode.EXACT) {
      throw new IllegalStateException("CPU-time pricing (" + description + ") needs MeteringMode.EXACT,"
          + " but this usage was metered " + mode + "; use perRequestAndGbSeconds or run with"
          + " --add-opens java.base/java.lang=ALL-UNNAMED");
    }
    // Billable requests are the invocations that ran; throttled, rejected, cancelled and queue
    // timeouts (they never started) are free.
    long requests = s.successes() + s.failures() + s.timeouts() - s.queueTimeouts();
    BigDecimal used = usage.apply(s);
    BigDecimal requestCost = BigDecimal.valueOf(requests).multiply(perMillionRequests)
        .divide(MILLION, SCALE, RoundingMode.HALF_EVEN);
    BigDecimal computeCost = used.multiply(perUnit).setScale(SCALE, RoundingMode.HALF_EVEN);
    return new Bill.Line(s.name(), requests, used, unit, requestCost, computeCost);
  }

  @Override
  public String toString() {
    return description;
  }
}
