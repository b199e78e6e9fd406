package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnContext;
import dev.cumulus.FnSpec;
import dev.cumulus.MeteringMode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every route and every error code of DESIGN.md §7, through a real HTTP client against a real server
 * on a free loopback port.
 */
@ExtendWith(VertxExtension.class)
class CumulusGatewayTest {
  record Order(String item, int quantity) {
    Order {
      if (quantity < 1) {
        throw new IllegalArgumentException("quantity must be at least 1 but was " + quantity);
      }
    }
  }

  record Receipt(String item, int quantity, long totalCents) {}

  /** A POJO: a no-argument constructor and setters. */
  public static final class Point {
    private int x;
    private int y;

    public Point() {}

    public int getX() {
      return x;
    }

    public void setX(int x) {
      this.x = x;
    }

    public int getY() {
      return y;
    }

    public void setY(int y) {
      this.y = y;
    }
  }

  private final CountDownLatch gate = new CountDownLatch(1);
  private final List<Thread> invocationThreads = new CopyOnWriteArrayList<>();
  private Vertx vertx;
  private Cumulus cumulus;
  private HttpServer server;
  private WebClient client;

  @BeforeEach
  void start(Vertx vertx) {
    this.vertx = vertx;
    cumulus = Cumulus.create();
    cumulus.register(FnSpec.of("word-count", (String s) -> {
          invocationThreads.add(Thread.currentThread());
          return s.split("\\s+").length;
        })
        .inputType(String.class).outputType(Integer.class).build());
    cumulus.register(FnSpec.of("order", (Order o) -> new Receipt(o.item(), o.quantity(), o.quantity() * 250L))
        .inputType(Order.class).outputType(Receipt.class).build());
    cumulus.register(FnSpec.of("swap", (Point p) -> {
          Point q = new Point();
          q.setX(p.getY());
          q.setY(p.getX());
          return q;
        }).inputType(Point.class).build());
    cumulus.register(FnSpec.of("sum", (List<?> xs) -> xs.stream().mapToInt(x -> ((Number) x).intValue()).sum())
        .inputType(castList()).build());
    cumulus.register(FnSpec.of("square", (Integer n) -> n * n).inputType(int.class).build());
    cumulus.register(FnSpec.of("echo", (Object any) -> Map.of("got", any, "type", any.getClass().getSimpleName()))
        .build());
    cumulus.register(FnSpec.ofSupplier("hello", () -> "hi").build());
    cumulus.register(FnSpec.of("boom", (String s) -> {
      throw new IllegalStateException("boom: " + s);
    }).inputType(String.class).build());
    cumulus.register(FnSpec.of("slow", (String s) -> {
      awaitGate();
      return s;
    }).inputType(String.class).timeout(Duration.ofMillis(200)).build());
    cumulus.register(FnSpec.of("busy", (String s) -> {
      awaitGate();
      return s;
    }).inputType(String.class).maxConcurrency(1).queueCapacity(0).build());
    cumulus.register(FnSpec.of("queued", (String s) -> {
      awaitGate();
      return s;
    }).inputType(String.class).maxConcurrency(1).build());
    cumulus.register(FnSpec.of("opaque", (String s) -> new Object()).inputType(String.class).build());
    server = Await.result(CumulusGateway.create(vertx, cumulus).listen(0));
    client = WebClient.create(vertx, new WebClientOptions()
        .setDefaultHost("127.0.0.1").setDefaultPort(server.actualPort()));
  }

  @AfterEach
  void stop() {
    gate.countDown();
    client.close();
    Await.result(server.close());
    cumulus.close();
  }

  // ---------------------------------------------------------------------------------------------
  // POST /functions/{name}

  @Test
  void invoke_string_returnsTheResultAsJson_withThePerInvocationHeaders() {
    HttpResponse<Buffer> first = post("/functions/word-count", "\"a b c\"");
    HttpResponse<Buffer> second = post("/functions/word-count", "\"a b\"");

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.getHeader("Content-Type")).isEqualTo("application/json");
    assertThat(first.bodyAsString()).isEqualTo("3");
    assertThat(second.bodyAsString()).isEqualTo("2");
    assertThat(first.getHeader("Cumulus-Cold-Start")).isEqualTo("true");
    assertThat(second.getHeader("Cumulus-Cold-Start")).isEqualTo("false");
    assertThat(Long.parseLong(first.getHeader("Cumulus-Billed-Ms"))).isGreaterThanOrEqualTo(1);
    assertThat(first.getHeader("Cumulus-Bytes-Processed")).isEqualTo("0");
    assertThat(cumulus.meteringMode()).isEqualTo(MeteringMode.EXACT);
    assertThat(Long.parseLong(second.getHeader("Cumulus-Cpu-Ms"))).isGreaterThanOrEqualTo(1);
  }

  @Test
  void overlappingCalls_eachResponseCarriesItsOwnInvocationsFigures() {
    // Four calls of one function, all running at once (each waits until all four run), then each
    // spins its own amount of CPU and reports its own bytes: every response's headers must be its
    // call's, which shows in their order. The function is fresh, so all four are cold starts.
    CpuWork.calibrate();
    long[] work = {60, 1, 15, 4};
    CountDownLatch running = new CountDownLatch(work.length);
    CountDownLatch go = new CountDownLatch(1);
    Fn<Long, Long> spin = cumulus.register(FnSpec.of("spin", (Long ms) -> {
      running.countDown();
      try {
        go.await();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      FnContext.current().addBytesProcessed(ms * 1_000);
      CpuWork.spin(ms);
      return ms;
    }).inputType(Long.class).build());
    List<Future<HttpResponse<Buffer>>> calls = new ArrayList<>();
    for (long ms : work) {
      calls.add(json(client.post("/functions/spin")).sendBuffer(Buffer.buffer(Long.toString(ms))));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> running.getCount() == 0);
    assertThat(spin.stats().inFlight()).isEqualTo(work.length);
    go.countDown();

    Map<Long, Long> cpuMsByWork = new TreeMap<>();
    for (int i = 0; i < work.length; i++) {
      HttpResponse<Buffer> r = Await.result(calls.get(i));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.bodyAsString()).isEqualTo(Long.toString(work[i]));
      assertThat(r.getHeader("Cumulus-Bytes-Processed")).as("its own bytes").isEqualTo(Long.toString(work[i] * 1_000));
      assertThat(r.getHeader("Cumulus-Cold-Start")).as("four at once: four instances").isEqualTo("true");
      long cpuMs = Long.parseLong(r.getHeader("Cumulus-Cpu-Ms"));
      assertThat(Long.parseLong(r.getHeader("Cumulus-Billed-Ms"))).as("its CPU fits in its own time")
          .isGreaterThanOrEqualTo(cpuMs);
      cpuMsByWork.put(work[i], cpuMs);
    }
    List<Long> ordered = List.copyOf(cpuMsByWork.values());
    assertThat(ordered).as("CPU-ms by work 1, 4, 15, 60: %s", cpuMsByWork)
        .isSortedAccordingTo(Comparator.naturalOrder());
    assertThat(ordered.get(3)).isGreaterThan(ordered.get(1)).isGreaterThan(ordered.get(0));

    HttpResponse<Buffer> warm = post("/functions/spin", "1");
    assertThat(warm.getHeader("Cumulus-Cold-Start")).isEqualTo("false");
    assertThat(spin.stats().bytesProcessed()).isEqualTo(81_000);
  }

  @Test
  void invoke_withATenantHeader_isACallForThatTenant() {
    HttpResponse<Buffer> r = Await.result(json(client.post("/functions/word-count"))
        .putHeader(CumulusGateway.TENANT_HEADER, "acme").sendBuffer(Buffer.buffer("\"a b\"")));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.bodyAsString()).isEqualTo("2");
    post("/functions/word-count", "\"no tenant\"");
    assertThat(cumulus.usage().byTenant()).containsOnlyKeys("acme");
    assertThat(cumulus.usage().byTenant().get("acme").functions()).singleElement().satisfies(s -> {
      assertThat(s.name()).isEqualTo("word-count");
      assertThat(s.invocations()).isEqualTo(1);
      assertThat(s.successes()).isEqualTo(1);
    });
  }

  @Test
  void invoke_withABadTenantHeader_is400_andNothingRuns() {
    HttpResponse<Buffer> r = Await.result(json(client.post("/functions/word-count"))
        .putHeader(CumulusGateway.TENANT_HEADER, "t".repeat(129)).sendBuffer(Buffer.buffer("\"a b\"")));
    assertThat(r.statusCode()).isEqualTo(400);
    JsonObject body = r.bodyAsJsonObject();
    assertThat(body.getString("error")).isEqualTo("bad_request");
    assertThat(body.getString("message")).startsWith("header Cumulus-Tenant: tenant must be 1 to 128 characters");
    assertThat(cumulus.function("word-count").stats().invocations()).isZero();
  }

  @Test
  void invoke_runsOnACumulusVirtualThread_neverOnAnEventLoop() {
    post("/functions/word-count", "\"x\"");

    assertThat(invocationThreads).hasSize(1);
    Thread t = invocationThreads.get(0);
    assertThat(t.isVirtual()).isTrue();
    assertThat(t.getName()).doesNotContain("vert.x-eventloop");
  }

  @Test
  void invoke_record_mapsInAndOut() {
    HttpResponse<Buffer> r = post("/functions/order", "{\"item\":\"apple\",\"quantity\":3}");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.bodyAsJsonObject()).isEqualTo(new JsonObject().put("item", "apple").put("quantity", 3)
        .put("totalCents", 750));
  }

  @Test
  void invoke_pojo_listAndNumber_mapToTheInputType() {
    assertThat(post("/functions/swap", "{\"x\":1,\"y\":2}").bodyAsJsonObject())
        .isEqualTo(new JsonObject().put("x", 2).put("y", 1));
    assertThat(post("/functions/sum", "[1, 2, 3.5]").bodyAsString()).isEqualTo("6");
    assertThat(post("/functions/square", "12").bodyAsString()).isEqualTo("144");
  }

  @Test
  void invoke_withoutInputType_getsTheJsonValueAsIs() {
    assertThat(post("/functions/echo", "{\"a\":[1,true,null]}").bodyAsJsonObject())
        .isEqualTo(new JsonObject().put("got", new JsonObject().put("a", new JsonArray().add(1).add(true).addNull()))
            .put("type", "LinkedHashMap"));
    assertThat(post("/functions/echo", "\"text\"").bodyAsJsonObject().getString("type")).isEqualTo("String");
    assertThat(post("/functions/echo", "4.5").bodyAsJsonObject().getString("type")).isEqualTo("Double");
  }

  @Test
  void invoke_supplier_takesAnEmptyBodyWithoutContentType_orNull() {
    HttpResponse<Buffer> empty = Await.result(client.post("/functions/hello").send());
    assertThat(empty.statusCode()).isEqualTo(200);
    assertThat(empty.bodyAsString()).isEqualTo("\"hi\"");
    assertThat(post("/functions/hello", "null").bodyAsString()).isEqualTo("\"hi\"");
    Json.error(post("/functions/hello", "{\"a\":1}"), 400, "invalid_input");
  }

  @Test
  void invoke_charsetUtf8_isJsonToo() {
    HttpResponse<Buffer> r = Await.result(client.post("/functions/word-count")
        .putHeader("Content-Type", "application/json; charset=UTF-8").sendBuffer(Buffer.buffer("\"é è\"")));
    assertThat(r.bodyAsString()).isEqualTo("2");
  }

  // ---------------------------------------------------------------------------------------------
  // Every error code

  @Test
  void status400_malformedJson_andBodiesThatDoNotMapToTheInputType() {
    assertThat(Json.error(post("/functions/order", "{\"item\":"), 400, "malformed_json")).contains("ends too early");
    assertThat(Json.error(post("/functions/order", "{\"item\":\"a\",\"quantity\":\"3\"}"), 400, "invalid_input"))
        .contains("Order").contains("$.quantity");
    assertThat(Json.error(post("/functions/order", "{\"item\":\"a\",\"quantity\":3,\"x\":1}"), 400, "invalid_input"))
        .contains("unknown field 'x'");
    assertThat(Json.error(post("/functions/order", "{\"item\":\"apple\"}"), 400, "invalid_input"))
        .isEqualTo("the body does not map to Order (the input of function 'order'): the field 'quantity' is"
            + " missing (int, which has no default) at $.quantity");
    assertThat(Json.error(post("/functions/order", "{\"item\":\"a\",\"quantity\":null}"), 400, "invalid_input"))
        .as("present but null: not said to be missing").contains("expected int at $.quantity")
        .doesNotContain("missing");
    assertThat(Json.error(post("/functions/order", "{\"item\":\"a\",\"quantity\":0}"), 400, "invalid_input"))
        .contains("quantity must be at least 1 but was 0");
    assertThat(Json.error(post("/functions/square", "1.5"), 400, "invalid_input")).contains("Integer");
    assertThat(Json.error(post("/functions/word-count", "12"), 400, "invalid_input")).contains("String");
    assertThat(Json.error(post("/functions/word-count", "null"), 400, "invalid_input")).contains("null");
    Json.error(post("/functions/word-count", ""), 400, "malformed_json");
    Json.error(post("/functions/word-count", "\"a\" \"b\""), 400, "malformed_json");
  }

  @Test
  void status401_missingOrWrongToken_healthStaysOpen() {
    Cumulus other = Cumulus.create();
    other.register(FnSpec.of("word-count", (String s) -> s.length()).inputType(String.class).build());
    String token = "s3cr3t-t0ken-0123456789";
    HttpServer secured = Await.result(CumulusGateway.create(vertx, other).bearerToken(token).listen(0));
    try {
      WebClient c = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
          .setDefaultPort(secured.actualPort()));
      HttpResponse<Buffer> missing = Await.result(json(c.post("/functions/word-count")).sendBuffer(Buffer.buffer("\"a\"")));
      HttpResponse<Buffer> wrong = Await.result(json(c.post("/functions/word-count"))
          .bearerTokenAuthentication(token + "x").sendBuffer(Buffer.buffer("\"a\"")));
      HttpResponse<Buffer> right = Await.result(json(c.post("/functions/word-count"))
          .bearerTokenAuthentication(token).sendBuffer(Buffer.buffer("\"abc\"")));
      HttpResponse<Buffer> list = Await.result(c.get("/functions").send());
      HttpResponse<Buffer> health = Await.result(c.get("/health").send());

      Json.error(missing, 401, "unauthorized");
      assertThat(missing.getHeader("WWW-Authenticate")).isEqualTo("Bearer realm=\"cumulus\"");
      assertThat(Json.error(wrong, 401, "unauthorized")).doesNotContain(token);
      assertThat(wrong.getHeader("WWW-Authenticate")).contains("invalid_token");
      Json.error(list, 401, "unauthorized");
      assertThat(right.statusCode()).isEqualTo(200);
      assertThat(right.bodyAsString()).isEqualTo("3");
      assertThat(health.statusCode()).isEqualTo(200);
      c.close();
    } finally {
      Await.result(secured.close());
      other.close();
    }
  }

  @Test
  void status404_unknownFunction_namesNearOnes_andUnknownRoute() {
    assertThat(Json.error(post("/functions/word-cuont", "\"a\""), 404, "unknown_function")).contains("word-count");
    Json.error(post("/functions/" + "x".repeat(300), "\"a\""), 404, "unknown_function");
    Json.error(Await.result(client.get("/nothing/here").send()), 404, "not_found");
  }

  @Test
  void status405_wrongMethod_saysWhichIsAllowed() {
    HttpResponse<Buffer> get = Await.result(client.get("/functions/word-count").send());
    HttpResponse<Buffer> post = Await.result(client.post("/functions").send());
    HttpResponse<Buffer> delete = Await.result(client.delete("/health").send());

    Json.error(get, 405, "method_not_allowed");
    assertThat(get.getHeader("Allow")).isEqualTo("POST");
    Json.error(post, 405, "method_not_allowed");
    assertThat(post.getHeader("Allow")).isEqualTo("GET");
    Json.error(delete, 405, "method_not_allowed");
  }

  @Test
  void status408_bodyThatNeverArrives_isCutOffAfterTheBodyTimeout() throws Exception {
    HttpServer strict = Await.result(CumulusGateway.create(vertx, cumulus).bodyTimeout(Duration.ofMillis(300)).listen(0));
    try {
      RawHttp.Answer a = RawHttp.send(strict.actualPort(), RawHttp.request("POST /functions/word-count HTTP/1.1\r\n"
          + "Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100", "\"abc".getBytes(StandardCharsets.UTF_8)));
      assertThat(a.status()).isEqualTo(408);
      assertThat(new JsonObject(a.body()).getString("error")).isEqualTo("request_timeout");
      assertThat(a.header("Connection")).isEqualTo("close");
    } finally {
      Await.result(strict.close());
    }
  }

  @Test
  void status413_bodyOverTheLimit_declaredOrChunked() {
    HttpServer small = Await.result(CumulusGateway.create(vertx, cumulus).bodyLimit(64).listen(0));
    try {
      WebClient c = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
          .setDefaultPort(small.actualPort()));
      String big = "\"" + "a ".repeat(100) + "\"";
      Json.error(Await.result(json(c.post("/functions/word-count")).sendBuffer(Buffer.buffer(big))), 413, "body_too_large");
      HttpResponse<Buffer> chunked = Await.result(json(c.post("/functions/word-count"))
          .putHeader("Transfer-Encoding", "chunked").sendBuffer(Buffer.buffer(big)));
      Json.error(chunked, 413, "body_too_large");
      HttpResponse<Buffer> fits = Await.result(json(c.post("/functions/word-count")).sendBuffer(Buffer.buffer("\"a b\"")));
      assertThat(fits.bodyAsString()).isEqualTo("2");
      c.close();
    } finally {
      Await.result(small.close());
    }
  }

  @Test
  void status414_and431_requestLineOrHeadersTooLong() throws Exception {
    RawHttp.Answer line = RawHttp.send(server.actualPort(), RawHttp.request(
        "GET /" + "a".repeat(5_000) + " HTTP/1.1\r\nHost: x", new byte[0]));
    RawHttp.Answer headers = RawHttp.send(server.actualPort(), RawHttp.request(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(10_000), new byte[0]));

    assertThat(line.status()).isEqualTo(414);
    assertThat(new JsonObject(line.body()).getString("error")).isEqualTo("uri_too_long");
    assertThat(headers.status()).isEqualTo(431);
    assertThat(new JsonObject(headers.body()).getString("error")).isEqualTo("headers_too_large");
  }

  @Test
  void status415_bodyThatIsNotJson() {
    HttpResponse<Buffer> text = Await.result(client.post("/functions/word-count")
        .putHeader("Content-Type", "text/plain").sendBuffer(Buffer.buffer("a b")));
    HttpResponse<Buffer> latin1 = Await.result(client.post("/functions/word-count")
        .putHeader("Content-Type", "application/json; charset=ISO-8859-1").sendBuffer(Buffer.buffer("\"a\"")));
    HttpResponse<Buffer> none = Await.result(client.post("/functions/word-count").sendBuffer(Buffer.buffer("\"a\"")));

    assertThat(Json.error(text, 415, "unsupported_media_type")).contains("text/plain");
    Json.error(latin1, 415, "unsupported_media_type");
    Json.error(none, 415, "unsupported_media_type");
  }

  @Test
  void status429_throttled_withRetryAfter() {
    var running = json(client.post("/functions/busy")).sendBuffer(Buffer.buffer("\"first\""));
    Fn<?, ?> busy = cumulus.function("busy");
    await().atMost(Duration.ofSeconds(30)).until(() -> busy.stats().inFlight() == 1);

    HttpResponse<Buffer> throttled = post("/functions/busy", "\"second\"");

    assertThat(Json.error(throttled, 429, "throttled")).contains("busy");
    assertThat(throttled.getHeader("Retry-After")).isEqualTo("1");
    gate.countDown();
    assertThat(Await.result(running).bodyAsString()).isEqualTo("\"first\"");
  }

  @Test
  void status500_functionFailure_givesItsTypeAndMessage_neverAStackTrace() {
    String message = Json.error(post("/functions/boom", "\"x\""), 500, "function_failed");

    assertThat(message).isEqualTo("function 'boom' failed: IllegalStateException: boom: x");
  }

  @Test
  void status500_resultThatJsonCannotHold() {
    assertThat(Json.error(post("/functions/opaque", "\"x\""), 500, "unserializable_result")).contains("opaque");
  }

  @Test
  void status500_cpuBudgetExceeded() {
    Cumulus exact = Cumulus.create();
    if (exact.meteringMode() != MeteringMode.EXACT) {
      exact.close();
      return; // a CPU budget needs exact metering (the test JVM has it; see the pom)
    }
    exact.register(FnSpec.of("greedy", (String s) -> {
      long x = 0;
      while (!Thread.currentThread().isInterrupted()) {
        x += s.hashCode(); // spins until the budget interrupts it
      }
      return x;
    }).inputType(String.class).cpuBudget(Duration.ofMillis(5)).build());
    HttpServer s = Await.result(CumulusGateway.create(vertx, exact).listen(0));
    try {
      WebClient c = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(s.actualPort()));
      HttpResponse<Buffer> r = Await.result(json(c.post("/functions/greedy")).sendBuffer(Buffer.buffer("\"x\"")));
      assertThat(Json.error(r, 500, "cpu_budget_exceeded")).contains("greedy");
      c.close();
    } finally {
      Await.result(s.close());
      exact.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // POST /functions/{name}/events

  @Test
  void events_202WithTheEventId_andTheFunctionRunsLater() {
    Fn<?, ?> words = cumulus.function("word-count");

    HttpResponse<Buffer> r = post("/functions/word-count/events", "\"a b\"");

    assertThat(r.statusCode()).isEqualTo(202);
    assertThat(r.getHeader("Content-Type")).isEqualTo("application/json");
    JsonObject body = r.bodyAsJsonObject();
    assertThat(body.fieldNames()).containsExactly("eventId");
    assertThat(body.getString("eventId")).isNotBlank();
    await().atMost(Duration.ofSeconds(30)).until(() -> words.stats().eventsSucceeded() == 1);
    assertThat(words.stats().eventsAccepted()).isEqualTo(1);
    assertThat(invocationThreads).allSatisfy(t -> assertThat(t.isVirtual()).isTrue());
  }

  @Test
  void events_idempotencyKeyHeader_acceptsAKeyOnce_andAnswersARetryWithTheFirstId() {
    Fn<?, ?> words = cumulus.function("word-count");

    String first = postEvent("word-count", "\"a\"", "order-42").bodyAsJsonObject().getString("eventId");
    HttpResponse<Buffer> retry = postEvent("word-count", "\"a\"", "order-42");
    // The structured-field form of the IETF draft names the same key: the quotes are not part of it.
    HttpResponse<Buffer> quoted = postEvent("word-count", "\"a\"", "\"order-42\"");
    String other = postEvent("word-count", "\"a\"", "order-43").bodyAsJsonObject().getString("eventId");

    assertThat(retry.statusCode()).isEqualTo(202);
    assertThat(retry.bodyAsJsonObject().getString("eventId")).isEqualTo(first);
    assertThat(quoted.bodyAsJsonObject().getString("eventId")).isEqualTo(first);
    assertThat(other).isNotEqualTo(first);
    await().atMost(Duration.ofSeconds(30)).until(() -> words.stats().eventsSucceeded() == 2);
    assertThat(words.stats().eventDuplicates()).isEqualTo(2);
    assertThat(words.stats().invocations()).isEqualTo(2);
  }

  @Test
  void events_withATenantHeader_areTheTenants_andItsIdempotencyKeysAreItsOwn() {
    Fn<?, ?> words = cumulus.function("word-count");

    String acme = postEvent("word-count", "\"a b\"", "order-42", "acme").bodyAsJsonObject().getString("eventId");
    HttpResponse<Buffer> acmeRetry = postEvent("word-count", "\"a b\"", "order-42", "acme");
    HttpResponse<Buffer> globex = postEvent("word-count", "\"a b\"", "order-42", "globex");
    HttpResponse<Buffer> untenanted = postEvent("word-count", "\"a b\"", "order-42");

    assertThat(acmeRetry.statusCode()).isEqualTo(202);
    assertThat(acmeRetry.bodyAsJsonObject().getString("eventId")).isEqualTo(acme);
    assertThat(globex.statusCode()).isEqualTo(202);
    assertThat(globex.bodyAsJsonObject().getString("eventId")).as("another tenant's key, another event")
        .isNotEqualTo(acme);
    assertThat(untenanted.bodyAsJsonObject().getString("eventId")).isNotIn(acme,
        globex.bodyAsJsonObject().getString("eventId"));
    await().atMost(Duration.ofSeconds(30)).until(() -> words.stats().eventsSucceeded() == 3);
    assertThat(cumulus.usage().byTenant()).containsOnlyKeys("acme", "globex");
    assertThat(cumulus.usage().byTenant().get("acme").functions()).singleElement().satisfies(s -> {
      assertThat(s.name()).isEqualTo("word-count");
      assertThat(s.invocations()).as("the event's one attempt").isEqualTo(1);
      assertThat(s.successes()).isEqualTo(1);
    });
  }

  @Test
  void events_withABadTenantHeader_is400_andNothingIsAccepted() {
    HttpResponse<Buffer> r = postEvent("word-count", "\"a b\"", "k", "bad\ttenant");
    assertThat(Json.error(r, 400, "bad_request")).startsWith("header Cumulus-Tenant: tenant must be 1 to 128 characters")
        .contains("'bad?tenant'");
    assertThat(Json.error(postEvent("word-count", "\"a b\"", "k", " "), 400, "bad_request")).contains("not blank");
    assertThat(cumulus.function("word-count").stats().eventsAccepted()).isZero();
    assertThat(cumulus.usage().byTenant()).isEmpty();
  }

  @Test
  void events_status400_badIdempotencyKey_namesTheHeader_andNothingIsAccepted() {
    String tooLong = "k".repeat(257);
    HttpResponse<Buffer> twice = Await.result(json(client.post("/functions/word-count/events"))
        .putHeader("Idempotency-Key", List.of("a", "b")).sendBuffer(Buffer.buffer("\"x\"")));

    assertThat(Json.error(postEvent("word-count", "\"x\"", tooLong), 400, "bad_request"))
        .contains("Idempotency-Key").contains("1 to 256").contains("word-count");
    assertThat(Json.error(postEvent("word-count", "\"x\"", "\"unclosed"), 400, "bad_request"))
        .contains("quoted string");
    assertThat(Json.error(postEvent("word-count", "\"x\"", "\"\""), 400, "bad_request")).contains("1 to 256");
    assertThat(Json.error(twice, 400, "bad_request")).contains("2 times");
    assertThat(cumulus.function("word-count").stats().eventsAccepted()).isZero();
  }

  @Test
  void events_status429_whenTheEventBacklogIsFull_withRetryAfter() {
    Fn<?, ?> held = cumulus.register(FnSpec.of("held", (String s) -> {
      awaitGate();
      return s;
    }).inputType(String.class).eventCapacity(1).build());
    assertThat(post("/functions/held/events", "\"first\"").statusCode()).isEqualTo(202);

    HttpResponse<Buffer> throttled = post("/functions/held/events", "\"second\"");

    assertThat(Json.error(throttled, 429, "throttled")).contains("held").contains("eventCapacity 1");
    assertThat(throttled.getHeader("Retry-After")).isEqualTo("1");
    gate.countDown();
    await().atMost(Duration.ofSeconds(30)).until(() -> held.stats().eventsSucceeded() == 1);
  }

  @Test
  void events_otherErrors_asForInvocations() {
    Json.error(post("/functions/word-count/events", "{"), 400, "malformed_json");
    Json.error(post("/functions/word-count/events", "42"), 400, "invalid_input");
    Json.error(post("/functions/nope/events", "\"a\""), 404, "unknown_function");
    HttpResponse<Buffer> notJson = Await.result(client.post("/functions/word-count/events")
        .putHeader("Content-Type", "text/plain").sendBuffer(Buffer.buffer("a")));
    Json.error(notJson, 415, "unsupported_media_type");
    HttpResponse<Buffer> get = Await.result(client.get("/functions/word-count/events").send());
    Json.error(get, 405, "method_not_allowed");
    assertThat(cumulus.function("word-count").stats().eventsAccepted()).isZero();
  }

  @Test
  void status503_runtimeClosing_forCallsAndEvents() {
    Cumulus closing = Cumulus.create();
    closing.register(FnSpec.of("word-count", (String s) -> 1).inputType(String.class).build());
    HttpServer s = Await.result(CumulusGateway.create(vertx, closing).listen(0));
    closing.close();
    try {
      WebClient c = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(s.actualPort()));
      HttpResponse<Buffer> r = Await.result(json(c.post("/functions/word-count")).sendBuffer(Buffer.buffer("\"x\"")));
      HttpResponse<Buffer> event = Await.result(json(c.post("/functions/word-count/events")).sendBuffer(Buffer.buffer("\"x\"")));
      Json.error(r, 503, "closing");
      assertThat(Json.error(event, 503, "closing")).contains("no more events");
      c.close();
    } finally {
      Await.result(s.close());
    }
  }

  @Test
  void status504_timeout() {
    assertThat(Json.error(post("/functions/slow", "\"x\""), 504, "timeout")).contains("slow").contains("timed out");
  }

  // ---------------------------------------------------------------------------------------------
  // GET routes

  @Test
  void getFunctions_showsEachFunctionsConfigurationAndLiveStats() {
    post("/functions/word-count", "\"a b c\"");
    post("/functions/word-count", "\"a\"");

    HttpResponse<Buffer> r = Await.result(client.get("/functions").send());

    assertThat(r.statusCode()).isEqualTo(200);
    JsonObject body = r.bodyAsJsonObject();
    assertThat(body.getString("meteringMode")).isEqualTo(cumulus.meteringMode().name());
    JsonObject wc = body.getJsonArray("functions").stream().map(JsonObject.class::cast)
        .filter(f -> f.getString("name").equals("word-count")).findFirst().orElseThrow();
    assertThat(wc.getJsonObject("config").getString("inputType")).isEqualTo("String");
    assertThat(wc.getJsonObject("config").getLong("timeoutMs")).isEqualTo(60_000L);
    assertThat(wc.getJsonObject("config").getInteger("queueCapacity")).isEqualTo(10_000);
    assertThat(wc.getJsonObject("config").getValue("maxConcurrency")).isNull();
    assertThat(wc.getJsonObject("config").getString("keepAlive")).isEqualTo("fixed");
    assertThat(wc.getJsonObject("config").getLong("keepAliveMs")).isEqualTo(30_000L);
    assertThat(wc.getJsonObject("stats").getLong("preWarms")).isZero();
    assertThat(wc.getJsonObject("stats").getLong("invocations")).isEqualTo(2L);
    assertThat(wc.getJsonObject("stats").getLong("successes")).isEqualTo(2L);
    assertThat(wc.getJsonObject("stats").getJsonObject("latency").getLong("samples")).isEqualTo(2L);
    assertThat(wc.getJsonObject("stats").getLong("bytesProcessed")).isZero();
    JsonObject busy = body.getJsonArray("functions").stream().map(JsonObject.class::cast)
        .filter(f -> f.getString("name").equals("busy")).findFirst().orElseThrow();
    assertThat(busy.getJsonObject("config").getInteger("maxConcurrency")).isEqualTo(1);
  }

  @Test
  void getMetrics_scrapesAPrometheusRegistry_else404SayingWhy() {
    PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Counter.builder("cumulus.test.calls").description("calls made by the test").register(prometheus).increment(3);

    HttpResponse<Buffer> scrape = getMetrics(CumulusGateway.create(vertx, cumulus).meterRegistry(prometheus));
    HttpResponse<Buffer> simple = getMetrics(CumulusGateway.create(vertx, cumulus).meterRegistry(new SimpleMeterRegistry()));
    HttpResponse<Buffer> none = Await.result(client.get("/metrics").send());

    assertThat(scrape.statusCode()).isEqualTo(200);
    assertThat(scrape.getHeader("Content-Type")).startsWith("text/plain");
    assertThat(scrape.bodyAsString()).contains("# HELP cumulus_test_calls_total calls made by the test")
        .contains("cumulus_test_calls_total 3.0");
    assertThat(Json.error(simple, 404, "not_found")).contains("SimpleMeterRegistry").contains("not a Prometheus one");
    assertThat(Json.error(none, 404, "not_found")).contains("Cumulus.builder().meterRegistry(...)")
        .contains("CumulusGateway.meterRegistry(...)");
  }

  @Test
  void getMetrics_withoutARegistryOfItsOwn_scrapesTheRuntimesRegistry() {
    try (Cumulus observed = Cumulus.builder().meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).build();
        Cumulus simple = Cumulus.builder().meterRegistry(new SimpleMeterRegistry()).build()) {
      observed.register(FnSpec.of("word-count", (String s) -> s.split("\\s+").length).inputType(String.class).build());
      observed.function("word-count", String.class, Integer.class).invoke("a b");

      HttpResponse<Buffer> scrape = getMetrics(CumulusGateway.create(vertx, observed));
      HttpResponse<Buffer> notPrometheus = getMetrics(CumulusGateway.create(vertx, simple));

      assertThat(scrape.statusCode()).isEqualTo(200);
      assertThat(scrape.bodyAsString())
          .contains("cumulus_invocations_total{function=\"word-count\",outcome=\"success\"} 1.0");
      assertThat(Json.error(notPrometheus, 404, "not_found")).contains("SimpleMeterRegistry").contains("not a Prometheus one");
    }
  }

  /** {@code GET /metrics} of a server of {@code gateway}'s own, closed after. */
  private HttpResponse<Buffer> getMetrics(CumulusGateway gateway) {
    HttpServer s = Await.result(gateway.listen(0));
    try {
      return Await.result(WebClient.create(vertx).get(s.actualPort(), "127.0.0.1", "/metrics").send());
    } finally {
      Await.result(s.close());
    }
  }

  @Test
  void getHealth_isUp() {
    HttpResponse<Buffer> r = Await.result(client.get("/health").send());

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.bodyAsJsonObject().getString("status")).isEqualTo("up");
    assertThat(r.bodyAsJsonObject().getInteger("functions")).isEqualTo(cumulus.functions().size());
  }

  // ---------------------------------------------------------------------------------------------
  // Mounted in an application's router; contexts; clients that leave

  @Test
  void router_mountsUnderAPrefix_andLeavesOtherPathsToTheApplication(VertxTestContext test) {
    Router app = Router.router(vertx);
    app.route("/api/cumulus/*").subRouter(CumulusGateway.create(vertx, cumulus).router());
    app.get("/app").handler(ctx -> ctx.end("mine"));
    vertx.createHttpServer().requestHandler(app).listen(0, "127.0.0.1").onComplete(test.succeeding(s -> {
      WebClient c = WebClient.create(vertx);
      json(c.post(s.actualPort(), "127.0.0.1", "/api/cumulus/functions/word-count")).sendBuffer(Buffer.buffer("\"a b\""))
          .compose(fn -> c.get(s.actualPort(), "127.0.0.1", "/app").send().map(app2 -> List.of(fn, app2)))
          .onComplete(test.succeeding(both -> test.verify(() -> {
            assertThat(both.get(0).bodyAsString()).isEqualTo("2");
            assertThat(both.get(1).bodyAsString()).isEqualTo("mine");
            s.close();
            test.completeNow();
          })));
    }));
  }

  @Test
  void result_isWrittenOnTheRequestsContext(VertxTestContext test) {
    List<Boolean> sameContext = new CopyOnWriteArrayList<>();
    Router app = Router.router(vertx);
    app.route().handler(ctx -> {
      Context requestContext = Vertx.currentContext();
      ctx.addHeadersEndHandler(v -> sameContext.add(Vertx.currentContext() == requestContext
          && Context.isOnEventLoopThread()));
      ctx.next();
    });
    app.route("/*").subRouter(CumulusGateway.create(vertx, cumulus).router());
    vertx.createHttpServer().requestHandler(app).listen(0, "127.0.0.1").onComplete(test.succeeding(s ->
        json(WebClient.create(vertx).post(s.actualPort(), "127.0.0.1", "/functions/word-count"))
            .sendBuffer(Buffer.buffer("\"a b c\"")).onComplete(test.succeeding(r -> test.verify(() -> {
              assertThat(r.bodyAsString()).isEqualTo("3");
              assertThat(sameContext).containsExactly(true);
              s.close();
              test.completeNow();
            })))));
  }

  @Test
  void clientThatLeaves_takesItsQueuedCallBack_itNeverRuns() {
    // The gateway mounted on a server of our own, to learn when the server has seen the close.
    CountDownLatch closed = new CountDownLatch(1);
    List<Context> serverContext = new CopyOnWriteArrayList<>();
    HttpServer own = Await.result(vertx.createHttpServer()
        .connectionHandler(conn -> {
          serverContext.add(Vertx.currentContext());
          conn.closeHandler(v -> closed.countDown());
        })
        .requestHandler(CumulusGateway.create(vertx, cumulus).router())
        .listen(0, "127.0.0.1"));
    Fn<?, ?> queued = cumulus.function("queued");
    HttpClientAgent http = vertx.createHttpClient(new HttpClientOptions());
    try {
      var first = WebClient.create(vertx).post(own.actualPort(), "127.0.0.1", "/functions/queued")
          .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer("\"first\""));
      await().atMost(Duration.ofSeconds(30)).until(() -> queued.stats().inFlight() == 1);
      var request = Await.result(http.request(new RequestOptions().setMethod(HttpMethod.POST)
          .setHost("127.0.0.1").setPort(own.actualPort()).setURI("/functions/queued")
          .putHeader("Content-Type", "application/json")));
      request.send(Buffer.buffer("\"second\""));
      await().atMost(Duration.ofSeconds(30)).until(() -> queued.stats().queued() == 1);

      Await.result(request.connection().close());
      await().atMost(Duration.ofSeconds(30)).until(() -> closed.getCount() == 0);
      // Every close handler of that connection ran in the task that ran this one: wait it out.
      Context ctx = serverContext.get(serverContext.size() - 1);
      Await.result(io.vertx.core.Future.<Void>future(p -> ctx.runOnContext(v -> p.complete())));
      gate.countDown();

      assertThat(Await.result(first).bodyAsString()).isEqualTo("\"first\"");
      await().atMost(Duration.ofSeconds(30)).until(() -> queued.stats().completed() == 2);
      assertThat(queued.stats().successes()).isEqualTo(1);
      assertThat(queued.stats().cancelled()).isEqualTo(1);
    } finally {
      Await.result(http.close());
      Await.result(own.close());
    }
  }

  // ---------------------------------------------------------------------------------------------

  private HttpResponse<Buffer> post(String path, String body) {
    return Await.result(json(client.post(path)).sendBuffer(Buffer.buffer(body)));
  }

  private HttpResponse<Buffer> postEvent(String function, String body, String idempotencyKey) {
    return Await.result(json(client.post("/functions/" + function + "/events"))
        .putHeader(CumulusGateway.IDEMPOTENCY_KEY_HEADER, idempotencyKey).sendBuffer(Buffer.buffer(body)));
  }

  private HttpResponse<Buffer> postEvent(String function, String body, String idempotencyKey, String tenant) {
    return Await.result(json(client.post("/functions/" + function + "/events"))
        .putHeader(CumulusGateway.IDEMPOTENCY_KEY_HEADER, idempotencyKey)
        .putHeader(CumulusGateway.TENANT_HEADER, tenant).sendBuffer(Buffer.buffer(body)));
  }

  private static HttpRequest<Buffer> json(HttpRequest<Buffer> request) {
    return request.putHeader("Content-Type", "application/json");
  }

  private void awaitGate() {
    try {
      if (!gate.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the test never opened the gate");
      }
    } catch (InterruptedException e) {
      throw new IllegalStateException("interrupted", e);
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Class<List<?>> castList() {
    return (Class) List.class;
  }
}
