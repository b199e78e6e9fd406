package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cumulus.Cumulus;
import dev.cumulus.FnSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What an attacker or a broken client sends, against a real server on a free loopback port: every
 * answer is a well-formed JSON error with the right code, the server stays up, and its memory stays
 * bounded. A table of cases, then a seeded fuzz ({@code -Dcumulus.seed=} reruns one).
 */
@ExtendWith(VertxExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileInputTest {
  record Order(String item, int quantity) {}

  /** Kinds a status may carry. */
  private static final Map<Integer, Set<String>> KINDS = Map.ofEntries(
      Map.entry(400, Set.of("malformed_json", "invalid_input", "bad_request")),
      Map.entry(404, Set.of("unknown_function", "not_found")),
      Map.entry(405, Set.of("method_not_allowed")),
      Map.entry(408, Set.of("request_timeout")),
      Map.entry(413, Set.of("body_too_large")),
      Map.entry(414, Set.of("uri_too_long")),
      Map.entry(415, Set.of("unsupported_media_type")),
      Map.entry(431, Set.of("headers_too_large")));
  private static final int FUZZ_REQUESTS = 3_000;
  private static final long LIMIT = CumulusGateway.DEFAULT_BODY_LIMIT;

  private Vertx vertx;
  private Cumulus cumulus;
  private HttpServer server;
  private WebClient client;

  @BeforeAll
  void start(Vertx vertx) {
    this.vertx = vertx;
    cumulus = Cumulus.create();
    cumulus.register(FnSpec.of("word-count", (String s) -> s.split("\\s+").length).inputType(String.class).build());
    cumulus.register(FnSpec.of("order", (Order o) -> o.quantity() * 2).inputType(Order.class).build());
    cumulus.register(FnSpec.of("echo", (Object any) -> any).build());
    cumulus.register(FnSpec.of("square", (Integer n) -> n * n).inputType(int.class).build());
    cumulus.register(FnSpec.ofSupplier("hello", () -> "hi").build());
    server = Await.result(CumulusGateway.create(vertx, cumulus).bodyTimeout(Duration.ofSeconds(3)).listen(0));
    client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(server.actualPort()));
  }

  @AfterAll
  void stop() {
    client.close();
    Await.result(server.close());
    cumulus.close();
  }

  // ---------------------------------------------------------------------------------------------
  // The table

  static Stream<Arguments> cases() {
    String deep = "[".repeat(10_000) + "]".repeat(10_000);
    String deepObject = "{\"item\":" + "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000) + ",\"quantity\":1}";
    return Stream.of(
        bodyCase("truncated JSON", "order", "{\"item\":\"a\",\"quan", 400, "malformed_json"),
        bodyCase("truncated string", "word-count", "\"abc", 400, "malformed_json"),
        bodyCase("deeply nested array", "echo", deep, 400, "malformed_json"),
        bodyCase("deeply nested object", "order", deepObject, 400, "malformed_json"),
        bodyCase("wrong type of a field", "order", "{\"item\":1,\"quantity\":2}", 400, "invalid_input"),
        bodyCase("string for a number", "square", "\"7\"", 400, "invalid_input"),
        bodyCase("fraction for an int", "square", "7.5", 400, "invalid_input"),
        bodyCase("number too large for an int", "square", "99999999999999999999", 400, "invalid_input"),
        bodyCase("object for a string", "word-count", "{\"a\":1}", 400, "invalid_input"),
        bodyCase("unknown field", "order", "{\"item\":\"a\",\"quantity\":1,\"admin\":true}", 400, "invalid_input"),
        bodyCase("duplicate field", "order", "{\"item\":\"a\",\"item\":\"b\",\"quantity\":1}", 400, "malformed_json"),
        bodyCase("NaN", "echo", "NaN", 400, "malformed_json"),
        bodyCase("comment", "echo", "/* hi */ 1", 400, "malformed_json"),
        bodyCase("trailing garbage", "echo", "{} x", 400, "malformed_json"),
        bodyCase("control character in a string", "word-count", "\"a\u0001b\"", 400, "malformed_json"),
        bodyCase("blank body", "word-count", "   ", 400, "malformed_json"),
        bodyCase("null for a record", "order", "null", 400, "invalid_input"),
        bodyCase("input for a supplier", "hello", "[1]", 400, "invalid_input"),
        Arguments.of("non-UTF-8 bytes", request("POST", "/functions/word-count", "application/json",
            new byte[] {'"', (byte) 0xff, (byte) 0xfe, 'a', '"'}), 400, "malformed_json"),
        Arguments.of("empty body with a JSON content type", request("POST", "/functions/order", "application/json",
            new byte[0]), 400, "malformed_json"),
        Arguments.of("body over the limit, declared", request("POST", "/functions/echo", "application/json",
            jsonString((int) LIMIT + 10)), 413, "body_too_large"),
        Arguments.of("huge headers", RawHttp.request("GET /health HTTP/1.1\r\nHost: x\r\nX-Junk: "
            + "j".repeat(20_000), new byte[0]), 431, "headers_too_large"),
        Arguments.of("many headers", RawHttp.request("GET /health HTTP/1.1\r\nHost: x\r\n"
            + "X-A: 1234567890\r\n".repeat(1_000).strip(), new byte[0]), 431, "headers_too_large"),
        Arguments.of("request line over the limit", RawHttp.request("POST /functions/" + "n".repeat(5_000)
            + " HTTP/1.1\r\nHost: x", new byte[0]), 414, "uri_too_long"),
        Arguments.of("overlong function name", request("POST", "/functions/" + "n".repeat(1_000), "application/json",
            bytes("1")), 404, "unknown_function"),
        Arguments.of("unknown function", request("POST", "/functions/no-such-thing", "application/json",
            bytes("1")), 404, "unknown_function"),
        Arguments.of("function name with odd characters", request("POST", "/functions/"
            + URLEncoder.encode("a b\u0000<script>", StandardCharsets.UTF_8), "application/json", bytes("1")), 404,
            "unknown_function"),
        Arguments.of("bad percent-encoding", request("POST", "/functions/%zz", "application/json", bytes("1")),
            400, "bad_request"),
        Arguments.of("unknown route", request("GET", "/admin", null, new byte[0]), 404, "not_found"),
        Arguments.of("PUT on a function", request("PUT", "/functions/echo", "application/json", bytes("1")),
            405, "method_not_allowed"),
        Arguments.of("DELETE on a function", request("DELETE", "/functions/echo", null, new byte[0]),
            405, "method_not_allowed"),
        Arguments.of("GET on a function", request("GET", "/functions/echo", null, new byte[0]),
            405, "method_not_allowed"),
        Arguments.of("POST on /functions", request("POST", "/functions", "application/json", bytes("1")),
            405, "method_not_allowed"),
        Arguments.of("text/plain", request("POST", "/functions/echo", "text/plain", bytes("1")),
            415, "unsupported_media_type"),
        Arguments.of("form", request("POST", "/functions/echo", "application/x-www-form-urlencoded", bytes("a=1")),
            415, "unsupported_media_type"),
        Arguments.of("multipart", request("POST", "/functions/echo", "multipart/form-data; boundary=x",
            bytes("--x\r\n\r\n1\r\n--x--")), 415, "unsupported_media_type"),
        Arguments.of("JSON in another charset", request("POST", "/functions/echo", "application/json; charset=utf-16",
            bytes("1")), 415, "unsupported_media_type"),
        Arguments.of("body without a content type", request("POST", "/functions/echo", null, bytes("1")),
            415, "unsupported_media_type"),
        Arguments.of("not HTTP at all", "HELLO THERE\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), 400, "bad_request"),
        Arguments.of("negative content length", RawHttp.request("POST /functions/echo HTTP/1.1\r\nHost: x\r\n"
            + "Content-Type: application/json\r\nContent-Length: -5", bytes("1")), 400, "bad_request"),
        Arguments.of("body that never arrives", RawHttp.request("POST /functions/echo HTTP/1.1\r\nHost: x\r\n"
            + "Content-Type: application/json\r\nContent-Length: 1000", bytes("[1,")), 408, "request_timeout"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void hostileRequest_getsAWellFormedJsonErrorWithTheRightCode(String name, byte[] request, int status, String kind)
      throws IOException {
    RawHttp.Answer answer = RawHttp.send(server.actualPort(), request);

    assertWellFormedError(answer.status(), answer.header("Content-Type"), answer.body());
    assertThat(answer.status()).as("status of %s: %s", name, answer.body()).isEqualTo(status);
    assertThat(new JsonObject(answer.body()).getString("error")).isEqualTo(kind);
    assertServerUp();
  }

  @Test
  void slowBody_thatArrivesInPieces_isServed() {
    HttpClientAgent http = vertx.createHttpClient(new HttpClientOptions());
    try {
      HttpClientRequest request = Await.result(http.request(new RequestOptions().setMethod(HttpMethod.POST)
          .setHost("127.0.0.1").setPort(server.actualPort()).setURI("/functions/word-count")
          .putHeader("Content-Type", "application/json")));
      request.setChunked(true);
      Future<Buffer> answer = request.response().compose(r -> r.body());
      // Four pieces, each after a timer on the client's side: a slow client, not a sleeping test.
      String[] pieces = {"\"the ", "quick ", "brown ", "fox\""};
      Promise<Void> sent = Promise.promise();
      writeSlowly(request, pieces, 0, sent);
      Await.result(sent.future());
      assertThat(Await.result(answer).toString()).isEqualTo("4");
    } finally {
      Await.result(http.close());
    }
  }

  private void writeSlowly(HttpClientRequest request, String[] pieces, int i, Promise<Void> done) {
    if (i == pieces.length) {
      request.end().onComplete(done);
      return;
    }
    request.write(pieces[i]).onSuccess(v -> vertx.setTimer(50, id -> writeSlowly(request, pieces, i + 1, done)))
        .onFailure(done::fail);
  }

  // ---------------------------------------------------------------------------------------------
  // The fuzz

  @Test
  void seededFuzz_everyAnswerIsWellFormed_theServerStaysUp_memoryStaysBounded() throws Exception {
    long seed = Long.getLong("cumulus.seed", System.nanoTime());
    System.out.println("HostileInputTest fuzz seed: " + seed + " (rerun with -Dcumulus.seed=" + seed + ")");
    Random random = new Random(seed);
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    System.gc();
    long heapBefore = memory.getHeapMemoryUsage().getUsed();
    AtomicInteger answered = new AtomicInteger();
    List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());

    int inFlight = 8;
    for (int batch = 0; batch < FUZZ_REQUESTS / inFlight; batch++) {
      List<Future<?>> calls = new ArrayList<>();
      for (int i = 0; i < inFlight; i++) {
        Fuzzed f = fuzzed(random);
        calls.add(f.send(client).andThen(ar -> {
          if (ar.failed()) {
            wrong.add(f + " -> no answer: " + ar.cause());
            return;
          }
          answered.incrementAndGet();
          HttpResponse<Buffer> r = ar.result();
          String problem = f.check(r.statusCode(), r.getHeader("Content-Type"), r.bodyAsString());
          if (problem != null) {
            wrong.add(f + " -> " + problem);
          }
        }));
      }
      Await.result(Future.join(calls).recover(e -> Future.succeededFuture()));
      assertThat(wrong).as("seed %s", seed).isEmpty();
    }

    assertThat(answered.get()).isEqualTo(FUZZ_REQUESTS / inFlight * inFlight);
    assertServerUp();
    System.gc();
    long grown = memory.getHeapMemoryUsage().getUsed() - heapBefore;
    System.out.printf("fuzz: %d requests answered, heap %+d KiB after GC%n", answered.get(), grown / 1024);
    assertThat(grown).as("heap growth after %d requests", FUZZ_REQUESTS).isLessThan(64L << 20);
  }

  /** One fuzzed request and what its answer may be. */
  private record Fuzzed(String what, HttpMethod method, String path, String contentType, byte[] body,
      Set<Integer> statuses) {
    Future<HttpResponse<Buffer>> send(WebClient client) {
      HttpRequest<Buffer> r = client.request(method, path);
      if (contentType != null) {
        r.putHeader("Content-Type", contentType);
      }
      return body.length == 0 && contentType == null ? r.send() : r.sendBuffer(Buffer.buffer(body));
    }

    /** What is wrong with an answer, or null. */
    String check(int status, String type, String text) {
      if (!statuses.contains(status)) {
        return "status " + status + " not in " + statuses + ": " + Failure.truncate(text, 300);
      }
      if (status == 200) {
        return null;
      }
      try {
        assertWellFormedError(status, type, text);
        return null;
      } catch (AssertionError e) {
        return e.getMessage();
      }
    }

    @Override
    public String toString() {
      return what + " " + method + " " + Failure.truncate(path, 80) + " (" + contentType + ", " + body.length
          + " bytes: " + Failure.truncate(new String(body, StandardCharsets.ISO_8859_1), 60) + ")";
    }
  }

  private static final String[] FUNCTIONS = {"word-count", "order", "echo", "square", "hello"};
  private static final String[] VALID = {"\"a b c\"", "{\"item\":\"x\",\"quantity\":2}", "[1,{\"a\":null},\"s\"]", "12", ""};

  private static Fuzzed fuzzed(Random r) {
    int fn = r.nextInt(FUNCTIONS.length);
    String path = "/functions/" + FUNCTIONS[fn];
    byte[] valid = bytes(VALID[fn]);
    switch (r.nextInt(9)) {
      case 0:
        return new Fuzzed("valid", HttpMethod.POST, path, VALID[fn].isEmpty() ? null : "application/json", valid,
            Set.of(200));
      case 1:
        return new Fuzzed("mutated", HttpMethod.POST, path, "application/json", mutate(valid, r), Set.of(200, 400));
      case 2:
        byte[] noise = new byte[r.nextInt(2_000)];
        r.nextBytes(noise);
        return new Fuzzed("noise", HttpMethod.POST, path, "application/json", noise, Set.of(200, 400));
      case 3:
        HttpMethod m = List.of(HttpMethod.GET, HttpMethod.PUT, HttpMethod.DELETE, HttpMethod.PATCH, HttpMethod.OPTIONS)
            .get(r.nextInt(5));
        return new Fuzzed("method", m, path, null, new byte[0], Set.of(405));
      case 4:
        String type = List.of("text/plain", "application/xml", "application/jsonp", "image/png", "application/json; charset=latin1",
            "*/*").get(r.nextInt(6));
        return new Fuzzed("content type", HttpMethod.POST, path, type, bytes("1"), Set.of(415));
      case 5:
        return new Fuzzed("unknown function", HttpMethod.POST, "/functions/" + randomName(r), "application/json",
            valid.length == 0 ? bytes("1") : valid, Set.of(404, 414));
      case 6:
        return new Fuzzed("too large", HttpMethod.POST, path, "application/json",
            jsonString((int) LIMIT + 1 + r.nextInt(1 << 20)), Set.of(413));
      case 7:
        int depth = 1 + r.nextInt(2_000);
        return new Fuzzed("deep", HttpMethod.POST, path, "application/json",
            bytes("[".repeat(depth) + "]".repeat(depth)), Set.of(200, 400));
      default:
        return new Fuzzed("truncated", HttpMethod.POST, path, "application/json",
            java.util.Arrays.copyOf(valid, valid.length == 0 ? 0 : r.nextInt(valid.length)), Set.of(200, 400));
    }
  }

  private static byte[] mutate(byte[] valid, Random r) {
    byte[] b = valid.length == 0 ? new byte[] {'{'} : valid.clone();
    int edits = 1 + r.nextInt(4);
    for (int i = 0; i < edits; i++) {
      b[r.nextInt(b.length)] = (byte) r.nextInt(256);
    }
    return b;
  }

  private static String randomName(Random r) {
    String alphabet = "abcXYZ019._-:$()[],/ %?#&=\u00e9\u4e2d";
    StringBuilder sb = new StringBuilder("zz");
    int n = 1 + r.nextInt(r.nextInt(10) == 0 ? 2_000 : 40);
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return URLEncoder.encode(sb.toString(), StandardCharsets.UTF_8).replace("+", "%20");
  }

  // ---------------------------------------------------------------------------------------------

  private static void assertWellFormedError(int status, String contentType, String text) {
    assertThat(KINDS).as("status %s is an expected error status: %s", status, text).containsKey(status);
    assertThat(contentType).as("content type of a %s", status).startsWith("application/json");
    JsonObject body = new JsonObject(text);
    assertThat(body.fieldNames()).containsExactlyInAnyOrder("error", "message");
    assertThat(KINDS.get(status)).contains(body.getString("error"));
    assertThat(body.getString("message")).isNotBlank().hasSizeLessThanOrEqualTo(1_100);
    Json.assertNoLeak(body.getString("message"));
  }

  private void assertServerUp() {
    assertThat(Await.result(client.get("/health").send()).statusCode()).isEqualTo(200);
  }

  private static Arguments bodyCase(String name, String function, String body, int status, String kind) {
    return Arguments.of(name, request("POST", "/functions/" + function, "application/json", bytes(body)), status, kind);
  }

  private static byte[] request(String method, String path, String contentType, byte[] body) {
    String head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + body.length
        + (contentType == null ? "" : "\r\nContent-Type: " + contentType);
    return RawHttp.request(head, body);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] jsonString(int size) {
    byte[] b = new byte[size];
    java.util.Arrays.fill(b, (byte) 'a');
    b[0] = '"';
    b[size - 1] = '"';
    return b;
  }
}
