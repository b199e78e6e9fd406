package dev.cumulus.examples.pipeline;

import java.math.BigDecimal;
import java.text.Normalizer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Currency;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * What makes a row of the orders export good, and how a good row is cleaned. A row is rejected with
 * every problem it has, each naming its column; a good row is trimmed, its codes upper-cased, its
 * customer's whitespace collapsed and its text put in Unicode NFC. A file whose share of bad rows is
 * above {@link #maxRejectedFraction()} is rejected as a whole: that many bad rows says the export is
 * broken, not a few orders. Immutable and thread-safe; {@link #forFile()} gives the per-file state
 * (duplicate ids), which is not.
 */
public final class OrderRules {
  /** Orders before this instant are a default-value bug (the Unix epoch, year 1900), not orders. */
  public static final Instant EARLIEST = Instant.parse("2000-01-01T00:00:00Z");
  /** Orders may be stamped at most this far after the load (clock skew between systems). */
  public static final Duration FUTURE_TOLERANCE = Duration.ofDays(1);
  /** Largest quantity of one order line. */
  public static final int MAX_QUANTITY = 10_000;
  /** Largest unit price, in any currency (the table's column is {@code decimal(12, 2)}). */
  public static final BigDecimal MAX_UNIT_PRICE = new BigDecimal("9999999999.99");
  /** Longest customer name and note, in characters. */
  public static final int MAX_TEXT = 1_000;

  private static final Set<String> COUNTRIES = Set.of(Locale.getISOCountries());
  private static final Set<String> CURRENCIES = Currency.getAvailableCurrencies().stream()
      .map(Currency::getCurrencyCode).collect(Collectors.toUnmodifiableSet());
  private static final Pattern WHITESPACE = Pattern.compile("\\s+");

  private final Clock clock;
  private final double maxRejectedFraction;

  private OrderRules(Clock clock, double maxRejectedFraction) {
    this.clock = clock;
    this.maxRejectedFraction = maxRejectedFraction;
  }

  /**
   * The rules, with "in the future" judged by {@code clock} and files rejected when more than half of
   * their rows are bad.
   *
   * @param clock the clock of the load
   * @return the rules
   * @throws NullPointerException if {@code clock} is null
   */
  public static OrderRules of(Clock clock) {
    return new OrderRules(Objects.requireNonNull(clock, "clock"), 0.5);
  }

  /**
   * Returns these rules with another threshold for rejecting a whole file.
   *
   * @param fraction the largest share of bad rows a loaded file may have, {@code 0} to {@code 1}
   * @return new rules
   * @throws IllegalArgumentException if {@code fraction} is not between 0 and 1
   */
  public OrderRules maxRejectedFraction(double fraction) {
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new IllegalArgumentException("maxRejectedFraction must be between 0 and 1 but was " + fraction);
    }
    return new OrderRules(clock, fraction);
  }

  /**
   * Returns the largest share of bad rows a file may have and still be loaded.
   *
   * @return the fraction
   */
  public double maxRejectedFraction() {
    return maxRejectedFraction;
  }

  /**
   * Starts checking one file.
   *
   * @return the file's checker, for one thread
   */
  public FileCheck forFile() {
    return new FileCheck(clock.instant().plus(FUTURE_TOLERANCE));
  }

  /** The outcome of checking one row. */
  public sealed interface Outcome {}

  /**
   * A good row.
   *
   * @param order the clean order
   * @param cleaned whether cleaning changed any of its values
   */
  public record Accepted(Order order, boolean cleaned) implements Outcome {}

  /**
   * A bad row.
   *
   * @param row the line and the reasons
   */
  public record Rejected(BadRow row) implements Outcome {}

  /** Checks the rows of one file in order; remembers ids to catch duplicates. Not thread-safe. */
  public static final class FileCheck {
    private record Seen(long line, List<String> values) {}

    private final Instant latest;
    private final Map<String, Seen> ids = new HashMap<>();

    private FileCheck(Instant latest) {
      this.latest = latest;
    }

    /**
     * Checks and cleans one row.
     *
     * @param line the line it starts on
     * @param values its fields, in {@link OrderCsv#COLUMNS} order
     * @return the clean order, or the reasons it is bad
     */
    public Outcome check(long line, List<String> values) {
      if (values.size() != OrderCsv.COLUMNS.size()) {
        return new Rejected(new BadRow(line,
            "expected " + OrderCsv.COLUMNS.size() + " fields but found " + values.size()));
      }
      List<String> problems = new ArrayList<>(2);
      String orderId = required(values, OrderCsv.ORDER_ID, problems);
      OffsetDateTime orderedAt = timestamp(values.get(OrderCsv.ORDERED_AT).strip(), problems);
      String customer = required(values, OrderCsv.CUSTOMER, problems);
      if (customer != null) {
        customer = Normalizer.normalize(WHITESPACE.matcher(customer).replaceAll(" "), Normalizer.Form.NFC);
        if (customer.length() > MAX_TEXT) {
          problems.add("customer: longer than " + MAX_TEXT + " characters");
        }
      }
      String country = code(values, OrderCsv.COUNTRY, COUNTRIES, "an ISO 3166 country code", problems);
      String sku = required(values, OrderCsv.SKU, problems);
      Integer quantity = quantity(values.get(OrderCsv.QUANTITY).strip(), problems);
      String currency = code(values, OrderCsv.CURRENCY, CURRENCIES, "an ISO 4217 currency code", problems);
      BigDecimal unitPrice = unitPrice(values.get(OrderCsv.UNIT_PRICE).strip(), currency, problems);
      String note = Normalizer.normalize(values.get(OrderCsv.NOTE).strip(), Normalizer.Form.NFC);
      if (note.length() > MAX_TEXT) {
        problems.add("note: longer than " + MAX_TEXT + " characters");
      }
      if (orderedAt != null && orderedAt.toInstant().isBefore(EARLIEST)) {
        problems.add("ordered_at: " + orderedAt + " is before " + EARLIEST);
      } else if (orderedAt != null && orderedAt.toInstant().isAfter(latest)) {
        problems.add("ordered_at: " + orderedAt + " is in the future");
      }
      if (orderId != null) {
        Seen first = ids.get(orderId);
        if (first != null) {
          problems.add(first.values().equals(values)
              ? "duplicate of line " + first.line()
              : "order_id: " + orderId + " already used on line " + first.line() + " with other values");
        }
      }
      if (!problems.isEmpty()) {
        return new Rejected(new BadRow(line, String.join("; ", problems)));
      }
      ids.put(orderId, new Seen(line, List.copyOf(values)));
      Order order = new Order(orderId, orderedAt, customer, country, sku.toUpperCase(Locale.ROOT), quantity,
          unitPrice.setScale(2), currency, note.isEmpty() ? null : note);
      return new Accepted(order, !asWritten(order, values));
    }

    /** Whether the order's values are exactly the text of the row (nothing was cleaned). */
    private static boolean asWritten(Order order, List<String> values) {
      return order.orderId().equals(values.get(OrderCsv.ORDER_ID))
          && order.customer().equals(values.get(OrderCsv.CUSTOMER))
          && order.country().equals(values.get(OrderCsv.COUNTRY))
          && order.sku().equals(values.get(OrderCsv.SKU))
          && order.currency().equals(values.get(OrderCsv.CURRENCY))
          && values.get(OrderCsv.UNIT_PRICE).equals(values.get(OrderCsv.UNIT_PRICE).strip())
          && values.get(OrderCsv.QUANTITY).equals(values.get(OrderCsv.QUANTITY).strip())
          && values.get(OrderCsv.ORDERED_AT).equals(values.get(OrderCsv.ORDERED_AT).strip())
          && (order.note() == null
              ? values.get(OrderCsv.NOTE).isEmpty()
              : order.note().equals(values.get(OrderCsv.NOTE)));
    }

    private static @Nullable String required(List<String> values, int column, List<String> problems) {
      String value = values.get(column).strip();
      if (value.isEmpty()) {
        problems.add(OrderCsv.COLUMNS.get(column) + ": empty");
        return null;
      }
      return value;
    }

    private static @Nullable String code(List<String> values, int column, Set<String> known, String what,
        List<String> problems) {
      String raw = values.get(column).strip();
      String code = raw.toUpperCase(Locale.ROOT);
      if (!known.contains(code)) {
        problems.add(OrderCsv.COLUMNS.get(column) + ": " + quote(raw) + " is not " + what);
        return null;
      }
      return code;
    }

    private static @Nullable OffsetDateTime timestamp(String value, List<String> problems) {
      try {
        return OffsetDateTime.parse(value);
      } catch (DateTimeParseException notWithOffset) {
        try {
          LocalDateTime.parse(value.replace(' ', 'T'));
          problems.add("ordered_at: " + quote(value) + " has no UTC offset");
        } catch (DateTimeParseException notAtAll) {
          problems.add("ordered_at: " + quote(value) + " is not an ISO 8601 timestamp");
        }
        return null;
      }
    }

    private static @Nullable Integer quantity(String value, List<String> problems) {
      int quantity;
      try {
        quantity = Integer.parseInt(value);
      } catch (NumberFormatException e) {
        problems.add("quantity: " + quote(value) + " is not a whole number");
        return null;
      }
      if (quantity < 1 || quantity > MAX_QUANTITY) {
        problems.add("quantity: " + quantity + " is not between 1 and " + MAX_QUANTITY);
        return null;
      }
      return quantity;
    }

    private static @Nullable BigDecimal unitPrice(String value, @Nullable String currency, List<String> problems) {
      BigDecimal price;
      try {
        price = new BigDecimal(value);
      } catch (NumberFormatException e) {
        problems.add("unit_price: " + quote(value) + " is not a decimal number");
        return null;
      }
      if (price.signum() < 0) {
        problems.add("unit_price: " + value + " is negative");
        return null;
      }
      if (price.compareTo(MAX_UNIT_PRICE) > 0) {
        problems.add("unit_price: " + value + " is over " + MAX_UNIT_PRICE.toPlainString());
        return null;
      }
      int decimals = currency == null ? 2 : Math.max(0, Currency.getInstance(currency).getDefaultFractionDigits());
      if (price.stripTrailingZeros().scale() > decimals) {
        problems.add("unit_price: " + value + " has more decimals than " + (currency == null ? "2" : currency
            + " has (" + decimals + ")"));
        return null;
      }
      return price;
    }

    private static String quote(String value) {
      String shown = value.length() > 40 ? value.substring(0, 40) + "…" : value;
      return '"' + shown + '"';
    }
  }
}
