package dev.cumulus;

import static dev.cumulus.Checks.requireArgument;
import static dev.cumulus.Checks.requireState;

import dev.cumulus.internal.LoadDriver;
import dev.cumulus.internal.PeakWindow;
import dev.cumulus.internal.ProgressLine;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A load test of one registered function, in process: {@code concurrency} callers each invoke it one
 * call at a time (a closed loop) for a duration or a number of calls, and the result is a
 * {@link LoadReport} with throughput, latency percentiles, CPU per invocation, cost per million
 * invocations and errors by type.
 *
 * <pre>{@code
 * LoadReport report = LoadTest.of(cumulus, "word-count", () -> "the quick brown fox")
 *     .concurrency(64)
 *     .duration(Duration.ofSeconds(10))
 *     .run();
 * System.out.println(report);
 * }</pre>
 *
 * <p>Runs longer than two seconds show a progress line on the console, rewritten in place on a
 * terminal and printed as plain lines otherwise; {@link #progress(PrintStream)} sends it elsewhere and
 * {@link #quiet()} turns it off. A run always ends by itself: after the duration (calls in flight then
 * finish, each bounded by the function's timeout) or after the number of calls.
 *
 * <table class="striped">
 *   <caption>Options and defaults</caption>
 *   <tr><th>option</th><th>default</th></tr>
 *   <tr><td>{@code concurrency}</td><td>{@value #DEFAULT_CONCURRENCY} callers</td></tr>
 *   <tr><td>{@code duration} or {@code invocations}</td><td>a duration of 10 s</td></tr>
 *   <tr><td>{@code priceModel}</td><td>{@link PriceModel#cloudflareWorkers()} (priced on CPU time)
 *       when the runtime meters {@link MeteringMode#EXACT}, else {@link PriceModel#awsLambdaX86(int)
 *       awsLambdaX86(128)} (priced on wall time and 128 MB)</td></tr>
 *   <tr><td>progress</td><td>on {@code System.out}</td></tr>
 * </table>
 *
 * <p>The CPU, cold starts and cost come from the function's {@link FunctionStats} before and after
 * the run, so calls made to it from elsewhere meanwhile are included. The callers run on virtual
 * threads of the JDK's default scheduler, not on the runtime's carriers, so their own work is not
 * metered as the function's (on a 2-core machine they do compete with it for CPU).
 *
 * <p>A load test is a single-use builder: not thread-safe, and it runs once.
 */
public final class LoadTest {
  /** Default number of callers. */
  public static final int DEFAULT_CONCURRENCY = 64;
  /** Default duration, when neither a duration nor a number of invocations is set. */
  public static final Duration DEFAULT_DURATION = Duration.ofSeconds(10);
  /** Largest number of callers (each is a virtual thread). */
  public static final int MAX_CONCURRENCY = 100_000;

  private final Cumulus cumulus;
  private final Fn<@Nullable Object, @Nullable Object> fn;
  private final Supplier<? extends @Nullable Object> inputs;
  private int concurrency;
  private @Nullable Duration duration;
  private long invocations;
  private @Nullable PriceModel priceModel;
  private @Nullable ProgressLine progress;
  private boolean ran;

  private LoadTest(Cumulus cumulus, Fn<@Nullable Object, @Nullable Object> fn,
      Supplier<? extends @Nullable Object> inputs) {
    this.cumulus = cumulus;
    this.fn = fn;
    this.inputs = inputs;
  }

  /**
   * Starts a load test of a registered function.
   *
   * @param cumulus the runtime
   * @param function the function's name
   * @param inputs supplies each call's input; called by many callers at once, so it must be
   *     thread-safe. If it throws, the test stops and {@link #run()} throws.
   * @return a load test to configure and {@link #run()}
   * @throws NullPointerException if an argument is null
   * @throws UnknownFunctionException if no function of that name is registered
   */
  @SuppressWarnings("unchecked")
  public static LoadTest of(Cumulus cumulus, String function, Supplier<? extends @Nullable Object> inputs) {
    Objects.requireNonNull(cumulus, "cumulus");
    Objects.requireNonNull(function, "function");
    Objects.requireNonNull(inputs, "inputs");
    return new LoadTest(cumulus, (Fn<@Nullable Object, @Nullable Object>) cumulus.function(function), inputs);
  }

  /**
   * Sets how many callers invoke the function at once, each waiting for its call before the next.
   *
   * @param concurrency 1 to {@value #MAX_CONCURRENCY} (default {@value #DEFAULT_CONCURRENCY})
   * @return this load test
   * @throws IllegalArgumentException if out of range
   * @throws IllegalStateException if already set
   */
  public LoadTest concurrency(int concurrency) {
    requireState(this.concurrency == 0, "concurrency was already set to %s", this.concurrency);
    requireArgument(concurrency >= 1 && concurrency <= MAX_CONCURRENCY,
        "concurrency must be between 1 and %s but was %s", MAX_CONCURRENCY, concurrency);
    this.concurrency = concurrency;
    return this;
  }

  /**
   * Runs for this long: no call starts after it, and the calls in flight then finish. The
   * alternative to {@link #invocations(long)}.
   *
   * @param duration positive (default 10 s when {@code invocations} is not set either)
   * @return this load test
   * @throws IllegalArgumentException if zero or negative
   * @throws IllegalStateException if already set, or {@code invocations} is set
   */
  public LoadTest duration(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    requireState(this.duration == null, "duration was already set to %s", this.duration);
    requireState(invocations == 0, "duration and invocations are alternatives, and invocations was"
        + " already set to %s", invocations);
    this.duration = Checks.positive("duration", duration);
    return this;
  }

  /**
   * Runs until this many calls have been made. The alternative to {@link #duration(Duration)}.
   *
   * @param invocations at least 1
   * @return this load test
   * @throws IllegalArgumentException if not positive
   * @throws IllegalStateException if already set, or {@code duration} is set
   */
  public LoadTest invocations(long invocations) {
    requireState(this.invocations == 0, "invocations was already set to %s", this.invocations);
    requireState(duration == null, "duration and invocations are alternatives, and duration was"
        + " already set to %s", duration);
    requireArgument(invocations > 0, "invocations must be positive but was %s", invocations);
    this.invocations = invocations;
    return this;
  }

  /**
   * Sets the price model of the report's cost per million invocations.
   *
   * @param priceModel the model (default: see the class description)
   * @return this load test
   * @throws IllegalStateException if already set
   */
  public LoadTest priceModel(PriceModel priceModel) {
    Objects.requireNonNull(priceModel, "priceModel");
    requireState(this.priceModel == null, "priceModel was already set to %s", this.priceModel);
    this.priceModel = priceModel;
    return this;
  }

  /**
   * Prints progress on {@code out}, one plain line per second, instead of on the console.
   *
   * @param out where progress goes
   * @return this load test
   * @throws IllegalStateException if progress was already set or turned off
   */
  public LoadTest progress(PrintStream out) {
    Objects.requireNonNull(out, "out");
    requireState(progress == null, "progress was already set");
    this.progress = ProgressLine.to(out);
    return this;
  }

  /**
   * Prints no progress.
   *
   * @return this load test
   * @throws IllegalStateException if progress was already set or turned off
   */
  public LoadTest quiet() {
    requireState(progress == null, "progress was already set");
    this.progress = ProgressLine.off();
    return this;
  }

  /**
   * Runs the load test and waits for it to end. If the calling thread is interrupted, no further
   * call starts, the calls in flight finish, and the report covers what ran (the interrupt status is
   * set again).
   *
   * @return the report
   * @throws IllegalStateException if this load test already ran, or the price model cannot price
   *     the runtime's metering mode
   * @throws RuntimeClosedException if the runtime is closed (before any call is made)
   * @throws InvalidInputException if the input supplier gave an input the function cannot take:
   *     {@code null} for a function that takes a value, a value for one that takes none, or a value
   *     not of its declared {@linkplain FnSpec.Builder#inputType(Class) input type}. The test stops
   *     at the first such input, once the callers stopped, rather than report every call failed
   * @throws RuntimeException what the input supplier threw, once the callers stopped
   */
  public LoadReport run() {
    requireState(!ran, "this load test already ran; start a new one with LoadTest.of");
    ran = true;
    if (cumulus.engine().isClosing()) {
      throw new RuntimeClosedException(fn.name(), "the Cumulus runtime is closed: a load test of function '"
          + fn.name() + "' could make no call");
    }
    MeteringMode mode = cumulus.meteringMode();
    PriceModel model = priceModel != null ? priceModel
        : mode == MeteringMode.EXACT ? PriceModel.cloudflareWorkers() : PriceModel.awsLambdaX86(128);
    FunctionStats before = fn.stats();
    model.price(before.minus(before), mode); // fails now, not after the run, if it cannot price this mode
    int callers = concurrency == 0 ? DEFAULT_CONCURRENCY : concurrency;
    long durationNanos = invocations > 0 ? 0 : (duration == null ? DEFAULT_DURATION : duration).toNanos();
    Fn<@Nullable Object, @Nullable Object> target = fn;
    LoadDriver driver = new LoadDriver(fn.name(), input -> target.invokeAsync(input), checked(inputs), callers,
        invocations, durationNanos, progress == null ? ProgressLine.console() : progress);
    LoadDriver.Result r;
    int peak;
    // The run's own peak: the function's since registration may come from earlier load.
    try (PeakWindow window = cumulus.engine().openPeakWindow(fn)) {
      r = driver.run();
      peak = window.peak();
    }
    FunctionStats used = fn.stats().minus(before);

    long metered = used.successes() + used.failures() + used.timeouts() - used.queueTimeouts();
    Duration cpuPerInvocation = mode == MeteringMode.EXACT && metered > 0
        ? Duration.ofNanos(used.cpuTime().toNanos() / metered) : Duration.ZERO;
    Bill.Line line = model.price(used, mode);
    BigDecimal costPerMillion = line.requests() == 0 ? BigDecimal.ZERO
        : line.total().multiply(PriceModel.MILLION).divide(BigDecimal.valueOf(line.requests()),
            PriceModel.SCALE, RoundingMode.HALF_EVEN);
    double seconds = r.elapsedNanos() / 1e9;
    return new LoadReport(fn.name(), callers, Duration.ofNanos(r.elapsedNanos()), r.calls(),
        r.successes(), r.errors(), seconds > 0 ? r.calls() / seconds : 0,
        new Percentiles(r.calls(), Duration.ofNanos(r.p50()), Duration.ofNanos(r.p90()),
            Duration.ofNanos(r.p99()), Duration.ofNanos(r.max())),
        cpuPerInvocation, costPerMillion, model.description(), mode,
        peak, used.coldStarts());
  }

  /**
   * The inputs, each checked as a call checks it: a supplier of the wrong type stops the test at once
   * instead of making it a report of nothing but failed calls.
   */
  private Supplier<? extends @Nullable Object> checked(Supplier<? extends @Nullable Object> inputs) {
    String name = fn.name();
    Class<?> type = fn.spec().inputType();
    return () -> {
      Object input = inputs.get();
      boolean fits = input == null ? type == Void.class
          : type != Void.class && (type == Object.class || type.isInstance(input));
      if (!fits) {
        throw new InvalidInputException(name, "the input supplier of the load test of function '" + name
            + "' gave an input the function cannot take, so the test stopped: " + new InvalidInputException(
                name, type, input == null ? null : input.getClass()).getMessage());
      }
      return input;
    };
  }

  @Override
  public String toString() {
    return "LoadTest{function=" + fn.name() + ", concurrency="
        + (concurrency == 0 ? DEFAULT_CONCURRENCY : concurrency)
        + (invocations > 0 ? ", invocations=" + invocations
            : ", duration=" + (duration == null ? DEFAULT_DURATION : duration)) + "}";
  }
}
