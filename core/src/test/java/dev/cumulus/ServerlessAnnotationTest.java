package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link Serverless} methods registered by {@link Cumulus#registerAll(Object)}. */
class ServerlessAnnotationTest {
  private final Cumulus cumulus = Cumulus.create();

  @AfterEach
  void close() {
    cumulus.close();
  }

  public static class Greeter {
    final AtomicInteger calls = new AtomicInteger();

    @Serverless
    public String greet(String name) {
      calls.incrementAndGet();
      return "Hello, " + name;
    }

    @Serverless
    public int count() {
      return calls.get();
    }

    @Serverless
    public int add(int a, int b) {
      return a + b;
    }

    @Serverless
    public String join(String a, String b, long times) {
      return (a + b).repeat((int) times);
    }

    @Serverless
    public void forget(String s) {
      calls.incrementAndGet();
    }

    public String notAFunction(String s) {
      return s;
    }
  }

  private static List<String> names(List<Fn<?, ?>> fns) {
    return fns.stream().map(Fn::name).toList();
  }

  @Test
  void registerAll_registersEveryAnnotatedMethod_namedClassDotMethod_sortedByName() {
    Greeter greeter = new Greeter();
    List<Fn<?, ?>> fns = cumulus.registerAll(greeter);
    assertThat(names(fns)).containsExactly("Greeter.add", "Greeter.count", "Greeter.forget",
        "Greeter.greet", "Greeter.join");
    assertThat(names(cumulus.functions())).containsExactlyElementsOf(names(fns));
    assertThat(cumulus.invoke("Greeter.greet", "Ada")).isEqualTo("Hello, Ada");
    assertThat(greeter.calls).hasValue(1); // called on this very bean
  }

  @Test
  void noParameters_takesNull_andInputTypeIsVoid() {
    Greeter greeter = new Greeter();
    cumulus.registerAll(greeter);
    greeter.calls.set(41);
    assertThat(cumulus.invoke("Greeter.count", null)).isEqualTo(41);
    assertThat(cumulus.function("Greeter.count").spec().inputType()).isEqualTo(Void.class);
    assertThat(cumulus.function("Greeter.count").spec().outputType()).isEqualTo(Integer.class);
  }

  @Test
  void voidMethod_returnsNull() {
    Greeter greeter = new Greeter();
    cumulus.registerAll(greeter);
    assertThat(cumulus.invoke("Greeter.forget", "x")).isNull();
    assertThat(greeter.calls).hasValue(1);
    assertThat(cumulus.function("Greeter.forget").spec().outputType()).isEqualTo(Void.class);
  }

  @Test
  void oneParameter_takesTheArgument_typedCallsWork() {
    cumulus.registerAll(new Greeter());
    @SuppressWarnings("unchecked")
    Fn<String, String> greet = (Fn<String, String>) cumulus.function("Greeter.greet");
    assertThat(greet.invoke("Bob")).isEqualTo("Hello, Bob");
    assertThat(greet.invokeAsync("Eve").join()).isEqualTo("Hello, Eve");
    assertThat(greet.spec().inputType()).isEqualTo(String.class);
  }

  @Test
  void severalParameters_takeAnObjectArrayOfTheArguments() {
    cumulus.registerAll(new Greeter());
    assertThat(cumulus.invoke("Greeter.add", new Object[] {2, 3})).isEqualTo(5);
    assertThat(cumulus.invoke("Greeter.join", new Object[] {"a", "b", 2L})).isEqualTo("abab");
    assertThat(cumulus.invokeAsync("Greeter.add", new Object[] {20, 22}).join()).isEqualTo(42);
    assertThat(cumulus.function("Greeter.add").spec().inputType()).isEqualTo(Object[].class);
  }

  @Test
  void severalParameters_nullForAReferenceParameterIsPassed() {
    cumulus.registerAll(new Greeter());
    assertThat(cumulus.invoke("Greeter.join", new Object[] {null, "b", 1L})).isEqualTo("nullb");
  }

  // ---------------------------------------------------------------------------------------------
  // Type checks of by-name calls: InvalidInputException, nothing run, nothing counted

  @Test
  void byName_wrongType_namesExpectedAndActualType() {
    cumulus.registerAll(new Greeter());
    assertThatThrownBy(() -> cumulus.invoke("Greeter.greet", 42))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Greeter.greet' expects an input of type java.lang.String but got java.lang.Integer");
    assertThatThrownBy(() -> cumulus.invoke("Greeter.add", "2 3"))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Greeter.add' expects an input of type java.lang.Object[] but got java.lang.String");
    assertThat(cumulus.function("Greeter.greet").stats().invocations()).isZero();
  }

  public static class Numbers {
    @Serverless
    public long square(long x) {
      return x * x;
    }

    @Serverless
    public boolean negative(double d) {
      return d < 0;
    }
  }

  @Test
  void primitiveParameter_takesItsWrapper_andRejectsOtherWrappersAndNull() {
    cumulus.registerAll(new Numbers());
    assertThat(cumulus.invoke("Numbers.square", 7L)).isEqualTo(49L);
    assertThat(cumulus.invoke("Numbers.negative", -1.5)).isEqualTo(true);
    assertThat(cumulus.function("Numbers.square").spec().inputType()).isEqualTo(Long.class);
    assertThatThrownBy(() -> cumulus.invoke("Numbers.square", 7))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Numbers.square' expects an input of type java.lang.Long but got java.lang.Integer");
    assertThatThrownBy(() -> cumulus.invoke("Numbers.square", null))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Numbers.square' does not accept a null input (it takes java.lang.Long)");
    assertThat(cumulus.function("Numbers.square").stats().invocations()).isEqualTo(1);
  }

  @Test
  void severalParameters_wrongArity_isInvalidInput() {
    cumulus.registerAll(new Greeter());
    assertThatThrownBy(() -> cumulus.invoke("Greeter.add", new Object[] {1, 2, 3}))
        .isInstanceOfSatisfying(InvalidInputException.class,
            e -> assertThat(e.functionName()).isEqualTo("Greeter.add"))
        .hasMessage("function 'Greeter.add' takes 2 arguments (int,int) as an Object[] but got 3");
  }

  @Test
  void severalParameters_wrongElementType_namesPositionAndBothTypes() {
    cumulus.registerAll(new Greeter());
    assertThatThrownBy(() -> cumulus.invoke("Greeter.add", new Object[] {1, "2"}))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Greeter.add' expects args[1] of type int but got java.lang.String");
    assertThatThrownBy(() -> cumulus.invoke("Greeter.join", new Object[] {"a", "b", 2}))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Greeter.join' expects args[2] of type long but got java.lang.Integer");
  }

  @Test
  void severalParameters_nullForAPrimitive_isInvalidInput() {
    cumulus.registerAll(new Greeter());
    assertThatThrownBy(() -> cumulus.invoke("Greeter.add", new Object[] {null, 2}))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Greeter.add' expects args[0] of type int but got null");
  }

  @Test
  void invalidArguments_areNotAdmitted_notCounted_andFailTheFutureOnTheAsyncPath() {
    cumulus.registerAll(new Greeter());
    CompletableFuture<Object> f = cumulus.invokeAsync("Greeter.add", new Object[] {1});
    assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(InvalidInputException.class)
        .hasMessage("function 'Greeter.add' takes 2 arguments (int,int) as an Object[] but got 1");
    @SuppressWarnings("unchecked")
    Fn<Object[], Integer> add = (Fn<Object[], Integer>) cumulus.function("Greeter.add");
    assertThatThrownBy(() -> add.invoke(new Object[] {1, 2L})).isInstanceOf(InvalidInputException.class);
    FunctionStats s = add.stats();
    assertThat(s.invocations()).isZero();
    assertThat(s.failures()).isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // Options

  public static class Tuned {
    @Serverless(name = "fast-add", maxConcurrency = 2, queueCapacity = 5, timeoutMillis = 1_500,
        keepAliveMillis = 2_000, minInstances = 1)
    public int add(int a, int b) {
      return a + b;
    }

    @Serverless
    public String plain(String s) {
      return s;
    }
  }

  @Test
  void annotationOptions_reachTheSpec_unsetOnesKeepTheDefaults() {
    cumulus.registerAll(new Tuned());
    FnSpec<?, ?> tuned = cumulus.function("fast-add").spec();
    assertThat(tuned.maxConcurrency()).hasValue(2);
    assertThat(tuned.queueCapacity()).isEqualTo(5);
    assertThat(tuned.timeout()).isEqualTo(Duration.ofMillis(1_500));
    assertThat(tuned.keepAlive()).isEqualTo(Duration.ofSeconds(2));
    assertThat(tuned.minInstances()).isEqualTo(1);
    FnSpec<?, ?> plain = cumulus.function("Tuned.plain").spec();
    assertThat(plain.maxConcurrency()).isEmpty();
    assertThat(plain.queueCapacity()).isEqualTo(FnSpec.DEFAULT_QUEUE_CAPACITY);
    assertThat(plain.timeout()).isEqualTo(FnSpec.DEFAULT_TIMEOUT);
    assertThat(plain.keepAlive()).isEqualTo(FnSpec.DEFAULT_KEEP_ALIVE);
    assertThat(plain.minInstances()).isZero();
    assertThat(cumulus.invoke("fast-add", new Object[] {1, 1})).isEqualTo(2);
  }

  public static class BadOption {
    @Serverless(maxConcurrency = 0)
    public int f(int x) {
      return x;
    }
  }

  public static class BadName {
    @Serverless(name = "no spaces")
    public int f(int x) {
      return x;
    }
  }

  @Test
  void invalidOptionOrName_failsNamingTheMethodAndTheValue() {
    assertThatThrownBy(() -> cumulus.registerAll(new BadOption()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("@Serverless method dev.cumulus.ServerlessAnnotationTest.BadOption.f(int):"
            + " maxConcurrency must be positive but was 0");
    assertThatThrownBy(() -> cumulus.registerAll(new BadName()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("@Serverless method dev.cumulus.ServerlessAnnotationTest.BadName.f(int):"
            + " function name must be")
        .hasMessageEndingWith("but was 'no spaces'");
    assertThat(cumulus.functions()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // Exceptions

  public static class Failing {
    @Serverless
    public String read(String path) throws IOException {
      throw new IOException("no such file: " + path);
    }

    @Serverless
    public String check(String s) {
      throw new IllegalStateException("bad state " + s);
    }
  }

  @Test
  void checkedException_surfacesAsFunctionFailed_withTheOriginalAsCause() {
    cumulus.registerAll(new Failing());
    assertThatThrownBy(() -> cumulus.invoke("Failing.read", "/x"))
        .isInstanceOfSatisfying(FunctionFailedException.class, e -> {
          assertThat(e.functionName()).isEqualTo("Failing.read");
          assertThat(e.getCause()).isExactlyInstanceOf(IOException.class).hasMessage("no such file: /x");
        });
    assertThatThrownBy(() -> cumulus.invokeAsync("Failing.read", "/y").get())
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(FunctionFailedException.class)
        .cause().isExactlyInstanceOf(IOException.class);
    assertThat(cumulus.function("Failing.read").stats().failures()).isEqualTo(2);
  }

  @Test
  void uncheckedException_surfacesAsFunctionFailed_withTheOriginalAsCause() {
    cumulus.registerAll(new Failing());
    assertThatThrownBy(() -> cumulus.invoke("Failing.check", "s"))
        .isInstanceOf(FunctionFailedException.class)
        .cause().isExactlyInstanceOf(IllegalStateException.class).hasMessage("bad state s");
  }

  // ---------------------------------------------------------------------------------------------
  // Names: overloads, inheritance, anonymous classes

  public static class Calc {
    @Serverless
    public int add(int a, int b) {
      return a + b;
    }

    @Serverless
    public double add(double a, double b) {
      return a + b;
    }

    @Serverless(name = "sum-of-three")
    public int add(int a, int b, int c) {
      return a + b + c;
    }

    @Serverless
    public int[] pair(int[] xs) {
      return xs;
    }
  }

  @Test
  void overloadedMethods_getTheirParameterTypesInTheName() {
    List<Fn<?, ?>> fns = cumulus.registerAll(new Calc());
    assertThat(names(fns)).containsExactly("Calc.add(double,double)", "Calc.add(int,int)",
        "Calc.pair", "sum-of-three");
    assertThat(cumulus.invoke("Calc.add(int,int)", new Object[] {1, 2})).isEqualTo(3);
    assertThat(cumulus.invoke("Calc.add(double,double)", new Object[] {1.5, 2.0})).isEqualTo(3.5);
    assertThat(cumulus.invoke("sum-of-three", new Object[] {1, 2, 3})).isEqualTo(6);
    // A single parameter of an array type is the input itself, not spread.
    assertThat(cumulus.invoke("Calc.pair", new int[] {4, 5})).isEqualTo(new int[] {4, 5});
  }

  public static class Base {
    @Serverless
    public String hello(String who) {
      return "base hello " + who;
    }

    @Serverless
    public String bye(String who) {
      return "bye " + who;
    }
  }

  public static class Derived extends Base {
    @Override
    public String hello(String who) { // no annotation: the overridden method's counts
      return "derived hello " + who;
    }
  }

  @Test
  void inheritedAndOverriddenMethods_areFunctionsNamedForTheBeanClass_andRunTheOverride() {
    List<Fn<?, ?>> fns = cumulus.registerAll(new Derived());
    assertThat(names(fns)).containsExactly("Derived.bye", "Derived.hello");
    assertThat(cumulus.invoke("Derived.hello", "x")).isEqualTo("derived hello x");
    assertThat(cumulus.invoke("Derived.bye", "y")).isEqualTo("bye y");
  }

  @Test
  void anonymousBean_isNamedForItsNamedSuperclass() {
    List<Fn<?, ?>> fns = cumulus.registerAll(new Base() {
      @Override
      public String bye(String who) {
        return "ciao " + who;
      }
    });
    assertThat(names(fns)).containsExactly("Base.bye", "Base.hello");
    assertThat(cumulus.invoke("Base.bye", "z")).isEqualTo("ciao z");
  }

  /** Not public, nor is the class: Cumulus opens it (the test package is open to it). */
  static final class Hidden {
    @Serverless
    public String echo(String s) {
      return s;
    }
  }

  @Test
  void beanOfANonPublicClass_inAPackageOpenToCumulus_works() {
    cumulus.registerAll(new Hidden());
    assertThat(cumulus.invoke("Hidden.echo", "e")).isEqualTo("e");
  }

  // ---------------------------------------------------------------------------------------------
  // Misuse

  public static class StaticMethod {
    @Serverless
    public static int f(int x) {
      return x;
    }

    @Serverless
    public int g(int x) {
      return x;
    }
  }

  public static class PrivateMethod {
    @Serverless
    private int f(int x) {
      return x;
    }

    int use() {
      return f(1);
    }
  }

  public static class PackagePrivateMethod {
    @Serverless
    int f(int x) {
      return x;
    }
  }

  public abstract static class AbstractMethod {
    @Serverless
    public abstract int f(int x);
  }

  public static class ImplementsAbstract extends AbstractMethod {
    @Override
    public int f(int x) {
      return x;
    }
  }

  public interface Annotated {
    @Serverless
    int f(int x);
  }

  public static class ImplementsAnnotated implements Annotated {
    @Override
    public int f(int x) {
      return x;
    }
  }

  @Test
  void annotationOnAStaticMethod_isRejected_namingClassAndMethod() {
    assertThatThrownBy(() -> cumulus.registerAll(new StaticMethod()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("@Serverless method dev.cumulus.ServerlessAnnotationTest.StaticMethod.f(int) is"
            + " static; only instance methods of the bean can be functions");
    assertThat(cumulus.functions()).isEmpty(); // not even the valid one
  }

  @Test
  void annotationOnAPrivateMethod_isRejected() {
    assertThatThrownBy(() -> cumulus.registerAll(new PrivateMethod()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("@Serverless method dev.cumulus.ServerlessAnnotationTest.PrivateMethod.f(int) is"
            + " private; @Serverless methods must be public");
  }

  @Test
  void annotationOnAPackagePrivateMethod_isRejected() {
    assertThatThrownBy(() -> cumulus.registerAll(new PackagePrivateMethod()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("@Serverless method dev.cumulus.ServerlessAnnotationTest.PackagePrivateMethod.f(int)"
            + " is not public; @Serverless methods must be public");
  }

  @Test
  void annotationOnAnAbstractMethod_isRejected_inAClassOrAnInterface() {
    assertThatThrownBy(() -> cumulus.registerAll(new ImplementsAbstract()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("@Serverless method dev.cumulus.ServerlessAnnotationTest.AbstractMethod.f(int) is"
            + " abstract; annotate the method that implements it");
    assertThatThrownBy(() -> cumulus.registerAll(new ImplementsAnnotated()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("@Serverless method dev.cumulus.ServerlessAnnotationTest.Annotated.f(int) is"
            + " abstract; annotate the method that implements it");
  }

  @Test
  void beanWithoutAnnotatedMethods_isRejected() {
    assertThatThrownBy(() -> cumulus.registerAll("just a string"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("class java.lang.String has no method annotated @Serverless (registerAll looks at"
            + " the public instance methods of the bean's class and its superclasses)");
  }

  @Test
  void aClassInsteadOfABean_isRejected() {
    assertThatThrownBy(() -> cumulus.registerAll(Greeter.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("registerAll takes an instance")
        .hasMessageContaining("dev.cumulus.ServerlessAnnotationTest$Greeter");
  }

  @Test
  void nullBean_isRejected() {
    assertThatThrownBy(() -> cumulus.registerAll(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("bean");
  }

  @Test
  void sameBeanTwice_failsClearly_andRegistersNothingMore() {
    Greeter greeter = new Greeter();
    cumulus.registerAll(greeter);
    assertThatThrownBy(() -> cumulus.registerAll(greeter))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("this dev.cumulus.ServerlessAnnotationTest$Greeter bean is already registered:"
            + " function 'Greeter.add' of its method dev.cumulus.ServerlessAnnotationTest.Greeter.add(int,int)"
            + " exists; register a bean once, or unregister its functions first");
    assertThat(cumulus.functions()).hasSize(5);
  }

  @Test
  void anotherBeanOfTheSameClass_clashesOnTheDefaultNames() {
    cumulus.registerAll(new Greeter());
    assertThatThrownBy(() -> cumulus.registerAll(new Greeter()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("cannot register @Serverless method dev.cumulus.ServerlessAnnotationTest.Greeter.add(int,int)"
            + " as function 'Greeter.add': a function of that name is already registered (by another"
            + " Greeter bean); give the method its own @Serverless(name = ...)");
  }

  @Test
  void aNameTakenByAnotherFunction_failsAndRegistersNoneOfTheBean() {
    cumulus.register(FnSpec.of("Greeter.join", (String s) -> s).build());
    assertThatThrownBy(() -> cumulus.registerAll(new Greeter()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("cannot register @Serverless method dev.cumulus.ServerlessAnnotationTest.Greeter.join(String,String,long)"
            + " as function 'Greeter.join': a function of that name is already registered");
    assertThat(names(cumulus.functions())).containsExactly("Greeter.join");
  }

  public static class Clash {
    @Serverless(name = "same")
    public int a(int x) {
      return x;
    }

    @Serverless(name = "same")
    public int b(int x) {
      return x;
    }
  }

  @Test
  void twoMethodsWithTheSameName_areRejected() {
    assertThatThrownBy(() -> cumulus.registerAll(new Clash()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("would both be function 'same'")
        .hasMessageContaining("Clash.a(int)")
        .hasMessageContaining("Clash.b(int)");
  }

  @Test
  void registerAll_onAClosedRuntime_throwsRuntimeClosed() {
    cumulus.close();
    assertThatThrownBy(() -> cumulus.registerAll(new Greeter())).isInstanceOf(RuntimeClosedException.class);
  }

  @Test
  void registeredFunctions_scaleAndMeterLikeAnyOther() {
    Greeter greeter = new Greeter();
    cumulus.registerAll(greeter);
    for (int i = 0; i < 10; i++) {
      cumulus.invoke("Greeter.greet", "n" + i);
    }
    FunctionStats s = cumulus.function("Greeter.greet").stats();
    assertThat(s.invocations()).isEqualTo(10);
    assertThat(s.successes()).isEqualTo(10);
    assertThat(s.coldStarts()).isGreaterThanOrEqualTo(1);
  }
}
