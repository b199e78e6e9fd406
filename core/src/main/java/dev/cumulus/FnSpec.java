package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;
import static dev.cumulus.Checks.requireState;

import dev.cumulus.internal.DurationText;
import java.lang.invoke.MethodType;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The immutable description of a function: its name, its code and how it scales. Build one with a
 * factory and the builder's options, then {@linkplain Cumulus#register(FnSpec) register} it:
 *
 * <pre>{@code
 * Fn<String, Integer> words = cumulus.register(
 *     FnSpec.of("word-count", (String s) -> s.split("\\s+").length)
 *         .maxConcurrency(64)
 *         .timeout(Duration.ofSeconds(2))
 *         .build());
 * }</pre>
 *
 * <p>Every option has a default that works for a first run:
 *
 * <table class="striped">
 *   <caption>Options and defaults</caption>
 *   <tr><th>option</th><th>default</th></tr>
 *   <tr><td>{@code maxConcurrency}</td><td>unset: shares the runtime's unreserved capacity</td></tr>
 *   <tr><td>{@code queueCapacity}</td><td>{@value #DEFAULT_QUEUE_CAPACITY}</td></tr>
 *   <tr><td>{@code queueTimeout}</td><td>none: a queued call waits until a slot frees up</td></tr>
 *   <tr><td>{@code timeout}</td><td>60 s</td></tr>
 *   <tr><td>{@code keepAlive}</td><td>30 s</td></tr>
 *   <tr><td>{@code minInstances}</td><td>0</td></tr>
 *   <tr><td>{@code inputType} / {@code outputType}</td><td>unchecked ({@code Object})</td></tr>
 *   <tr><td>{@code cpuBudget}</td><td>none: no CPU limit per invocation</td></tr>
 *   <tr><td>{@code inputCheck}</td><td>none: inputs are checked by type only</td></tr>
 * </table>
 *
 * <p>Instances are immutable and thread-safe. Builders are not thread-safe and build once.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
public final class FnSpec<I extends @Nullable Object, O extends @Nullable Object> {
  /** Default {@linkplain Builder#queueCapacity(int) queue capacity}. */
  public static final int DEFAULT_QUEUE_CAPACITY = 10_000;
  /** Default {@linkplain Builder#timeout(Duration) timeout}. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
  /** Default {@linkplain Builder#keepAlive(Duration) keep-alive} of idle warm instances. */
  public static final Duration DEFAULT_KEEP_ALIVE = Duration.ofSeconds(30);

  /** The instance every stateless function shares: such functions have no state to initialise. */
  static final Object STATELESS = new Object() {
    @Override
    public String toString() {
      return "stateless";
    }
  };

  private final String name;
  private final Supplier<?> init;
  private final BiFunction<Object, Object, Object> handler;
  private final @Nullable Function<@Nullable Object, @Nullable Object> function;
  private final boolean stateful;
  private final int maxConcurrency;
  private final int queueCapacity;
  private final Duration timeout;
  private final Duration keepAlive;
  private final int minInstances;
  private final Class<I> inputType;
  private final Class<O> outputType;
  private final @Nullable Duration cpuBudget;
  private final @Nullable Duration queueTimeout;
  private final @Nullable Consumer<Object> inputCheck;

  private FnSpec(Builder<I, O> b) {
    this.name = b.name;
    this.init = b.init;
    this.handler = b.handler;
    this.function = b.function;
    this.stateful = b.stateful;
    this.maxConcurrency = b.maxConcurrency;
    this.queueCapacity = b.queueCapacity == UNSET ? DEFAULT_QUEUE_CAPACITY : b.queueCapacity;
    this.timeout = b.timeout == null ? DEFAULT_TIMEOUT : b.timeout;
    this.keepAlive = b.keepAlive == null ? DEFAULT_KEEP_ALIVE : b.keepAlive;
    this.minInstances = b.minInstances == UNSET ? 0 : b.minInstances;
    this.inputType = b.inputType;
    this.outputType = b.outputType;
    this.cpuBudget = b.cpuBudget;
    this.queueTimeout = b.queueTimeout;
    this.inputCheck = b.inputCheck;
  }

  /**
   * Starts the spec of a function of one input.
   *
   * @param name the function's name: 1 to 128 letters, digits and {@code . _ : $ ( ) [ ] , -}
   * @param function the code to run
   * @param <I> the input type
   * @param <O> the output type
   * @return a builder for the rest of the options
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the name is blank or has other characters
   */
  public static <I extends @Nullable Object, O extends @Nullable Object> Builder<I, O> of(
      String name, Function<? super I, ? extends O> function) {
    Objects.requireNonNull(function, "function");
    @SuppressWarnings("unchecked")
    Function<@Nullable Object, @Nullable Object> f = (Function<@Nullable Object, @Nullable Object>) function;
    return new Builder<>(name, () -> STATELESS, (instance, input) -> f.apply(input), f, false,
        objectClass(), objectClass());
  }

  /**
   * Starts the spec of a function that takes no input; invoke it with a {@code null} input.
   *
   * @param name the function's name
   * @param supplier the code to run
   * @param <O> the output type
   * @return a builder for the rest of the options
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the name is not a valid function name
   */
  public static <O extends @Nullable Object> Builder<@Nullable Void, O> ofSupplier(
      String name, Supplier<? extends O> supplier) {
    Objects.requireNonNull(supplier, "supplier");
    return new Builder<>(name, () -> STATELESS, (instance, input) -> supplier.get(), null, false,
        voidClass(), objectClass());
  }

  /**
   * Starts the spec of a function that returns nothing (its result is {@code null}).
   *
   * @param name the function's name
   * @param consumer the code to run
   * @param <I> the input type
   * @return a builder for the rest of the options
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the name is not a valid function name
   */
  public static <I extends @Nullable Object> Builder<I, @Nullable Void> ofConsumer(
      String name, Consumer<? super I> consumer) {
    Objects.requireNonNull(consumer, "consumer");
    @SuppressWarnings("unchecked")
    Consumer<Object> c = (Consumer<Object>) consumer;
    return new Builder<>(name, () -> STATELESS, (instance, input) -> {
      c.accept(input);
      return null;
    }, null, false, objectClass(), voidClass());
  }

  /**
   * Starts the spec of a function with per-instance state: {@code init} creates an instance (a cold
   * start, metered separately), and every invocation runs {@code handler} with an instance that no
   * other invocation is using at the time. Warm instances are reused most-recently-used first; an
   * instance idle for {@code keepAlive} is discarded, and closed if it is {@link AutoCloseable}.
   *
   * @param name the function's name
   * @param init creates an instance; may throw, which fails the invocation that needed it
   * @param handler the code to run for one input on one instance
   * @param <H> the instance type
   * @param <I> the input type
   * @param <O> the output type
   * @return a builder for the rest of the options
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the name is not a valid function name
   */
  public static <H, I extends @Nullable Object, O extends @Nullable Object> Builder<I, O> withInstance(
      String name, Supplier<? extends H> init, BiFunction<? super H, ? super I, ? extends O> handler) {
    Objects.requireNonNull(init, "init");
    Objects.requireNonNull(handler, "handler");
    @SuppressWarnings("unchecked")
    BiFunction<Object, Object, Object> h = (BiFunction<Object, Object, Object>) handler;
    return new Builder<>(name, init, h, null, true, objectClass(), objectClass());
  }

  /** {@return the function's name} */
  public String name() {
    return name;
  }

  /**
   * Returns the function's reserved concurrency, if it has one.
   *
   * @return the reserved concurrency, or empty when the function shares the runtime's unreserved
   *     capacity
   */
  public OptionalInt maxConcurrency() {
    return maxConcurrency == UNSET ? OptionalInt.empty() : OptionalInt.of(maxConcurrency);
  }

  /** {@return how many invocations may wait beyond the concurrency limit} */
  public int queueCapacity() {
    return queueCapacity;
  }

  /** {@return how long one invocation may run} */
  public Duration timeout() {
    return timeout;
  }

  /**
   * Returns how long a call may wait in the queue before it fails, if that is limited.
   *
   * @return the queue timeout, or empty when a queued call waits until it starts
   */
  public Optional<Duration> queueTimeout() {
    return Optional.ofNullable(queueTimeout);
  }

  /** {@return how long an idle warm instance is kept} */
  public Duration keepAlive() {
    return keepAlive;
  }

  /** {@return how many instances are kept warm at all times} */
  public int minInstances() {
    return minInstances;
  }

  /** {@return the input type that calls are checked against} */
  public Class<I> inputType() {
    return inputType;
  }

  /** {@return the declared output type} */
  public Class<O> outputType() {
    return outputType;
  }

  /**
   * Returns the CPU time one invocation may use, if limited.
   *
   * @return the budget, or empty when unlimited
   */
  public Optional<Duration> cpuBudget() {
    return Optional.ofNullable(cpuBudget);
  }

  /** {@return whether the function has per-instance state ({@link #withInstance})} */
  public boolean hasInstanceState() {
    return stateful;
  }

  Supplier<?> init() {
    return init;
  }

  BiFunction<Object, Object, Object> handler() {
    return handler;
  }

  /** The code of a function made {@link #of} a {@link Function}, which takes the input alone; else null. */
  @Nullable Function<@Nullable Object, @Nullable Object> function() {
    return function;
  }

  @Nullable Consumer<Object> inputCheck() {
    return inputCheck;
  }

  @Override
  public String toString() {
    return "FnSpec{name=" + name
        + ", maxConcurrency=" + (maxConcurrency == UNSET ? "unreserved" : maxConcurrency)
        + ", queueCapacity=" + queueCapacity
        + (queueTimeout == null ? "" : ", queueTimeout=" + DurationText.of(queueTimeout))
        + ", timeout=" + DurationText.of(timeout)
        + ", keepAlive=" + DurationText.of(keepAlive)
        + ", minInstances=" + minInstances + ", inputType=" + inputType.getSimpleName()
        + ", outputType=" + outputType.getSimpleName()
        + (cpuBudget == null ? "" : ", cpuBudget=" + DurationText.of(cpuBudget)) + "}";
  }

  private static final int UNSET = -1;

  @SuppressWarnings("unchecked")
  private static <T extends @Nullable Object> Class<T> objectClass() {
    return (Class<T>) Object.class;
  }

  /** {@code Void.class} as the class of {@code @Nullable Void}, the type of the absent input or result. */
  @SuppressWarnings("unchecked")
  private static Class<@Nullable Void> voidClass() {
    return (Class<@Nullable Void>) (Class<?>) Void.class;
  }

  /**
   * Collects the options of a {@link FnSpec}. Each option may be set once; a bad value fails at once
   * with an {@link IllegalArgumentException} naming the option and the value.
   *
   * @param <I> the input type
   * @param <O> the output type
   */
  public static final class Builder<I extends @Nullable Object, O extends @Nullable Object> {
    private final String name;
    private final Supplier<?> init;
    private final BiFunction<Object, Object, Object> handler;
    private final @Nullable Function<@Nullable Object, @Nullable Object> function;
    private final boolean stateful;
    private int maxConcurrency = UNSET;
    private int queueCapacity = UNSET;
    private @Nullable Duration timeout;
    private @Nullable Duration keepAlive;
    private int minInstances = UNSET;
    private Class<I> inputType;
    private Class<O> outputType;
    private boolean inputTypeSet;
    private boolean outputTypeSet;
    private @Nullable Duration cpuBudget;
    private @Nullable Duration queueTimeout;
    private @Nullable Consumer<Object> inputCheck;
    /** Why the input type may not be set by the user (an executor sets it), or null. */
    private @Nullable String inputTypeFixed;
    private boolean built;

    private Builder(String name, Supplier<?> init, BiFunction<Object, Object, Object> handler,
        @Nullable Function<@Nullable Object, @Nullable Object> function, boolean stateful, Class<I> inputType, Class<O> outputType) {
      this.name = Checks.functionName(name);
      this.init = init;
      this.handler = handler;
      this.function = function;
      this.stateful = stateful;
      this.inputType = inputType;
      this.outputType = outputType;
    }

    /**
     * Reserves concurrency for this function: at most this many of its invocations run at once, and
     * this much of the runtime's {@linkplain Cumulus.Builder#maxConcurrency(int) capacity} is kept
     * for it alone. Unset, the function shares the runtime's unreserved capacity with the other
     * unreserved functions.
     *
     * @param maxConcurrency at least 1
     * @return this builder
     * @throws IllegalArgumentException if not positive
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> maxConcurrency(int maxConcurrency) {
      requireState(this.maxConcurrency == UNSET, "maxConcurrency was already set to %s", this.maxConcurrency);
      requireArgument(maxConcurrency > 0, "maxConcurrency must be positive but was %s", maxConcurrency);
      this.maxConcurrency = maxConcurrency;
      return this;
    }

    /**
     * Sets how many invocations may wait, first in first out, while the function runs at its
     * concurrency limit. When the queue is full, calls fail fast with {@link ThrottledException}.
     * Zero means no waiting: a call either starts at once or is throttled.
     *
     * @param queueCapacity zero or more (default {@value FnSpec#DEFAULT_QUEUE_CAPACITY})
     * @return this builder
     * @throws IllegalArgumentException if negative
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> queueCapacity(int queueCapacity) {
      requireState(this.queueCapacity == UNSET, "queueCapacity was already set to %s", this.queueCapacity);
      requireArgument(queueCapacity >= 0, "queueCapacity must not be negative but was %s", queueCapacity);
      this.queueCapacity = queueCapacity;
      return this;
    }

    /**
     * Sets how long a call may wait in the queue for a slot. Past it, the call is taken out of the
     * queue and fails with a {@link FunctionTimeoutException} whose {@link
     * FunctionTimeoutException#queued() queued()} is true and whose message says how long it waited
     * and what held the slots: it never ran, so it is not billed (counted in
     * {@link FunctionStats#timeouts()} and {@link FunctionStats#queueTimeouts()}).
     *
     * <p>Unset, a queued call waits until it starts. Calls ahead of it end by their
     * {@linkplain #timeout(Duration) timeout}, so it usually starts soon enough; but a call whose code
     * ignores the interrupt at its timeout keeps its slot until the code returns
     * ({@link FunctionStats#overdue()}), and an unreserved function waits while other functions hold
     * the runtime's capacity: then queued calls wait as long, and only a queue timeout bounds the
     * wait of their callers. It is checked by the runtime's timer, as timeouts are.
     *
     * @param queueTimeout positive (default: unlimited)
     * @return this builder
     * @throws IllegalArgumentException if zero or negative
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> queueTimeout(Duration queueTimeout) {
      requireState(this.queueTimeout == null, "queueTimeout was already set to %s", this.queueTimeout);
      this.queueTimeout = Checks.positive("queueTimeout", queueTimeout);
      return this;
    }

    /**
     * Sets how long one invocation may run, from the moment it starts (time spent waiting in the
     * queue does not count, see {@link #queueTimeout(Duration)}; a cold start's init does). At the
     * deadline the caller gets {@link FunctionTimeoutException} and the handler is interrupted.
     *
     * @param timeout positive (default 60 s)
     * @return this builder
     * @throws IllegalArgumentException if zero or negative
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> timeout(Duration timeout) {
      requireState(this.timeout == null, "timeout was already set to %s", this.timeout);
      this.timeout = Checks.positive("timeout", timeout);
      return this;
    }

    /**
     * Sets how long an idle warm instance is kept before it is discarded (and closed, if it is
     * {@link AutoCloseable}).
     *
     * @param keepAlive positive (default 30 s)
     * @return this builder
     * @throws IllegalArgumentException if zero or negative
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> keepAlive(Duration keepAlive) {
      requireState(this.keepAlive == null, "keepAlive was already set to %s", this.keepAlive);
      this.keepAlive = Checks.positive("keepAlive", keepAlive);
      return this;
    }

    /**
     * Sets how many instances are created at registration and kept warm however idle the function
     * is ("provisioned concurrency"). Warm instances hold no thread.
     *
     * @param minInstances zero or more, at most {@code maxConcurrency} when that is set
     * @return this builder
     * @throws IllegalArgumentException if negative
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> minInstances(int minInstances) {
      requireState(this.minInstances == UNSET, "minInstances was already set to %s", this.minInstances);
      requireArgument(minInstances >= 0, "minInstances must not be negative but was %s", minInstances);
      this.minInstances = minInstances;
      return this;
    }

    /**
     * Declares the input type: calls by name ({@link Cumulus#invoke(String, Object)}) and typed
     * calls are checked against it and fail with {@link InvalidInputException} naming both types.
     * A primitive type stands for its wrapper.
     *
     * @param inputType the input type
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> inputType(Class<I> inputType) {
      Objects.requireNonNull(inputType, "inputType");
      requireState(inputTypeFixed == null, "%s", inputTypeFixed);
      requireState(!inputTypeSet, "inputType was already set to %s", this.inputType.getName());
      this.inputType = wrap(inputType);
      this.inputTypeSet = true;
      return this;
    }

    /**
     * Declares the output type, for adapters that convert results (HTTP, event bus).
     *
     * @param outputType the output type
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> outputType(Class<O> outputType) {
      Objects.requireNonNull(outputType, "outputType");
      requireState(!outputTypeSet, "outputType was already set to %s", this.outputType.getName());
      this.outputType = wrap(outputType);
      this.outputTypeSet = true;
      return this;
    }

    /**
     * Limits the CPU time one invocation may use; an invocation that uses more is interrupted and
     * fails with {@link CpuBudgetExceededException}. Enforced only in {@link MeteringMode#EXACT};
     * registering a function with a budget in another mode fails.
     *
     * @param cpuBudget positive
     * @return this builder
     * @throws IllegalArgumentException if zero or negative
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> cpuBudget(Duration cpuBudget) {
      requireState(this.cpuBudget == null, "cpuBudget was already set to %s", this.cpuBudget);
      this.cpuBudget = Checks.positive("cpuBudget", cpuBudget);
      return this;
    }

    /**
     * Checks every input before admission, beyond its {@linkplain #inputType(Class) type}: the check
     * throws {@link IllegalArgumentException} to refuse an input, and the call then fails with an
     * {@link InvalidInputException} carrying its message; nothing runs and the call is not counted.
     * It runs on the caller's thread, for every call by any path (direct, by name, adapters), so it
     * must be quick and thread-safe.
     *
     * <pre>{@code
     * FnSpec.of("resize", (Integer px) -> resize(px))
     *     .inputType(Integer.class)
     *     .inputCheck(px -> { if (px <= 0) throw new IllegalArgumentException("px must be positive"); })
     * }</pre>
     *
     * @param inputCheck throws {@code IllegalArgumentException} (its message says what is wrong) for
     *     an input the function must not get
     * @return this builder
     * @throws IllegalStateException if already set
     */
    @SuppressWarnings("unchecked")
    public Builder<I, O> inputCheck(Consumer<? super I> inputCheck) {
      Objects.requireNonNull(inputCheck, "inputCheck");
      requireState(this.inputCheck == null, "inputCheck was already set");
      this.inputCheck = (Consumer<Object>) inputCheck;
      return this;
    }

    /** Sets the input type for good: {@link #inputType} then fails, saying {@code why}. */
    Builder<I, O> fixInputType(Class<I> inputType, String why) {
      inputType(inputType);
      this.inputTypeFixed = why;
      return this;
    }

    /** Whether {@link #build()} was called. */
    boolean isBuilt() {
      return built;
    }

    @Override
    public String toString() {
      return "FnSpec.Builder{name=" + name + (built ? ", built" : "") + "}";
    }

    /**
     * Builds the immutable spec.
     *
     * @return the spec
     * @throws IllegalArgumentException if options conflict (minInstances above maxConcurrency)
     * @throws IllegalStateException if this builder already built a spec
     */
    public FnSpec<I, O> build() {
      requireState(!built, "this builder already built the spec of '%s'; start a new one", name);
      requireArgument(maxConcurrency == UNSET || minInstances == UNSET || minInstances <= maxConcurrency,
          "minInstances (%s) must not exceed maxConcurrency (%s) of function '%s'",
          minInstances, maxConcurrency, name);
      built = true;
      return new FnSpec<>(this);
    }

    @SuppressWarnings("unchecked")
    private static <T> Class<T> wrap(Class<T> type) {
      return (Class<T>) MethodType.methodType(type).wrap().returnType();
    }
  }
}
