package dev.cumulus.vertx;

import dev.cumulus.CallOptions;
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
import java.util.Optional;
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
 * String id = words.emit("late event");                       // an event: accepted there, run later
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
 * <p>{@link #emit(Object)} and {@link #emitAsync(Object)} send an event (header
 * {@link EventBusBinding#EVENT_HEADER}): the serving node accepts it into the function's backlog and
 * replies with its id, and runs it there with the function's retries and dead-letter sink. An
 * idempotency key ({@link #emit(Object, String)}) rides in header
 * {@link EventBusBinding#IDEMPOTENCY_KEY_HEADER}; the window it is remembered in is the serving
 * node's, so with several nodes serving a function, a retried emit may reach another node: only
 * one node serving the function makes keys exact.
 *
 * <p>{@link #withTenant(String)} gives a handle whose calls and events are made for a tenant.
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
  private final @Nullable String tenant;
  private final JsonMapping json = JsonMapping.SHARED;

  private RemoteFn(Vertx vertx, String name, Class<I> inputType, Class<O> outputType, Duration timeout,
      @Nullable String tenant) {
    this.vertx = vertx;
    this.name = name;
    this.inputType = inputType;
    this.outputType = outputType;
    this.timeout = timeout;
    this.tenant = tenant;
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
    return new RemoteFn<>(vertx, name, box(inputType), box(outputType), DEFAULT_TIMEOUT, null);
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
    return new RemoteFn<>(vertx, name, inputType, outputType, timeout, tenant);
  }

  /**
   * Returns a handle like this one whose calls and events are made for {@code tenant}, as
   * {@link Fn#invoke(Object, CallOptions)} and {@link Fn#emit(Object, CallOptions)} make them on the
   * serving node (header {@link EventBusBinding#TENANT_HEADER}): they take the tenant's turns when
   * the function is contended there, go to the tenant's usage, and an idempotency key is the
   * tenant's own.
   *
   * <pre>{@code
   * RemoteFn<String, Integer> acme = words.withTenant("acme");
   * int n = acme.invoke("a b c");
   * }</pre>
   *
   * @param tenant 1 to 128 characters, not blank, without control characters
   * @return a new handle
   * @throws NullPointerException if {@code tenant} is null
   * @throws IllegalArgumentException if {@code tenant} is blank, too long or has control characters
   */
  public RemoteFn<I, O> withTenant(String tenant) {
    String checked = CallOptions.tenant(tenant).tenant().orElseThrow();
    return new RemoteFn<>(vertx, name, inputType, outputType, timeout, checked);
  }

  /** {@return the function's name} */
  public String name() {
    return name;
  }

  /** {@return how long a request waits for its reply} */
  public Duration timeout() {
    return timeout;
  }

  /** {@return the tenant its calls and events are made for, or empty for none} */
  public Optional<String> tenant() {
    return Optional.ofNullable(tenant);
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
    requireMayBlock("invoke", "request(...) or invokeAsync(...)");
    return await(invokeAsync(input));
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
    return send(input, new DeliveryOptions()).compose(body -> {
      try {
        return Future.succeededFuture(json.fromMessage(body, outputType));
      } catch (Exception e) {
        return Future.failedFuture(new CumulusException(name, "the reply of function '" + name
            + "' does not map to " + JsonMapping.describe(outputType) + ": " + Failure.describe(e), e));
      }
    });
  }

  /**
   * Emits an event to the function and waits until the serving node has accepted it, as
   * {@link Fn#emit(Object)} does locally: the function runs later, there, with its retries and
   * dead-letter sink, and this returns the event's id. Call it from a thread that may block, never
   * from an event loop.
   *
   * <p>If no reply comes within {@link #timeout()}, the event may or may not have been accepted; to
   * send it again safely, emit it with an {@linkplain #emit(Object, String) idempotency key}.
   *
   * @param input the input; {@code null} only for a function without input
   * @return the event's id
   * @throws InvalidInputException if the input is null or not of the input type, or the serving node
   *     could not map it
   * @throws dev.cumulus.ThrottledException if the function's event backlog on the serving node is full
   * @throws dev.cumulus.RuntimeClosedException if the serving runtime is closing
   * @throws dev.cumulus.UnknownFunctionException if no node serves the function
   * @throws CumulusException if no reply came within the timeout, or this thread was interrupted while
   *     waiting (its interrupt status is set again)
   * @throws IllegalStateException if called on an event-loop thread
   */
  public String emit(@Nullable I input) {
    requireMayBlock("emit", "emitAsync(...)");
    return await(emitAsync(input));
  }

  /**
   * Emits an event at most once per idempotency key, as {@link Fn#emit(Object, String)} does on the
   * serving node: a key it has seen within the function's idempotency window is not accepted again,
   * and the first event's id is returned. Otherwise as {@link #emit(Object)}; sending the same key
   * again is the safe way to retry an emit whose reply did not come.
   *
   * @param input the input; {@code null} only for a function without input
   * @param idempotencyKey names the event: 1 to 256 characters
   * @return the event's id, or the id of the event first accepted with this key
   * @throws NullPointerException if {@code idempotencyKey} is null
   * @throws IllegalArgumentException if {@code idempotencyKey} is empty or longer than 256 characters
   * @throws InvalidInputException if the input is null or not of the input type, or the serving node
   *     could not map it
   * @throws dev.cumulus.ThrottledException if the key is new and the function's event backlog on the
   *     serving node is full
   * @throws dev.cumulus.RuntimeClosedException if the serving runtime is closing
   * @throws dev.cumulus.UnknownFunctionException if no node serves the function
   * @throws CumulusException if no reply came within the timeout, or this thread was interrupted while
   *     waiting (its interrupt status is set again)
   * @throws IllegalStateException if called on an event-loop thread
   */
  public String emit(@Nullable I input, String idempotencyKey) {
    requireMayBlock("emit", "emitAsync(...)");
    return await(emitAsync(input, idempotencyKey));
  }

  /**
   * Emits an event without blocking: the future completes with the event's id once the serving node
   * has accepted it. Every failure of the call arrives through the future, as the exceptions listed
   * for {@link #emit(Object)}. For a Vert.x future on the caller's context:
   * {@code Future.fromCompletionStage(fn.emitAsync(input), vertx.getOrCreateContext())}.
   *
   * @param input the input; {@code null} only for a function without input
   * @return a future of the event's id
   */
  public CompletableFuture<String> emitAsync(@Nullable I input) {
    return sendEvent(input, null).toCompletionStage().toCompletableFuture();
  }

  /**
   * Emits an event at most once per idempotency key without blocking; as
   * {@link #emit(Object, String)}, with every failure of the call arriving through the future.
   *
   * @param input the input; {@code null} only for a function without input
   * @param idempotencyKey names the event: 1 to 256 characters
   * @return a future of the event's id, or of the id of the event first accepted with this key
   * @throws NullPointerException if {@code idempotencyKey} is null
   * @throws IllegalArgumentException if {@code idempotencyKey} is empty or longer than 256 characters
   */
  public CompletableFuture<String> emitAsync(@Nullable I input, String idempotencyKey) {
    Objects.requireNonNull(idempotencyKey, "idempotencyKey");
    Events.checkKey(idempotencyKey);
    return sendEvent(input, idempotencyKey).toCompletionStage().toCompletableFuture();
  }

  private Future<String> sendEvent(@Nullable I input, @Nullable String idempotencyKey) {
    DeliveryOptions options = new DeliveryOptions().addHeader(EventBusBinding.EVENT_HEADER, "true");
    if (idempotencyKey != null) {
      options.addHeader(EventBusBinding.IDEMPOTENCY_KEY_HEADER, idempotencyKey);
    }
    return send(input, options).compose(body -> body instanceof String id ? Future.succeededFuture(id)
        : Future.failedFuture(new CumulusException(name, "the node serving function '" + name
            + "' answered an event with " + (body == null ? "nothing" : "a " + body.getClass().getSimpleName())
            + ", not its id", null)));
  }

  /**
   * Sends {@code input} to the function's address and returns the reply's body; a failed future with
   * the exception a local call would have thrown if the input is not the function's or the call failed.
   */
  private Future<@Nullable Object> send(@Nullable I input, DeliveryOptions options) {
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
    options.setSendTimeout(timeout.toMillis());
    if (tenant != null) {
      options.addHeader(EventBusBinding.TENANT_HEADER, tenant);
    }
    return vertx.eventBus().<@Nullable Object>request(EventBusBinding.address(name), body, options).transform(reply ->
        reply.failed() ? Future.failedFuture(Failure.toException(name, reply.cause(), timeout))
            : Future.succeededFuture(reply.result().body()));
  }

  /** Refuses to block an event loop, before anything is sent. */
  private void requireMayBlock(String method, String instead) {
    if (Context.isOnEventLoopThread()) {
      throw new IllegalStateException("RemoteFn." + method + " blocks, and this is an event-loop thread: use "
          + instead + " for function '" + name + "'");
    }
  }

  /** Waits for {@code call}, throwing what it failed with. */
  private <T> T await(CompletableFuture<T> call) {
    try {
      return call.get();
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CumulusException(name, "interrupted while waiting for function '" + name + "'", e);
    }
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
    return "RemoteFn[" + name + " at " + EventBusBinding.address(name) + ", timeout " + timeout
        + (tenant == null ? "" : ", tenant " + tenant) + "]";
  }
}
