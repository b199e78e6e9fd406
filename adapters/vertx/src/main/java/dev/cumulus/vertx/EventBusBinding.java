package dev.cumulus.vertx;

import dev.cumulus.CallOptions;
import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.UnknownFunctionException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Serves a Cumulus runtime's functions on the Vert.x event bus: each function {@code f} is consumed
 * at the address {@code cumulus.fn.f} ({@link #address(String)}), functions registered later
 * included, and the consumer goes when the function is unregistered.
 *
 * <pre>{@code
 * EventBusBinding binding = EventBusBinding.bind(vertx, cumulus).await();
 * vertx.eventBus().request("cumulus.fn.word-count", "a b c")
 *     .onSuccess(reply -> System.out.println(reply.body()));   // 3
 * }</pre>
 *
 * <ul>
 *   <li><b>Request/reply invokes.</b> The message body is the input: a JSON value in Vert.x's form
 *       ({@code String}, a number, {@code Boolean}, {@code JsonObject}, {@code JsonArray},
 *       {@code null}) or a {@code Buffer} of JSON text, mapped to the function's input type as the
 *       {@linkplain CumulusGateway gateway} maps HTTP bodies. The reply is the result in the same
 *       form (objects as {@code JsonObject}, lists as {@code JsonArray}). A failure is a
 *       {@link io.vertx.core.eventbus.ReplyException} whose {@code failureCode()} is the HTTP status
 *       of the same failure (400, 404, 429, 500, 503, 504) and whose message is the JSON error
 *       {@code {"error": kind, "message": ..., "details": {...}}}. {@link RemoteFn} turns it back into
 *       the exception a local call would have thrown.
 *   <li><b>Events.</b> A message with header {@code cumulus-event: true} ({@link #EVENT_HEADER}) is
 *       emitted ({@link Fn#emit}): the reply, at once, is the event's id (a {@code String}), and the
 *       function runs later with its retries and dead-letter sink. With header
 *       {@value #IDEMPOTENCY_KEY_HEADER} the event is accepted at most once per key within the
 *       function's idempotency window (a duplicate's reply is the first event's id); the key is read
 *       as the gateway reads its {@code Idempotency-Key} header. Failures as for invocations: 429 when
 *       the function's event backlog is full, 400, 404, 503. {@link RemoteFn#emit} sends such
 *       messages.
 *   <li><b>Tenants.</b> A message, call or event, with header {@value #TENANT_HEADER} is made for
 *       that tenant, as the gateway's {@code Cumulus-Tenant} header makes a request: its turn in the
 *       function's queue (or event backlog), its usage, its own idempotency keys. A value that is no
 *       tenant fails with code 400. {@link RemoteFn#withTenant} sends it.
 *   <li><b>A cluster.</b> On a clustered Vert.x, every node that binds a function consumes its
 *       address, and the event bus spreads requests among them (round robin). Cumulus's admission on
 *       each node is the backpressure: a node at its limit answers 429, it does not buffer.
 *   <li><b>Leaving.</b> {@link #close()} (also run when Vert.x closes, since the binding is a
 *       verticle) first unregisters the consumers, so that no new call arrives, then lets the calls in
 *       flight finish for the drain timeout, then fails the rest with code 503. A node that crashes
 *       answers nothing: its callers' requests fail when their timeout passes (see {@link RemoteFn}).
 * </ul>
 *
 * <p>Handlers run on the binding's own event-loop context; invocations run on Cumulus's virtual
 * threads. Instances are thread-safe.
 */
public final class EventBusBinding {
  /** The prefix of a function's address: function {@code f} is consumed at {@code cumulus.fn.f}. */
  public static final String ADDRESS_PREFIX = "cumulus.fn.";
  /** The header that makes a message an event: {@code cumulus-event: true}. */
  public static final String EVENT_HEADER = "cumulus-event";
  /** The header of an event message whose value is its idempotency key: {@value}. */
  public static final String IDEMPOTENCY_KEY_HEADER = "cumulus-idempotency-key";
  /**
   * The header of a message (a call or an event) whose value is the tenant it is made for
   * ({@link dev.cumulus.CallOptions#tenant(String)}): {@value}.
   */
  public static final String TENANT_HEADER = "cumulus-tenant";
  /** Default time {@link #close()} lets calls in flight finish: as long as {@link Cumulus#close()}. */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Cumulus.DEFAULT_DRAIN_TIMEOUT;

  private static final System.Logger LOG = System.getLogger("dev.cumulus.vertx");

  private final Vertx vertx;
  private final String deploymentId;
  private final Binder binder;

  private EventBusBinding(Vertx vertx, String deploymentId, Binder binder) {
    this.vertx = vertx;
    this.deploymentId = deploymentId;
    this.binder = binder;
  }

  /**
   * Binds every function of {@code cumulus}, and those registered later, with the default drain
   * timeout.
   *
   * @param vertx the Vert.x instance whose event bus carries the calls (clustered or not)
   * @param cumulus the runtime whose functions are served; the binding never closes it
   * @return a future completed once the consumers of the functions registered now are registered
   *     (on a cluster: known to the other nodes)
   * @throws NullPointerException if an argument is null
   */
  public static Future<EventBusBinding> bind(Vertx vertx, Cumulus cumulus) {
    return bind(vertx, cumulus, DEFAULT_DRAIN_TIMEOUT);
  }

  /**
   * Binds every function of {@code cumulus}, and those registered later.
   *
   * @param vertx the Vert.x instance whose event bus carries the calls (clustered or not)
   * @param cumulus the runtime whose functions are served; the binding never closes it
   * @param drainTimeout how long {@link #close()} lets calls in flight finish before failing them
   *     with code 503; zero fails them at once
   * @return a future completed once the consumers of the functions registered now are registered
   *     (on a cluster: known to the other nodes)
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code drainTimeout} is negative
   */
  public static Future<EventBusBinding> bind(Vertx vertx, Cumulus cumulus, Duration drainTimeout) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(cumulus, "cumulus");
    Objects.requireNonNull(drainTimeout, "drainTimeout");
    if (drainTimeout.isNegative()) {
      throw new IllegalArgumentException("drainTimeout must not be negative but was " + drainTimeout);
    }
    Binder binder = new Binder(cumulus, drainTimeout);
    return vertx.deployVerticle(binder).map(id -> new EventBusBinding(vertx, id, binder));
  }

  /**
   * Returns the event-bus address of a function.
   *
   * @param function the function's name
   * @return {@code cumulus.fn.<function>}
   * @throws NullPointerException if {@code function} is null
   */
  public static String address(String function) {
    return ADDRESS_PREFIX + Objects.requireNonNull(function, "function");
  }

  /**
   * Returns the names of the functions consumed now.
   *
   * @return a sorted snapshot
   */
  public Set<String> boundFunctions() {
    return binder.bound();
  }

  /**
   * Stops serving: unregisters the consumers, lets calls in flight finish within the drain timeout,
   * fails the rest with code 503. Idempotent.
   *
   * @return a future completed when done
   */
  public Future<Void> close() {
    return vertx.undeploy(deploymentId).recover(e -> binder.stopped ? Future.succeededFuture() : Future.failedFuture(e));
  }

  @Override
  public String toString() {
    return "EventBusBinding" + boundFunctions();
  }

  /** The verticle: its context runs every handler, so its state needs no lock. */
  private static final class Binder extends VerticleBase {
    private final Cumulus cumulus;
    private final Duration drainTimeout;
    private final JsonMapping json = JsonMapping.SHARED;
    private final Map<String, MessageConsumer<Object>> consumers = new HashMap<>();
    /** Calls in flight, to fail visibly if the binding closes before they finish. */
    private final Set<Message<Object>> inFlight = new LinkedHashSet<>();
    private volatile Set<String> boundSnapshot = Set.of();
    private @Nullable AutoCloseable watch;
    private @Nullable Promise<Void> drained;
    private volatile boolean stopped;
    /** How long a closing binding that answered calls it could not finish lets the answers leave. */
    static final Duration LINGER = Duration.ofSeconds(1);

    Binder(Cumulus cumulus, Duration drainTimeout) {
      this.cumulus = cumulus;
      this.drainTimeout = drainTimeout;
    }

    @Override
    public Future<?> start() {
      // Watch first, then read the present set: a function registered in between is seen twice
      // (harmless), never missed.
      watch = cumulus.watchRegistrations(name -> context.runOnContext(v -> reconcile(name)));
      List<Future<Void>> registered = new ArrayList<>();
      for (Fn<?, ?> fn : cumulus.functions()) {
        Future<Void> f = reconcile(fn.name());
        if (f != null) {
          registered.add(f);
        }
      }
      return Future.all(registered);
    }

    /** Makes the consumer of {@code name} match whether it is registered; the registration future if new. */
    private @Nullable Future<Void> reconcile(String name) {
      if (stopped) {
        return null;
      }
      boolean registered = isRegistered(name);
      MessageConsumer<Object> consumer = consumers.get(name);
      if (registered && consumer == null) {
        MessageConsumer<Object> c = vertx.eventBus().consumer(address(name), msg -> handle(name, msg));
        consumers.put(name, c);
        snapshot();
        return c.completion().onFailure(e -> LOG.log(System.Logger.Level.WARNING,
            "could not register the event-bus consumer of function '" + name + "'", e));
      }
      if (!registered && consumer != null) {
        consumers.remove(name);
        snapshot();
        consumer.unregister();
      }
      return null;
    }

    private boolean isRegistered(String name) {
      try {
        cumulus.function(name);
        return true;
      } catch (UnknownFunctionException e) {
        return false;
      }
    }

    private void snapshot() {
      boundSnapshot = Set.copyOf(consumers.keySet());
    }

    Set<String> bound() {
      return new TreeSet<>(boundSnapshot);
    }

    private void handle(String name, Message<Object> msg) {
      Fn<@Nullable Object, @Nullable Object> fn;
      try {
        @SuppressWarnings("unchecked")
        Fn<@Nullable Object, @Nullable Object> found = (Fn<@Nullable Object, @Nullable Object>) cumulus.function(name);
        fn = found;
      } catch (UnknownFunctionException e) {
        reconcile(name);
        fail(msg, Failure.of(name, e));
        return;
      }
      @Nullable Object input;
      CallOptions options;
      try {
        input = json.readMessage(name, fn.spec().inputType(), msg.body());
        options = CallHeaders.options(TENANT_HEADER, msg.headers().get(TENANT_HEADER));
      } catch (JsonMapping.BadInput e) {
        fail(msg, e.failure);
        return;
      }
      if ("true".equalsIgnoreCase(msg.headers().get(EVENT_HEADER))) {
        try {
          msg.reply(Events.emit(fn, input, Events.key(name, IDEMPOTENCY_KEY_HEADER,
              msg.headers().getAll(IDEMPOTENCY_KEY_HEADER)), options));
        } catch (JsonMapping.BadInput e) {
          fail(msg, e.failure);
        } catch (RuntimeException e) {
          fail(msg, Failure.of(name, e));
        }
        return;
      }
      CompletableFuture<@Nullable Object> call = fn.invokeAsync(input, options);
      inFlight.add(msg);
      Future.fromCompletionStage(call, context).onComplete(result -> {
        if (!inFlight.remove(msg)) {
          return; // failed already by close()
        }
        if (result.failed()) {
          fail(msg, Failure.of(name, result.cause()));
        } else {
          Object body;
          try {
            body = json.toMessage(result.result());
          } catch (Exception e) {
            fail(msg, new Failure(500, Failure.UNSERIALIZABLE_RESULT, "the result of function '" + name
                + "' cannot be written as JSON"));
            return;
          }
          msg.reply(body);
        }
        Promise<Void> d = drained;
        if (d != null && inFlight.isEmpty()) {
          d.tryComplete();
        }
      });
    }

    private static void fail(Message<Object> msg, Failure failure) {
      msg.reply(failure.toReplyException());
    }

    @Override
    public Future<?> stop() {
      stopped = true;
      AutoCloseable w = watch;
      if (w != null) {
        try {
          w.close();
        } catch (Exception e) {
          LOG.log(System.Logger.Level.WARNING, "could not stop watching registrations", e);
        }
      }
      List<Future<Void>> unregistered = new ArrayList<>();
      for (MessageConsumer<Object> c : consumers.values()) {
        unregistered.add(c.unregister());
      }
      consumers.clear();
      snapshot();
      Promise<Void> d = Promise.promise();
      drained = d;
      if (inFlight.isEmpty()) {
        d.tryComplete();
      }
      long timer = vertx.setTimer(Math.max(1, drainTimeout.toMillis()), id -> d.tryComplete());
      // Fail what is left once the drain is over, before waiting for the cluster to forget the
      // consumers: the answers go out while the event bus is still up.
      boolean[] answeredLeftovers = {false};
      return d.future()
          .andThen(ignored -> {
            vertx.cancelTimer(timer);
            for (Message<Object> msg : List.copyOf(inFlight)) {
              fail(msg, new Failure(503, Failure.CLOSING, "the node serving this call left before it finished"
                  + " (its event-bus binding closed); the invocation may still complete there"));
              answeredLeftovers[0] = true;
            }
            inFlight.clear();
          })
          .transform(ignored -> Future.join(unregistered).<Void>mapEmpty())
          .compose(ignored -> answeredLeftovers[0] ? linger() : Future.succeededFuture());
    }

    /**
     * Waits {@link #LINGER} after answering calls on the way out. The event bus cannot tell when an
     * answer has left (a node that never answered a caller must first connect to it), and Vert.x closes
     * its connections right after the bindings stop: without the pause, those answers are lost and
     * their callers wait for their request timeout. A timer that exists only on that path.
     */
    private Future<Void> linger() {
      return Future.future(p -> vertx.setTimer(LINGER.toMillis(), id -> p.complete()));
    }
  }
}
