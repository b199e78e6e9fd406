package dev.cumulus;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * A {@link PriceModel} plus a price per TiB of bytes processed ({@link PriceModel#withPerTibProcessed}):
 * the model's line, with the function's bytes and their cost added. Immutable.
 */
final class BytesPrice implements PriceModel {
  private static final BigDecimal TIB = BigDecimal.valueOf(1L << 40);

  private final PriceModel base;
  private final BigDecimal perTib;

  BytesPrice(PriceModel base, BigDecimal perTib) {
    // A model that prices bytes already gets the new price in place of its own.
    this.base = base instanceof BytesPrice b ? b.base : base;
    this.perTib = perTib;
  }

  @Override
  public String description() {
    return base.description() + " + " + perTib.toPlainString() + " per TiB processed";
  }

  @Override
  public Bill.Line price(FunctionStats stats, MeteringMode mode) {
    Bill.Line line = base.price(stats, mode);
    long bytes = stats.bytesProcessed();
    BigDecimal cost = BigDecimal.valueOf(bytes).multiply(perTib).divide(TIB, SCALE, RoundingMode.HALF_EVEN);
    return new Bill.Line(line.function(), line.requests(), line.usage(), line.unit(), line.requestCost(),
        line.computeCost(), bytes, cost);
  }

  @Override
  public String toString() {
    return description();
  }
}
