package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;
import static dev.cumulus.Checks.requireState;

import dev.cumulus.internal.Clock;
import dev.cumulus.internal.Engine;
import dev.cumulus.internal.Registration;
import dev.cumulus.internal.RuntimeEvents;
import dev.cumulus.internal.SpecCode;
import dev.cumulus.internal.wrap.Beans;
import dev.cumulus.internal.wrap.FunctionExecutor;
import dev.cumulus.internal.wrap.FunctionProxy;
import dev.cumulus.internal.wrap.MethodFunction;
import java.lang.invoke.MethodType;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * An embeddable serverless runtime: register plain Java functions, invoke them, and let the runtime
 * run them on virtual threads that scale with demand, back to zero when idle, metered in CPU time.
 *
 * <pre>{@code
 * try (Cumulus cumulus = Cumulus.create()) {
 *   Fn<String, Integer> words = cumulus.register(
 *       FnSpec.of("word-count", (String s) -> s.split("\\s+").length).build());
 *   int n = words.invoke("a b c");                  // 3
 *   Object same = cumulus.invoke("word-count", "x"); // by name
 *   System.out.println(words.stats());
 * }
 * }</pre>
 *
 * <h2>Scaling</h2>
 * A function's concurrency (invocations running at once) follows demand up to its reserved
 * {@link FnSpec.Builder#maxConcurrency(int) maxConcurrency}, or, for a function without a
 * reservation, up to what the runtime's {@link Builder#maxConcurrency(int) maxConcurrency} leaves
 * unreserved. Beyond that, calls wait first in first out in the function's bounded queue, and a call
 * that finds the queue full fails fast with {@link ThrottledException}. When a function is idle it
 * holds no thread; once every function is idle and the carrier keep-alive has passed, the runtime
 * holds no thread at all.
 *
 * <p>Instances are thread-safe. Close the runtime when done: {@link #close()} lets accepted work
 * finish within the drain timeout.
 */
public final class Cumulus implements AutoCloseable {
  /** Default runtime-wide concurrency limit, the platforms' default account concurrency. */
  public static final int DEFAULT_MAX_CONCURRENCY = 1_000;
  /** Default time idle carrier threads stay alive. */
  public static final Duration DEFAULT_CARRIER_KEEP_ALIVE = Duration.ofSeconds(1);
  /** Default time {@link #close()} lets accepted invocations finish. */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
  /** Default deepest chain of synchronous calls from inside functions. */
  public static final int DEFAULT_MAX_CALL_DEPTH = 16;
  /** Default number of tenants kept apart in usage ({@link Builder#maxTenants(int)}). */
  public static final int DEFAULT_MAX_TENANTS = 100;

  private final Engine engine;
  private final @Nullable MeterRegistry meterRegistry;
  /** The binder {@link Builder#meterRegistry} asked for, closed with the runtime. */
  private final @Nullable CumulusMetrics metrics;

  private Cumulus(Engine engine, @Nullable MeterRegistry meterRegistry,
      CumulusMetrics.@Nullable Builder metricsOptions) {
    this.engine = engine;
    this.meterRegistry = meterRegistry;
    this.metrics = metricsOptions == null ? null : metricsOptions.buildFor(this);
  }

  /**
   * Returns a builder of a runtime.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Creates a runtime with every option at its default.
   *
   * @return a new runtime
   */
  public static Cumulus create() {
    return builder().build();
  }

  /**
   * Registers a function. If it has {@code minInstances}, they are created (their init run) before
   * this method returns.
   *
   * @param spec what to register
   * @param <I> the input type
   * @param <O> the output type
   * @return the registered function
   * @throws NullPointerException if {@code spec} is null
   * @throws IllegalStateException if a function of that name is registered, or its reserved
   *     concurrency exceeds what is left unreserved, or its {@code minInstances} exceed the runtime's
   *     {@link Builder#maxConcurrency(int) maxConcurrency} (no more instances could ever be used), or
   *     it needs a metering mode this runtime lacks
   * @throws FunctionFailedException if creating a provisioned instance failed
   * @throws RuntimeClosedException if the runtime is closed
   */
  @SuppressWarnings("unchecked")
  public <I extends @Nullable Object, O extends @Nullable Object> Fn<I, O> register(FnSpec<I, O> spec) {
    Objects.requireNonNull(spec, "spec");
    return (Fn<I, O>) engine.register(spec);
  }

  /**
   * Invokes a function by name and waits for its result.
   *
   * @param name the function's name
   * @param input the input, checked against the function's declared input type
   * @return the result
   * @throws NullPointerException if {@code name} is null
   * @throws UnknownFunctionException if no function has that name (the message lists near names)
   * @throws InvalidInputException if the input is null (and the function takes one), or is not of
   *     the function's declared {@linkplain FnSpec.Builder#inputType(Class) input type} (the message
   *     names both types); a function registered without an input type gets whatever is given, and a
   *     {@code ClassCastException} in its code fails the call as a {@link FunctionFailedException}
   * @throws CumulusException for every other failure, as listed by {@link Fn#invoke}
   */
  public @Nullable Object invoke(String name, @Nullable Object input) {
    Objects.requireNonNull(name, "name");
    return engine.invoke(name, input);
  }

  /**
   * Invokes a function by name without waiting. Every failure, an unknown name included, arrives
   * through the future.
   *
   * @param name the function's name
   * @param input the input
   * @return a future of the result
   * @throws NullPointerException if {@code name} is null
   */
  public CompletableFuture<@Nullable Object> invokeAsync(String name, @Nullable Object input) {
    Objects.requireNonNull(name, "name");
    return engine.invokeAsync(name, input);
  }

  /**
   * Invokes a function by name with call options (a {@linkplain CallOptions#tenant(String) tenant})
   * and waits for its result; see {@link #invoke(String, Object)}.
   *
   * @param name the function's name
   * @param input the input
   * @param options the call's options
   * @return the result
   * @throws NullPointerException if {@code name} or {@code options} is null
   * @throws UnknownFunctionException if no function has that name (the message lists near names)
   * @throws InvalidInputException if the input is not one the function takes
   * @throws CumulusException for every other failure, as listed by {@link Fn#invoke}
   */
  public @Nullable Object invoke(String name, @Nullable Object input, CallOptions options) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(options, "options");
    return engine.invoke(name, input, options);
  }

  /**
   * Invokes a function by name with call options (a {@linkplain CallOptions#tenant(String) tenant})
   * without waiting. Every failure, an unknown name included, arrives through the future.
   *
   * @param name the function's name
   * @param input the input
   * @param options the call's options
   * @return a future of the result
   * @throws NullPointerException if {@code name} or {@code options} is null
   */
  public CompletableFuture<@Nullable Object> invokeAsync(String name, @Nullable Object input, CallOptions options) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(options, "options");
    return engine.invokeAsync(name, input, options);
  }

  /**
   * Returns the registered function of that name.
   *
   * @param name the name
   * @return the function
   * @throws NullPointerException if {@code name} is null
   * @throws UnknownFunctionException if there is none (the message lists near names)
   */
  public Fn<?, ?> function(String name) {
    Objects.requireNonNull(name, "name");
    return engine.function(name);
  }

  /**
   * Returns the registered function of that name, typed: its declared input and output types must
   * be the given ones (or undeclared, {@code Object}).
   *
   * <pre>{@code
   * Fn<String, Integer> words = cumulus.function("word-count", String.class, Integer.class);
   * }</pre>
   *
   * @param name the name
   * @param inputType the input type expected
   * @param outputType the output type expected
   * @param <I> the input type
   * @param <O> the output type
   * @return the function
   * @throws NullPointerException if an argument is null
   * @throws UnknownFunctionException if there is none (the message lists near names)
   * @throws IllegalArgumentException if its declared types differ (the message names them)
   */
  @SuppressWarnings("unchecked")
  public <I extends @Nullable Object, O extends @Nullable Object> Fn<I, O> function(
      String name, Class<I> inputType, Class<O> outputType) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(inputType, "inputType");
    Objects.requireNonNull(outputType, "outputType");
    Fn<?, ?> fn = engine.function(name);
    Class<?> in = fn.spec().inputType();
    Class<?> out = fn.spec().outputType();
    requireArgument((in == Object.class || in == box(inputType))
            && (out == Object.class || out == box(outputType)),
        "function '%s' takes %s and returns %s, not %s and %s", name, in.getName(), out.getName(),
        inputType.getName(), outputType.getName());
    return (Fn<I, O>) fn;
  }

  /**
   * Returns the registered functions, sorted by name.
   *
   * @return an immutable snapshot
   */
  public List<Fn<?, ?>> functions() {
    return List.copyOf(engine.functions());
  }

  /**
   * Unregisters a function. Later calls fail with {@link UnknownFunctionException}; calls already
   * accepted finish; then its instances are closed and its reserved concurrency is released. Its
   * {@linkplain Fn#emit events} still waiting (for capacity or for a retry) go to its
   * {@link DeadLetterSink} with reason {@link DeadLetter.Reason#SHUTDOWN}; those running finish,
   * without retries.
   *
   * @param name the function's name
   * @return true if it was registered
   * @throws NullPointerException if {@code name} is null
   */
  public boolean unregister(String name) {
    Objects.requireNonNull(name, "name");
    return engine.unregister(name);
  }

  /**
   * Tells {@code watcher} the name of every function registered or unregistered from now on, by any
   * means ({@link #register}, {@link #registerAll}, {@link #proxy}, {@link #executor},
   * {@link #unregister}). It is called after the change, on the thread that made it; it gets a name,
   * not the change, so it reads the present state itself ({@link #function(String)},
   * {@link #functions()}): two changes of one name made at once by two threads may reach it in
   * either order, and the state it reads is the latest. Functions registered before this call are
   * not reported: read them with {@link #functions()} after it. This is how an adapter keeps an
   * outside view (event-bus consumers, a routing table) in step with the runtime. A registration
   * taken back (a function of {@link #registerAll} when a later one fails, or one whose provisioned
   * instances could not be created) is reported as it is made and again as it is taken back; the
   * state read then shows it gone.
   *
   * <p>It is told what {@link #subscribe} turns into {@link CumulusEvent.Registered} and
   * {@link CumulusEvent.Unregistered}, but synchronously and never dropped, which is what keeping a
   * view in step needs; subscribe to see them as events, off the registering thread.
   *
   * <pre>{@code
   * AutoCloseable watch = cumulus.watchRegistrations(name -> refresh(name));
   * cumulus.functions().forEach(fn -> refresh(fn.name()));
   * }</pre>
   *
   * <p>A watcher should return quickly (it runs inside {@code register} and {@code unregister});
   * one that throws is logged and does not fail the registration or stop the other watchers.
   *
   * @param watcher called with a function's name after it was registered or unregistered
   * @return a handle whose {@code close()} stops the calls (idempotent, never throws)
   * @throws NullPointerException if {@code watcher} is null
   */
  public AutoCloseable watchRegistrations(Consumer<? super String> watcher) {
    Objects.requireNonNull(watcher, "watcher");
    // The seam every observer of the runtime uses (the metrics binder, subscribe's Registered and
    // Unregistered): told synchronously, after the change, on the thread that made it.
    return engine.hub().observe(new RuntimeEvents() {
      @Override
      public void registered(Registration fn) {
        watcher.accept(fn.name());
      }

      @Override
      public void unregistered(Registration fn) {
        watcher.accept(fn.name());
      }
    });
  }

  /**
   * Registers every {@link Serverless @Serverless} method of {@code bean} as a function, all or none:
   * if one of them cannot be registered, none is.
   *
   * <pre>{@code
   * public class Greeter {
   *   @Serverless public String greet(String name) { return "Hello, " + name; }
   * }
   * List<Fn<?, ?>> fns = cumulus.registerAll(new Greeter());
   * Object hello = cumulus.invoke("Greeter.greet", "Ada"); // "Hello, Ada"
   * }</pre>
   *
   * <ul>
   *   <li><b>Methods:</b> the public instance methods of the bean's class, declared there or
   *       inherited (from a superclass, or a default method of an interface), annotated on the method
   *       itself or on the superclass method it overrides. A call runs the bean's own implementation,
   *       through a method handle resolved once (no reflection per call).
   *   <li><b>Names:</b> {@link Serverless#name()}, or by default {@code <SimpleClassName>.<method>}
   *       (the simple name of the bean's class; for an anonymous class, of its nearest named
   *       superclass). When several annotated methods share a method name, each one without an
   *       explicit name gets the simple names of its parameter types appended:
   *       {@code Calc.add(int,int)} and {@code Calc.add(double,double)}.
   *   <li><b>Input:</b> a method without parameters takes {@code null} (input type {@code Void}); a
   *       method with one parameter takes the argument (a primitive parameter its wrapper); a method
   *       with several takes an {@code Object[]} of the arguments in order. The array is checked
   *       before admission: a wrong length, an element of the wrong type or a {@code null} for a
   *       primitive parameter fails with {@link InvalidInputException} naming the function, the
   *       position and both types. No conversion other than boxing is made: a {@code long}
   *       parameter takes a {@code Long}, not an {@code Integer}.
   *   <li><b>Output:</b> the returned value, boxed; {@code null} for a {@code void} method.
   *   <li><b>Exceptions:</b> whatever the method throws, checked or not, fails the invocation with
   *       {@link FunctionFailedException} whose cause is the method's exception itself.
   *   <li><b>Options:</b> the annotation's; an element left at its default keeps the {@link FnSpec}
   *       default.
   * </ul>
   *
   * <p>Invocations call the bean concurrently, up to each function's concurrency: the bean must be
   * thread-safe, or its methods annotated {@code maxConcurrency = 1}.
   *
   * @param bean the object whose annotated methods become functions
   * @return the registered functions, sorted by name
   * @throws NullPointerException if {@code bean} is null
   * @throws IllegalArgumentException if the bean has no annotated method, an annotation is on a
   *     static, non-public or abstract method, a name or option is invalid, two methods would get the
   *     same name, or Cumulus may not call the bean's class (not public, and its package not open to
   *     {@code dev.cumulus.core}); the message names the class and the method
   * @throws IllegalStateException if a function of one of the names is already registered, for
   *     instance because this bean was registered before (the message says so)
   * @throws RuntimeClosedException if the runtime is closed
   * @throws FunctionFailedException if creating a provisioned instance ({@code minInstances}) failed
   */
  public List<Fn<?, ?>> registerAll(Object bean) {
    Objects.requireNonNull(bean, "bean");
    requireOpen("the @Serverless methods of " + bean.getClass().getName(), null);
    return List.copyOf(registerEach(Beans.plan(bean, engine::registered)));
  }

  /**
   * Returns a {@code T} whose every call is an invocation of a function calling {@code target}. Each
   * abstract method of {@code iface} (declared or inherited) is registered as the function
   * {@code <SimpleName>.<method>}, where {@code SimpleName} is the interface's simple name; a method
   * whose name is overloaded gets the simple names of its parameter types appended, so the overloads
   * of {@code Calc.add} are the functions {@code Calc.add(int,int)} and
   * {@code Calc.add(double,double)}. Inputs are mapped as for {@link #registerAll}: nothing, the
   * argument, or an {@code Object[]} of the arguments.
   *
   * <pre>{@code
   * Calc calc = cumulus.proxy(Calc.class, new SimpleCalc());
   * int five = calc.add(2, 3);                    // an invocation of function "Calc.add"
   * Object same = cumulus.invoke("Calc.add", new Object[] {2, 3});
   * }</pre>
   *
   * <ul>
   *   <li>A method declared to return {@link CompletableFuture}, {@link java.util.concurrent.CompletionStage}
   *       or {@link java.util.concurrent.Future} calls {@link Fn#invokeAsync} and returns at once,
   *       never blocking the caller. If the target's method returns a future itself, the invocation
   *       lasts until that future completes (so its limits, timeout and metering cover the work) and
   *       the proxy's future completes with its value: futures are not nested. Cancelling the returned
   *       future before the invocation starts means it never runs.
   *   <li>An exception of the target that the interface method declares (in its {@code throws}
   *       clause, checked or not) reaches the caller as itself; any other as
   *       {@link FunctionFailedException} with it as the cause. The runtime's own exceptions
   *       ({@link ThrottledException}, {@link FunctionTimeoutException}, ...) arrive as they are. For
   *       a future-returning method the same exceptions fail the future.
   *   <li>Default methods run on the caller's thread (their calls of abstract methods go through the
   *       proxy); {@code equals} and {@code hashCode} are the proxy's identity, and {@code toString}
   *       describes the proxy. None of them is a function.
   * </ul>
   *
   * <p>One proxy per interface and runtime: calling this again for the same interface fails with an
   * {@link IllegalStateException} that names the functions already registered; unregister them to
   * proxy another target. The proxy is thread-safe if the target is.
   *
   * @param iface the interface whose methods become functions
   * @param target the implementation the functions call
   * @param <T> the interface type
   * @return the proxy
   * @throws NullPointerException if {@code iface} or {@code target} is null
   * @throws IllegalArgumentException if {@code iface} is not an interface (a class, say), is sealed,
   *     has no abstract method, or is not implemented by {@code target}, or two of its methods would
   *     get the same name
   * @throws IllegalStateException if a function of one of the names is already registered, for
   *     instance by an earlier proxy of the same interface (the message says so)
   * @throws RuntimeClosedException if the runtime is closed
   */
  public <T> T proxy(Class<T> iface, T target) {
    Objects.requireNonNull(iface, "iface");
    Objects.requireNonNull(target, "target");
    requireOpen("the functions of a proxy of " + iface.getName(), null);
    List<MethodFunction> planned = FunctionProxy.plan(iface, target, engine::registered);
    return FunctionProxy.create(iface, target, planned, registerEach(planned));
  }

  /**
   * Registers the function {@code name}, whose input is a task, and returns an
   * {@link ExecutorService} whose every task runs as one invocation of it, with the {@link FnSpec}
   * defaults. See {@link #executor(String, Consumer)}.
   *
   * @param name the function's name
   * @return the executor
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if the name is not a valid function name
   * @throws IllegalStateException if a function of that name is already registered
   * @throws RuntimeClosedException if the runtime is closed
   */
  public ExecutorService executor(String name) {
    return executor(name, options -> { });
  }

  /**
   * Registers the function {@code name}, whose input is a task ({@code Runnable}), configured by
   * {@code options}, and returns an {@link ExecutorService} whose every task runs as one invocation
   * of it: the function's concurrency limit, queue, throttling, timeout, scaling to zero and metering
   * apply to the tasks, and its stats count them.
   *
   * <pre>{@code
   * ExecutorService pool = cumulus.executor("thumbnails", spec -> spec
   *     .maxConcurrency(4)
   *     .queueCapacity(100)
   *     .timeout(Duration.ofMinutes(5)));
   * Future<Integer> size = pool.submit(() -> resize(image));
   * }</pre>
   *
   * <p>{@code options} receives the function's builder, its input type already set; set any other
   * option on it, and do not build it. The {@code ExecutorService} contract holds as for a
   * {@code ThreadPoolExecutor}:
   *
   * <ul>
   *   <li>A task the function cannot admit (its queue is full, the runtime is closed) is rejected
   *       with {@link java.util.concurrent.RejectedExecutionException} caused by the
   *       {@link ThrottledException} (or {@link RuntimeClosedException}); so is every task after
   *       {@code shutdown}.
   *   <li>{@code Future.get} gives the task's result, or an {@code ExecutionException} caused by its
   *       exception, or by {@link FunctionTimeoutException} if the task ran past the function's
   *       timeout (60 s unless set: long tasks need a longer one). {@code cancel(true)} interrupts a
   *       running task; a cancelled task that has not started never runs.
   *   <li>{@code shutdown()} accepts no more tasks and lets the accepted ones run;
   *       {@code shutdownNow()} also interrupts the running ones and returns those that never started
   *       (they never run here); {@code awaitTermination} waits until none is left.
   *   <li>A task given to {@code execute} that throws is counted as a failure of the function and
   *       logged (there is no future to report it).
   * </ul>
   *
   * <p>The function stays registered after the executor terminates, so its stats stay readable;
   * {@link #unregister(String)} it to reuse the name. Closing the runtime does not shut the executor
   * down, but every task it is given is rejected from then on.
   *
   * @param name the function's name
   * @param options sets the function's options, such as {@code maxConcurrency},
   *     {@code queueCapacity} and {@code timeout}
   * @return the executor
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the name is not a valid function name, or an option is
   *     invalid
   * @throws IllegalStateException if a function of that name is already registered, if
   *     {@code options} sets the input type or builds the spec (the message says not to), or the
   *     reserved concurrency does not fit
   * @throws RuntimeClosedException if the runtime is closed
   */
  public ExecutorService executor(String name, Consumer<? super FnSpec.Builder<Runnable, @Nullable Object>> options) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(options, "options");
    requireOpen("the function of executor '" + name + "'", name);
    FunctionExecutor executor = new FunctionExecutor(name);
    FnSpec.Builder<Runnable, @Nullable Object> builder = FnSpec.<Runnable, @Nullable Object>of(name, executor::handle)
        .fixInputType(Runnable.class, "the executor sets the inputType of '" + name + "' itself (its input is"
            + " the submitted task, a Runnable): do not set it in executor options");
    options.accept(builder);
    requireState(!builder.isBuilt(), "the options of executor '%s' called build(): do not call build() in"
        + " executor options; set the options on the builder and return, and the executor builds the function", name);
    executor.attach(register(builder.build()));
    return executor;
  }

  /**
   * Fails a registration on a closed runtime before anything else is looked at: a bean registered
   * before the close would otherwise be told its names are taken.
   */
  private void requireOpen(String what, @Nullable String function) {
    if (engine.isClosing()) {
      throw new RuntimeClosedException(function, "the Cumulus runtime is closed; cannot register " + what);
    }
  }

  /** Registers functions all or none: if one fails, the ones registered before it are taken back. */
  private List<Fn<?, ?>> registerEach(List<MethodFunction> functions) {
    List<Fn<?, ?>> registered = new ArrayList<>(functions.size());
    try {
      for (MethodFunction f : functions) {
        registered.add(engine.register(f.spec()));
      }
    } catch (RuntimeException | Error e) {
      for (Fn<?, ?> fn : registered) {
        engine.discard(fn);
      }
      throw e;
    }
    return registered;
  }

  private static Class<?> box(Class<?> type) {
    return MethodType.methodType(type).wrap().returnType();
  }

  /**
   * Returns the runtime's metered usage: every function's stats (unregistered ones included), the
   * totals, the metering mode and the window covered, and the same per tenant
   * ({@link Usage#byTenant()}). Price it with {@link Usage#bill(PriceModel)}.
   *
   * @return a snapshot
   */
  public Usage usage() {
    java.time.Instant now = java.time.Instant.now();
    Map<String, Usage> byTenant = new TreeMap<>();
    engine.allTenantStats().forEach((tenant, lines) ->
        byTenant.put(tenant, new Usage(engine.meteringMode(), engine.createdAt(), now, lines)));
    return new Usage(engine.meteringMode(), engine.createdAt(), now, engine.allStats(), byTenant);
  }

  /**
   * Returns how many of the runtime's own carrier threads are alive now: the platform threads that
   * run its functions' virtual threads (at most {@link Builder#carrierThreads(int)}). They start with
   * the first invocation and end once the runtime has been idle for the
   * {@linkplain Builder#carrierKeepAlive(Duration) carrier keep-alive}, so zero is the figure of a
   * runtime scaled to zero (warm instances hold no thread). Where the JVM does not let Cumulus run
   * carriers of its own (functions then run on the JDK's default scheduler, which the runtime does not
   * own), it is always zero. A reading of the moment, cheap enough for a gauge or a dashboard.
   *
   * @return the live carrier threads, zero or more
   */
  public int liveCarrierThreads() {
    return engine.liveCarriers();
  }

  /**
   * Returns how this runtime meters compute.
   *
   * @return the metering mode in force
   */
  public MeteringMode meteringMode() {
    return engine.meteringMode();
  }

  /**
   * Returns the registry given to {@link Builder#meterRegistry}, to which the runtime's meters are
   * bound (see {@link CumulusMetrics}). An adapter can tell from it whether it may serve a Prometheus
   * scrape.
   *
   * @return the registry, or empty if none was given
   */
  public Optional<MeterRegistry> meterRegistry() {
    return Optional.ofNullable(meterRegistry);
  }

  /**
   * Delivers every {@link CumulusEvent} from now on to {@code listener}: registrations, scaling from
   * and to zero, cold starts, throttles, timeouts, dead letters, of every function.
   *
   * <pre>{@code
   * try (CumulusEvent.Subscription scaling = cumulus.subscribe(e -> {
   *   if (e instanceof CumulusEvent.ScaledFromZero || e instanceof CumulusEvent.ScaledToZero) {
   *     System.out.println(e);
   *   }
   * })) {
   *   // ...
   * }
   * }</pre>
   *
   * <ul>
   *   <li><b>Off the hot path and off the caller's thread:</b> the runtime only appends the event to
   *       the subscription's buffer; a virtual thread of the JDK's scheduler hands the events to the
   *       listener, one at a time. It starts when an event arrives and ends when the buffer is empty,
   *       so an idle subscription holds no thread.
   *   <li><b>In order:</b> events reach the listener in the order they were produced, so in order per
   *       function (events of different functions produced at the same time by different threads have
   *       no order of their own).
   *   <li><b>A listener that throws</b> is logged and counted ({@link CumulusEvent.Subscription#failures()},
   *       meter {@code cumulus.listener.failures}) and keeps receiving events; no call ever sees it.
   *   <li><b>Floods are bounded:</b> throttles are coalesced ({@link CumulusEvent.Throttled#count()}),
   *       and any other event beyond {@value CumulusEvent.Subscription#BUFFER_CAPACITY} undelivered
   *       ones is dropped and counted ({@link CumulusEvent.Subscription#dropped()}).
   * </ul>
   *
   * <p>Subscribing costs the runtime nothing until then: with no subscription, producing an event
   * allocates nothing and takes no lock. Subscriptions outlive {@link #close()}: they receive the
   * events of the shutdown, then nothing more.
   *
   * @param listener receives the events; it should not block for long (it holds up its own
   *     subscription only)
   * @return the subscription; close it to stop the delivery
   * @throws NullPointerException if {@code listener} is null
   */
  public CumulusEvent.Subscription subscribe(Consumer<? super CumulusEvent> listener) {
    Objects.requireNonNull(listener, "listener");
    return engine.hub().subscribe(listener);
  }

  /**
   * Closes the runtime: new calls fail with {@link RuntimeClosedException}; accepted calls, running
   * or queued, may finish within the drain timeout; what is left then fails with
   * {@link RuntimeClosedException} (no future stays incomplete); then every instance is closed.
   * {@linkplain Fn#emit Events}: no more are accepted; retries waiting go to the dead-letter sink
   * at once and the backlog runs on until the drain deadline; the events not run by then (waiting or
   * running) go to the sink too (reason {@link DeadLetter.Reason#SHUTDOWN}), which is given as long
   * again to take them. Triggers stop. Then the runtime's threads end: when this returns, none of
   * them is alive. One exception: code past its timeout that ignores the interrupt keeps its thread,
   * and the carriers, until it returns; close waits for it up to 1 s more (never more than the drain
   * timeout), then returns, and those threads end when the code returns. Blocks until done.
   * Idempotent; a second caller waits for the first to finish. Called from a function's own thread
   * (or a thread its code started), it does not wait for the drain.
   */
  @Override
  public void close() {
    engine.close();
    if (metrics != null) {
      metrics.close(); // already done by the runtime's close; this also drops the binder's registries
    }
  }

  Engine engine() {
    return engine;
  }

  @Override
  public String toString() {
    return "Cumulus{functions=" + engine.functions().size() + ", maxConcurrency="
        + engine.maxConcurrency() + ", meteringMode=" + engine.meteringMode() + "}";
  }

  /**
   * Collects the options of a {@link Cumulus} runtime. Each option may be set once; a bad value fails
   * at once with an {@link IllegalArgumentException} naming the option and the value.
   */
  public static final class Builder {
    private int maxConcurrency = -1;
    private @Nullable MeteringMode meteringMode;
    private int carrierThreads = -1;
    private @Nullable Duration carrierKeepAlive;
    private @Nullable Duration drainTimeout;
    private int maxCallDepth = -1;
    private int maxTenants = -1;
    private @Nullable Clock clock;
    private RuntimeEvents events = RuntimeEvents.NONE;
    private @Nullable MeterRegistry meterRegistry;
    private CumulusMetrics.@Nullable Builder metricsOptions;
    private boolean built;

    private Builder() {}

    /**
     * Sets the runtime-wide limit of invocations running at once, across all functions (the
     * "account limit"). Functions' reserved concurrency comes out of it.
     *
     * @param maxConcurrency at least 1 (default {@value Cumulus#DEFAULT_MAX_CONCURRENCY})
     * @return this builder
     * @throws IllegalArgumentException if not positive
     * @throws IllegalStateException if already set
     */
    public Builder maxConcurrency(int maxConcurrency) {
      requireState(this.maxConcurrency == -1, "maxConcurrency was already set to %s", this.maxConcurrency);
      requireArgument(maxConcurrency > 0, "maxConcurrency must be positive but was %s", maxConcurrency);
      this.maxConcurrency = maxConcurrency;
      return this;
    }

    /**
     * Asks for a metering mode. Unset, the runtime meters {@link MeteringMode#EXACT} when the JVM
     * allows it and otherwise falls back to {@link MeteringMode#WALL_CLOCK_ONLY}, logging one
     * warning that names the JVM option it needs.
     *
     * @param meteringMode the mode
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder meteringMode(MeteringMode meteringMode) {
      Objects.requireNonNull(meteringMode, "meteringMode");
      requireState(this.meteringMode == null, "meteringMode was already set to %s", this.meteringMode);
      this.meteringMode = meteringMode;
      return this;
    }

    /**
     * Sets how many carrier threads run the functions' virtual threads in exact metering mode.
     *
     * @param carrierThreads at least 1 (default: the available processors)
     * @return this builder
     * @throws IllegalArgumentException if not positive
     * @throws IllegalStateException if already set
     */
    public Builder carrierThreads(int carrierThreads) {
      requireState(this.carrierThreads == -1, "carrierThreads was already set to %s", this.carrierThreads);
      requireArgument(carrierThreads > 0 && carrierThreads <= 32_767,
          "carrierThreads must be between 1 and 32767 but was %s", carrierThreads);
      this.carrierThreads = carrierThreads;
      return this;
    }

    /**
     * Sets how long an idle carrier thread stays alive before it ends. Warm instances are kept by
     * their function's {@code keepAlive} instead, and hold no thread (timers, such as their expiry,
     * wait on a parked virtual thread).
     *
     * @param carrierKeepAlive positive (default 1 s)
     * @return this builder
     * @throws IllegalArgumentException if zero or negative
     * @throws IllegalStateException if already set
     */
    public Builder carrierKeepAlive(Duration carrierKeepAlive) {
      requireState(this.carrierKeepAlive == null, "carrierKeepAlive was already set to %s", this.carrierKeepAlive);
      this.carrierKeepAlive = Checks.positive("carrierKeepAlive", carrierKeepAlive);
      return this;
    }

    /**
     * Sets how long {@link Cumulus#close()} lets accepted invocations finish before failing them.
     *
     * @param drainTimeout zero or positive (default 30 s)
     * @return this builder
     * @throws IllegalArgumentException if negative
     * @throws IllegalStateException if already set
     */
    public Builder drainTimeout(Duration drainTimeout) {
      Objects.requireNonNull(drainTimeout, "drainTimeout");
      requireState(this.drainTimeout == null, "drainTimeout was already set to %s", this.drainTimeout);
      requireArgument(!drainTimeout.isNegative(), "drainTimeout must not be negative but was %s", drainTimeout);
      this.drainTimeout = Checks.notTooLong("drainTimeout", drainTimeout);
      return this;
    }

    /**
     * Sets how deep a chain of synchronous calls from inside functions may go ({@code a} calls
     * {@code b}, which calls {@code c}, ...): a call that would make the chain deeper fails at once
     * with a {@link CumulusException} naming the chain, as the platforms guard against runaway
     * recursion. (A call that could only wait for slots held by its own chain fails at once too,
     * whatever the depth.)
     *
     * @param maxCallDepth at least 1 (default {@value Cumulus#DEFAULT_MAX_CALL_DEPTH}); 1 allows
     *     no call from inside a function to wait for another
     * @return this builder
     * @throws IllegalArgumentException if not positive
     * @throws IllegalStateException if already set
     */
    public Builder maxCallDepth(int maxCallDepth) {
      requireState(this.maxCallDepth == -1, "maxCallDepth was already set to %s", this.maxCallDepth);
      requireArgument(maxCallDepth > 0, "maxCallDepth must be positive but was %s", maxCallDepth);
      this.maxCallDepth = maxCallDepth;
      return this;
    }

    /**
     * Sets how many tenants the runtime keeps apart in its usage, bills (and meters): the first this
     * many distinct tenants named by calls ({@link CallOptions#tenant(String)}). The usage of calls
     * made for further tenants is accounted together under the tenant {@code "other"} (which a tenant
     * of that name shares), so that callers that make up tenant names cannot grow the runtime's
     * memory without bound. Fair queueing is by each call's own tenant, whatever the accounting.
     *
     * @param maxTenants 1 to 100 000 (default {@value Cumulus#DEFAULT_MAX_TENANTS})
     * @return this builder
     * @throws IllegalArgumentException if not in range
     * @throws IllegalStateException if already set
     */
    public Builder maxTenants(int maxTenants) {
      requireState(this.maxTenants == -1, "maxTenants was already set to %s", this.maxTenants);
      requireArgument(maxTenants > 0 && maxTenants <= 100_000,
          "maxTenants must be between 1 and 100000 but was %s", maxTenants);
      this.maxTenants = maxTenants;
      return this;
    }

    /** Tells {@code events} the runtime's moments (package-private: tests only, for now). */
    Builder events(RuntimeEvents events) {
      this.events = Objects.requireNonNull(events, "events");
      return this;
    }

    /**
     * Publishes the runtime's meters to {@code registry}: binds a {@link CumulusMetrics} (its default
     * options) when the runtime is built, and removes its meters when the runtime closes. The
     * registry is then {@link Cumulus#meterRegistry()}.
     *
     * @param registry the registry
     * @return this builder
     * @throws NullPointerException if {@code registry} is null
     * @throws IllegalStateException if already set
     */
    public Builder meterRegistry(MeterRegistry registry) {
      return meterRegistry(registry, options -> { });
    }

    /**
     * Publishes the runtime's meters to {@code registry}, with options: as
     * {@link #meterRegistry(MeterRegistry)}, and {@code options} receives the binder's builder to set
     * them on (do not build it).
     *
     * <pre>{@code
     * Cumulus cumulus = Cumulus.builder()
     *     .meterRegistry(registry, metrics -> metrics.percentileHistogram(true))
     *     .build();
     * }</pre>
     *
     * @param registry the registry
     * @param options sets options such as {@link CumulusMetrics.Builder#tags} and
     *     {@link CumulusMetrics.Builder#percentileHistogram}
     * @return this builder
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if already set
     * @throws IllegalArgumentException if {@code options} sets an invalid option
     */
    public Builder meterRegistry(MeterRegistry registry, Consumer<? super CumulusMetrics.Builder> options) {
      Objects.requireNonNull(registry, "registry");
      Objects.requireNonNull(options, "options");
      requireState(this.meterRegistry == null, "meterRegistry was already set to %s", this.meterRegistry);
      CumulusMetrics.Builder metrics = new CumulusMetrics.Builder(null);
      options.accept(metrics);
      this.meterRegistry = registry;
      this.metricsOptions = metrics;
      return this;
    }

    /** Drives time from a test clock instead of the system's (package-private: tests only). */
    Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Builds the runtime. It starts no thread until the first invocation.
     *
     * @return the runtime
     * @throws IllegalStateException if {@link MeteringMode#EXACT} was asked for and this JVM cannot
     *     provide it (the message names the JVM option to add), or this builder already built one
     */
    public Cumulus build() {
      requireState(!built, "this builder already built a runtime; start a new one with Cumulus.builder()");
      built = true;
      int carriers = carrierThreads == -1 ? Runtime.getRuntime().availableProcessors() : carrierThreads;
      Cumulus cumulus = new Cumulus(new Engine(new Engine.Config(
          maxConcurrency == -1 ? DEFAULT_MAX_CONCURRENCY : maxConcurrency,
          meteringMode,
          carriers,
          carrierKeepAlive == null ? DEFAULT_CARRIER_KEEP_ALIVE : carrierKeepAlive,
          drainTimeout == null ? DEFAULT_DRAIN_TIMEOUT : drainTimeout,
          maxCallDepth == -1 ? DEFAULT_MAX_CALL_DEPTH : maxCallDepth,
          maxTenants == -1 ? DEFAULT_MAX_TENANTS : maxTenants,
          clock,
          events,
          new SpecAccess())), meterRegistry, metricsOptions);
      if (cumulus.metrics != null && meterRegistry != null) {
        cumulus.metrics.bindTo(meterRegistry);
      }
      return cumulus;
    }
  }

  /** How the engine reaches the code of a spec, which the public API keeps to this package. */
  private static final class SpecAccess implements SpecCode {
    @Override
    public Supplier<?> init(FnSpec<?, ?> spec) {
      return spec.init();
    }

    @Override
    public BiFunction<Object, Object, Object> handler(FnSpec<?, ?> spec) {
      return spec.handler();
    }

    @Override
    public @Nullable Function<@Nullable Object, @Nullable Object> function(FnSpec<?, ?> spec) {
      return spec.function();
    }

    @Override
    public @Nullable Consumer<Object> inputCheck(FnSpec<?, ?> spec) {
      return spec.inputCheck();
    }
  }
}
