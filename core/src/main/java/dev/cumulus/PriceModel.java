package dev.cumulus;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Objects;

/**
 * Turns one function's metered usage into a line of a {@link Bill}. The two billing styles seen on
 * serverless platforms are built in:
 *
 * <ul>
 *   <li>{@link #perRequestAndCpuMs}: a price per request plus a price per CPU-millisecond, billed on
 *       {@link FunctionStats#billedCpuMillis()} (CPU time rounded up per invocation). Needs
 *       {@link MeteringMode#EXACT}.
 *   <li>{@link #perRequestAndGbSeconds}: a price per request plus a price per GB-second of
 *       configured memory, billed on {@link FunctionStats#billedMillis()} (wall time rounded up per
 *       invocation) times the memory size.
 * </ul>
 *
 * <p>Either can also price the bytes a function's code processed, as query engines bill scans:
 * {@link #withPerTibProcessed} adds that charge to any model, built in or your own.
 *
 * <pre>{@code
 * PriceModel model = PriceModel.cloudflareWorkers().withPerTibProcessed(new BigDecimal("6.25"));
 * System.out.println(cumulus.usage().bill(model).toTable());   // requests, CPU-ms and bytes
 * }</pre>
 *
 * <p>Billable requests are the invocations that ran: {@code successes + failures + timeouts -
 * queueTimeouts} (throttled, rejected and cancelled calls, and calls that timed out in the queue,
 * are free, as on the platforms). Implement this interface
 * for any other model; implementations must be thread-safe.
 */
public interface PriceModel {
  /**
   * Returns a short description of the model, printed on bills.
   *
   * @return the description, with its prices
   */
  String description();

  /**
   * Prices one function's usage.
   *
   * @param stats the function's stats
   * @param mode how the usage was metered
   * @return the bill line
   * @throws IllegalStateException if the model needs a metering mode the usage does not have
   */
  Bill.Line price(FunctionStats stats, MeteringMode mode);

  /**
   * Returns this model plus a price per tebibyte (2<sup>40</sup> bytes) of
   * {@linkplain FunctionStats#bytesProcessed() bytes processed}, as query engines bill the bytes a
   * query scans (BigQuery on-demand: USD 6.25 per TiB, 2023–2025). Each bill line gets the bytes and
   * their cost beside this model's requests and compute, and its total includes them. Called on a
   * model that already prices bytes, the new price replaces the old one.
   *
   * @param perTib price of one TiB processed
   * @return the model with bytes priced
   * @throws NullPointerException if {@code perTib} is null
   * @throws IllegalArgumentException if {@code perTib} is negative
   */
  default PriceModel withPerTibProcessed(BigDecimal perTib) {
    nonNegative("perTib", perTib);
    return new BytesPrice(this, perTib);
  }

  /**
   * The CPU-time billing style: a price per million requests plus a price per million CPU-ms.
   *
   * @param perMillionRequests price of a million requests
   * @param perMillionCpuMs price of a million billed CPU-milliseconds
   * @return the model
   * @throws NullPointerException if a price is null
   * @throws IllegalArgumentException if a price is negative
   */
  static PriceModel perRequestAndCpuMs(BigDecimal perMillionRequests, BigDecimal perMillionCpuMs) {
    nonNegative("perMillionRequests", perMillionRequests);
    nonNegative("perMillionCpuMs", perMillionCpuMs);
    String description = perMillionRequests.toPlainString() + " per 1M requests + "
        + perMillionCpuMs.toPlainString() + " per 1M CPU-ms";
    BigDecimal perCpuMs = perMillionCpuMs.divide(MILLION);
    return new TwoPartPrice(description, perMillionRequests, "CPU-ms", perCpuMs,
        s -> BigDecimal.valueOf(s.billedCpuMillis()), true);
  }

  /**
   * The duration-times-memory billing style: a price per million requests plus a price per
   * GB-second, where GB-seconds are billed wall milliseconds / 1000 times {@code memoryMb} / 1024.
   *
   * @param perMillionRequests price of a million requests
   * @param perGbSecond price of one GB-second
   * @param memoryMb the memory size every function is billed for, in MB (128 to 10240 on the
   *     platforms; any positive size is accepted)
   * @return the model
   * @throws NullPointerException if a price is null
   * @throws IllegalArgumentException if a price is negative or the memory not positive
   */
  static PriceModel perRequestAndGbSeconds(BigDecimal perMillionRequests, BigDecimal perGbSecond, int memoryMb) {
    nonNegative("perMillionRequests", perMillionRequests);
    nonNegative("perGbSecond", perGbSecond);
    Checks.requireArgument(memoryMb > 0, "memoryMb must be positive but was %s", memoryMb);
    String description = perMillionRequests.toPlainString() + " per 1M requests + "
        + perGbSecond.toPlainString() + " per GB-s at " + memoryMb + " MB";
    BigDecimal gb = BigDecimal.valueOf(memoryMb).divide(BigDecimal.valueOf(1024), MathContext.DECIMAL64);
    return new TwoPartPrice(description, perMillionRequests, "GB-s", perGbSecond,
        s -> BigDecimal.valueOf(s.billedMillis()).multiply(gb)
            .divide(BigDecimal.valueOf(1000), SCALE, RoundingMode.HALF_EVEN), false);
  }

  /**
   * AWS Lambda on x86 in us-east-1: USD 0.20 per million requests and USD 0.0000166667 per
   * GB-second, as published on the AWS Lambda pricing page (figures of 2024–2025; check the page
   * before billing anyone).
   *
   * @param memoryMb the configured memory in MB: 128 to 10 240, the sizes AWS Lambda offers
   * @return the model
   * @throws IllegalArgumentException if the memory is not a size AWS Lambda offers (use
   *     {@link #perRequestAndGbSeconds} for any other)
   */
  static PriceModel awsLambdaX86(int memoryMb) {
    Checks.requireArgument(memoryMb >= 128 && memoryMb <= 10_240, "memoryMb of awsLambdaX86 must be between"
        + " 128 and 10240 (the memory sizes AWS Lambda offers) but was %s; perRequestAndGbSeconds prices"
        + " any other size", memoryMb);
    return perRequestAndGbSeconds(new BigDecimal("0.20"), new BigDecimal("0.0000166667"), memoryMb);
  }

  /**
   * Cloudflare Workers, Standard usage model: USD 0.30 per million requests and USD 0.02 per
   * million CPU-milliseconds beyond the monthly inclusion (ignored here), as published on the
   * Cloudflare Workers pricing page (figures of 2024–2025; check the page before billing anyone).
   *
   * @return the model
   */
  static PriceModel cloudflareWorkers() {
    return perRequestAndCpuMs(new BigDecimal("0.30"), new BigDecimal("0.02"));
  }

  /** Scale of every amount on a bill (a millionth of a cent is well below what anyone bills). */
  int SCALE = 10;

  /** One million. */
  BigDecimal MILLION = BigDecimal.valueOf(1_000_000);

  private static void nonNegative(String name, BigDecimal price) {
    Objects.requireNonNull(price, name);
    Checks.requireArgument(price.signum() >= 0, "%s must not be negative but was %s", name, price.toPlainString());
  }
}
