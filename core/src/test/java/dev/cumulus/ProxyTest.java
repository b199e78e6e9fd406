package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link Cumulus#proxy(Class, Object)}: an interface whose every call is an invocation. */
class ProxyTest {
  private final Cumulus cumulus = Cumulus.create();

  @AfterEach
  void close() {
    cumulus.close();
  }

  public interface Named {
    String name();
  }

  public interface Calc extends Named {
    int add(int a, int b);

    int negate(int x);

    long ticks();

    default int twice(int x) {
      return add(x, x);
    }
  }

  static final class SimpleCalc implements Calc {
    final AtomicInteger calls = new AtomicInteger();
    volatile Thread lastThread;

    @Override
    public int add(int a, int b) {
      calls.incrementAndGet();
      lastThread = Thread.currentThread();
      return a + b;
    }

    @Override
    public int negate(int x) {
      return -x;
    }

    @Override
    public long ticks() {
      return 7L;
    }

    @Override
    public String name() {
      return "simple";
    }

    @Override
    public int twice(int x) {
      throw new AssertionError("the proxy runs the interface's default method, not the target's");
    }

    @Override
    public String toString() {
      return "SimpleCalc";
    }
  }

  private List<String> functionNames() {
    return cumulus.functions().stream().map(Fn::name).toList();
  }

  @Test
  void everyAbstractMethod_isAFunctionNamedSimpleNameDotMethod_inheritedOnesToo() {
    cumulus.proxy(Calc.class, new SimpleCalc());
    assertThat(functionNames()).containsExactly("Calc.add", "Calc.name", "Calc.negate", "Calc.ticks");
  }

  @Test
  void callsOnTheProxy_areInvocations_runOnCumulusVirtualThreads() {
    SimpleCalc target = new SimpleCalc();
    Calc calc = cumulus.proxy(Calc.class, target);
    assertThat(calc.add(2, 3)).isEqualTo(5);
    assertThat(calc.negate(4)).isEqualTo(-4);
    assertThat(calc.ticks()).isEqualTo(7L);
    assertThat(calc.name()).isEqualTo("simple");
    assertThat(target.calls).hasValue(1);
    assertThat(target.lastThread.isVirtual()).isTrue();
    assertThat(target.lastThread.getName()).contains("Calc.add");
    FunctionStats s = cumulus.function("Calc.add").stats();
    assertThat(s.invocations()).isEqualTo(1);
    assertThat(s.successes()).isEqualTo(1);
  }

  @Test
  void proxyFunctions_canBeCalledByName() {
    cumulus.proxy(Calc.class, new SimpleCalc());
    assertThat(cumulus.invoke("Calc.add", new Object[] {40, 2})).isEqualTo(42);
    assertThat(cumulus.invoke("Calc.negate", 1)).isEqualTo(-1);
    assertThat(cumulus.invoke("Calc.ticks", null)).isEqualTo(7L);
    assertThatThrownBy(() -> cumulus.invoke("Calc.add", new Object[] {40, "2"}))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Calc.add' expects args[1] of type int but got java.lang.String");
  }

  @Test
  void defaultMethods_runLocally_andCallTheFunctionsThroughTheProxy() {
    SimpleCalc target = new SimpleCalc();
    Calc calc = cumulus.proxy(Calc.class, target);
    assertThat(calc.twice(21)).isEqualTo(42);
    assertThat(functionNames()).doesNotContain("Calc.twice");
    assertThat(cumulus.function("Calc.add").stats().invocations()).isEqualTo(1);
  }

  @Test
  void objectMethods_areTheProxysOwn_notFunctions() {
    SimpleCalc target = new SimpleCalc();
    Calc calc = cumulus.proxy(Calc.class, target);
    assertThat(calc).isEqualTo(calc);
    assertThat(calc.equals(target)).isFalse();
    assertThat(calc.hashCode()).isEqualTo(System.identityHashCode(calc));
    assertThat(calc.toString()).isEqualTo("Cumulus proxy of dev.cumulus.ProxyTest$Calc over SimpleCalc");
    assertThat(target.calls).hasValue(0);
    assertThat(functionNames()).noneMatch(n -> n.contains("equals") || n.contains("hashCode") || n.contains("toString"));
  }

  public interface Shapes {
    double area(double r);

    double area(double w, double h);

    double area(int[] sides);

    int sides();

    @Override
    String toString(); // redeclared Object method: still not a function
  }

  static final class SimpleShapes implements Shapes {
    @Override
    public double area(double r) {
      return 3 * r * r;
    }

    @Override
    public double area(double w, double h) {
      return w * h;
    }

    @Override
    public double area(int[] sides) {
      return sides.length;
    }

    @Override
    public int sides() {
      return 4;
    }
  }

  @Test
  void overloads_getTheirParameterTypesInTheName_othersDoNot() {
    Shapes shapes = cumulus.proxy(Shapes.class, new SimpleShapes());
    assertThat(functionNames()).containsExactly("Shapes.area(double)", "Shapes.area(double,double)",
        "Shapes.area(int[])", "Shapes.sides");
    assertThat(shapes.area(2.0)).isEqualTo(12.0);
    assertThat(shapes.area(2.0, 3.0)).isEqualTo(6.0);
    assertThat(shapes.area(new int[] {1, 2, 3})).isEqualTo(3.0);
    assertThat(shapes.sides()).isEqualTo(4);
    assertThat(cumulus.function("Shapes.area(double,double)").stats().invocations()).isEqualTo(1);
  }

  /** Not public: Cumulus reaches it because the test package is open to it. */
  interface Hidden {
    String echo(String s);

    default String twice(String s) {
      return echo(s) + echo(s);
    }
  }

  @Test
  void aNonPublicInterface_inAPackageOpenToCumulus_works_defaultMethodsToo() {
    Hidden hidden = cumulus.proxy(Hidden.class, s -> s + "!");
    assertThat(hidden.echo("a")).isEqualTo("a!");
    assertThat(hidden.twice("b")).isEqualTo("b!b!");
    assertThat(cumulus.function("Hidden.echo").stats().invocations()).isEqualTo(3);
  }

  // ---------------------------------------------------------------------------------------------
  // Async methods

  public interface Lookup {
    CompletableFuture<String> fetch(String key);

    CompletionStage<Integer> length(String s);

    CompletableFuture<String> direct(String s);
  }

  static final class SlowLookup implements Lookup {
    final CountDownLatch gate = new CountDownLatch(1);
    final CompletableFuture<String> pending = new CompletableFuture<>();

    @Override
    public CompletableFuture<String> fetch(String key) {
      return pending.thenApply(v -> v + ":" + key);
    }

    @Override
    public CompletionStage<Integer> length(String s) {
      return CompletableFuture.completedStage(s.length()).thenApply(n -> n * 10);
    }

    @Override
    public CompletableFuture<String> direct(String s) {
      TestFunctions.await(gate); // the target itself blocks: the caller must not
      return CompletableFuture.completedFuture(s.toUpperCase(java.util.Locale.ROOT));
    }
  }

  @Test
  void asyncMethod_returnsAtOnce_andTheInvocationLastsUntilTheTargetsFutureCompletes() throws Exception {
    SlowLookup target = new SlowLookup();
    Lookup lookup = cumulus.proxy(Lookup.class, target);
    CompletableFuture<String> f = lookup.fetch("k");
    Fn<?, ?> fn = cumulus.function("Lookup.fetch");
    await().until(() -> fn.stats().inFlight() == 1);
    assertThat(f).isNotDone();
    target.pending.complete("v");
    assertThat(f.get()).isEqualTo("v:k"); // the value, not a future of a future
    assertThat(fn.stats().successes()).isEqualTo(1);
    assertThat(fn.spec().outputType()).isEqualTo(String.class);
  }

  @Test
  void asyncMethod_neverBlocksTheCaller_evenIfTheTargetBlocks() throws Exception {
    SlowLookup target = new SlowLookup();
    Lookup lookup = cumulus.proxy(Lookup.class, target);
    CompletableFuture<String> f = lookup.direct("abc");
    assertThat(f).isNotDone();
    target.gate.countDown();
    assertThat(f.get()).isEqualTo("ABC");
  }

  @Test
  void completionStageMethod_isFlattenedToo() throws Exception {
    Lookup lookup = cumulus.proxy(Lookup.class, new SlowLookup());
    assertThat(lookup.length("abcd").toCompletableFuture().get()).isEqualTo(40);
  }

  @Test
  void asyncMethod_targetsFailedFuture_failsTheProxysFuture() {
    SlowLookup target = new SlowLookup();
    Lookup lookup = cumulus.proxy(Lookup.class, target);
    CompletableFuture<String> f = lookup.fetch("k");
    target.pending.completeExceptionally(new IllegalStateException("backend down"));
    assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(FunctionFailedException.class)
        .cause().isExactlyInstanceOf(IllegalStateException.class).hasMessage("backend down");
  }

  @Test
  void asyncMethod_cancelledBeforeItStarts_neverRuns() {
    try (Cumulus one = Cumulus.builder().maxConcurrency(1).build()) {
      SlowLookup target = new SlowLookup();
      Lookup lookup = one.proxy(Lookup.class, target);
      CompletableFuture<String> running = lookup.direct("a");
      Fn<?, ?> fn = one.function("Lookup.direct");
      await().until(() -> fn.stats().inFlight() == 1);
      CompletableFuture<String> queued = lookup.direct("b");
      assertThat(fn.stats().queued()).isEqualTo(1);
      assertThat(queued.cancel(true)).isTrue();
      target.gate.countDown();
      assertThat(running.join()).isEqualTo("A");
      await().until(() -> fn.stats().cancelled() == 1);
      assertThat(fn.stats().successes()).isEqualTo(1);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Exceptions

  public interface Store {
    String load(String key) throws IOException;

    String parse(String text) throws IllegalArgumentException;

    void save(String key);

    CompletableFuture<String> loadLater(String key) throws IOException;
  }

  static final class FailingStore implements Store {
    @Override
    public String load(String key) throws IOException {
      throw new IOException("cannot load " + key);
    }

    @Override
    public String parse(String text) {
      throw new IllegalArgumentException("cannot parse " + text);
    }

    @Override
    public void save(String key) {
      throw new UncheckedIOException(new IOException("disk full"));
    }

    @Override
    public CompletableFuture<String> loadLater(String key) throws IOException {
      throw new IOException("cannot load " + key + " later");
    }
  }

  @Test
  void declaredCheckedException_isRethrownAsItself() {
    Store store = cumulus.proxy(Store.class, new FailingStore());
    assertThatThrownBy(() -> store.load("k"))
        .isExactlyInstanceOf(IOException.class)
        .hasMessage("cannot load k");
    assertThat(cumulus.function("Store.load").stats().failures()).isEqualTo(1);
  }

  @Test
  void declaredUncheckedException_isRethrownAsItself() {
    Store store = cumulus.proxy(Store.class, new FailingStore());
    assertThatThrownBy(() -> store.parse("x"))
        .isExactlyInstanceOf(IllegalArgumentException.class)
        .hasMessage("cannot parse x");
  }

  @Test
  void undeclaredException_isFunctionFailed_withItAsCause() {
    Store store = cumulus.proxy(Store.class, new FailingStore());
    assertThatThrownBy(() -> store.save("k"))
        .isInstanceOfSatisfying(FunctionFailedException.class,
            e -> assertThat(e.functionName()).isEqualTo("Store.save"))
        .cause().isExactlyInstanceOf(UncheckedIOException.class);
  }

  @Test
  void asyncMethod_declaredException_failsTheFutureWithItself() {
    Store store;
    store = cumulus.proxy(Store.class, new FailingStore());
    CompletableFuture<String> f;
    try {
      f = store.loadLater("k");
    } catch (IOException e) {
      throw new AssertionError("an async method must not throw", e);
    }
    assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class)
        .cause().isExactlyInstanceOf(IOException.class).hasMessage("cannot load k later");
  }

  @Test
  void nullSingleArgument_isInvalidInput() {
    Store store = cumulus.proxy(Store.class, new FailingStore());
    assertThatThrownBy(() -> store.save(null))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Store.save' does not accept a null input (it takes java.lang.String)");
  }

  @Test
  void runtimeExceptions_arriveAsTheyAre() {
    Calc calc = cumulus.proxy(Calc.class, new SimpleCalc());
    cumulus.close();
    assertThatThrownBy(() -> calc.add(1, 2)).isInstanceOf(RuntimeClosedException.class);
  }

  // ---------------------------------------------------------------------------------------------
  // Misuse

  public abstract static class AbstractCalc implements Calc {
  }

  @Test
  void aClassInsteadOfAnInterface_isRejected() {
    assertThatThrownBy(() -> cumulus.proxy(SimpleCalc.class, new SimpleCalc()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("proxy needs an interface but dev.cumulus.ProxyTest$SimpleCalc is a class;"
            + " extract an interface of the methods to make functions of");
    assertThatThrownBy(() -> cumulus.proxy(AbstractCalc.class, new AbstractCalc() {
      @Override
      public int add(int a, int b) {
        return 0;
      }

      @Override
      public int negate(int x) {
        return 0;
      }

      @Override
      public long ticks() {
        return 0;
      }

      @Override
      public String name() {
        return "";
      }
    })).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("proxy needs an interface but dev.cumulus.ProxyTest$AbstractCalc is a class");
    assertThat(cumulus.functions()).isEmpty();
  }

  @Test
  void nullTarget_isRejected() {
    assertThatThrownBy(() -> cumulus.proxy(Calc.class, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("target");
    assertThatThrownBy(() -> cumulus.proxy(null, new SimpleCalc()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("iface");
  }

  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void aTargetNotImplementingTheInterface_isRejected() {
    assertThatThrownBy(() -> cumulus.proxy((Class) Calc.class, "text"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the target, a java.lang.String, does not implement dev.cumulus.ProxyTest$Calc");
  }

  public interface OnlyDefaults {
    default int one() {
      return 1;
    }
  }

  @Test
  void anInterfaceWithoutAbstractMethods_isRejected() {
    assertThatThrownBy(() -> cumulus.proxy(OnlyDefaults.class, new OnlyDefaults() { }))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("interface dev.cumulus.ProxyTest$OnlyDefaults has no abstract method to make a function of");
  }

  @Test
  void proxyTwiceForTheSameInterface_isRejected_namingTheFunctions() {
    Calc first = cumulus.proxy(Calc.class, new SimpleCalc());
    assertThatThrownBy(() -> cumulus.proxy(Calc.class, new SimpleCalc()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("proxy(Calc) was already called on this runtime: its functions (Calc.add,"
            + " Calc.name, Calc.negate, Calc.ticks) are registered; reuse the proxy it returned, or"
            + " unregister those functions first");
    assertThat(first.add(1, 1)).isEqualTo(2); // the first proxy still works
    for (String name : List.of("Calc.add", "Calc.name", "Calc.negate", "Calc.ticks")) {
      cumulus.unregister(name);
    }
    Calc second = cumulus.proxy(Calc.class, new SimpleCalc());
    assertThat(second.add(2, 2)).isEqualTo(4);
  }

  @Test
  void aNameTakenByAnotherFunction_failsAndRegistersNoneOfTheInterface() {
    cumulus.register(FnSpec.of("Calc.negate", (Integer i) -> i).build());
    assertThatThrownBy(() -> cumulus.proxy(Calc.class, new SimpleCalc()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("proxy(Calc) cannot register function 'Calc.negate' for method"
            + " dev.cumulus.ProxyTest.Calc.negate(int): a function of that name is already registered");
    assertThat(functionNames()).containsExactly("Calc.negate");
  }
}
