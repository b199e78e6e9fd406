package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * What a first user of the runtime ran into by misusing it on purpose, one test per papercut, named
 * for the behaviour it holds the runtime to: clear messages that say what to do, and a closed runtime
 * or a wrong input that is said to be so before anything else.
 */
class FirstUseRegressionTest {

  // -----------------------------------------------------------------------------------------------
  // Inputs

  @Test
  void nullInput_ofAFunctionWithoutInputType_saysNoneWasDeclared_andHowToDeclareOne() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, Integer> length = c.register(FnSpec.of("length", String::length).build());
      assertThatThrownBy(() -> length.invoke(null)).isInstanceOf(InvalidInputException.class)
          .hasMessage("function 'length' does not accept a null input (no inputType was declared, so it takes any"
              + " object but null; declare one with FnSpec.Builder.inputType(Class) to have inputs checked by type)");
    }
  }

  @Test
  void valueGivenToAFunctionWithoutInput_saysItTakesNone_invokeWithNull() {
    try (Cumulus c = Cumulus.create()) {
      c.register(FnSpec.ofSupplier("now", () -> 1).build());
      assertThatThrownBy(() -> c.invoke("now", "unexpected")).isInstanceOf(InvalidInputException.class)
          .hasMessage("function 'now' takes no input: invoke it with null (it was given a java.lang.String)");
      assertThat(c.invoke("now", null)).isEqualTo(1);
    }
  }

  @Test
  void wrongTypedInput_ofAFunctionWithoutInputType_failsWithAHintToDeclareIt() {
    try (Cumulus c = Cumulus.create()) {
      c.register(FnSpec.of("length", (String s) -> s.length()).build());
      String hint = "; its input was a java.lang.Integer, and 'length' declares no inputType, so inputs are not"
          + " checked: declare it with FnSpec.Builder.inputType(Class) to have a call of the wrong type refused"
          + " before it runs (InvalidInputException)";
      assertThatThrownBy(() -> c.invoke("length", 42)).isInstanceOf(FunctionFailedException.class)
          .hasCauseInstanceOf(ClassCastException.class)
          .hasMessageStartingWith("function 'length' failed: java.lang.ClassCastException: class java.lang.Integer"
              + " cannot be cast to class java.lang.String")
          .hasMessageEndingWith(hint);
      assertThat(c.invokeAsync("length", 42)).failsWithin(Duration.ofSeconds(30)).withThrowableThat()
          .havingCause().isInstanceOf(FunctionFailedException.class).withMessageEndingWith(hint);

      // A function whose inputs are checked by type gets no such hint: its cast failed elsewhere.
      c.register(FnSpec.of("typed", (CharSequence s) -> ((String) s).length())
          .inputType(CharSequence.class).build());
      assertThatThrownBy(() -> c.invoke("typed", new StringBuilder("x"))).isInstanceOf(FunctionFailedException.class)
          .hasCauseInstanceOf(ClassCastException.class)
          .message().doesNotContain("inputType");
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Messages

  @Test
  void durationsInMessages_readAsPeopleWriteThem() {
    assertThat(new FunctionTimeoutException("f", Duration.ofMillis(200)))
        .hasMessage("function 'f' timed out after 200 ms");
    assertThat(new CpuBudgetExceededException("f", Duration.ofMillis(10), Duration.ofNanos(10_196_000)))
        .hasMessage("function 'f' used 10.2 ms of CPU, over its budget of 10 ms");
    assertThatThrownBy(() -> FnSpec.of("f", (String s) -> s).timeout(Duration.ofSeconds(Long.MAX_VALUE)))
        .hasMessage("timeout must be at most 292 years but was 292,271,023,045 years");
    assertThatThrownBy(() -> Cumulus.builder().carrierKeepAlive(Duration.ofMillis(-1)))
        .hasMessage("carrierKeepAlive must be positive but was -1 ms");
    assertThat(FnSpec.of("f", (String s) -> s).timeout(Duration.ofMillis(2_500)).build().toString())
        .contains("timeout=2.5 s", "keepAlive=30 s");
  }
}
