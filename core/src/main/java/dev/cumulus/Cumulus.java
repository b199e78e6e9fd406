package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;
import static dev.cumulus.Checks.requireState;

import dev.cumulus.internal.Clock;
import dev.cumulus.internal.Deployment;
import dev.cumulus.internal.Engine;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
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

  private final Engine engine;

  private Cumulus(Engine engine) {
    this.engine = engine;
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
   *     concurrency exceeds what is left unreserved, or it needs a metering mode this runtime lacks
   * @throws FunctionFailedException if creating a provisioned instance failed
   * @throws RuntimeClosedException if the runtime is closed
   */
  @SuppressWarnings("unchecked")
  public <I, O> Fn<I, O> register(FnSpec<I, O> spec) {
    Objects.requireNonNull(spec, "spec");
    return (Fn<I, O>) (Fn<?, ?>) engine.register(spec, spec.init(), spec.handler());
  }

  /**
   * Invokes a function by name and waits for its result.
   *
   * @param name the function's name
   * @param input the input, checked against the function's declared input type
   * @return the result
   * @throws NullPointerException if {@code name} is null
   * @throws UnknownFunctionException if no function has that name (the message lists near names)
   * @throws InvalidInputException if the input is null or of the wrong type (names both types)
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
   * Returns the registered functions, sorted by name.
   *
   * @return an immutable snapshot
   */
  public List<Fn<?, ?>> functions() {
    return List.copyOf(engine.functions());
  }

  /**
   * Unregisters a function. Later calls fail with {@link UnknownFunctionException}; calls already
   * accepted finish; then its instances are closed and its reserved concurrency is released.
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
   * Returns the runtime's metered usage: every function's stats (unregistered ones included), the
   * totals, the metering mode and the window covered. Price it with {@link Usage#bill(PriceModel)}.
   *
   * @return a snapshot
   */
  public Usage usage() {
    return new Usage(engine.meteringMode(), engine.createdAt(), java.time.Instant.now(),
        engine.allStats());
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
   * Closes the runtime: new calls fail with {@link RuntimeClosedException}; accepted calls, running
   * or queued, may finish within the drain timeout; what is left then fails with
   * {@link RuntimeClosedException} (no future stays incomplete); then every instance is closed.
   * Blocks until done. Idempotent; a second caller waits for the first to finish. Called from a
   * function's own thread, it does not wait for the drain.
   */
  @Override
  public void close() {
    engine.close();
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
    private @Nullable Clock clock;

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
      this.drainTimeout = drainTimeout;
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
     *     provide it (the message names the JVM option to add)
     */
    public Cumulus build() {
      int carriers = carrierThreads == -1 ? Runtime.getRuntime().availableProcessors() : carrierThreads;
      return new Cumulus(new Engine(
          maxConcurrency == -1 ? DEFAULT_MAX_CONCURRENCY : maxConcurrency,
          meteringMode,
          carriers,
          carrierKeepAlive == null ? DEFAULT_CARRIER_KEEP_ALIVE : carrierKeepAlive,
          drainTimeout == null ? DEFAULT_DRAIN_TIMEOUT : drainTimeout,
          clock));
    }
  }
}
