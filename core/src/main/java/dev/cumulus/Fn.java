package dev.cumulus;

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
 * queue is full. Instances are thread-safe.
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
   * Returns a snapshot of the function's counters and metered usage. It includes every invocation
   * whose result its caller already has.
   *
   * @return the stats
   */
  FunctionStats stats();
}
