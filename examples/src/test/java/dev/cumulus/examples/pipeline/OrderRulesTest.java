package dev.cumulus.examples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.text.Normalizer;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OrderRulesTest {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-01T00:00:00Z"), ZoneOffset.UTC);

  /** A good row; {@code column=value} pairs replace its fields. */
  static List<String> row(String... changes) {
    List<String> values = new ArrayList<>(List.of("ORD-1", "2026-11-02T10:15:30+01:00", "Jürgen Müller", "DE",
        "SKU-00001", "3", "19.99", "EUR", "Leave at the door, please"));
    for (String change : changes) {
      int eq = change.indexOf('=');
      values.set(OrderCsv.COLUMNS.indexOf(change.substring(0, eq)), change.substring(eq + 1));
    }
    return values;
  }

  private static OrderRules.Outcome check(List<String> values) {
    return OrderRules.of(CLOCK).forFile().check(2, values);
  }

  @Test
  void check_goodRow_isAcceptedAsWritten() {
    OrderRules.Outcome outcome = check(row());

    assertThat(outcome).isEqualTo(new OrderRules.Accepted(new Order("ORD-1",
        OffsetDateTime.of(2026, 11, 2, 10, 15, 30, 0, ZoneOffset.ofHours(1)), "Jürgen Müller", "DE", "SKU-00001", 3,
        new BigDecimal("19.99"), "EUR", "Leave at the door, please"), false));
  }

  @Test
  void check_messyButValidRow_isCleaned() {
    String decomposed = Normalizer.normalize("  Jürgen   Müller ", Normalizer.Form.NFD);

    OrderRules.Outcome outcome = check(row("customer=" + decomposed, "country= de", "currency=eur\t", "sku=sku-00001",
        "unit_price= 19.9 ", "note=   "));

    assertThat(outcome).isInstanceOf(OrderRules.Accepted.class);
    OrderRules.Accepted accepted = (OrderRules.Accepted) outcome;
    assertThat(accepted.cleaned()).isTrue();
    assertThat(accepted.order().customer()).isEqualTo("Jürgen Müller");
    assertThat(Normalizer.isNormalized(accepted.order().customer(), Normalizer.Form.NFC)).isTrue();
    assertThat(accepted.order().country()).isEqualTo("DE");
    assertThat(accepted.order().currency()).isEqualTo("EUR");
    assertThat(accepted.order().sku()).isEqualTo("SKU-00001");
    assertThat(accepted.order().unitPrice()).isEqualTo(new BigDecimal("19.90"));
    assertThat(accepted.order().note()).isNull();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "order_id=                          | order_id: empty",
      "customer=                          | customer: empty",
      "sku=                               | sku: empty",
      "ordered_at=11/03/2026 14:05        | ordered_at: \"11/03/2026 14:05\" is not an ISO 8601 timestamp",
      "ordered_at=2026-11-03 14:05:00     | ordered_at: \"2026-11-03 14:05:00\" has no UTC offset",
      "ordered_at=1970-01-01T00:00:00Z    | ordered_at: 1970-01-01T00:00Z is before 2000-01-01T00:00:00Z",
      "ordered_at=2026-12-02T00:00:01Z    | ordered_at: 2026-12-02T00:00:01Z is in the future",
      "quantity=three                     | quantity: \"three\" is not a whole number",
      "quantity=2.5                       | quantity: \"2.5\" is not a whole number",
      "quantity=0                         | quantity: 0 is not between 1 and 10000",
      "quantity=10001                     | quantity: 10001 is not between 1 and 10000",
      "unit_price=N/A                     | unit_price: \"N/A\" is not a decimal number",
      "unit_price=-19.99                  | unit_price: -19.99 is negative",
      "unit_price=19.999                  | unit_price: 19.999 has more decimals than EUR has (2)",
      "unit_price=10000000000             | unit_price: 10000000000 is over 9999999999.99",
      "country=Germany                    | country: \"Germany\" is not an ISO 3166 country code",
      "country=XX                         | country: \"XX\" is not an ISO 3166 country code",
      "currency=BTC                       | currency: \"BTC\" is not an ISO 4217 currency code",
  })
  void check_badValue_isRejectedNamingTheColumn(String change, String reason) {
    assertThat(check(row(change.strip()))).isEqualTo(new OrderRules.Rejected(new BadRow(2, reason.strip())));
  }

  @Test
  void check_priceWithDecimalsItsCurrencyDoesNotHave_isRejected() {
    assertThat(check(row("currency=JPY", "unit_price=1500.50")))
        .isEqualTo(new OrderRules.Rejected(new BadRow(2, "unit_price: 1500.50 has more decimals than JPY has (0)")));
    assertThat(check(row("currency=JPY", "unit_price=1500"))).isInstanceOf(OrderRules.Accepted.class);
  }

  @Test
  void check_rowWithSeveralProblems_reportsThemAll() {
    assertThat(check(row("quantity=x", "currency=BTC")))
        .isEqualTo(new OrderRules.Rejected(new BadRow(2,
            "quantity: \"x\" is not a whole number; currency: \"BTC\" is not an ISO 4217 currency code")));
  }

  @Test
  void check_wrongFieldCount_isRejected() {
    assertThat(check(row().subList(0, 7)))
        .isEqualTo(new OrderRules.Rejected(new BadRow(2, "expected 9 fields but found 7")));
  }

  @Test
  void check_duplicates_areTheSecondRowsOfAnId_exactOrNot() {
    OrderRules.FileCheck file = OrderRules.of(CLOCK).forFile();

    assertThat(file.check(2, row())).isInstanceOf(OrderRules.Accepted.class);
    assertThat(file.check(3, row())).isEqualTo(new OrderRules.Rejected(new BadRow(3, "duplicate of line 2")));
    assertThat(file.check(4, row("quantity=4"))).isEqualTo(new OrderRules.Rejected(
        new BadRow(4, "order_id: ORD-1 already used on line 2 with other values")));
  }

  @Test
  void check_idOfARejectedRow_canBeUsedByALaterGoodRow() {
    OrderRules.FileCheck file = OrderRules.of(CLOCK).forFile();

    assertThat(file.check(2, row("quantity=0"))).isInstanceOf(OrderRules.Rejected.class);
    assertThat(file.check(3, row())).isInstanceOf(OrderRules.Accepted.class);
  }

  @Test
  void maxRejectedFraction_outOfRange_isRefusedNamingTheOption() {
    assertThatThrownBy(() -> OrderRules.of(CLOCK).maxRejectedFraction(1.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRejectedFraction must be between 0 and 1 but was 1.5");
    assertThatThrownBy(() -> OrderRules.of(CLOCK).maxRejectedFraction(Double.NaN))
        .hasMessage("maxRejectedFraction must be between 0 and 1 but was NaN");
    assertThat(OrderRules.of(CLOCK).maxRejectedFraction(0.1).maxRejectedFraction()).isEqualTo(0.1);
  }
}
