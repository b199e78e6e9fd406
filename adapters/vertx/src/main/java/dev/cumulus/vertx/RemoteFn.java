package dev.cumulus.vertx;

import dev.cumulus.CumulusException;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.InvalidInputException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.jspecify.annotations.Nullable;

/**
 * A typed handle on a function served by an {@link EventBusBinding}, usually on another node of a
 * clustered Vert.x: its calls are event-bus requests to {@code cumulus.fn.<name>}, and it fails with
 * the exceptions a local {@link Fn} throws.
 *
 * <pre>{@code
 * RemoteFn<String, Integer> words = RemoteFn.of(vertx, "word-count", String.class, Integer.class);
 * int n = words.invoke("a b c");                             // blocks this (non event-loop) thread
 * words.request("a b").onSuccess(count -> ...);               // a Vert.x future, on this context
 * CompletableFuture<Integer> later = words.invokeAsync("x");  // or a CompletableFuture
 * }</pre>
 *
 * <p>Failures, as {@link Fn#invoke} has them: {@link InvalidInputException} (checked here for
 * {@code null} and the input type, and by the serving node), {@link dev.cumulus.ThrottledException},
 * {@link dev.cumulus.FunctionTimeoutException}, {@link dev.cumulus.FunctionFailedException} (its cause
 * a {@link RemoteFailure} with the remote exception's type and message),
 * {@link dev.cumulus.CpuBudgetExceededException}, {@link dev.cumulus.RuntimeClosedException} (also when
 * the serving node left before the call finished), {@link dev.cumulus.UnknownFunctionException} (no
 * node serves the function). The event bus's own failures are {@link CumulusException}s: no reply
 * within {@link #timeout()} (the serving node crashed, or is overloaded; the call may or may not
 * have run), or a message that could not be delivered.
 *
 * <p>What the event bus does not do: it does not retry (a request is delivered at most once), it
 * does not notice that a node died with a call in flight (that call fails when its timeout passes),
 * and it keeps no message when no node serves the address (that is a
 * {@link dev.cumulus.UnknownFunctionException} at once).
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
public final class RemoteFn<I, O> {
  /**
   * Default {@linkplain #timeout() request timeout}: a function's default timeout
   * ({@link FnSpec#DEFAULT_TIMEOUT}) and 5 s for the trip and the queue.
   */
  public static final Duration DEFAULT_TIMEOUT = FnSpec.DEFAULT_TIMEOUT.plusSeconds(5);

  private final Vertx vertx;
  private final String name;
  private final Class<I> inputType;
  private final Class<O> outputType;
  private final Duration timeout;
  private final JsonMapping json = JsonMapping.SHARED;

  private RemoteFn(Vertx vertx, String name, Class<I> inputType, Class<O> outputType, Duration timeout) {
    this.vertx = vertx;
    this.name = name;
    this.inputType = inputType;
    this.outputType = outputType;
    this.timeout = timeout;
  }

  /**
   * Returns a handle on the function {@code name}, wherever on the event bus it is served.
   *
   * @param vertx the Vert.x instance whose event bus carries the calls
   * @param name the function's name
   * @param inputType the function's input type ({@code Void} for none, {@code Object} for any JSON value)
   * @param outputType the type its results are read as ({@code Object} for the JSON value as is)
   * @param <I> the input type
   * @param <O> the output type
   * @return the handle, with the default timeout
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public static <I, O> RemoteFn<I, O> of(Vertx vertx, String name, Class<I> inputType, Class<O> outputType) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(inputType, "inputType");
    Objects.requireNonNull(outputType, "outputType");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name must not be blank but was '" + name + "'");
    }
    return new RemoteFn<>(vertx, name, box(inputType), box(outputType), DEFAULT_TIMEOUT);
  }

  /**
   * Returns a handle like this one whose requests wait at most {@code timeout} for their reply.
   * Make it longer than the function's timeout plus the time a call may wait in its queue, or a
   * call that would have succeeded fails here while it still runs there.
   *
   * @param timeout positive
   * @return a new handle
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if not at least 1 ms
   */
  public RemoteFn<I, O> withTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.toMillis() <= 0) {
      throw new IllegalArgumentException("timeout must be at least 1 ms but was " + timeout);
    }
    return new RemoteFn<>(vertx, name, inputType, outputType, timeout);
  }

  /** {@return the function's name} */
  public String name() {
    return name;
  }

  /** {@return how long a request waits for its reply} */
  public Duration timeout() {
    return timeout;
  }

  /**
   * Calls the function and waits for its result. Call it from a thread that may block (a virtual
   * thread, a worker), never from an event loop.
   *
   * @param input the input; {@code null} only for a function without input
   * @return the function's result
   * @throws InvalidInputException if the input is null or not of the input type, or the serving node
   *     could not map it
   * @throws dev.cumulus.ThrottledException if the serving node's queue for the function is full
   * @throws dev.cumulus.FunctionTimeoutException if the invocation ran past the function's timeout
   * @throws dev.cumulus.FunctionFailedException if the function threw; the cause is a
   *     {@link RemoteFailure}
   * @throws dev.cumulus.CpuBudgetExceededException if the invocation used more than its CPU budget
   * @throws dev.cumulus.RuntimeClosedException if the serving runtime is closing, or the node left
   *     before the call finished
   * @throws dev.cumulus.UnknownFunctionException if no node serves the function
   * @throws CumulusException if no reply came within the timeout, the reply does not map to the
   *     output type, or this thread was interrupted while waiting (its interrupt status is set again)
   * @throws IllegalStateException if called on an event-loop thread
   */
  public O invoke(@Nullable I input) {
    if (Context.isOnEventLoopThread()) {
      throw new IllegalStateException("RemoteFn.invoke blocks, and this is an event-loop thread: use"
          + " request(...) or invokeAsync(...) for function '" + name + "'");
    }
    try {
      return invokeAsync(input).get();
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CumulusException(name, "interrupted while waiting for function '" + name + "'", e);
    }
  }

  /**
   * Calls the function without blocking. Every failure arrives through the future, as the
   * exceptions listed for {@link #invoke}.
   *
   * @param input the input; {@code null} only for a function without input
   * @return a future of the result
   */
  public CompletableFuture<O> invokeAsync(@Nullable I input) {
    return request(input).toCompletionStage().toCompletableFuture();
  }

  /**
   * Calls the function and returns a Vert.x future, completed on the caller's context (or a new one
   * off Vert.x threads). Every failure arrives through the future, as the exceptions listed for
   * {@link #invoke}.
   *
   * @param input the input; {@code null} only for a function without input
   * @return a future of the result
   */
  public Future<O> request(@Nullable I input) {
    if (input == null ? inputType != Void.class && inputType != Object.class : !inputType.isInstance(input)) {
      return Future.failedFuture(new InvalidInputException(name, inputType, input == null ? null : input.getClass()));
    }
    Object body;
    try {
      body = json.toMessage(input);
    } catch (Exception e) {
      return Future.failedFuture(new InvalidInputException(name, "the input of function '" + name + "' ("
          + JsonMapping.describe(inputType) + ") cannot be written as JSON: " + Failure.describe(e)));
    }
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(timeout.toMillis());
    return vertx.eventBus().request(EventBusBinding.address(name), body, options).transform(reply -> {
      if (reply.failed()) {
        return Future.failedFuture(Failure.toException(name, reply.cause(), timeout));
      }
      try {
        return Future.succeededFuture(json.fromMessage(reply.result().body(), outputType));
      } catch (Exception e) {
        return Future.failedFuture(new CumulusException(name, "the reply of function '" + name
            + "' does not map to " + JsonMapping.describe(outputType) + ": " + Failure.describe(e), e));
      }
    });
  }

  private static RuntimeException rethrow(@Nullable Throwable cause) {
    Throwable t = cause instanceof CompletionException c && c.getCause() != null ? c.getCause() : cause;
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new CumulusException(null, "remote call failed", t);
  }

  @SuppressWarnings("unchecked")
  private static <T> Class<T> box(Class<T> type) {
    return (Class<T>) java.lang.invoke.MethodType.methodType(type).wrap().returnType();
  }

  @Override
  public String toString() {
    return "RemoteFn[" + name + " at " + EventBusBinding.address(name) + ", timeout " + timeout + "]";
  }
}
