package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cumulus.Cumulus;
import dev.cumulus.FnSpec;
import dev.cumulus.PriceModel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dashboard's routes through a real HTTP client: the page and its files, the event stream and
 * its timer that exists only while someone watches, and the bearer token as a browser shows it.
 * The page itself, in a browser, is {@link DashboardBrowserTest}.
 */
@ExtendWith(VertxExtension.class)
class DashboardTest {
  private static final String TOKEN = "dashboard-test-token-4f1c2a9b";

  private final List<HttpServer> servers = new ArrayList<>();
  private final List<CumulusGateway> gateways = new ArrayList<>();
  private Vertx vertx;
  private Cumulus cumulus;
  private WebClient client;

  @BeforeEach
  void start(Vertx vertx) {
    this.vertx = vertx;
    cumulus = Cumulus.create();
    cumulus.register(FnSpec.of("word-count", (String s) -> s.split("\\s+").length)
        .inputType(String.class).maxConcurrency(4).queueCapacity(8).build());
    client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setFollowRedirects(false));
  }

  @AfterEach
  void stop() {
    client.close();
    servers.forEach(s -> Await.result(s.close()));
    // The last sample finishes before Vert.x closes, so that it has an event loop to come back to.
    gateways.forEach(g -> await().atMost(Duration.ofSeconds(30)).until(() -> !g.dashboardFeed().busy()));
    cumulus.close();
  }

  private int listen(CumulusGateway gateway) {
    gateways.add(gateway);
    HttpServer server = Await.result(gateway.listen(0));
    servers.add(server);
    return server.actualPort();
  }

  private HttpResponse<Buffer> get(int port, String path, String... headers) {
    var request = client.get(port, "127.0.0.1", path);
    for (int i = 0; i < headers.length; i += 2) {
      request.putHeader(headers[i], headers[i + 1]);
    }
    return Await.result(request.send());
  }

  // ---------------------------------------------------------------------------------------------
  // The page and its files

  @Test
  void page_isHtmlShippedInTheJar_withAStrictContentSecurityPolicy() {
    int port = listen(CumulusGateway.create(vertx, cumulus));

    HttpResponse<Buffer> page = get(port, "/dashboard");

    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.getHeader("Content-Type")).isEqualTo("text/html; charset=utf-8");
    assertThat(page.getHeader("Content-Security-Policy")).contains("default-src 'none'").contains("script-src 'self'")
        .doesNotContain("unsafe");
    assertThat(page.getHeader("Cache-Control")).isEqualTo("no-store");
    assertThat(page.bodyAsString()).contains("<title>Cumulus dashboard</title>")
        .contains("src=\"dashboard/app.js\"").contains("src=\"dashboard/uPlot.iife.min.js\"")
        .doesNotContain("http://").doesNotContain("https://"); // works offline: nothing from elsewhere
  }

  @Test
  void files_areServedWithTheirTypes_andUnknownOnesAreJson404s() {
    int port = listen(CumulusGateway.create(vertx, cumulus));

    assertThat(get(port, "/dashboard/app.js").getHeader("Content-Type")).isEqualTo("text/javascript; charset=utf-8");
    assertThat(get(port, "/dashboard/app.css").getHeader("Content-Type")).isEqualTo("text/css; charset=utf-8");
    HttpResponse<Buffer> uplot = get(port, "/dashboard/uPlot.iife.min.js");
    assertThat(uplot.statusCode()).isEqualTo(200);
    assertThat(uplot.bodyAsString()).startsWith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */");
    assertThat(get(port, "/dashboard/uPlot.LICENSE").bodyAsString()).contains("The MIT License");
    assertThat(Json.error(get(port, "/dashboard/secrets.txt"), 404, "not_found")).contains("secrets.txt");
    assertThat(Json.error(get(port, "/dashboard/index.html"), 404, "not_found")).contains("index.html");
    Json.error(Await.result(client.delete(port, "127.0.0.1", "/dashboard").send()), 405, "method_not_allowed");
    Json.error(Await.result(client.post(port, "127.0.0.1", "/dashboard/stream").send()), 405, "method_not_allowed");
  }

  @Test
  void trailingSlash_redirectsToTheBarePath_soThatTheRelativeLinksResolve() {
    int port = listen(CumulusGateway.create(vertx, cumulus));

    HttpResponse<Buffer> r = get(port, "/dashboard/");

    assertThat(r.statusCode()).isEqualTo(303);
    assertThat(r.getHeader("Location")).isEqualTo("/dashboard");
  }

  // ---------------------------------------------------------------------------------------------
  // The stream, and its timer

  /** An open event stream, read into a buffer until closed. */
  private final class Stream implements AutoCloseable {
    final StringBuffer text = new StringBuffer();
    final HttpClientResponse response;
    private final HttpClient http;

    Stream(int port, String... headers) {
      http = vertx.createHttpClient();
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port)
          .setURI("/dashboard/stream");
      for (int i = 0; i < headers.length; i += 2) {
        options.addHeader(headers[i], headers[i + 1]);
      }
      // Vert.x drops a chunk that arrives before the response has a handler, so the handler is set
      // by a callback registered before the request is sent: it runs on the event loop as the
      // response head arrives, before the first chunk (the history). A callback chained after
      // send() from this thread could be registered too late when this thread lost its core for a
      // while (a busy machine): the history was dropped and the test waited for it in vain.
      response = Await.result(http.request(options).compose(req -> {
        Future<HttpClientResponse> head = req.response().map(r -> {
          r.handler(chunk -> text.append(chunk.toString()));
          return r;
        });
        req.end();
        return head;
      }));
    }

    /** The frames received so far (the {@code data:} events without a name). */
    List<JsonObject> frames() {
      List<JsonObject> frames = new ArrayList<>();
      for (String event : text.toString().split("\n\n")) {
        if (event.startsWith("data: ")) {
          frames.add(new JsonObject(event.substring(6)));
        }
      }
      return frames;
    }

    @Override
    public void close() {
      Await.result(http.close());
    }
  }

  @Test
  void stream_sendsHistoryThenAFrameASecond_andItsTimerExistsOnlyWhileSomeoneWatches() {
    CumulusGateway gateway = CumulusGateway.create(vertx, cumulus).priceModel(PriceModel.awsLambdaX86(256));
    int port = listen(gateway);
    DashboardFeed feed = gateway.dashboardFeed();
    assertThat(feed.running()).as("no timer before anyone watches").isFalse();
    cumulus.function("word-count", String.class, Integer.class).invoke("a b c");

    try (Stream stream = new Stream(port)) {
      assertThat(stream.response.statusCode()).isEqualTo(200);
      assertThat(stream.response.getHeader("Content-Type")).isEqualTo("text/event-stream; charset=utf-8");
      await().atMost(Duration.ofSeconds(30)).until(() -> stream.frames().size() >= 2);
      assertThat(feed.running()).isTrue();
      assertThat(feed.watchers()).isOne();
      String text = stream.text.toString();
      assertThat(text).startsWith("retry: 2000\n\nevent: history\ndata: [");
      JsonObject frame = stream.frames().get(1);
      assertThat(frame.getString("meteringMode")).isEqualTo(cumulus.meteringMode().name());
      assertThat(frame.getString("priceModel")).isEqualTo(PriceModel.awsLambdaX86(256).description());
      JsonObject wordCount = frame.getJsonArray("functions").getJsonObject(0);
      assertThat(wordCount.getString("name")).isEqualTo("word-count");
      assertThat(wordCount.getLong("invocations")).isEqualTo(1);
      assertThat(wordCount.getInteger("maxConcurrency")).isEqualTo(4);
      assertThat(frame.getJsonObject("total").getDouble("cost")).isPositive();
      assertThat(frame.containsKey("carrierThreads")).isTrue();
    }

    await().atMost(Duration.ofSeconds(30)).until(() -> !feed.running());
    assertThat(feed.watchers()).isZero();

    // A page that comes back gets the recent past first, and the timer again.
    try (Stream again = new Stream(port)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> again.text.indexOf("event: history") >= 0
          && !again.frames().isEmpty());
      String history = again.text.toString().split("\n\n")[1];
      assertThat(new JsonArray(history.substring(history.indexOf('[')))).isNotEmpty();
      assertThat(feed.running()).isTrue();
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> !feed.running());
  }

  @Test
  void twoPages_shareOneTimer_thatGoesWithTheLast() {
    CumulusGateway gateway = CumulusGateway.create(vertx, cumulus);
    int port = listen(gateway);
    DashboardFeed feed = gateway.dashboardFeed();

    Stream first = new Stream(port);
    try (Stream second = new Stream(port)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> feed.watchers() == 2 && !second.frames().isEmpty());
      first.close();
      await().atMost(Duration.ofSeconds(30)).until(() -> feed.watchers() == 1);
      assertThat(feed.running()).as("one page still watches").isTrue();
      int seen = second.frames().size();
      await().atMost(Duration.ofSeconds(30)).until(() -> second.frames().size() > seen);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> !feed.running() && feed.watchers() == 0);
  }

  @Test
  void history_staysWithinItsBudget_aRuntimeWithManyFunctionsKeepsAShorterPast() {
    for (int i = 0; i < 40; i++) {
      cumulus.register(FnSpec.of("fn-" + i, (String s) -> s).build());
    }
    // A point of 41 functions is some 2 500 characters: a budget of 6 000 keeps two.
    DashboardFeed feed = new DashboardFeed(vertx, cumulus, new DashboardFrames(PriceModel.awsLambdaX86(128)), 6_000);
    HttpServer server = Await.result(vertx.createHttpServer().requestHandler(req -> feed.watch(req.response()))
        .listen(0, "127.0.0.1"));
    servers.add(server);

    try (Stream stream = new Stream(server.actualPort())) {
      await().atMost(Duration.ofSeconds(60)).until(() -> stream.frames().size() >= 5);
      assertThat(feed.historyPoints()).isBetween(1, 2);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> !feed.busy());
  }

  // ---------------------------------------------------------------------------------------------
  // The bearer token, as a browser shows it

  @Test
  void withAToken_aBrowserWithoutItGetsTheSignInPage_andAScriptAJson401() {
    int port = listen(CumulusGateway.create(vertx, cumulus).bearerToken(TOKEN));

    HttpResponse<Buffer> browser = get(port, "/dashboard", "Accept", "text/html,application/xhtml+xml");
    assertThat(browser.statusCode()).isEqualTo(401);
    assertThat(browser.getHeader("WWW-Authenticate")).isEqualTo("Bearer realm=\"cumulus\"");
    assertThat(browser.bodyAsString()).contains("<form").contains("name=\"token\"").contains("method=\"post\"");
    assertThat(Json.error(get(port, "/dashboard"), 401, "unauthorized")).contains("Authorization: Bearer");
    assertThat(Json.error(get(port, "/dashboard/stream"), 401, "unauthorized")).contains("sign in");
    assertThat(get(port, "/dashboard/app.css").statusCode()).as("the files carry no data").isEqualTo(200);
    assertThat(get(port, "/dashboard", "Authorization", "Bearer " + TOKEN).statusCode()).isEqualTo(200);
    try (Stream stream = new Stream(port, "Authorization", "Bearer " + TOKEN)) {
      assertThat(stream.response.statusCode()).isEqualTo(200);
    }
  }

  private HttpResponse<Buffer> signIn(int port, String path, String form) {
    return Await.result(client.post(port, "127.0.0.1", path)
        .putHeader("Content-Type", "application/x-www-form-urlencoded").sendBuffer(Buffer.buffer(form)));
  }

  private static String cookie(HttpResponse<Buffer> signIn) {
    String setCookie = signIn.getHeader("Set-Cookie");
    return setCookie.substring(0, setCookie.indexOf(';'));
  }

  @Test
  void signInForm_tradesTheTokenForACookie_thatOpensTheDashboardOnly() {
    int port = listen(CumulusGateway.create(vertx, cumulus).bearerToken(TOKEN));

    HttpResponse<Buffer> signIn = signIn(port, "/dashboard", "token=" + TOKEN);

    assertThat(signIn.statusCode()).isEqualTo(303);
    assertThat(signIn.getHeader("Location")).isEqualTo("/dashboard");
    assertThat(signIn.getHeader("Cache-Control")).isEqualTo("no-store");
    String setCookie = signIn.getHeader("Set-Cookie");
    assertThat(setCookie).startsWith("cumulus_dashboard_" + port + "=").contains("Path=/dashboard")
        .contains("HTTPOnly").contains("SameSite=Lax").doesNotContain(TOKEN).doesNotContain("Secure");
    String cookie = cookie(signIn);

    assertThat(get(port, "/dashboard", "Cookie", cookie).statusCode()).isEqualTo(200);
    try (Stream stream = new Stream(port, "Cookie", cookie)) {
      assertThat(stream.response.statusCode()).isEqualTo(200);
    }
    // The cookie opens the dashboard only, not the functions.
    Json.error(Await.result(client.get(port, "127.0.0.1", "/functions").putHeader("Cookie", cookie).send()),
        401, "unauthorized");
    // A forged cookie opens nothing, not even one that holds the token.
    assertThat(get(port, "/dashboard", "Cookie", "cumulus_dashboard_" + port + "=" + TOKEN,
        "Accept", "text/html").statusCode()).isEqualTo(401);
  }

  @Test
  void wrongOrMissingToken_getsTheSignInPageSayingSo_andNoCookie() {
    int port = listen(CumulusGateway.create(vertx, cumulus).bearerToken(TOKEN));

    HttpResponse<Buffer> wrong = signIn(port, "/dashboard", "token=" + TOKEN + "x");
    HttpResponse<Buffer> missing = signIn(port, "/dashboard", "other=1");

    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.getHeader("Set-Cookie")).isNull();
    assertThat(wrong.getHeader("WWW-Authenticate")).contains("invalid_token");
    assertThat(wrong.bodyAsString()).contains("That is not this gateway's token.").doesNotContain(TOKEN);
    assertThat(missing.statusCode()).isEqualTo(400);
    assertThat(missing.bodyAsString()).contains("Enter the gateway's bearer token.");
  }

  @Test
  void tokenInTheQueryString_isRefusedUnused_becauseItWouldReachLogs() {
    int port = listen(CumulusGateway.create(vertx, cumulus).bearerToken(TOKEN));

    HttpResponse<Buffer> r = get(port, "/dashboard?token=" + TOKEN);

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.getHeader("Set-Cookie")).isNull();
    assertThat(r.bodyAsString()).contains("was not used").contains("/dashboard#token=").doesNotContain(TOKEN);
  }

  @Test
  void signInPage_takesATokenAfterTheHash_withItsScript() {
    int port = listen(CumulusGateway.create(vertx, cumulus).bearerToken(TOKEN));

    String page = get(port, "/dashboard", "Accept", "text/html").bodyAsString();

    assertThat(page).contains("<script src=\"dashboard/signin.js\" defer></script>").contains("id=\"signin\"");
    assertThat(get(port, "/dashboard/signin.js").bodyAsString()).contains("location.hash")
        .contains("history.replaceState");
  }

  @Test
  void mountedUnderAPrefix_theCookieAndRedirectFollowThePrefix() {
    CumulusGateway gateway = CumulusGateway.create(vertx, cumulus).bearerToken(TOKEN);
    gateways.add(gateway);
    Router app = Router.router(vertx);
    app.route("/ops/cumulus/*").subRouter(gateway.router());
    HttpServer server = Await.result(vertx.createHttpServer().requestHandler(app).listen(0, "127.0.0.1"));
    servers.add(server);
    int port = server.actualPort();

    HttpResponse<Buffer> signIn = signIn(port, "/ops/cumulus/dashboard", "token=" + TOKEN);

    assertThat(signIn.statusCode()).isEqualTo(303);
    assertThat(signIn.getHeader("Location")).isEqualTo("/ops/cumulus/dashboard");
    assertThat(signIn.getHeader("Set-Cookie")).contains("Path=/ops/cumulus/dashboard");
    assertThat(get(port, "/ops/cumulus/dashboard", "Cookie", cookie(signIn)).statusCode()).isEqualTo(200);
    assertThat(get(port, "/ops/cumulus/dashboard/app.js").statusCode()).isEqualTo(200);
  }

  @Test
  void withoutAToken_theFormJustOpensThePage() {
    int port = listen(CumulusGateway.create(vertx, cumulus));

    HttpResponse<Buffer> r = signIn(port, "/dashboard", "token=anything-at-all-here");

    assertThat(r.statusCode()).isEqualTo(303);
    assertThat(r.getHeader("Location")).isEqualTo("/dashboard");
    assertThat(r.getHeader("Set-Cookie")).isNull();
  }

  @Test
  void theToken_isNeverLogged() {
    List<LogRecord> records = new CopyOnWriteArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord r) {
        records.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger root = Logger.getLogger("");
    Level was = root.getLevel();
    root.addHandler(capture);
    root.setLevel(Level.ALL);
    try {
      int port = listen(CumulusGateway.create(vertx, cumulus).bearerToken(TOKEN));
      signIn(port, "/dashboard", "token=" + TOKEN);
      signIn(port, "/dashboard", "token=" + TOKEN + "-wrong");
      get(port, "/dashboard", "Authorization", "Bearer " + TOKEN);
      get(port, "/dashboard/stream", "Authorization", "Bearer " + TOKEN + "-wrong");
    } finally {
      root.removeHandler(capture);
      root.setLevel(was);
    }
    Pattern token = Pattern.compile(Pattern.quote(TOKEN));
    for (LogRecord r : records) {
      String text = r.getMessage() + " " + (r.getThrown() == null ? "" : r.getThrown());
      Matcher m = token.matcher(text);
      assertThat(m.find()).as("log record %s: %s", r.getLoggerName(), text).isFalse();
    }
  }
}
