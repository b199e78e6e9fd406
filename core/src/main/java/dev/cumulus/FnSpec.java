package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;
import static dev.cumulus.Checks.requireState;

import dev.cumulus.internal.DurationText;
import java.lang.invoke.MethodType;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
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
 *   <tr><td>{@code concurrency} ({@code maxConcurrency})</td><td>unset: shares the runtime's unreserved
 *       capacity</td></tr>
 *   <tr><td>{@code queueCapacity}</td><td>{@value #DEFAULT_QUEUE_CAPACITY}</td></tr>
 *   <tr><td>{@code queueTimeout}</td><td>none: a queued call waits until a slot frees up</td></tr>
 *   <tr><td>{@code timeout}</td><td>60 s</td></tr>
 *   <tr><td>{@code keepAlive}</td><td>30 s, fixed</td></tr>
 *   <tr><td>{@code minInstances}</td><td>0</td></tr>
 *   <tr><td>{@code inputType} / {@code outputType}</td><td>unchecked ({@code Object})</td></tr>
 *   <tr><td>{@code cpuBudget}</td><td>none: no CPU limit per invocation</td></tr>
 *   <tr><td>{@code inputCheck}</td><td>none: inputs are checked by type only</td></tr>
 *   <tr><td>{@code tenantWeight}</td><td>every tenant weighs 1</td></tr>
 *   <tr><td>{@code eventCapacity}</td><td>{@value #DEFAULT_EVENT_CAPACITY} events pending</td></tr>
 *   <tr><td>{@code retry}</td><td>{@link RetryPolicy#defaults()}: 2 retries, 1 s to 1 min apart,
 *       max event age 6 h</td></tr>
 *   <tr><td>{@code deadLetter}</td><td>{@link DeadLetterSink#logging()}</td></tr>
 *   <tr><td>{@code idempotencyWindow}</td><td>10 min</td></tr>
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
  /** The largest {@linkplain Builder#tenantWeight(String, int) weight} of a tenant. */
  public static final int MAX_TENANT_WEIGHT = 1_000;
  /** Default {@linkplain Builder#keepAlive(Duration) keep-alive} of idle warm instances. */
  public static final Duration DEFAULT_KEEP_ALIVE = Duration.ofSeconds(30);
  /** Default {@linkplain Builder#eventCapacity(int) event capacity}: events pending per function. */
  public static final int DEFAULT_EVENT_CAPACITY = 100_000;
  /** Default {@linkplain Builder#idempotencyWindow(Duration) idempotency window}. */
  public static final Duration DEFAULT_IDEMPOTENCY_WINDOW = Duration.ofMinutes(10);

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
  private final @Nullable ConcurrencyLimit concurrency;
  private final int queueCapacity;
  private final Duration timeout;
  private final KeepAlive keepAlive;
  private final int minInstances;
  private final Class<I> inputType;
  private final Class<O> outputType;
  private final @Nullable Duration cpuBudget;
  private final @Nullable Duration queueTimeout;
  private final @Nullable Consumer<Object> inputCheck;
  private final Map<String, Integer> tenantWeights;
  private final int eventCapacity;
  private final RetryPolicy retry;
  private final DeadLetterSink deadLetter;
  private final Duration idempotencyWindow;

  private FnSpec(Builder<I, O> b) {
    this.name = b.name;
    this.init = b.init;
    this.handler = b.handler;
    this.function = b.function;
    this.stateful = b.stateful;
    this.concurrency = b.concurrency;
    this.queueCapacity = b.queueCapacity == UNSET ? DEFAULT_QUEUE_CAPACITY : b.queueCapacity;
    this.timeout = b.timeout == null ? DEFAULT_TIMEOUT : b.timeout;
    this.keepAlive = b.keepAlive == null ? KeepAlive.fixed(DEFAULT_KEEP_ALIVE) : b.keepAlive;
    this.minInstances = b.minInstances == UNSET ? 0 : b.minInstances;
    this.inputType = b.inputType;
    this.outputType = b.outputType;
    this.cpuBudget = b.cpuBudget;
    this.queueTimeout = b.queueTimeout;
    this.inputCheck = b.inputCheck;
    this.tenantWeights = Collections.unmodifiableMap(new TreeMap<>(b.tenantWeights));
    this.eventCapacity = b.eventCapacity == UNSET ? DEFAULT_EVENT_CAPACITY : b.eventCapacity;
    this.retry = b.retry == null ? RetryPolicy.defaults() : b.retry;
    this.deadLetter = b.deadLetter == null ? DeadLetterSink.logging() : b.deadLetter;
    this.idempotencyWindow = b.idempotencyWindow == null ? DEFAULT_IDEMPOTENCY_WINDOW : b.idempotencyWindow;
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
   * Returns the function's reserved concurrency, if it has one: the {@code max} of a
   * {@linkplain ConcurrencyLimit#fixed(int) fixed} limit.
   *
   * @return the reserved concurrency, or empty when the function shares the runtime's unreserved
   *     capacity (no limit of its own, or an {@linkplain ConcurrencyLimit#adaptive() adaptive} one)
   */
  public OptionalInt maxConcurrency() {
    return concurrency instanceof ConcurrencyLimit.Fixed f ? OptionalInt.of(f.max()) : OptionalInt.empty();
  }

  /**
   * Returns the function's concurrency limit, if it has one of its own.
   *
   * @return the limit, or empty when the function shares the runtime's unreserved capacity without
   *     a limit of its own
   */
  public Optional<ConcurrencyLimit> concurrency() {
    return Optional.ofNullable(concurrency);
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

  /**
   * Returns how long an idle warm instance is kept: the fixed keep-alive, or, for an
   * {@linkplain KeepAlive#adaptive() adaptive} one, its fallback (what it keeps while it has not
   * learnt the function's idle times).
   *
   * @return the keep-alive
   */
  public Duration keepAlive() {
    return keepAlive.duration();
  }

  /** {@return the keep-alive policy: {@link KeepAlive#fixed} (the default, 30 s) or adaptive} */
  public KeepAlive keepAlivePolicy() {
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

  /**
   * Returns the weights of the tenants given one: when the function's calls wait, a tenant of weight
   * {@code w} is served {@code w} calls per turn of the round-robin. Other tenants, and calls
   * without a tenant, weigh 1.
   *
   * @return tenant to weight, sorted by tenant; empty when every tenant weighs the same
   */
  public Map<String, Integer> tenantWeights() {
    return tenantWeights;
  }

  /** {@return how many {@linkplain Fn#emit events} may be pending (accepted, not yet ended) at once} */
  public int eventCapacity() {
    return eventCapacity;
  }

  /** {@return how failed events are retried} */
  public RetryPolicy retry() {
    return retry;
  }

  /** {@return where events that did not succeed go} */
  public DeadLetterSink deadLetter() {
    return deadLetter;
  }

  /** {@return how long an event's idempotency key is remembered} */
  public Duration idempotencyWindow() {
    return idempotencyWindow;
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
        + (concurrency instanceof ConcurrencyLimit.Adaptive a ? ", concurrency=" + a
            : ", maxConcurrency=" + (concurrency instanceof ConcurrencyLimit.Fixed f ? f.max() : "unreserved"))
        + ", queueCapacity=" + queueCapacity
        + (queueTimeout == null ? "" : ", queueTimeout=" + DurationText.of(queueTimeout))
        + ", timeout=" + DurationText.of(timeout)
        + ", keepAlive=" + (keepAlive instanceof KeepAlive.Adaptive a ? a : DurationText.of(keepAlive.duration()))
        + ", minInstances=" + minInstances + ", inputType=" + inputType.getSimpleName()
        + ", outputType=" + outputType.getSimpleName()
        + (cpuBudget == null ? "" : ", cpuBudget=" + DurationText.of(cpuBudget))
        + ", eventCapacity=" + eventCapacity + ", retry=" + retry + ", deadLetter=" + deadLetter
        + ", idempotencyWindow=" + DurationText.of(idempotencyWindow)
        + (tenantWeights.isEmpty() ? "" : ", tenantWeights=" + tenantWeights) + "}";
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
    private @Nullable ConcurrencyLimit concurrency;
    private int queueCapacity = UNSET;
    private @Nullable Duration timeout;
    private @Nullable KeepAlive keepAlive;
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
    private final Map<String, Integer> tenantWeights = new HashMap<>();
    private int eventCapacity = UNSET;
    private @Nullable RetryPolicy retry;
    private @Nullable DeadLetterSink deadLetter;
    private @Nullable Duration idempotencyWindow;
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
     * unreserved functions. The same as {@code concurrency(ConcurrencyLimit.fixed(maxConcurrency))}.
     *
     * @param maxConcurrency at least 1
     * @return this builder
     * @throws IllegalArgumentException if not positive
     * @throws IllegalStateException if already set, or {@link #concurrency} was
     */
    public Builder<I, O> maxConcurrency(int maxConcurrency) {
      requireConcurrencyUnset();
      requireArgument(maxConcurrency > 0, "maxConcurrency must be positive but was %s", maxConcurrency);
      this.concurrency = ConcurrencyLimit.fixed(maxConcurrency);
      return this;
    }

    /**
     * Sets the function's concurrency limit: {@link ConcurrencyLimit#fixed(int)}, reserved for it
     * (what {@link #maxConcurrency(int)} sets), or {@link ConcurrencyLimit#adaptive()}, which follows
     * the latency of its invocations and reserves nothing. Unset, the function shares the runtime's
     * unreserved capacity without a limit of its own.
     *
     * <pre>{@code
     * FnSpec.of("lookup", (String id) -> database.find(id))
     *     .concurrency(ConcurrencyLimit.adaptive().withMin(4).withMax(200))
     * }</pre>
     *
     * @param concurrency the limit
     * @return this builder
     * @throws IllegalStateException if already set, or {@link #maxConcurrency(int)} was
     */
    public Builder<I, O> concurrency(ConcurrencyLimit concurrency) {
      Objects.requireNonNull(concurrency, "concurrency");
      requireConcurrencyUnset();
      this.concurrency = concurrency;
      return this;
    }

    private void requireConcurrencyUnset() {
      ConcurrencyLimit set = concurrency;
      if (set instanceof ConcurrencyLimit.Fixed f) {
        throw new IllegalStateException("maxConcurrency was already set to " + f.max());
      } else if (set != null) {
        throw new IllegalStateException("concurrency was already set to " + set);
      }
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
     * {@link AutoCloseable}). The same as {@code keepAlive(KeepAlive.fixed(keepAlive))}.
     *
     * @param keepAlive positive (default 30 s)
     * @return this builder
     * @throws IllegalArgumentException if zero or negative
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> keepAlive(Duration keepAlive) {
      requireKeepAliveUnset();
      this.keepAlive = KeepAlive.fixed(Checks.positive("keepAlive", keepAlive));
      return this;
    }

    /**
     * Sets how the function's idle warm instances are kept: {@link KeepAlive#fixed(Duration)} (what
     * {@link #keepAlive(Duration)} sets), or {@link KeepAlive#adaptive()}, which learns the
     * function's idle times and keeps instances, or creates them ahead of a call, when a call is
     * likely.
     *
     * <pre>{@code
     * FnSpec.of("hourly-sync", (String s) -> sync(s)).keepAlive(KeepAlive.adaptive())
     * }</pre>
     *
     * @param keepAlive the policy
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> keepAlive(KeepAlive keepAlive) {
      Objects.requireNonNull(keepAlive, "keepAlive");
      requireKeepAliveUnset();
      this.keepAlive = keepAlive;
      return this;
    }

    private void requireKeepAliveUnset() {
      KeepAlive set = keepAlive;
      requireState(set == null, "keepAlive was already set to %s",
          set instanceof KeepAlive.Fixed f ? f.duration() : set);
    }

    /**
     * Sets how many instances are created at registration and kept warm however idle the function
     * is ("provisioned concurrency"). Warm instances hold no thread.
     *
     * @param minInstances zero or more, at most the concurrency limit's {@code max} when that is set
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

    /**
     * Weighs a tenant: while the function's calls wait, its queue serves the tenants with waiting
     * calls in weighted round-robin, {@code weight} calls of this tenant per turn, one of each tenant
     * not given a weight (and one for the calls without a tenant). A tenant's share of the queue's
     * room follows its weight too. See {@link CallOptions}.
     *
     * <pre>{@code
     * FnSpec.of("report", (String q) -> run(q))
     *     .tenantWeight("enterprise", 3)  // 3 calls for every call of another tenant
     * }</pre>
     *
     * @param tenant the tenant's name, as in {@link CallOptions#tenant(String)}
     * @param weight 1 to {@value FnSpec#MAX_TENANT_WEIGHT}
     * @return this builder
     * @throws IllegalArgumentException if the tenant's name is not valid, or the weight not in range
     * @throws IllegalStateException if this tenant's weight was already set
     */
    public Builder<I, O> tenantWeight(String tenant, int weight) {
      Checks.tenant("tenantWeight's tenant", tenant);
      requireState(!tenantWeights.containsKey(tenant), "tenantWeight of tenant '%s' was already set to %s",
          tenant, tenantWeights.get(tenant));
      requireArgument(weight >= 1 && weight <= MAX_TENANT_WEIGHT,
          "tenantWeight of tenant '%s' must be between 1 and %s but was %s", tenant, MAX_TENANT_WEIGHT, weight);
      tenantWeights.put(tenant, weight);
      return this;
    }

    /**
     * Sets how many {@linkplain Fn#emit events} may be pending at once: accepted and not yet ended
     * (waiting for capacity, running, waiting for a retry, or waiting for the dead-letter sink). An
     * emit beyond it fails with {@link ThrottledException}, unless it is made for a tenant with fewer
     * events waiting than its weighted share of the capacity (then up to twice the capacity; see
     * {@link Fn#emit(Object, CallOptions)}). Each pending event costs about 100 bytes besides its
     * input and its last error.
     *
     * @param eventCapacity at least 1 (default {@value FnSpec#DEFAULT_EVENT_CAPACITY})
     * @return this builder
     * @throws IllegalArgumentException if not positive
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> eventCapacity(int eventCapacity) {
      requireState(this.eventCapacity == UNSET, "eventCapacity was already set to %s", this.eventCapacity);
      requireArgument(eventCapacity > 0, "eventCapacity must be positive but was %s", eventCapacity);
      this.eventCapacity = eventCapacity;
      return this;
    }

    /**
     * Sets how an event whose attempt failed is retried.
     *
     * @param retry the policy (default {@link RetryPolicy#defaults()})
     * @return this builder
     * @throws NullPointerException if {@code retry} is null
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> retry(RetryPolicy retry) {
      Objects.requireNonNull(retry, "retry");
      requireState(this.retry == null, "retry was already set to %s", this.retry);
      this.retry = retry;
      return this;
    }

    /**
     * Sets where events that did not succeed go, one {@link DeadLetter} each.
     *
     * @param deadLetter the sink (default {@link DeadLetterSink#logging()})
     * @return this builder
     * @throws NullPointerException if {@code deadLetter} is null
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> deadLetter(DeadLetterSink deadLetter) {
      Objects.requireNonNull(deadLetter, "deadLetter");
      requireState(this.deadLetter == null, "deadLetter was already set to %s", this.deadLetter);
      this.deadLetter = deadLetter;
      return this;
    }

    /**
     * Sets how long an {@linkplain Fn#emit(Object, String) idempotency key} is remembered after the
     * event it names was accepted: an emit with a key seen within the window is not run again, and
     * returns the first event's id. The most recent keys are kept, up to
     * {@code max(eventCapacity, 10 000)} of them.
     *
     * @param idempotencyWindow positive (default 10 min)
     * @return this builder
     * @throws IllegalArgumentException if zero or negative
     * @throws IllegalStateException if already set
     */
    public Builder<I, O> idempotencyWindow(Duration idempotencyWindow) {
      requireState(this.idempotencyWindow == null, "idempotencyWindow was already set to %s", this.idempotencyWindow);
      this.idempotencyWindow = Checks.positive("idempotencyWindow", idempotencyWindow);
      return this;
    }

    @Override
    public String toString() {
      return "FnSpec.Builder{name=" + name + (built ? ", built" : "") + "}";
    }

    /**
     * Builds the immutable spec.
     *
     * @return the spec
     * @throws IllegalArgumentException if options conflict (minInstances above the concurrency
     *     limit's max)
     * @throws IllegalStateException if this builder already built a spec
     */
    public FnSpec<I, O> build() {
      requireState(!built, "this builder already built the spec of '%s'; start a new one", name);
      if (minInstances != UNSET && concurrency instanceof ConcurrencyLimit.Fixed f) {
        requireArgument(minInstances <= f.max(), "minInstances (%s) must not exceed maxConcurrency (%s) of function '%s'",
            minInstances, f.max(), name);
      } else if (minInstances != UNSET && concurrency instanceof ConcurrencyLimit.Adaptive a) {
        requireArgument(minInstances <= a.max(), "minInstances (%s) must not exceed the adaptive concurrency max (%s)"
            + " of function '%s'", minInstances, a.max(), name);
      }
      built = true;
      return new FnSpec<>(this);
    }

    @SuppressWarnings("unchecked")
    private static <T> Class<T> wrap(Class<T> type) {
      return (Class<T>) MethodType.methodType(type).wrap().returnType();
    }
  }
}
