package dev.cumulus.examples.pipeline;

import java.util.List;

/** The order export's columns, in the order the generator writes them and the rules read them. */
final class OrderCsv {
  static final int ORDER_ID = 0;
  static final int ORDERED_AT = 1;
  static final int CUSTOMER = 2;
  static final int COUNTRY = 3;
  static final int SKU = 4;
  static final int QUANTITY = 5;
  static final int UNIT_PRICE = 6;
  static final int CURRENCY = 7;
  static final int NOTE = 8;

  static final List<String> COLUMNS = List.of(
      "order_id", "ordered_at", "customer", "country", "sku", "quantity", "unit_price", "currency", "note");

  private OrderCsv() {}
}
