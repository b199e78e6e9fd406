package dev.cumulus;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A registered function: call it synchronously or asynchronously, and read its stats.
 *
 * <pre>{@code
 * Fn<String, Integer> words = cumulus.register(FnSpec.of("word-count", (String s) -> s.split(" ").length).build());
 * int n = words.invoke("a b c");                               // 3
 * CompletableFuture<Integer> later = words.invokeAsync("a b");  // completes with 2
 * }</pre>
 *
 * <p>Every call reaches admission: it starts at once if the function is under its concurrency
 * limit, waits in the function's queue (first in, first out) if it is not, and is throttled if the
 * queue is full. Calls made for {@linkplain CallOptions#tenant(String) tenants} wait in turns, tenant
 * by tenant (see {@link CallOptions}). {@linkplain #emit Events} wait in a backlog of their own (in
 * turns too, when {@linkplain #emit(Object, CallOptions) emitted for tenants}) and are admitted when
 * the function has capacity. Instances are thread-safe.
 *
 * @param <I> the input type; {@code @Nullable Void} for a function without input
 *     ({@link FnSpec#ofSupplier}), invoked with {@code null}
 * @param <O> the output type; {@code @Nullable Void} for a function without a result
 *     ({@link FnSpec#ofConsumer}), whose result is {@code null}
 */
public interface Fn<I extends @Nullable Object, O extends @Nullable Object> {
  /**
   * Returns the function's name.
   *
   * @return the name it was registered under
   */
  String name();

  /**
   * Returns the spec the function was registered with.
   *
   * @return the spec
   */
  FnSpec<I, O> spec();

  /**
   * Runs the function on one input and waits for its result. The calling thread only waits (a
   * virtual thread unmounts); the function runs on a Cumulus virtual thread.
   *
   * <p>A call that finds every concurrency slot taken waits in the function's queue for as long as
   * the calls ahead of it take. Those include calls past their timeout whose code ignores the
   * interrupt: they hold their slot until their code returns ({@link FunctionStats#overdue()}), so
   * a call queued behind them can wait without end, unless the function has a
   * {@linkplain FnSpec.Builder#queueTimeout(java.time.Duration) queue timeout}.
   *
   * @param input the input; {@code null} only for a function without input ({@link FnSpec#ofSupplier})
   * @return the function's result
   * @throws InvalidInputException if the input is null or not of the declared input type
   * @throws ThrottledException if the function is at its concurrency limit and its queue is full
   * @throws FunctionTimeoutException if the invocation ran past the function's timeout, or waited in
   *     its queue past the function's queue timeout ({@link FunctionTimeoutException#queued()})
   * @throws FunctionFailedException if the function threw; the cause is what it threw
   * @throws CpuBudgetExceededException if the invocation used more than its CPU budget
   * @throws RuntimeClosedException if the runtime is closing or closed
   * @throws UnknownFunctionException if the function was unregistered
   * @throws CallerInterruptedException if the calling thread is interrupted: before the call (its
   *     interrupt status already set), the call is not made; while it waits, the invocation goes on
   *     without it. Either way the thread's interrupt status stays set
   */
  O invoke(I input);

  /**
   * Starts the function on one input and returns at once. Every outcome, including throttling, a
   * closed runtime and an invalid input, arrives through the future, never as an exception from this
   * method. Cancelling the future before the invocation starts removes it (it never runs and is
   * counted as {@link FunctionStats#cancelled()}); once it runs, cancelling only stops the wait.
   * Dependent stages added without an executor run on the function's virtual thread.
   *
   * <p>From inside a function, {@code join()} or {@code get()} of this future is a wait of the
   * function's call chain, as a synchronous {@link #invoke} is: if the call has not started and
   * every concurrency slot it could start in is held by that chain, each call waiting for the next
   * (say {@code fact} under {@code maxConcurrency(1)} joining a call of itself), the wait could never
   * end, so the call is withdrawn (counted as {@linkplain FunctionStats#cancelled() cancelled}, it
   * never runs) and the future fails at once with a {@link CumulusException} naming the chain.
   * Waits on other futures are not recognised and last until a timeout: a future derived from this
   * one ({@code thenApply}, {@code thenCompose}, {@code allOf}, ...), {@code get} with a time limit,
   * or a future of an executor from {@link Cumulus#executor(String)}.
   *
   * @param input the input; {@code null} only for a function without input
   * @return a future of the result, failed with the exceptions listed for {@link #invoke}
   */
  CompletableFuture<O> invokeAsync(I input);

  /**
   * Runs the function on one input with call options (a {@linkplain CallOptions#tenant(String)
   * tenant}) and waits for its result, as {@link #invoke(Object)} does.
   *
   * <p>The default implementation ignores the options and calls {@link #invoke(Object)}; the
   * functions a {@link Cumulus} runtime registers serve tenants fairly and account for each.
   *
   * @param input the input
   * @param options the call's options
   * @return the function's result
   * @throws NullPointerException if {@code options} is null
   * @throws CumulusException as listed for {@link #invoke(Object)}
   */
  default O invoke(I input, CallOptions options) {
    Objects.requireNonNull(options, "options");
    return invoke(input);
  }

  /**
   * Starts the function on one input with call options (a {@linkplain CallOptions#tenant(String)
   * tenant}) and returns at once, as {@link #invokeAsync(Object)} does.
   *
   * <p>The default implementation ignores the options and calls {@link #invokeAsync(Object)}.
   *
   * @param input the input
   * @param options the call's options
   * @return a future of the result, failed with the exceptions listed for {@link #invoke(Object)}
   * @throws NullPointerException if {@code options} is null
   */
  default CompletableFuture<O> invokeAsync(I input, CallOptions options) {
    Objects.requireNonNull(options, "options");
    return invokeAsync(input);
  }

  /**
   * Runs the function on one input, waits for its result, and returns it with what this invocation
   * alone used: whether it was a cold start, its queue wait, wall and CPU time, its billed duration
   * and CPU, and the bytes its code processed ({@link Receipt}). Calls running at the same time do
   * not blur these figures. Otherwise as {@link #invoke}; a plain {@code invoke} costs nothing for
   * this being possible.
   *
   * <pre>{@code
   * Receipt<Integer> r = words.invokeMetered("a b c");
   * System.out.println(r.result() + " in " + r.billedCpuMillis() + " CPU-ms, cold start: " + r.coldStart());
   * }</pre>
   *
   * @param input the input; {@code null} only for a function without input ({@link FnSpec#ofSupplier})
   * @return the function's result and this invocation's figures
   * @throws InvalidInputException if the input is null or not of the declared input type
   * @throws ThrottledException if the function is at its concurrency limit and its queue is full
   * @throws FunctionTimeoutException if the invocation ran past the function's timeout
   * @throws FunctionFailedException if the function threw; the cause is what it threw
   * @throws CpuBudgetExceededException if the invocation used more than its CPU budget
   * @throws RuntimeClosedException if the runtime is closing or closed
   * @throws UnknownFunctionException if the function was unregistered
   * @throws CumulusException if the calling thread was interrupted while waiting (its interrupt
   *     status is set again; the invocation goes on)
   */
  Receipt<O> invokeMetered(I input);

  /**
   * Starts the function on one input and returns at once; the future completes with the result and
   * what this invocation alone used ({@link Receipt}). Every outcome arrives through the future, and
   * cancelling it behaves as for {@link #invokeAsync}.
   *
   * @param input the input; {@code null} only for a function without input
   * @return a future of the result's receipt, failed with the exceptions listed for {@link #invoke}
   */
  CompletableFuture<Receipt<O>> invokeMeteredAsync(I input);

  /**
   * Runs the function on one input with call options (a {@linkplain CallOptions#tenant(String)
   * tenant}), waits for its result, and returns it with this invocation's own figures, as
   * {@link #invokeMetered(Object)} does.
   *
   * <p>The default implementation ignores the options and calls {@link #invokeMetered(Object)}; the
   * functions a {@link Cumulus} runtime registers serve tenants fairly and account for each.
   *
   * @param input the input
   * @param options the call's options
   * @return the function's result and this invocation's figures
   * @throws NullPointerException if {@code options} is null
   * @throws CumulusException as listed for {@link #invokeMetered(Object)}
   */
  default Receipt<O> invokeMetered(I input, CallOptions options) {
    Objects.requireNonNull(options, "options");
    return invokeMetered(input);
  }

  /**
   * Starts the function on one input with call options (a {@linkplain CallOptions#tenant(String)
   * tenant}) and returns at once, as {@link #invokeMeteredAsync(Object)} does.
   *
   * <p>The default implementation ignores the options and calls {@link #invokeMeteredAsync(Object)}.
   *
   * @param input the input
   * @param options the call's options
   * @return a future of the result's receipt, failed with the exceptions listed for {@link #invoke}
   * @throws NullPointerException if {@code options} is null
   */
  default CompletableFuture<Receipt<O>> invokeMeteredAsync(I input, CallOptions options) {
    Objects.requireNonNull(options, "options");
    return invokeMeteredAsync(input);
  }

  /**
   * Emits an event: the function will run on {@code input} later, on its own threads, with
   * retries, and the returned id names the event. It returns as soon as the event is accepted
   * into the function's bounded backlog ({@link FnSpec.Builder#eventCapacity(int)}); the caller
   * never runs the function and never waits for it.
   *
   * <p>Events run under the function's limits, as invocations (each attempt is counted in
   * {@link #stats()} like a call, and metered): when the function is at its concurrency limit,
   * an event waits for capacity, and waiting is not a failed attempt. A failed attempt is retried
   * by the function's {@link RetryPolicy}; an event that cannot succeed ends as one
   * {@link DeadLetter} in its {@link DeadLetterSink}. Every accepted event ends exactly once,
   * succeeded or dead-lettered ({@link FunctionStats#eventsPending()} counts those not ended yet);
   * {@link Cumulus#close()} dead-letters those it could not run by its drain deadline.
   *
   * <pre>{@code
   * String id = words.emit("late event");
   * }</pre>
   *
   * @param input the input; {@code null} only for a function without input
   * @return the event's id, unique (a time-ordered UUID)
   * @throws InvalidInputException if the input is null or not of the declared input type
   * @throws ThrottledException if the function's backlog is full ({@code eventCapacity} events pending)
   * @throws RuntimeClosedException if the runtime is closing or closed
   * @throws UnknownFunctionException if the function was unregistered
   */
  String emit(I input);

  /**
   * Emits an event at most once per idempotency key: if an event with this key was accepted within
   * the function's {@linkplain FnSpec.Builder#idempotencyWindow(Duration) idempotency window}, it is
   * not accepted again and this returns the first event's id. Concurrent emits of one key accept one
   * event (single flight); the others wait for it and return its id. Otherwise as {@link #emit(Object)}.
   *
   * <pre>{@code
   * String first = fn.emit(order, "order-42");
   * String again = fn.emit(order, "order-42");   // the same id; the function runs once
   * }</pre>
   *
   * @param input the input; {@code null} only for a function without input
   * @param idempotencyKey names the event: 1 to 256 characters
   * @return the event's id, or the id of the event first accepted with this key
   * @throws NullPointerException if {@code idempotencyKey} is null
   * @throws IllegalArgumentException if {@code idempotencyKey} is empty or longer than 256 characters
   * @throws InvalidInputException if the input is null or not of the declared input type
   * @throws ThrottledException if the key is new and the function's backlog is full
   * @throws RuntimeClosedException if the runtime is closing or closed
   * @throws UnknownFunctionException if the function was unregistered
   */
  String emit(I input, String idempotencyKey);

  /**
   * Emits an event with call options: made for a {@linkplain CallOptions#tenant(String) tenant}, the
   * event is that tenant's as its calls are. It waits in the function's backlog in its tenant's lane,
   * and the backlog serves tenants in weighted round-robin ({@link FnSpec.Builder#tenantWeight}) as
   * the function's queue serves calls, so a flood of events from one tenant cannot hold up another
   * tenant's; a tenant with fewer events waiting than its weighted share of
   * {@link FnSpec.Builder#eventCapacity(int) eventCapacity} is accepted even when the backlog is full
   * (up to twice {@code eventCapacity} pending). Each attempt is a call made for the tenant: it takes
   * the tenant's turn in the function's queue and is in the tenant's usage ({@link Usage#byTenant()},
   * one invocation per attempt). Otherwise as {@link #emit(Object)}.
   *
   * <pre>{@code
   * String id = resize.emit(upload, CallOptions.tenant("acme"));
   * }</pre>
   *
   * <p>The default implementation ignores the options and calls {@link #emit(Object)}; the functions
   * a {@link Cumulus} runtime registers honour them.
   *
   * @param input the input; {@code null} only for a function without input
   * @param options the event's options
   * @return the event's id, unique (a time-ordered UUID)
   * @throws NullPointerException if {@code options} is null
   * @throws InvalidInputException if the input is null or not of the declared input type
   * @throws ThrottledException if the function's backlog is full (for a tenant: and it has its share
   *     of the events waiting)
   * @throws RuntimeClosedException if the runtime is closing or closed
   * @throws UnknownFunctionException if the function was unregistered
   */
  default String emit(I input, CallOptions options) {
    Objects.requireNonNull(options, "options");
    return emit(input);
  }

  /**
   * Emits an event at most once per idempotency key, with call options: as
   * {@link #emit(Object, String)} for the key, as {@link #emit(Object, CallOptions)} for the tenant.
   * A tenant's keys are its own: the same key emitted for two tenants (or for a tenant and without
   * one) names two events, so a tenant can neither suppress another tenant's event nor learn its id.
   *
   * <p>The default implementation ignores the options and calls {@link #emit(Object, String)}.
   *
   * @param input the input; {@code null} only for a function without input
   * @param idempotencyKey names the event among the tenant's: 1 to 256 characters
   * @param options the event's options
   * @return the event's id, or the id of the event first accepted with this key for this tenant
   * @throws NullPointerException if {@code idempotencyKey} or {@code options} is null
   * @throws IllegalArgumentException if {@code idempotencyKey} is empty or longer than 256 characters
   * @throws InvalidInputException if the input is null or not of the declared input type
   * @throws ThrottledException if the key is new and the function's backlog is full (for a tenant:
   *     and it has its share of the events waiting)
   * @throws RuntimeClosedException if the runtime is closing or closed
   * @throws UnknownFunctionException if the function was unregistered
   */
  default String emit(I input, String idempotencyKey, CallOptions options) {
    Objects.requireNonNull(options, "options");
    return emit(input, idempotencyKey);
  }

  /**
   * Returns a snapshot of the function's counters and metered usage. It includes every invocation
   * whose result its caller already has.
   *
   * @return the stats
   */
  FunctionStats stats();
}
