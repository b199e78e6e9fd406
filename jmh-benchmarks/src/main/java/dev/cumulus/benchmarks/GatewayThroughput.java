package dev.cumulus.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.vertx.CumulusGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.jackson.DatabindCodec;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * HTTP requests per second through {@link CumulusGateway} against a bare Vert.x Web route calling the
 * same code, on loopback, in the same run. Every request is {@code POST} of a JSON string, answered
 * with its word count as JSON; a Vert.x HTTP client in the same JVM keeps {@value #CONCURRENCY}
 * requests in flight on keep-alive connections. Contenders:
 *
 * <ul>
 *   <li>{@code bare-route}: a Vert.x Web route with a {@code BodyHandler}, Jackson reads the string
 *       and the code runs right there on the event loop (the baseline: what you would write without
 *       Cumulus, and fine only because this code never blocks);
 *   <li>{@code bare-route+executeBlocking}: the same route running the code on Vert.x's worker pool
 *       ({@code executeBlocking}), Vert.x's own way off the event loop;
 *   <li>{@code bare-route+invokeAsync}: the same route calling the Cumulus function with
 *       {@code invokeAsync} and answering on the request's context (the runtime's cost, without the
 *       gateway's checks);
 *   <li>{@code gateway}: {@code CumulusGateway}'s {@code POST /functions/word-count} (method, content
 *       type and function checks, strict mapping, per-invocation figures, error mapping).
 * </ul>
 *
 * <p>Client and servers share the machine's cores, the same way for every contender, so read the
 * ratios. Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar GatewayThroughput}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class GatewayThroughput {
  /** Requests per benchmark operation. */
  public static final int BATCH = 2_000;
  /** Requests in flight at once. */
  public static final int CONCURRENCY = 64;

  public static final String GATEWAY = "gateway";
  public static final String BARE_ROUTE = "bare-route";
  public static final String BARE_ROUTE_INVOKE = "bare-route+invokeAsync";
  public static final String BARE_ROUTE_BLOCKING = "bare-route+executeBlocking";

  static final Function<String, Integer> WORD_COUNT = s -> s.split("\\s+").length;
  static final Buffer BODY = Buffer.buffer("\"the quick brown fox jumps over the lazy dog\"");
  private static final ObjectMapper MAPPER = DatabindCodec.mapper();

  /** Which server answers the requests. */
  @Param({GATEWAY, BARE_ROUTE, BARE_ROUTE_BLOCKING, BARE_ROUTE_INVOKE})
  public String server;

  private Vertx serverVertx;
  private Vertx clientVertx;
  private Cumulus cumulus;
  private HttpServer http;
  private HttpClientAgent client;
  private RequestOptions request;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
    serverVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops));
    clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops));
    cumulus = Cumulus.create();
    Fn<String, Integer> fn = cumulus.register(FnSpec.of("word-count", WORD_COUNT)
        .inputType(String.class).outputType(Integer.class).build());
    Router router = switch (server) {
      case GATEWAY -> CumulusGateway.create(serverVertx, cumulus).router();
      case BARE_ROUTE -> bareRoute(ctx -> ctx.response().putHeader("Content-Type", "application/json")
          .end(String.valueOf(WORD_COUNT.apply(read(ctx)))));
      case BARE_ROUTE_BLOCKING -> bareRoute(ctx -> {
        String input = read(ctx);
        serverVertx.executeBlocking(() -> WORD_COUNT.apply(input), false)
            .onSuccess(n -> ctx.response().putHeader("Content-Type", "application/json").end(String.valueOf(n)))
            .onFailure(ctx::fail);
      });
      case BARE_ROUTE_INVOKE -> bareRoute(ctx -> Future.fromCompletionStage(fn.invokeAsync(read(ctx)),
              serverVertx.getOrCreateContext())
          .onSuccess(n -> ctx.response().putHeader("Content-Type", "application/json").end(String.valueOf(n)))
          .onFailure(ctx::fail));
      default -> throw new IllegalArgumentException("unknown server " + server);
    };
    String path = server.equals(GATEWAY) ? "/functions/word-count" : "/word-count";
    http = await(serverVertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1"));
    client = clientVertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(CONCURRENCY));
    request = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(http.actualPort())
        .setURI(path).putHeader("Content-Type", "application/json");
  }

  private Router bareRoute(io.vertx.core.Handler<RoutingContext> handler) {
    Router router = Router.router(serverVertx);
    router.post("/word-count").handler(BodyHandler.create(false)).handler(handler);
    return router;
  }

  private static String read(RoutingContext ctx) {
    try {
      return MAPPER.readValue(ctx.body().buffer().getBytes(), String.class);
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    await(client.close());
    await(http.close());
    cumulus.close();
    await(clientVertx.close());
    await(serverVertx.close());
  }

  /** Sends the batch, {@value #CONCURRENCY} at a time. @return requests answered 200 with 9 */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public int requests() throws InterruptedException {
    return run(BATCH);
  }

  int run(int n) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(n);
    AtomicInteger sent = new AtomicInteger();
    AtomicInteger ok = new AtomicInteger();
    for (int i = 0; i < Math.min(CONCURRENCY, n); i++) {
      if (sent.incrementAndGet() <= n) {
        clientVertx.runOnContext(v -> send(n, sent, ok, done));
      }
    }
    if (!done.await(60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the batch did not finish within 60 s: " + done.getCount() + " left");
    }
    return ok.get();
  }

  /** Sends one request; when it is answered, the next, until {@code n} were sent. */
  private void send(int n, AtomicInteger sent, AtomicInteger ok, CountDownLatch done) {
    client.request(request)
        .compose(r -> r.send(BODY))
        .compose(r -> r.body().map(b -> r.statusCode() == 200 && b.toString().equals("9")))
        .onComplete(ar -> {
          if (ar.succeeded() && ar.result()) {
            ok.incrementAndGet();
          }
          done.countDown();
          if (sent.incrementAndGet() <= n) {
            send(n, sent, ok, done);
          }
        });
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
