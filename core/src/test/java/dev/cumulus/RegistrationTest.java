package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RegistrationTest {
  private final Cumulus cumulus = Cumulus.create();

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void exampleOfTheDesign_worksAsWritten() {
    Fn<String, Integer> words = cumulus.register(
        FnSpec.of("word-count", (String s) -> s.split("\\s+").length)
            .maxConcurrency(64)
            .queueCapacity(10_000)
            .timeout(Duration.ofSeconds(2))
            .keepAlive(Duration.ofSeconds(30))
            .minInstances(0)
            .inputType(String.class)
            .build());
    int n = words.invoke("a b c");
    CompletableFuture<Integer> f = words.invokeAsync("a b");
    Object any = cumulus.invoke("word-count", "x y");
    assertThat(n).isEqualTo(3);
    assertThat(f.join()).isEqualTo(2);
    assertThat(any).isEqualTo(2);
    FunctionStats s = words.stats();
    assertThat(s.name()).isEqualTo("word-count");
    assertThat(s.invocations()).isEqualTo(3);
    assertThat(s.successes()).isEqualTo(3);
  }

  @Test
  void allFourFactories_run() {
    List<Object> consumed = new CopyOnWriteArrayList<>();
    Fn<String, String> upper = cumulus.register(FnSpec.of("upper", (String s) -> s.toUpperCase()).build());
    Fn<Void, String> hello = cumulus.register(FnSpec.ofSupplier("hello", () -> "hi").build());
    Fn<String, Void> sink = cumulus.register(FnSpec.ofConsumer("sink", (String s) -> consumed.add(s)).build());
    Fn<String, String> greet = cumulus.register(FnSpec.withInstance("greet",
        () -> new StringBuilder("hello "), (StringBuilder sb, String who) -> sb + who).build());

    assertThat(upper.invoke("abc")).isEqualTo("ABC");
    assertThat(hello.invoke(null)).isEqualTo("hi");
    assertThat(sink.invoke("x")).isNull();
    assertThat(consumed).containsExactly("x");
    assertThat(greet.invoke("you")).isEqualTo("hello you");
    assertThat(greet.spec().hasInstanceState()).isTrue();
  }

  @Test
  void register_duplicateName_isIllegalStateNamingTheFunction() {
    cumulus.register(FnSpec.of("dup", (String s) -> s).build());
    assertThatThrownBy(() -> cumulus.register(FnSpec.of("dup", (String s) -> s).build()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("a function named 'dup' is already registered");
  }

  @Test
  void invoke_unknownName_listsNearNames() {
    cumulus.register(FnSpec.of("word-count", (String s) -> s).build());
    cumulus.register(FnSpec.of("word-counter", (String s) -> s).build());
    cumulus.register(FnSpec.of("resize", (String s) -> s).build());
    assertThatThrownBy(() -> cumulus.invoke("wrod-count", "x"))
        .isInstanceOfSatisfying(UnknownFunctionException.class, e -> {
          assertThat(e.functionName()).isEqualTo("wrod-count");
          assertThat(e.nearNames()).containsExactly("word-count", "word-counter");
        })
        .hasMessage("no function named 'wrod-count' is registered; did you mean 'word-count' or 'word-counter'?");
    assertThatThrownBy(() -> cumulus.function("nothing-like-it"))
        .isInstanceOf(UnknownFunctionException.class)
        .hasMessage("no function named 'nothing-like-it' is registered");
  }

  @Test
  void invokeAsync_unknownName_failsTheFuture() {
    CompletableFuture<Object> f = cumulus.invokeAsync("missing", "x");
    assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(UnknownFunctionException.class);
  }

  @Test
  void invokeByName_wrongType_namesExpectedAndActual() {
    cumulus.register(FnSpec.of("len", (String s) -> s.length()).inputType(String.class).build());
    assertThatThrownBy(() -> cumulus.invoke("len", 42))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'len' expects an input of type java.lang.String but got java.lang.Integer");
    assertThat(cumulus.function("len").stats().invocations()).isZero();
  }

  @Test
  void invoke_nullInput_isInvalidUnlessTheFunctionTakesNone() {
    Fn<String, Integer> len = cumulus.register(FnSpec.of("len", (String s) -> s.length()).inputType(String.class).build());
    assertThatThrownBy(() -> len.invoke(null))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'len' does not accept a null input (it takes java.lang.String)");
    assertThat(len.invokeAsync(null)).isCompletedExceptionally();
  }

  @Test
  void inputCheck_refusesBeforeAdmission_withItsMessage_onEveryPath_andCountsNothing() {
    Fn<Integer, Integer> px = cumulus.register(FnSpec.of("px", (Integer i) -> i).inputType(Integer.class)
        .inputCheck(i -> {
          if (i <= 0) {
            throw new IllegalArgumentException("px must be positive but was " + i);
          }
        }).build());
    assertThat(px.invoke(3)).isEqualTo(3);
    assertThatThrownBy(() -> px.invoke(-1))
        .isInstanceOf(InvalidInputException.class).hasMessage("px must be positive but was -1");
    assertThatThrownBy(() -> cumulus.invoke("px", 0))
        .isInstanceOf(InvalidInputException.class).hasMessage("px must be positive but was 0");
    assertThat(px.invokeAsync(-2)).failsWithin(java.time.Duration.ZERO).withThrowableThat()
        .havingCause().isInstanceOf(InvalidInputException.class);
    assertThat(px.stats().invocations()).isEqualTo(1);
  }

  @Test
  void boxedPrimitiveInputs_work() {
    cumulus.register(FnSpec.of("twice", (Integer i) -> i * 2).inputType(int.class).build());
    assertThat(cumulus.invoke("twice", 21)).isEqualTo(42);
    assertThatThrownBy(() -> cumulus.invoke("twice", 21L))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("java.lang.Integer but got java.lang.Long");
  }

  @Test
  void typedLookup_checksTheDeclaredTypes() {
    cumulus.register(FnSpec.of("len", (String s) -> s.length()).inputType(String.class).outputType(Integer.class).build());
    cumulus.register(FnSpec.of("loose", (Object o) -> o).build());
    Fn<String, Integer> len = cumulus.function("len", String.class, Integer.class);
    assertThat(len.invoke("abc")).isEqualTo(3);
    assertThat(cumulus.function("len", String.class, int.class).invoke("ab")).isEqualTo(2);
    assertThat(cumulus.function("loose", String.class, String.class).invoke("x")).isEqualTo("x");
    assertThatThrownBy(() -> cumulus.function("len", Long.class, Integer.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("function 'len' takes java.lang.String and returns java.lang.Integer, not java.lang.Long and java.lang.Integer");
    assertThatThrownBy(() -> cumulus.function("lne", String.class, Integer.class))
        .isInstanceOf(UnknownFunctionException.class).hasMessageContaining("did you mean 'len'");
  }

  @Test
  void functions_areListedByName() {
    cumulus.register(FnSpec.of("b", (String s) -> s).build());
    cumulus.register(FnSpec.of("a", (String s) -> s).build());
    assertThat(cumulus.functions()).extracting(Fn::name).containsExactly("a", "b");
    assertThat(cumulus.function("a").name()).isEqualTo("a");
  }

  @Test
  void unregister_refusesLaterCalls_andAllowsReRegistering() {
    Fn<String, String> f = cumulus.register(FnSpec.of("temp", (String s) -> s).build());
    assertThat(f.invoke("x")).isEqualTo("x");
    assertThat(cumulus.unregister("temp")).isTrue();
    assertThat(cumulus.unregister("temp")).isFalse();
    assertThatThrownBy(() -> f.invoke("y")).isInstanceOf(UnknownFunctionException.class);
    assertThatThrownBy(() -> cumulus.invoke("temp", "y")).isInstanceOf(UnknownFunctionException.class);
    Fn<String, String> again = cumulus.register(FnSpec.of("temp", (String s) -> s + "!").build());
    assertThat(again.invoke("y")).isEqualTo("y!");
  }

  @Test
  void unregister_closesInstances_afterAcceptedWorkFinished() {
    List<String> closed = new CopyOnWriteArrayList<>();
    Fn<String, String> f = cumulus.register(FnSpec.withInstance("res",
        () -> (AutoCloseable) () -> closed.add("closed"), (AutoCloseable r, String s) -> s).build());
    f.invoke("x");
    cumulus.unregister("res");
    await().atMost(Duration.ofSeconds(10)).until(() -> closed.size() == 1);
  }

  @Test
  void reservedConcurrency_beyondTheRuntimeLimit_isRejected() {
    try (Cumulus small = Cumulus.builder().maxConcurrency(10).build()) {
      small.register(FnSpec.of("a", (String s) -> s).maxConcurrency(6).build());
      assertThatThrownBy(() -> small.register(FnSpec.of("b", (String s) -> s).maxConcurrency(5).build()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("function 'b' reserves maxConcurrency 5 but only 4 of the runtime's maxConcurrency 10"
              + " is unreserved (reserved: a=6)");
      small.register(FnSpec.of("c", (String s) -> s).maxConcurrency(4).build());
    }
  }

  @Test
  void register_nullSpec_namesTheParameter() {
    assertThatThrownBy(() -> cumulus.register(null)).isInstanceOf(NullPointerException.class).hasMessage("spec");
    assertThatThrownBy(() -> cumulus.invoke(null, "x")).isInstanceOf(NullPointerException.class).hasMessage("name");
  }

  @Test
  void handlerException_isFunctionFailedWithTheCause() {
    Fn<String, String> boom = cumulus.register(FnSpec.<String, String>of("boom", (String s) -> {
      throw new IllegalArgumentException("bad " + s);
    }).build());
    assertThatThrownBy(() -> boom.invoke("x"))
        .isInstanceOf(FunctionFailedException.class)
        .hasMessage("function 'boom' failed: java.lang.IllegalArgumentException: bad x")
        .hasCauseInstanceOf(IllegalArgumentException.class)
        .satisfies(e -> assertThat(((CumulusException) e).functionName()).isEqualTo("boom"));
    assertThat(boom.stats().failures()).isEqualTo(1);
  }

  @Test
  void handler_runsOnAVirtualThread() {
    Fn<Void, Boolean> virtual = cumulus.register(FnSpec.ofSupplier("virtual", () -> Thread.currentThread().isVirtual()).build());
    assertThat(virtual.invoke(null)).isTrue();
  }
}
