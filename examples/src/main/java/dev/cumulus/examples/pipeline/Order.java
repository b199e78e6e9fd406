package dev.cumulus.examples.pipeline;

import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One clean order, as it goes into the table.
 *
 * @param orderId the order's id, unique within its file
 * @param orderedAt when it was placed, with the customer's UTC offset
 * @param customer the customer's name, whitespace collapsed, Unicode NFC
 * @param country ISO 3166 alpha-2 code, upper case
 * @param sku the article, upper case
 * @param quantity 1 to {@link OrderRules#MAX_QUANTITY}
 * @param unitPrice scale 2, not negative
 * @param currency ISO 4217 code, upper case
 * @param note free text, or null when there was none
 */
public record Order(String orderId, OffsetDateTime orderedAt, String customer, String country, String sku,
    int quantity, BigDecimal unitPrice, String currency, @Nullable String note) {
  /**
   * Checks that the required values are there.
   *
   * @throws NullPointerException if a required component is null
   */
  public Order {
    Objects.requireNonNull(orderId, "orderId");
    Objects.requireNonNull(orderedAt, "orderedAt");
    Objects.requireNonNull(customer, "customer");
    Objects.requireNonNull(country, "country");
    Objects.requireNonNull(sku, "sku");
    Objects.requireNonNull(unitPrice, "unitPrice");
    Objects.requireNonNull(currency, "currency");
  }
}
