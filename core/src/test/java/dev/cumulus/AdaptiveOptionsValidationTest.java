package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every bad value of the adaptive options (concurrency limits, tenants, keep-alive) fails where it
 * enters, with an exception that names the option and the value.
 */
class AdaptiveOptionsValidationTest {
  private static FnSpec.Builder<String, Integer> spec() {
    return FnSpec.of("f", String::length);
  }

  // ---------------------------------------------------------------------------------------------
  // ConcurrencyLimit

  @ParameterizedTest
  @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
  void fixed_notPositive(int value) {
    assertThatThrownBy(() -> ConcurrencyLimit.fixed(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConcurrency must be positive but was " + value);
  }

  @Test
  void adaptive_defaults() {
    ConcurrencyLimit.Adaptive a = ConcurrencyLimit.adaptive();
    assertThat(a.min()).isEqualTo(1);
    assertThat(a.max()).isEqualTo(ConcurrencyLimit.Adaptive.UNBOUNDED);
    assertThat(a.initial()).isEqualTo(20);
    assertThat(a.withMax(8).initial()).isEqualTo(8); // the default start, within [min, max]
    assertThat(a.withMin(30).initial()).isEqualTo(30);
    assertThat(a.toString()).isEqualTo("Adaptive[min=1, max=unbounded, initial=20]");
    assertThat(a.withMin(2).withMax(9).withInitial(4)).isEqualTo(a.withInitial(4).withMax(9).withMin(2));
  }

  @Test
  void adaptive_badValues_nameTheOptionAndTheValue() {
    assertThatThrownBy(() -> ConcurrencyLimit.adaptive().withMin(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive concurrency min must be positive but was 0");
    assertThatThrownBy(() -> ConcurrencyLimit.adaptive().withMax(-2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive concurrency max must be positive but was -2");
    assertThatThrownBy(() -> ConcurrencyLimit.adaptive().withMax(10).withMin(20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive concurrency min (20) must not exceed its max (10)");
    assertThatThrownBy(() -> ConcurrencyLimit.adaptive().withMin(20).withMax(10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive concurrency max (10) must not be below its min (20)");
    assertThatThrownBy(() -> ConcurrencyLimit.adaptive().withMax(10).withInitial(11))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive concurrency initial limit must be between its min (1) and max (10) but was 11");
    assertThatThrownBy(() -> ConcurrencyLimit.adaptive().withInitial(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive concurrency initial limit must be between its min (1) and max (unbounded) but was 0");
    assertThatThrownBy(() -> ConcurrencyLimit.adaptive().withInitial(5).withMin(6))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive concurrency min (6) must not exceed its initial limit (5)");
    assertThatThrownBy(() -> ConcurrencyLimit.adaptive().withInitial(5).withMax(4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive concurrency max (4) must not be below its initial limit (5)");
  }

  @Test
  void concurrency_setTwice_orWithMaxConcurrency_isIllegalState() {
    assertThatThrownBy(() -> spec().concurrency(ConcurrencyLimit.adaptive()).concurrency(ConcurrencyLimit.fixed(2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("concurrency was already set to Adaptive[min=1, max=unbounded, initial=20]");
    assertThatThrownBy(() -> spec().maxConcurrency(2).concurrency(ConcurrencyLimit.adaptive()))
        .isInstanceOf(IllegalStateException.class).hasMessage("maxConcurrency was already set to 2");
    assertThatThrownBy(() -> spec().concurrency(ConcurrencyLimit.fixed(3)).maxConcurrency(2))
        .isInstanceOf(IllegalStateException.class).hasMessage("maxConcurrency was already set to 3");
    assertThatThrownBy(() -> spec().concurrency(null))
        .isInstanceOf(NullPointerException.class).hasMessage("concurrency");
  }

  @Test
  void concurrency_fixed_isMaxConcurrency() {
    FnSpec<String, Integer> s = spec().concurrency(ConcurrencyLimit.fixed(8)).build();
    assertThat(s.maxConcurrency()).hasValue(8);
    assertThat(s.concurrency()).hasValue(ConcurrencyLimit.fixed(8));
    assertThat(spec().maxConcurrency(8).build().concurrency()).hasValue(ConcurrencyLimit.fixed(8));
    assertThat(spec().build().concurrency()).isEmpty();
    assertThat(spec().concurrency(ConcurrencyLimit.adaptive().withMax(9)).build().toString())
        .contains("concurrency=Adaptive[min=1, max=9, initial=9]");
  }

  @Test
  void minInstancesAboveTheAdaptiveMax_failsInBuild() {
    assertThatThrownBy(() -> spec().concurrency(ConcurrencyLimit.adaptive().withMax(2)).minInstances(5).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minInstances (5) must not exceed the adaptive concurrency max (2) of function 'f'");
    assertThat(FnSpec.of("g", Function.identity()).concurrency(ConcurrencyLimit.adaptive()).minInstances(5)
        .build().minInstances()).isEqualTo(5);
  }

  // ---------------------------------------------------------------------------------------------
  // KeepAlive

  @Test
  void keepAlive_defaults() {
    KeepAlive.Adaptive a = KeepAlive.adaptive();
    assertThat(a.fallback()).isEqualTo(Duration.ofSeconds(30)).isEqualTo(a.duration());
    assertThat(a.range()).isEqualTo(Duration.ofHours(4));
    assertThat(a.toString()).isEqualTo("Adaptive[fallback=PT30S, range=PT4H]");
    assertThat(a.withFallback(Duration.ofMinutes(1)).withRange(Duration.ofHours(1)))
        .isEqualTo(a.withRange(Duration.ofHours(1)).withFallback(Duration.ofMinutes(1)))
        .isNotEqualTo(a);
    assertThat(a.withRange(KeepAlive.Adaptive.MIN_RANGE).range()).isEqualTo(Duration.ofSeconds(10));
    assertThat(a.withRange(KeepAlive.Adaptive.MAX_RANGE).range()).isEqualTo(Duration.ofDays(30));
    assertThat(KeepAlive.fixed(Duration.ofMinutes(10)).duration()).isEqualTo(Duration.ofMinutes(10));
  }

  @Test
  void keepAlive_badValues_nameTheOptionAndTheValue() {
    assertThatThrownBy(() -> KeepAlive.fixed(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("keepAlive must be positive but was 0 ms");
    assertThatThrownBy(() -> KeepAlive.fixed(null))
        .isInstanceOf(NullPointerException.class).hasMessage("keepAlive");
    assertThatThrownBy(() -> KeepAlive.adaptive().withFallback(Duration.ofSeconds(-3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive keepAlive fallback must be positive but was -3 s");
    assertThatThrownBy(() -> KeepAlive.adaptive().withFallback(null))
        .isInstanceOf(NullPointerException.class).hasMessage("adaptive keepAlive fallback");
    assertThatThrownBy(() -> KeepAlive.adaptive().withRange(Duration.ofSeconds(9)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive keepAlive range must be between 10 s and 30 days but was 9 s");
    assertThatThrownBy(() -> KeepAlive.adaptive().withRange(Duration.ofDays(31)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("adaptive keepAlive range must be between 10 s and 30 days but was 31 days");
    assertThatThrownBy(() -> KeepAlive.adaptive().withRange(null))
        .isInstanceOf(NullPointerException.class).hasMessage("adaptive keepAlive range");
  }

  @Test
  void keepAlive_setTwice_inEitherForm_isIllegalState() {
    assertThatThrownBy(() -> spec().keepAlive(KeepAlive.adaptive()).keepAlive(Duration.ofSeconds(5)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("keepAlive was already set to Adaptive[fallback=PT30S, range=PT4H]");
    assertThatThrownBy(() -> spec().keepAlive(Duration.ofSeconds(5)).keepAlive(KeepAlive.adaptive()))
        .isInstanceOf(IllegalStateException.class).hasMessage("keepAlive was already set to 5 s");
    assertThatThrownBy(() -> spec().keepAlive((KeepAlive) null))
        .isInstanceOf(NullPointerException.class).hasMessage("keepAlive");
    FnSpec<String, Integer> s = spec().keepAlive(KeepAlive.adaptive().withFallback(Duration.ofMinutes(2))).build();
    assertThat(s.keepAlive()).isEqualTo(Duration.ofMinutes(2));
    assertThat(s.keepAlivePolicy()).isEqualTo(KeepAlive.adaptive().withFallback(Duration.ofMinutes(2)));
  }

  // ---------------------------------------------------------------------------------------------
  // Tenants

  @ParameterizedTest
  @ValueSource(strings = {"", "   ", "tab\there", "new\nline"})
  void tenant_badName(String tenant) {
    assertThatThrownBy(() -> CallOptions.tenant(tenant))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tenant must be 1 to 128 characters, not blank and without control characters, but was '");
  }

  @Test
  void tenant_tooLong_orNull() {
    String name = "t".repeat(129);
    assertThatThrownBy(() -> CallOptions.tenant(name))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("but was '" + name + "'");
    assertThatThrownBy(() -> CallOptions.tenant(null)).isInstanceOf(NullPointerException.class).hasMessage("tenant");
    assertThat(CallOptions.tenant("t".repeat(128)).tenant()).hasValue("t".repeat(128));
    assertThat(CallOptions.tenant("acme corp/eu-1").toString()).isEqualTo("CallOptions[tenant=acme corp/eu-1]");
    assertThat(CallOptions.none().tenant()).isEmpty();
    assertThat(CallOptions.tenant("a")).isEqualTo(CallOptions.tenant("a")).isNotEqualTo(CallOptions.none());
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, 1_001})
  void tenantWeight_outOfRange(int weight) {
    assertThatThrownBy(() -> spec().tenantWeight("a", weight))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tenantWeight of tenant 'a' must be between 1 and 1000 but was " + weight);
  }

  @Test
  void tenantWeight_badTenant_setTwice_andKept() {
    assertThatThrownBy(() -> spec().tenantWeight(" ", 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tenantWeight's tenant must be 1 to 128 characters, not blank and without control characters,"
            + " but was ' '");
    assertThatThrownBy(() -> spec().tenantWeight(null, 2))
        .isInstanceOf(NullPointerException.class).hasMessage("tenantWeight's tenant");
    assertThatThrownBy(() -> spec().tenantWeight("a", 2).tenantWeight("a", 3))
        .isInstanceOf(IllegalStateException.class).hasMessage("tenantWeight of tenant 'a' was already set to 2");
    FnSpec<String, Integer> s = spec().tenantWeight("b", 5).tenantWeight("a", 2).build();
    assertThat(s.tenantWeights()).containsExactly(java.util.Map.entry("a", 2), java.util.Map.entry("b", 5));
    assertThat(s.toString()).contains("tenantWeights={a=2, b=5}");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -5, 100_001})
  void maxTenants_outOfRange(int value) {
    assertThatThrownBy(() -> Cumulus.builder().maxTenants(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxTenants must be between 1 and 100000 but was " + value);
    assertThatThrownBy(() -> Cumulus.builder().maxTenants(5).maxTenants(6))
        .isInstanceOf(IllegalStateException.class).hasMessage("maxTenants was already set to 5");
  }

  @Test
  void callOptions_null_isRejectedNamingTheParameter() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, Integer> f = c.register(spec().build());
      assertThatThrownBy(() -> f.invoke("x", null)).isInstanceOf(NullPointerException.class).hasMessage("options");
      assertThatThrownBy(() -> f.invokeAsync("x", null)).isInstanceOf(NullPointerException.class).hasMessage("options");
      assertThatThrownBy(() -> c.invoke("f", "x", null)).isInstanceOf(NullPointerException.class).hasMessage("options");
      assertThatThrownBy(() -> c.invokeAsync("f", "x", null)).isInstanceOf(NullPointerException.class).hasMessage("options");
    }
  }
}
