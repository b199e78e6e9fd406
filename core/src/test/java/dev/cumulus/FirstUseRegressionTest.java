package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * What a first user of the runtime ran into by misusing it on purpose, one test per papercut, named
 * for the behaviour it holds the runtime to: clear messages that say what to do, and a closed runtime
 * or a wrong input that is said to be so before anything else.
 */
class FirstUseRegressionTest {
  private static final Duration HANG = Duration.ofSeconds(30);

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
  // Waiting for a future of one's own chain

  /**
   * The refusal of a wait that could never end: it must come at once, well before the function's
   * 10-minute timeout ({@link #HANG} tells a deadlock from it), as the cause of the outer call's failure.
   */
  private static CumulusException refusal(CompletableFuture<?> call) {
    await().atMost(HANG).alias("the wait ends instead of waiting for a slot that cannot free").until(call::isDone);
    assertThat(call).isCompletedExceptionally();
    for (Throwable e = call.exceptionNow(); e != null; e = e.getCause()) {
      if (e instanceof CumulusException ce && !(ce instanceof FunctionFailedException)) {
        assertThat(ce).as("refused at once, not timed out").isNotInstanceOf(FunctionTimeoutException.class);
        return ce;
      }
    }
    throw new AssertionError("no refusal in " + call.exceptionNow());
  }

  @Test
  void joinOfAFutureOfOnesOwnChain_underMaxConcurrency1_failsAtOnce_andTheFunctionServesOn() {
    AtomicReference<Fn<Integer, Integer>> self = new AtomicReference<>();
    Cumulus c = Cumulus.builder().drainTimeout(Duration.ofMinutes(5)).build();
    try {
      Fn<Integer, Integer> fa = c.register(FnSpec.of("fa", (Integer n) -> n <= 1 ? 1 : n * self.get().invokeAsync(n - 1).join())
          .maxConcurrency(1).timeout(Duration.ofMinutes(10)).build());
      self.set(fa);
      CumulusException why = refusal(fa.invokeAsync(3));
      assertThat(why).hasMessage("waiting for 'fa' from inside 'fa' (join or get of a future of invokeAsync) would"
          + " wait forever: all 1 of its concurrency slots (maxConcurrency 1) are held by calls of this chain,"
          + " each waiting for the next: fa → fa; the call was withdrawn, never having run");
      assertThat(why.functionName()).isEqualTo("fa");
      await().until(() -> fa.stats().inFlight() == 0 && fa.stats().queued() == 0);
      assertThat(fa.invoke(1)).as("no slot is left held").isEqualTo(1);
      FunctionStats s = fa.stats();
      assertThat(s.cancelled()).as("the withdrawn call").isEqualTo(1);
      assertThat(s.failures()).as("the call whose join was refused").isEqualTo(1);
      assertThat(s.invocations()).isEqualTo(s.completed());
    } finally {
      CompletableFuture<Void> closing = CompletableFuture.runAsync(c::close);
      // Far less than the 5-minute drain timeout: nothing is left waiting for a slot.
      assertThat(closing).succeedsWithin(HANG);
    }
  }

  @Test
  void getOfAFutureOfOnesOwnChain_nestedThroughSeveralWaits_failsAtOnceNamingTheWholeChain() {
    AtomicReference<Fn<Integer, Integer>> self = new AtomicReference<>();
    try (Cumulus c = ReliabilityRegressionTest.quickToClose()) {
      Fn<Integer, Integer> fa = c.register(FnSpec.of("fa", (Integer n) -> {
        if (n <= 1) {
          return 1;
        }
        try {
          return n * self.get().invokeAsync(n - 1).get();
        } catch (InterruptedException | ExecutionException e) {
          throw new IllegalStateException(e);
        }
      }).maxConcurrency(2).timeout(Duration.ofMinutes(10)).build());
      self.set(fa);
      assertThat(fa.invoke(2)).as("a chain that fits in the limit runs").isEqualTo(2);
      // fa(3) waits for fa(2), which runs in the second slot and waits for fa(1): no slot is left.
      CumulusException why = refusal(fa.invokeAsync(3));
      assertThat(why.getMessage()).contains("all 2 of its concurrency slots (maxConcurrency 2)", "fa → fa → fa");
      await().until(() -> fa.stats().inFlight() == 0 && fa.stats().queued() == 0);
      assertThat(fa.invoke(2)).isEqualTo(2);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // A closed runtime says so first

  @Test
  void unknownName_onAClosedRuntime_saysTheRuntimeIsClosed_withoutImplyingTheNameExists() {
    Cumulus c = Cumulus.create();
    c.close();
    assertThatThrownBy(() -> c.invoke("lenght", "x")).isInstanceOf(RuntimeClosedException.class)
        .hasMessage("the Cumulus runtime is closed and accepts no more calls, whatever function they name")
        .satisfies(e -> assertThat(((CumulusException) e).functionName()).isEqualTo("lenght"));
    assertThat(c.invokeAsync("lenght", "x")).failsWithin(Duration.ofSeconds(5)).withThrowableThat()
        .havingCause().isInstanceOf(RuntimeClosedException.class);
  }

  /** A bean with one {@code @Serverless} method. */
  public static class Clock {
    /**
     * Returns a number.
     *
     * @return 1
     */
    @Serverless
    public int now() {
      return 1;
    }
  }

  /** An interface to proxy. */
  public interface Greeter {
    /**
     * Greets.
     *
     * @param name who
     * @return the greeting
     */
    String greet(String name);
  }

  @Test
  void registering_onAClosedRuntime_saysClosed_evenForABeanOrProxyOrExecutorRegisteredBefore() {
    Cumulus c = Cumulus.create();
    Clock bean = new Clock();
    c.registerAll(bean);
    c.proxy(Greeter.class, n -> "hi " + n);
    c.executor("jobs");
    c.close();
    assertThatThrownBy(() -> c.registerAll(bean)).isInstanceOf(RuntimeClosedException.class)
        .hasMessage("the Cumulus runtime is closed; cannot register the @Serverless methods of "
            + Clock.class.getName());
    assertThatThrownBy(() -> c.proxy(Greeter.class, n -> n)).isInstanceOf(RuntimeClosedException.class)
        .hasMessage("the Cumulus runtime is closed; cannot register the functions of a proxy of "
            + Greeter.class.getName());
    assertThatThrownBy(() -> c.executor("jobs")).isInstanceOf(RuntimeClosedException.class)
        .hasMessage("the Cumulus runtime is closed; cannot register the function of executor 'jobs'");
  }

  // -----------------------------------------------------------------------------------------------
  // Options that cannot work are refused where they meet the runtime

  @Test
  void minInstances_aboveTheRuntimesMaxConcurrency_isRefused_namingBothValues_andCreatesNothing() {
    AtomicInteger created = new AtomicInteger();
    try (Cumulus c = Cumulus.builder().maxConcurrency(10).build()) {
      assertThatThrownBy(() -> c.register(FnSpec.withInstance("pool", created::incrementAndGet, (Integer i, String s) -> s)
          .minInstances(11).build()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("function 'pool' asks for minInstances 11 but the runtime's maxConcurrency is 10: no more than"
              + " 10 of its calls can ever run at once, so the other instances could never be used");
      assertThat(created).hasValue(0);
      assertThat(c.functions()).isEmpty();
      assertThat(c.register(FnSpec.withInstance("pool", created::incrementAndGet, (Integer i, String s) -> s)
          .minInstances(10).build()).stats().warmInstances()).isEqualTo(10);
    }
    // Above the function's own maxConcurrency: refused when the spec is built.
    assertThatThrownBy(() -> FnSpec.of("f", (String s) -> s).maxConcurrency(2).minInstances(3).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minInstances (3) must not exceed maxConcurrency (2) of function 'f'");
  }

  @Test
  void awsLambdaX86_refusesAMemorySizeLambdaDoesNotOffer() {
    assertThatThrownBy(() -> PriceModel.awsLambdaX86(100_000)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("memoryMb of awsLambdaX86 must be between 128 and 10240 (the memory sizes AWS Lambda offers)"
            + " but was 100000; perRequestAndGbSeconds prices any other size");
    assertThatThrownBy(() -> PriceModel.awsLambdaX86(64)).isInstanceOf(IllegalArgumentException.class);
    assertThat(PriceModel.awsLambdaX86(10_240).description()).endsWith("at 10240 MB");
    assertThat(PriceModel.perRequestAndGbSeconds(java.math.BigDecimal.ONE, java.math.BigDecimal.ONE, 100_000)
        .description()).endsWith("at 100000 MB");
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

  // -----------------------------------------------------------------------------------------------
  // Load tests fail fast instead of reporting nothing but errors

  @Test
  void loadTest_ofAClosedRuntime_failsBeforeAnyCall() {
    Cumulus c = Cumulus.create();
    c.register(FnSpec.of("length", String::length).build());
    LoadTest test = LoadTest.of(c, "length", () -> "x").quiet().invocations(10);
    c.close();
    assertThatThrownBy(test::run).isInstanceOf(RuntimeClosedException.class)
        .hasMessage("the Cumulus runtime is closed: a load test of function 'length' could make no call");
  }

  @Test
  void loadTest_whoseInputsAreOfTheWrongType_stopsAtTheFirst() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, Integer> length = c.register(FnSpec.of("length", String::length).inputType(String.class).build());
      assertThatThrownBy(() -> LoadTest.of(c, "length", () -> 7).quiet().invocations(100_000).run())
          .isInstanceOf(InvalidInputException.class)
          .hasMessage("the input supplier of the load test of function 'length' gave an input the function cannot"
              + " take, so the test stopped: function 'length' expects an input of type java.lang.String but got"
              + " java.lang.Integer");
      assertThat(length.stats().invocations()).as("no call was made").isZero();
      assertThatThrownBy(() -> LoadTest.of(c, "length", () -> null).quiet().invocations(10).run())
          .isInstanceOf(InvalidInputException.class).hasMessageContaining("does not accept a null input");
      assertThat(LoadTest.of(c, "length", () -> "abc").quiet().invocations(10).run().successes()).isEqualTo(10);
    }
  }
}
