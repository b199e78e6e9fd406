package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FnSpecValidationTest {
  private static FnSpec.Builder<String, Integer> spec() {
    return FnSpec.of("f", String::length);
  }

  @Test
  void defaults_workForAFirstRun() {
    FnSpec<String, Integer> s = spec().build();
    assertThat(s.name()).isEqualTo("f");
    assertThat(s.maxConcurrency()).isEmpty();
    assertThat(s.queueCapacity()).isEqualTo(10_000);
    assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.keepAlive()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.minInstances()).isZero();
    assertThat(s.inputType()).isEqualTo(Object.class);
    assertThat(s.cpuBudget()).isEmpty();
    assertThat(s.hasInstanceState()).isFalse();
  }

  @Test
  void options_areKept() {
    FnSpec<String, Integer> s = spec().maxConcurrency(8).queueCapacity(0).timeout(Duration.ofMillis(5))
        .keepAlive(Duration.ofMinutes(2)).minInstances(3).inputType(String.class).outputType(Integer.class)
        .cpuBudget(Duration.ofMillis(1)).build();
    assertThat(s.maxConcurrency()).hasValue(8);
    assertThat(s.queueCapacity()).isZero();
    assertThat(s.timeout()).isEqualTo(Duration.ofMillis(5));
    assertThat(s.keepAlive()).isEqualTo(Duration.ofMinutes(2));
    assertThat(s.minInstances()).isEqualTo(3);
    assertThat(s.inputType()).isEqualTo(String.class);
    assertThat(s.outputType()).isEqualTo(Integer.class);
    assertThat(s.cpuBudget()).hasValue(Duration.ofMillis(1));
    assertThat(s.toString()).contains("name=f", "maxConcurrency=8", "timeout=5 ms");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
  void maxConcurrency_notPositive_namesOptionAndValue(int value) {
    assertThatThrownBy(() -> spec().maxConcurrency(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConcurrency must be positive but was " + value);
  }

  @Test
  void queueCapacity_negative_namesOptionAndValue() {
    assertThatThrownBy(() -> spec().queueCapacity(-3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("queueCapacity must not be negative but was -3");
  }

  @Test
  void minInstances_negative_namesOptionAndValue() {
    assertThatThrownBy(() -> spec().minInstances(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minInstances must not be negative but was -1");
  }

  @Test
  void durations_zeroOrNegative_nameOptionAndValue() {
    assertThatThrownBy(() -> spec().timeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("timeout must be positive but was 0 ms");
    assertThatThrownBy(() -> spec().keepAlive(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("keepAlive must be positive but was -1 s");
    assertThatThrownBy(() -> spec().cpuBudget(Duration.ofMillis(-5)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("cpuBudget must be positive but was -5 ms");
    assertThatThrownBy(() -> spec().timeout(null))
        .isInstanceOf(NullPointerException.class).hasMessage("timeout");
  }

  @Test
  void optionSetTwice_isIllegalState() {
    assertThatThrownBy(() -> spec().maxConcurrency(2).maxConcurrency(3))
        .isInstanceOf(IllegalStateException.class).hasMessage("maxConcurrency was already set to 2");
    assertThatThrownBy(() -> spec().timeout(Duration.ofSeconds(1)).timeout(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalStateException.class).hasMessage("timeout was already set to 1 s");
    assertThatThrownBy(() -> spec().inputType(String.class).inputType(String.class))
        .isInstanceOf(IllegalStateException.class).hasMessage("inputType was already set to java.lang.String");
    assertThatThrownBy(() -> spec().inputCheck(s -> { }).inputCheck(s -> { }))
        .isInstanceOf(IllegalStateException.class).hasMessage("inputCheck was already set");
  }

  @Test
  void minInstancesAboveMaxConcurrency_failsInBuild() {
    assertThatThrownBy(() -> spec().maxConcurrency(2).minInstances(5).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minInstances (5) must not exceed maxConcurrency (2) of function 'f'");
  }

  @Test
  void builder_buildsOnce() {
    FnSpec.Builder<String, Integer> b = spec();
    b.build();
    assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already built the spec of 'f'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  ", "has space", "a/b", "-leading-dash", "tab\tname"})
  void badNames_areRejectedWithTheName(String name) {
    assertThatThrownBy(() -> FnSpec.of(name, Function.identity()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("function name must")
        .hasMessageContaining("'" + name + "'");
  }

  @Test
  void longName_isRejected() {
    String name = "a".repeat(129);
    assertThatThrownBy(() -> FnSpec.of(name, Function.identity()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 128 characters");
  }

  @ParameterizedTest
  @ValueSource(strings = {"word-count", "Orders.place", "v1:resize_image", "Calc.add(int,int)", "x"})
  void goodNames_areAccepted(String name) {
    assertThat(FnSpec.of(name, Function.identity()).build().name()).isEqualTo(name);
  }

  @Test
  void nulls_areRejectedNamingTheParameter() {
    assertThatThrownBy(() -> FnSpec.of(null, Function.identity()))
        .isInstanceOf(NullPointerException.class).hasMessage("name");
    assertThatThrownBy(() -> FnSpec.of("f", null))
        .isInstanceOf(NullPointerException.class).hasMessage("function");
    assertThatThrownBy(() -> FnSpec.ofSupplier("f", null))
        .isInstanceOf(NullPointerException.class).hasMessage("supplier");
    assertThatThrownBy(() -> FnSpec.ofConsumer("f", null))
        .isInstanceOf(NullPointerException.class).hasMessage("consumer");
    assertThatThrownBy(() -> FnSpec.withInstance("f", null, (Object h, Object i) -> i))
        .isInstanceOf(NullPointerException.class).hasMessage("init");
    assertThatThrownBy(() -> FnSpec.withInstance("f", Object::new, null))
        .isInstanceOf(NullPointerException.class).hasMessage("handler");
    assertThatThrownBy(() -> FnSpec.of("f", Function.identity()).inputCheck(null))
        .isInstanceOf(NullPointerException.class).hasMessage("inputCheck");
  }

  @Test
  void primitiveInputType_standsForItsWrapper() {
    FnSpec<Integer, Integer> s = FnSpec.of("twice", (Integer i) -> i * 2).inputType(int.class).build();
    assertThat(s.inputType()).isEqualTo(Integer.class);
  }
}
