package dev.cumulus.vertx;

import dev.cumulus.CallOptions;
import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.KeepAlive;
import dev.cumulus.MeteringMode;
import dev.cumulus.Percentiles;
import dev.cumulus.PriceModel;
import dev.cumulus.Receipt;
import dev.cumulus.UnknownFunctionException;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Serves a Cumulus runtime's functions over HTTP with Vert.x Web: JSON in, JSON out.
 *
 * <pre>{@code
 * Cumulus cumulus = Cumulus.create();
 * cumulus.register(FnSpec.of("word-count", (String s) -> s.split("\\s+").length)
 *     .inputType(String.class).build());
 * HttpServer server = CumulusGateway.create(vertx, cumulus)
 *     .bearerToken(System.getenv("CUMULUS_TOKEN"))    // optional
 *     .listen(8080)                                    // 127.0.0.1 unless host(...) says otherwise
 *     .await();
 * // curl -H 'Content-Type: application/json' -d '"a b c"' http://127.0.0.1:8080/functions/word-count  -> 3
 * }</pre>
 *
 * <h2>Routes</h2>
 * <table class="striped">
 *   <caption>Routes</caption>
 *   <tr><th>route</th><th>answer</th></tr>
 *   <tr><td>{@code POST /functions/{name}}</td><td>200, the result as JSON; headers
 *       {@code Cumulus-Cpu-Ms}, {@code Cumulus-Billed-Ms}, {@code Cumulus-Cold-Start},
 *       {@code Cumulus-Bytes-Processed} (see below)</td></tr>
 *   <tr><td>{@code POST /functions/{name}/events}</td><td>202 {@code {"eventId": ...}}: the event was
 *       accepted ({@link Fn#emit}) and runs later, with retries; headers {@code Idempotency-Key}
 *       and {@code Cumulus-Tenant} (see below) optional</td></tr>
 *   <tr><td>{@code GET /functions}</td><td>the metering mode and, per function, its configuration and
 *       live stats</td></tr>
 *   <tr><td>{@code GET /metrics}</td><td>the Prometheus scrape of the {@link #meterRegistry registry}
 *       (by default the runtime's, {@link Cumulus#meterRegistry()}), or 404 saying why there is
 *       none</td></tr>
 *   <tr><td>{@code GET /health}</td><td>200 {@code {"status": "up", ...}}; needs no token</td></tr>
 *   <tr><td>{@code GET /dashboard}</td><td>the live dashboard, an HTML page (see below); its data
 *       comes from {@code GET /dashboard/stream}, server-sent events</td></tr>
 * </table>
 *
 * <p>The body of {@code POST /functions/{name}} is read as the function's
 * {@linkplain FnSpec.Builder#inputType(Class) input type} by Jackson databind (records, POJOs,
 * strings, numbers, lists, Vert.x's {@code JsonObject}): strictly, so unknown fields, a string for a
 * number or a fraction for an integer are 400s. A function without an input type gets the JSON value
 * as Jackson reads it untyped ({@code Map}, {@code List}, {@code String}, {@code Integer},
 * {@code Double}, {@code Boolean}, or {@code null}); one that takes no input
 * ({@link FnSpec#ofSupplier}) an empty body or {@code null}. A body may come without a
 * {@code Content-Type} only if it is empty.
 *
 * <h2>Errors</h2>
 * Every error is JSON {@code {"error": "<kind>", "message": "..."}}, never a stack trace:
 * <table class="striped">
 *   <caption>Errors</caption>
 *   <tr><th>status</th><th>kind</th><th>when</th></tr>
 *   <tr><td>400</td><td>{@code malformed_json}, {@code invalid_input}, {@code bad_request}</td><td>not
 *       JSON (truncated, too deep, not UTF-8), or it does not map to the input type; a malformed
 *       {@code Idempotency-Key} or {@code Cumulus-Tenant}</td></tr>
 *   <tr><td>401</td><td>{@code unauthorized}</td><td>bearer token missing or wrong (compared in
 *       constant time)</td></tr>
 *   <tr><td>404</td><td>{@code unknown_function}, {@code not_found}</td><td>no such function, no such
 *       route, no Prometheus registry</td></tr>
 *   <tr><td>405</td><td>{@code method_not_allowed}</td><td>wrong method (header {@code Allow})</td></tr>
 *   <tr><td>408</td><td>{@code request_timeout}</td><td>the body took longer than
 *       {@link #bodyTimeout(Duration)} to arrive</td></tr>
 *   <tr><td>413</td><td>{@code body_too_large}</td><td>body over {@link #bodyLimit(long)}</td></tr>
 *   <tr><td>414, 431</td><td>{@code uri_too_long}, {@code headers_too_large}</td><td>request line or
 *       headers over Vert.x's limits (servers started by {@link #listen(int)})</td></tr>
 *   <tr><td>415</td><td>{@code unsupported_media_type}</td><td>a body that is not
 *       {@code application/json} (UTF-8)</td></tr>
 *   <tr><td>429</td><td>{@code throttled}</td><td>the function's queue is full, or for an event its
 *       event backlog ({@link FnSpec.Builder#eventCapacity(int)}) (header {@code Retry-After})</td></tr>
 *   <tr><td>500</td><td>{@code function_failed}, {@code cpu_budget_exceeded},
 *       {@code unserializable_result}, {@code internal_error}</td><td>the function threw (its
 *       exception's type and message), ran over its CPU budget, returned what JSON cannot hold</td></tr>
 *   <tr><td>503</td><td>{@code closing}</td><td>the runtime is closing</td></tr>
 *   <tr><td>504</td><td>{@code timeout}</td><td>the invocation ran past the function's timeout</td></tr>
 * </table>
 *
 * <h2>Tenants</h2>
 * A request to {@code POST /functions/{name}} with the header {@code Cumulus-Tenant} is a call made
 * for that tenant ({@link CallOptions#tenant(String)}): when the function is contended, its queue
 * serves tenants in turns, and the runtime's usage keeps each tenant's apart
 * ({@link dev.cumulus.Usage#byTenant()}). On {@code POST /functions/{name}/events} the header makes
 * the event the tenant's ({@link Fn#emit(Object, CallOptions)}): it takes the tenant's turns in the
 * function's event backlog, each attempt is a call made for the tenant, and an
 * {@code Idempotency-Key} is the tenant's own (the same key from another tenant names another event).
 * A value that is not a valid tenant (blank, longer than 128 characters, control characters) is a 400
 * {@code bad_request}; without the header the call has no tenant.
 * <h2>Events</h2>
 * The body of {@code POST /functions/{name}/events} is read as an invocation's is; the event is
 * accepted into the function's backlog and the answer, 202 {@code {"eventId": "..."}}, comes at once:
 * the function runs later, with its retry policy, and an event that cannot succeed goes to its
 * dead-letter sink ({@link Fn#emit}). A request with header {@value #IDEMPOTENCY_KEY_HEADER} (1 to
 * 256 characters, bare or as a quoted structured-field string, {@code "..."}, as the IETF draft of
 * that header writes it; the quotes are not part of the key) is accepted at most once per key within
 * the function's {@linkplain FnSpec.Builder#idempotencyWindow(Duration) idempotency window}: a retry
 * of it answers 202 with the first event's id, and the function runs once.
 *
 * <h2>Per-invocation headers</h2>
 * Every 200 of {@code POST /functions/{name}} carries the figures of its own invocation, from its
 * {@link Receipt} ({@link Fn#invokeMetered}), however many calls of the function ran at the same
 * time: {@code Cumulus-Cold-Start} ({@code true} if the call created an instance),
 * {@code Cumulus-Billed-Ms} (its billed duration: wall time rounded up to a whole millisecond, at
 * least 1), {@code Cumulus-Cpu-Ms} (its CPU time as billed, rounded the same way; only when the
 * runtime meters {@code EXACT}) and {@code Cumulus-Bytes-Processed} (the bytes its code reported,
 * {@link dev.cumulus.FnContext#addBytesProcessed}).
 *
 * <h2>Dashboard</h2>
 * {@code GET /dashboard} is a page, shipped in the jar and working offline, that shows live, per
 * function, in-flight and queued invocations over the last five minutes as a chart, warm instances,
 * cold starts, calls and CPU-milliseconds per second, throttles and errors, and the bill so far with
 * its projection per hour and per month (at the cost rate of the last minute) under the
 * {@linkplain #priceModel(PriceModel) price model}; and the runtime's
 * {@linkplain Cumulus#liveCarrierThreads() carrier threads}, so that scaling to zero shows. A frame a
 * second comes over server-sent events ({@code GET /dashboard/stream}, a JSON object per event),
 * computed on the gateway from {@link Cumulus#usage()} on a worker thread, never on an event loop,
 * by a timer that exists only while a page is connected.
 *
 * <p>With a {@linkplain #bearerToken(String) bearer token}, the page and its stream take the
 * {@code Authorization} header or a dashboard cookie. A browser, which cannot send the header, shows
 * the token once in the sign-in form the page answers with, or through a link that carries it after a
 * {@code #} ({@code /dashboard#token=<token>}: browsers never send the part after the {@code #}; the
 * sign-in page's script posts it to the form and removes it from the address bar). The gateway
 * compares it in constant time, never logs it, and answers with a cookie that opens the dashboard
 * only (a random value of this gateway instance, {@code HttpOnly}, {@code SameSite=Lax}). A token in
 * the query string ({@code ?token=}) is refused unused: Vert.x Web logs request URIs at trace level.
 *
 * <h2>Threads and load</h2>
 * Invocations run on Cumulus's virtual threads, never on an event loop; the gateway's own work
 * (reading and writing JSON) is on the request's event loop, and results are written on the
 * request's context. The body is read up to {@link #bodyLimit(long)} and no further; there is no
 * other buffer: a call the function cannot take is refused at once with 429 by the runtime's
 * admission. A client that disconnects while its call still waits in the queue takes the call back
 * (it never runs).
 *
 * <p>Configure the gateway on one thread before {@link #router()} or {@link #listen(int)}; options
 * are fixed from then on. After that, instances are thread-safe: the routes may run on any number of
 * event loops.
 */
public final class CumulusGateway {
  /** Default {@linkplain #bodyLimit(long) body limit}: 1 MiB. */
  public static final long DEFAULT_BODY_LIMIT = 1L << 20;
  /** Default {@linkplain #host(String) host}: the loopback interface only. */
  public static final String DEFAULT_HOST = "127.0.0.1";
  /** Default {@linkplain #bodyTimeout(Duration) body timeout}. */
  public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(30);
  /** The request header that names the tenant a call is made for. */
  public static final String TENANT_HEADER = "Cumulus-Tenant";
  /**
   * The request header whose value is an event's idempotency key ({@link Fn#emit(Object, String)}) on
   * {@code POST /functions/{name}/events}: {@value}.
   */
  public static final String IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

  private static final System.Logger LOG = System.getLogger("dev.cumulus.vertx");
  private static final String JSON = "application/json";
  private static final String FN = "cumulus.fn";
  private static final String BODY_TIMER = "cumulus.bodyTimer";
  /** A name that no function can have (core's rule); such names are 404s without asking. */
  private static final Pattern FUNCTION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:$()\\[\\],-]{0,127}");
  private static final long MAX_BODY_LIMIT = Integer.MAX_VALUE - 8;
  static final String COLD_START = "Cumulus-Cold-Start";
  static final String BILLED_MS = "Cumulus-Billed-Ms";
  static final String CPU_MS = "Cumulus-Cpu-Ms";
  static final String BYTES_PROCESSED = "Cumulus-Bytes-Processed";

  private final Vertx vertx;
  private final Cumulus cumulus;
  private final JsonMapping json = JsonMapping.SHARED;
  private byte @Nullable [] tokenDigest;
  private long bodyLimit = -1;
  private @Nullable String host;
  private @Nullable Duration bodyTimeout;
  private @Nullable MeterRegistry meterRegistry;
  private @Nullable PriceModel priceModel;
  private @Nullable Router router;
  private @Nullable Dashboard dashboard;

  private CumulusGateway(Vertx vertx, Cumulus cumulus) {
    this.vertx = vertx;
    this.cumulus = cumulus;
  }

  /**
   * Creates a gateway for {@code cumulus}'s functions, with every option at its default.
   *
   * @param vertx the Vert.x instance whose event loops serve the requests
   * @param cumulus the runtime whose functions are served; the gateway never closes it
   * @return a gateway to configure, then {@linkplain #listen(int) start} or {@linkplain #router() mount}
   * @throws NullPointerException if an argument is null
   */
  public static CumulusGateway create(Vertx vertx, Cumulus cumulus) {
    return new CumulusGateway(Objects.requireNonNull(vertx, "vertx"), Objects.requireNonNull(cumulus, "cumulus"));
  }

  /**
   * Requires every request but {@code GET /health} to carry {@code Authorization: Bearer <token>}.
   * Tokens are compared in constant time (as SHA-256 digests, so the length does not show either).
   * Without this option the gateway is open to whoever reaches its address.
   *
   * @param token the token: visible ASCII characters, no spaces, at least 16 of them
   * @return this gateway
   * @throws NullPointerException if {@code token} is null
   * @throws IllegalArgumentException if the token is too short or has other characters (the message
   *     does not repeat it)
   * @throws IllegalStateException if already set, or the routes were already built
   */
  public synchronized CumulusGateway bearerToken(String token) {
    Objects.requireNonNull(token, "token");
    requireOpen("bearerToken", tokenDigest == null);
    if (token.length() < 16 || !token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new IllegalArgumentException("bearerToken must be at least 16 visible ASCII characters without"
          + " spaces, but was " + token.length() + " characters" + (token.chars().allMatch(c -> c > 0x20 && c < 0x7f)
          ? "" : " with others among them"));
    }
    tokenDigest = sha256(token);
    return this;
  }

  /**
   * Sets the largest request body read; a larger one is refused with 413 without reading it all
   * (at once when its {@code Content-Length} says so).
   *
   * @param bytes zero or more (default 1 MiB); zero accepts empty bodies only
   * @return this gateway
   * @throws IllegalArgumentException if negative or over 2 GiB
   * @throws IllegalStateException if already set, or the routes were already built
   */
  public synchronized CumulusGateway bodyLimit(long bytes) {
    requireOpen("bodyLimit", bodyLimit == -1);
    if (bytes < 0 || bytes > MAX_BODY_LIMIT) {
      throw new IllegalArgumentException("bodyLimit must be between 0 and " + MAX_BODY_LIMIT + " bytes but was " + bytes);
    }
    bodyLimit = bytes;
    return this;
  }

  /**
   * Sets the interface {@link #listen(int)} binds. The default is the loopback interface only:
   * serving other machines is a decision ({@code "0.0.0.0"} for every interface), best taken with a
   * {@linkplain #bearerToken(String) token}.
   *
   * @param host an IP address or host name (default {@value #DEFAULT_HOST})
   * @return this gateway
   * @throws NullPointerException if {@code host} is null
   * @throws IllegalArgumentException if blank
   * @throws IllegalStateException if already set, or the routes were already built
   */
  public synchronized CumulusGateway host(String host) {
    Objects.requireNonNull(host, "host");
    requireOpen("host", this.host == null);
    if (host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank but was '" + host + "'");
    }
    this.host = host.strip();
    return this;
  }

  /**
   * Sets how long a request's body may take to arrive once its headers have; a slower one is
   * answered 408 and its connection closed, so that slow clients cannot hold connections open.
   *
   * @param timeout positive (default 30 s)
   * @return this gateway
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if shorter than 1 ms
   * @throws IllegalStateException if already set, or the routes were already built
   */
  public synchronized CumulusGateway bodyTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    requireOpen("bodyTimeout", bodyTimeout == null);
    if (timeout.isNegative() || timeout.isZero() || timeout.toMillis() == 0) {
      throw new IllegalArgumentException("bodyTimeout must be at least 1 ms but was " + timeout);
    }
    bodyTimeout = timeout;
    return this;
  }

  /**
   * Sets the registry {@code GET /metrics} scrapes. Without this option it scrapes the runtime's own,
   * {@link Cumulus#meterRegistry()} (given to {@code Cumulus.builder().meterRegistry(...)}), which
   * already holds the runtime's meters; set it to serve another registry (say, the application's
   * composite). It serves the Prometheus text format when the registry is a
   * {@code PrometheusMeterRegistry} (or a composite holding one), which needs
   * {@code io.micrometer:micrometer-registry-prometheus} on the class path; otherwise, or with no
   * registry at all, the route answers 404 saying why.
   *
   * @param registry the registry to scrape
   * @return this gateway
   * @throws NullPointerException if {@code registry} is null
   * @throws IllegalStateException if already set, or the routes were already built
   */
  public synchronized CumulusGateway meterRegistry(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    requireOpen("meterRegistry", meterRegistry == null);
    meterRegistry = registry;
    return this;
  }

  /**
   * Sets the price model of the dashboard's bill and projections (see the class description). Unset, it
   * is {@link PriceModel#cloudflareWorkers()} (priced on CPU time) when the runtime meters
   * {@link MeteringMode#EXACT}, else {@link PriceModel#awsLambdaX86(int) awsLambdaX86(128)} (priced on
   * wall time and 128 MB), as for {@code LoadTest}. A model that cannot price the runtime's metering
   * mode is refused here.
   *
   * @param model the price model
   * @return this gateway
   * @throws NullPointerException if {@code model} is null
   * @throws IllegalArgumentException if the model cannot price the runtime's metering mode (a CPU-time
   *     model on a runtime that meters wall-clock time only)
   * @throws IllegalStateException if already set, or the routes were already built
   */
  public synchronized CumulusGateway priceModel(PriceModel model) {
    Objects.requireNonNull(model, "model");
    requireOpen("priceModel", priceModel == null);
    try {
      model.price(FunctionStats.empty("price-model-check"), cumulus.meteringMode());
    } catch (IllegalStateException e) {
      throw new IllegalArgumentException("priceModel '" + model.description() + "' cannot price this runtime,"
          + " which meters " + cumulus.meteringMode() + ": " + e.getMessage(), e);
    }
    priceModel = model;
    return this;
  }

  /**
   * Returns the gateway's routes, to mount in an application's own router, for instance under a
   * prefix: {@code app.route("/cumulus/*").subRouter(gateway.router())}. Paths outside the routes
   * are left to the application's router. The same router is returned on every call; options are
   * fixed from the first call on.
   *
   * @return the router of the routes listed in the class description
   */
  public synchronized Router router() {
    if (router == null) {
      router = buildRouter();
    }
    return router;
  }

  /**
   * Starts an HTTP server of the gateway's routes on {@link #host(String)} (the loopback interface
   * unless set). Requests outside the routes get a JSON 404, and requests Vert.x cannot parse
   * (request line or headers too long, bad HTTP) a JSON 414, 431 or 400, and their connection is
   * closed. Close the server with {@link HttpServer#close()}.
   *
   * @param port the TCP port, or 0 for a free one (read it with {@link HttpServer#actualPort()})
   * @return a future of the listening server, failed if it could not bind
   * @throws IllegalArgumentException if the port is not between 0 and 65535
   */
  public Future<HttpServer> listen(int port) {
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be between 0 and 65535 but was " + port);
    }
    Router routes = router();
    Router root = Router.router(vertx);
    root.route("/*").subRouter(routes);
    root.route().last().handler(ctx -> respond(ctx, new Failure(404, Failure.NOT_FOUND,
        "no route " + ctx.request().method() + " " + Failure.truncate(String.valueOf(ctx.request().path()), 200)
            + "; the routes are POST /functions/{name}, POST /functions/{name}/events, GET /functions,"
            + " GET /metrics, GET /health and GET /dashboard")));
    jsonErrors(root);
    String bindHost;
    synchronized (this) {
      bindHost = host == null ? DEFAULT_HOST : host;
    }
    HttpServerOptions options = new HttpServerOptions().setHost(bindHost).setPort(port);
    return vertx.createHttpServer(options)
        .requestHandler(root)
        .invalidRequestHandler(CumulusGateway::invalidRequest)
        .listen();
  }

  // ---------------------------------------------------------------------------------------------
  // Routes

  private Router buildRouter() {
    long limit = bodyLimit == -1 ? DEFAULT_BODY_LIMIT : bodyLimit;
    long timeoutMillis = (bodyTimeout == null ? DEFAULT_BODY_TIMEOUT : bodyTimeout).toMillis();
    BodyHandler body = BodyHandler.create(false).setBodyLimit(limit);
    Router r = Router.router(vertx);
    // Two routes per path: Vert.x Web runs a body handler before the user handlers of its route,
    // and these checks must come before any body is read (no body is read for a client that is
    // not authenticated, calls an unknown function or sends the wrong type).
    for (String path : new String[] {"/functions/:name", "/functions/:name/events"}) {
      r.route(path)
          .handler(only(HttpMethod.POST))
          .handler(this::authenticate)
          .handler(this::resolve)
          .handler(CumulusGateway::requireJson)
          .handler(ctx -> startBodyTimer(ctx, timeoutMillis))
          .failureHandler(this::onFailure);
    }
    r.post("/functions/:name").handler(body).handler(this::invoke).failureHandler(this::onFailure);
    r.post("/functions/:name/events").handler(body).handler(this::emit).failureHandler(this::onFailure);
    r.route("/functions")
        .handler(only(HttpMethod.GET))
        .handler(this::authenticate)
        .handler(this::listFunctions)
        .failureHandler(this::onFailure);
    r.route("/metrics")
        .handler(only(HttpMethod.GET))
        .handler(this::authenticate)
        .handler(this::metrics)
        .failureHandler(this::onFailure);
    r.route("/health")
        .handler(only(HttpMethod.GET))
        .handler(this::health)
        .failureHandler(this::onFailure);
    PriceModel model = priceModel != null ? priceModel
        : cumulus.meteringMode() == MeteringMode.EXACT ? PriceModel.cloudflareWorkers() : PriceModel.awsLambdaX86(128);
    Dashboard d = new Dashboard(this, new DashboardFeed(vertx, cumulus, new DashboardFrames(model)), tokenDigest != null);
    d.mount(r, this::onFailure);
    dashboard = d;
    jsonErrors(r);
    return r;
  }

  static io.vertx.core.Handler<RoutingContext> only(HttpMethod method) {
    return ctx -> {
      if (ctx.request().method().equals(method)) {
        ctx.next();
      } else {
        ctx.response().putHeader(HttpHeaders.ALLOW, method.name());
        respond(ctx, new Failure(405, Failure.METHOD_NOT_ALLOWED, ctx.request().method() + " is not allowed on "
            + Failure.truncate(ctx.normalizedPath(), 200) + "; use " + method));
      }
    };
  }

  private void authenticate(RoutingContext ctx) {
    if (tokenDigest == null) {
      ctx.next();
      return;
    }
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (bearerMatches(header)) {
      ctx.next();
      return;
    }
    ctx.response().putHeader("WWW-Authenticate", header == null
        ? "Bearer realm=\"cumulus\"" : "Bearer realm=\"cumulus\", error=\"invalid_token\"");
    respond(ctx, new Failure(401, Failure.UNAUTHORIZED, header == null
        ? "this gateway needs a bearer token: send Authorization: Bearer <token>"
        : "the bearer token is wrong"));
  }

  /**
   * Whether an {@code Authorization} header carries the gateway's token (false when it has none).
   * Compared in constant time, as digests, so neither the token nor its length shows in the timing.
   */
  boolean bearerMatches(@Nullable String authorization) {
    return authorization != null && authorization.length() > 7
        && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
        && tokenMatches(authorization.substring(7).strip());
  }

  /** Whether {@code token} is the gateway's (false when it has none); constant time. */
  boolean tokenMatches(String token) {
    byte[] expected = tokenDigest;
    return expected != null && MessageDigest.isEqual(expected, sha256(token));
  }

  /** Finds the function before the body is read: a call of an unknown one costs no body. */
  private void resolve(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    if (name == null || !FUNCTION_NAME.matcher(name).matches()) {
      String shown = name == null ? "" : Failure.truncate(name, 64);
      respond(ctx, new Failure(404, Failure.UNKNOWN_FUNCTION, "no function named '" + shown + "' is registered"
          + (name != null && name.length() > 128 ? " (function names have at most 128 characters)" : "")));
      return;
    }
    try {
      ctx.put(FN, cumulus.function(name));
    } catch (UnknownFunctionException e) {
      respond(ctx, Failure.of(name, e));
      return;
    }
    ctx.next();
  }

  private static void requireJson(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String type = req.getHeader(HttpHeaders.CONTENT_TYPE);
    if (type == null) {
      String length = req.getHeader(HttpHeaders.CONTENT_LENGTH);
      boolean hasBody = req.headers().contains(HttpHeaders.TRANSFER_ENCODING)
          || (length != null && !length.strip().equals("0"));
      if (!hasBody) {
        ctx.next();
        return;
      }
    } else if (isJson(type)) {
      ctx.next();
      return;
    }
    respond(ctx, new Failure(415, Failure.UNSUPPORTED_MEDIA_TYPE, "the body must be JSON in UTF-8: send"
        + " Content-Type: application/json" + (type == null ? "" : ", not " + Failure.truncate(type, 100))));
  }

  /** {@code application/json}, with no charset or UTF-8 (RFC 8259: JSON between systems is UTF-8). */
  static boolean isJson(String contentType) {
    String[] parts = contentType.split(";", -1);
    if (!parts[0].strip().equalsIgnoreCase(JSON)) {
      return false;
    }
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].strip();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).strip().equalsIgnoreCase("charset")) {
        String charset = p.substring(eq + 1).strip().replace("\"", "");
        if (!charset.equalsIgnoreCase("utf-8") && !charset.equalsIgnoreCase("utf8")) {
          return false;
        }
      }
    }
    return true;
  }

  private void startBodyTimer(RoutingContext ctx, long timeoutMillis) {
    long timer = vertx.setTimer(timeoutMillis, id -> {
      if (ctx.remove(BODY_TIMER) != null) {
        respond(ctx, new Failure(408, Failure.REQUEST_TIMEOUT,
            "the body did not arrive within " + Duration.ofMillis(timeoutMillis)));
      }
    });
    ctx.put(BODY_TIMER, timer);
    ctx.addEndHandler(v -> stopBodyTimer(ctx));
    ctx.next();
  }

  private void stopBodyTimer(RoutingContext ctx) {
    Long timer = ctx.remove(BODY_TIMER);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
  }

  private void invoke(RoutingContext ctx) {
    stopBodyTimer(ctx);
    Fn<@Nullable Object, @Nullable Object> fn = function(ctx);
    @Nullable Object input;
    try {
      input = json.readBody(fn.name(), fn.spec().inputType(), ctx.body().buffer());
    } catch (JsonMapping.BadInput e) {
      respond(ctx, e.failure);
      return;
    }
    CallOptions options;
    try {
      options = callOptions(ctx);
    } catch (JsonMapping.BadInput e) {
      respond(ctx, e.failure);
      return;
    }
    Context context = vertx.getOrCreateContext();
    HttpServerResponse response = ctx.response();
    CompletableFuture<Receipt<@Nullable Object>> call;
    try {
      call = fn.invokeMeteredAsync(input, options);
    } catch (RuntimeException e) {
      respond(ctx, Failure.of(fn.name(), e));
      return;
    }
    // A client that leaves takes its call back: if it still waits in the queue, it never runs.
    response.closeHandler(v -> call.cancel(false));
    Future.fromCompletionStage(call, context).onComplete(done -> {
      response.closeHandler(null);
      if (response.closed() || response.ended()) {
        return;
      }
      if (done.failed()) {
        respond(ctx, Failure.of(fn.name(), done.cause()));
        return;
      }
      Receipt<?> receipt = done.result();
      @Nullable Object result = receipt.result();
      Buffer out;
      try {
        out = json.writeBody(result);
      } catch (Exception e) {
        respond(ctx, new Failure(500, Failure.UNSERIALIZABLE_RESULT, "the result of function '" + fn.name()
            + "' (" + JsonMapping.describe(result == null ? Object.class : result.getClass())
            + ") cannot be written as JSON"));
        return;
      }
      response.putHeader(COLD_START, Boolean.toString(receipt.coldStart()))
          .putHeader(BILLED_MS, Long.toString(receipt.billedMillis()))
          .putHeader(BYTES_PROCESSED, Long.toString(receipt.bytesProcessed()));
      if (cumulus.meteringMode() == MeteringMode.EXACT) {
        // The invocation's own CPU as billed (rounded up to a whole millisecond, at least 1).
        response.putHeader(CPU_MS, Long.toString(receipt.billedCpuMillis()));
      }
      response.putHeader(HttpHeaders.CONTENT_TYPE, JSON).setStatusCode(200).end(out);
    });
  }

  /** The options of the call (or event) a request makes: its tenant, from {@value #TENANT_HEADER}. */
  private static CallOptions callOptions(RoutingContext ctx) throws JsonMapping.BadInput {
    return CallHeaders.options(TENANT_HEADER, ctx.request().getHeader(TENANT_HEADER));
  }

  /** The function {@link #resolve} found for this request. */
  @SuppressWarnings("unchecked")
  private static Fn<@Nullable Object, @Nullable Object> function(RoutingContext ctx) {
    Fn<?, ?> fn = Objects.requireNonNull(ctx.get(FN), "resolve puts the function before the body is read");
    return (Fn<@Nullable Object, @Nullable Object>) fn;
  }

  private void emit(RoutingContext ctx) {
    stopBodyTimer(ctx);
    Fn<@Nullable Object, @Nullable Object> fn = function(ctx);
    String eventId;
    try {
      String key = Events.key(fn.name(), IDEMPOTENCY_KEY_HEADER, ctx.request().headers().getAll(IDEMPOTENCY_KEY_HEADER));
      CallOptions options = callOptions(ctx);
      @Nullable Object input = json.readBody(fn.name(), fn.spec().inputType(), ctx.body().buffer());
      // Accepting is quick and never waits for the function (a duplicate of a key being accepted
      // right now waits for that one only): on the event loop, as invokeAsync is.
      eventId = Events.emit(fn, input, key, options);
    } catch (JsonMapping.BadInput e) {
      respond(ctx, e.failure);
      return;
    } catch (RuntimeException e) {
      respond(ctx, Failure.of(fn.name(), e));
      return;
    }
    ctx.response().setStatusCode(202).putHeader(HttpHeaders.CONTENT_TYPE, JSON)
        .end(new JsonObject().put("eventId", eventId).toBuffer());
  }

  private void listFunctions(RoutingContext ctx) {
    JsonArray functions = new JsonArray();
    for (Fn<?, ?> fn : cumulus.functions()) {
      functions.add(new JsonObject()
          .put("name", fn.name())
          .put("config", config(fn.spec()))
          .put("stats", stats(fn.stats())));
    }
    ok(ctx, new JsonObject().put("meteringMode", cumulus.meteringMode().name()).put("functions", functions));
  }

  private static JsonObject config(FnSpec<?, ?> spec) {
    return new JsonObject()
        .put("maxConcurrency", spec.maxConcurrency().isPresent() ? spec.maxConcurrency().getAsInt() : null)
        .put("queueCapacity", spec.queueCapacity())
        .put("timeoutMs", spec.timeout().toMillis())
        .put("keepAliveMs", spec.keepAlive().toMillis())
        .put("keepAlive", spec.keepAlivePolicy() instanceof KeepAlive.Adaptive ? "adaptive" : "fixed")
        .put("minInstances", spec.minInstances())
        .put("inputType", spec.inputType().getSimpleName())
        .put("outputType", spec.outputType().getSimpleName())
        .put("cpuBudgetMs", spec.cpuBudget().map(d -> millis(d)).orElse(null))
        .put("instanceState", spec.hasInstanceState());
  }

  private static JsonObject stats(FunctionStats s) {
    return new JsonObject()
        .put("invocations", s.invocations())
        .put("successes", s.successes())
        .put("failures", s.failures())
        .put("timeouts", s.timeouts())
        .put("throttles", s.throttles())
        .put("rejected", s.rejected())
        .put("cancelled", s.cancelled())
        .put("coldStarts", s.coldStarts())
        .put("preWarms", s.preWarms())
        .put("inFlight", s.inFlight())
        .put("queued", s.queued())
        .put("warmInstances", s.warmInstances())
        .put("peakConcurrency", s.peakConcurrency())
        .put("concurrencyLimit", s.concurrencyLimit())
        .put("overdue", s.overdue())
        .put("cpuTimeMs", millis(s.cpuTime()))
        .put("wallTimeMs", millis(s.wallTime()))
        .put("queueWaitMs", millis(s.queueWait()))
        .put("initTimeMs", millis(s.initTime()))
        .put("allocatedBytes", s.allocatedBytes())
        .put("billedMillis", s.billedMillis())
        .put("billedCpuMillis", s.billedCpuMillis())
        .put("bytesProcessed", s.bytesProcessed())
        .put("latency", percentiles(s.latency()))
        .put("cpuPerInvocation", percentiles(s.cpuPerInvocation()));
  }

  private static JsonObject percentiles(Percentiles p) {
    return new JsonObject()
        .put("samples", p.samples())
        .put("p50Ms", millis(p.p50()))
        .put("p90Ms", millis(p.p90()))
        .put("p99Ms", millis(p.p99()))
        .put("maxMs", millis(p.max()));
  }

  private static double millis(Duration d) {
    return d.toNanos() / 1e6;
  }

  private void metrics(RoutingContext ctx) {
    MeterRegistry registry = meterRegistry != null ? meterRegistry : cumulus.meterRegistry().orElse(null);
    if (registry == null) {
      respond(ctx, new Failure(404, Failure.NOT_FOUND, "no meter registry: build the runtime with"
          + " Cumulus.builder().meterRegistry(...) or give the gateway one with CumulusGateway.meterRegistry(...),"
          + " a PrometheusMeterRegistry, to serve /metrics"));
      return;
    }
    Supplier<String> scrape = PrometheusScrape.of(registry);
    if (scrape == null) {
      respond(ctx, new Failure(404, Failure.NOT_FOUND, "the meter registry is a "
          + registry.getClass().getSimpleName() + ", not a Prometheus one"
          + (PrometheusScrape.AVAILABLE ? "" : " (micrometer-registry-prometheus is not on the class path)")
          + ": /metrics serves the Prometheus text format only"));
      return;
    }
    // A scrape of many meters takes a while: off the event loop.
    vertx.executeBlocking(scrape::get, false).onComplete(text -> {
      if (text.failed()) {
        LOG.log(System.Logger.Level.WARNING, "the Prometheus scrape failed", text.cause());
        respond(ctx, new Failure(500, Failure.INTERNAL_ERROR, "the Prometheus scrape failed"));
        return;
      }
      ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
          .end(text.result());
    });
  }

  private void health(RoutingContext ctx) {
    ok(ctx, new JsonObject()
        .put("status", "up")
        .put("functions", cumulus.functions().size())
        .put("meteringMode", cumulus.meteringMode().name()));
  }

  private static void ok(RoutingContext ctx, JsonObject body) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(body.toBuffer());
  }

  // ---------------------------------------------------------------------------------------------
  // Errors

  private void onFailure(RoutingContext ctx) {
    onFailure(ctx, ctx.statusCode());
  }

  /** A failure the router or a handler raised ({@code status} -1 when it has none). */
  private void onFailure(RoutingContext ctx, int status) {
    stopBodyTimer(ctx);
    Throwable t = ctx.failure();
    if (t instanceof io.netty.handler.codec.DecoderException) {
      status = 400; // the body is not valid HTTP (a bad chunk, say)
    }
    Failure f = switch (status) {
      case 413 -> new Failure(413, Failure.BODY_TOO_LARGE, "the body is larger than the limit of "
          + (bodyLimit == -1 ? DEFAULT_BODY_LIMIT : bodyLimit) + " bytes");
      case 400 -> new Failure(400, Failure.BAD_REQUEST, "the request could not be read (a bad path or body)");
      case 404 -> new Failure(404, Failure.NOT_FOUND, "no route " + ctx.request().method() + " "
          + Failure.truncate(String.valueOf(ctx.request().path()), 200));
      case 405 -> new Failure(405, Failure.METHOD_NOT_ALLOWED, ctx.request().method() + " is not allowed here");
      case 415 -> new Failure(415, Failure.UNSUPPORTED_MEDIA_TYPE, "the body must be application/json");
      case 417 -> new Failure(417, Failure.BAD_REQUEST, "only the expectation 100-continue is supported");
      default -> {
        if (status >= 400 && status < 500) {
          yield new Failure(status, Failure.BAD_REQUEST, "the request failed with status " + status);
        }
        if (t != null && !ctx.response().closed()) {
          LOG.log(System.Logger.Level.WARNING, "request " + ctx.request().method() + " "
              + Failure.truncate(String.valueOf(ctx.request().path()), 200) + " failed in the gateway", t);
        }
        yield new Failure(500, Failure.INTERNAL_ERROR, "internal error of the gateway");
      }
    };
    respond(ctx, f);
  }

  /** Statuses the router itself may answer with; each gets a JSON body. */
  private static final int[] ROUTER_STATUSES = {400, 401, 403, 404, 405, 406, 408, 413, 414, 415, 417, 429, 431, 500, 501, 503};

  private void jsonErrors(Router r) {
    for (int status : ROUTER_STATUSES) {
      r.errorHandler(status, ctx -> onFailure(ctx, status));
    }
  }

  /**
   * Answers with a JSON error. A body not read yet (the error came before the body handler, or the
   * body is over the limit) is read and dropped, up to {@link #SWALLOW_LIMIT}, before the connection
   * is closed or reused: closing a socket with unread data resets it, and the client may lose the
   * answer.
   */
  static void respond(RoutingContext ctx, Failure f) {
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.closed()) {
      return;
    }
    HttpServerRequest request = ctx.request();
    if (response.headWritten()) {
      request.connection().close();
      return;
    }
    response.setStatusCode(f.status()).putHeader(HttpHeaders.CONTENT_TYPE, JSON);
    if (f.status() == 429) {
      response.putHeader(HttpHeaders.RETRY_AFTER, "1");
    }
    boolean http1 = request.version() != HttpVersion.HTTP_2;
    boolean close = http1 && (f.status() == 408 || f.status() == 413);
    if (close) {
      response.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    }
    Future<Void> written = response.end(f.httpBody());
    if (!http1 || request.isEnded()) {
      if (close) {
        written.onComplete(v -> request.connection().close());
      }
    } else if (f.status() == 408) {
      written.onComplete(v -> request.connection().close()); // the body is not coming
    } else {
      swallow(request, close);
    }
  }

  /** Most of an unread body the gateway reads and drops to keep a connection (or its answer) intact. */
  static final long SWALLOW_LIMIT = 8L << 20;

  private static void swallow(HttpServerRequest request, boolean close) {
    long[] dropped = {0};
    request.exceptionHandler(e -> { });
    request.handler(chunk -> {
      dropped[0] += chunk.length();
      if (dropped[0] > SWALLOW_LIMIT) {
        request.connection().close();
      }
    });
    request.endHandler(v -> {
      if (close) {
        request.connection().close();
      }
    });
    request.resume();
  }

  /** Requests Vert.x could not parse: too long a request line or headers, or not HTTP at all. */
  private static void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    Failure f;
    if (cause instanceof TooLongHttpLineException) {
      f = new Failure(414, Failure.URI_TOO_LONG, "the request line is longer than "
          + HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH + " bytes");
    } else if (cause instanceof TooLongHttpHeaderException) {
      f = new Failure(431, Failure.HEADERS_TOO_LARGE, "the request headers are larger than "
          + HttpServerOptions.DEFAULT_MAX_HEADER_SIZE + " bytes");
    } else {
      f = new Failure(400, Failure.BAD_REQUEST, "the request is not valid HTTP");
    }
    HttpServerResponse response = request.response();
    response.setStatusCode(f.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, JSON)
        .putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE)
        .end(f.httpBody())
        .onComplete(v -> request.connection().close());
  }

  private void requireOpen(String option, boolean unset) {
    if (router != null) {
      throw new IllegalStateException(option + " cannot be set once the routes are built (router() or listen() was called)");
    }
    if (!unset) {
      throw new IllegalStateException(option + " was already set");
    }
  }

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e); // every JDK has it
    }
  }

  /** The dashboard's feed (tests); builds the routes if they are not yet. */
  DashboardFeed dashboardFeed() {
    router();
    synchronized (this) {
      return Objects.requireNonNull(dashboard, "router() builds the dashboard").feed();
    }
  }

  @Override
  public String toString() {
    return "CumulusGateway{host=" + (host == null ? DEFAULT_HOST : host) + ", bodyLimit="
        + (bodyLimit == -1 ? DEFAULT_BODY_LIMIT : bodyLimit) + ", bearerToken="
        + (tokenDigest == null ? "none" : "set") + "}";
  }
}
