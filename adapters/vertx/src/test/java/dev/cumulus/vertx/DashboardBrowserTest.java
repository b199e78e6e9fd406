package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cumulus.Cumulus;
import dev.cumulus.FnSpec;
import dev.cumulus.MeteringMode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * The dashboard as a person uses it: a gateway with a bearer token and a few functions, load driven
 * over HTTP, and the page opened in a real, headless Chromium through a link that carries the token
 * after a {@code #}. The chart's own data (what uPlot draws, read from the page) rises with the load
 * and comes back to zero, and so do the carrier threads; screenshots go to {@code target/}.
 *
 * <p>Chromium and its chromedriver are the system's ({@code /usr/bin/chromium},
 * {@code /usr/bin/chromedriver}; Debian packages {@code chromium} and {@code chromium-driver}, which
 * {@code .ci/run} installs when it can), or those named by {@code -Dcumulus.chromium=} and
 * {@code -Dcumulus.chromedriver=}. Both are given to Selenium by path, so Selenium Manager never runs
 * (the build also points {@code SE_MANAGER_PATH} at {@code /bin/false}). Without them the test is
 * skipped, saying why. Every wait is for a state (Awaitility); nothing is timed.
 */
class DashboardBrowserTest {
  private static final Path CHROMIUM = Path.of(System.getProperty("cumulus.chromium", "/usr/bin/chromium"));
  private static final Path CHROMEDRIVER = Path.of(System.getProperty("cumulus.chromedriver", "/usr/bin/chromedriver"));
  private static final Path TARGET = Path.of(System.getProperty("cumulus.screenshots", "target"));
  private static final String TOKEN = "browser-test-token-7d41b0c5e2";
  private static final Duration WAIT = Duration.ofSeconds(60);
  /** Held, so that its level stays set (JUL keeps loggers weakly). */
  private static final Logger SELENIUM = Logger.getLogger("org.openqa.selenium");

  /** What the page's chart of a function holds: uPlot's data, read in the browser. */
  record Chart(int points, int lastInFlight, int lastQueued, int maxInFlight, int maxQueued) {}

  @Test
  void dashboard_showsTheLoadRise_andEverythingFallBackToZero(@TempDir Path profile) throws Exception {
    String missing = !Files.isExecutable(CHROMIUM) ? CHROMIUM + " (Debian package chromium)"
        : !Files.isExecutable(CHROMEDRIVER) ? CHROMEDRIVER + " (Debian package chromium-driver)" : null;
    if (missing != null) {
      String reason = "DashboardBrowserTest skipped: no browser can be had here, " + missing + " is missing;"
          + " .ci/run installs it when apt-get can run as root";
      System.out.println(reason);
      Assumptions.abort(reason);
    }
    SELENIUM.setLevel(Level.SEVERE); // no chatter about the DevTools version, which this test does not use

    CountDownLatch thumbnailsMayFinish = new CountDownLatch(1);
    AtomicBoolean spin = new AtomicBoolean(true);
    Vertx vertx = Vertx.vertx();
    Cumulus cumulus = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(300)).build();
    WebDriver driver = null;
    try {
      cumulus.register(FnSpec.of("thumbnail", (String image) -> {
        awaitRelease(thumbnailsMayFinish);
        return image + ".thumb.png";
      }).inputType(String.class).maxConcurrency(4).queueCapacity(8).timeout(Duration.ofMinutes(2)).build());
      cumulus.register(FnSpec.of("resize", (String image) -> {
        long x = image.hashCode();
        while (spin.get() && !Thread.currentThread().isInterrupted()) {
          for (int i = 0; i < 200_000; i++) {
            x = x * 6_364_136_223_846_793_005L + 1_442_695_040_888_963_407L;
          }
        }
        return Long.toHexString(x);
      }).inputType(String.class).maxConcurrency(2).timeout(Duration.ofMinutes(2)).build());
      cumulus.register(FnSpec.of("fail", (String s) -> {
        throw new IllegalStateException("this function always fails");
      }).inputType(String.class).build());
      CumulusGateway gateway = CumulusGateway.create(vertx, cumulus).bearerToken(TOKEN);
      HttpServer server = Await.result(gateway.listen(0));
      String base = "http://127.0.0.1:" + server.actualPort();
      // Enough connections for every call at once: the client must not queue what the gateway should.
      WebClient http = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
          .setDefaultPort(server.actualPort()), new PoolOptions().setHttp1MaxSize(32));

      driver = chromium(profile);
      JavascriptExecutor js = (JavascriptExecutor) driver;
      viewport(driver, 1280, 900);
      driver.get(base + "/dashboard#token=" + TOKEN);

      // Signed in through the link: the page runs, and the token is nowhere in the address.
      WebDriver d = driver;
      await().atMost(WAIT).ignoreExceptions().until(() -> frames(js) >= 2);
      assertThat(d.getCurrentUrl()).isEqualTo(base + "/dashboard");
      assertThat(gateway.dashboardFeed().running()).isTrue();
      assertThat(text(d, "[data-function='thumbnail'] .pill")).isEqualTo("scaled to zero");
      assertThat(chart(js, "thumbnail").maxInFlight()).isZero();

      // Load: 4 thumbnails run, 8 wait, 2 are throttled; a CPU-bound resize spins; 3 calls fail.
      List<Future<HttpResponse<Buffer>>> thumbnails = new ArrayList<>();
      for (int i = 0; i < 14; i++) {
        thumbnails.add(post(http, "thumbnail", "\"img-" + i + "\""));
      }
      Future<HttpResponse<Buffer>> resize = post(http, "resize", "\"big.png\"");
      for (int i = 0; i < 3; i++) {
        assertThat(Await.result(post(http, "fail", "\"x\"")).statusCode()).isEqualTo(500);
      }
      await().atMost(WAIT).until(() -> thumbnails.stream()
          .filter(f -> f.succeeded() && f.result().statusCode() == 429).count() == 2);

      await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> {
        Chart c = chart(js, "thumbnail");
        assertThat(c.lastInFlight()).isEqualTo(4);
        assertThat(c.lastQueued()).isEqualTo(8);
      });
      await().atMost(WAIT).ignoreExceptions().until(() -> number(js,
          "var d = cumulusDashboard.charts.runtime.data; return d[1][d[1].length - 1];") >= 1);
      if (cumulus.meteringMode() == MeteringMode.EXACT) {
        await().atMost(WAIT).ignoreExceptions().until(() -> number(js,
            "return cumulusDashboard.last.total.cpuMsPerSec || 0;") > 0);
      }
      await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> {
        assertThat(text(d, "[data-function='thumbnail'] .pill")).isEqualTo("4 running · 8 queued");
        assertThat(text(d, "[data-function='thumbnail'] .throttles")).isEqualTo("2");
        assertThat(d.findElement(By.cssSelector("[data-function='thumbnail'] .throttles")).getAttribute("class"))
            .contains("bad");
        assertThat(text(d, "[data-function='fail'] .errors")).isEqualTo("3");
        assertThat(text(d, "#inflight")).isEqualTo("5");
        assertThat(text(d, "#queued")).isEqualTo("8");
        assertThat(Double.parseDouble(text(d, "#cost"))).isPositive();
      });
      saveScreenshot(driver, "dashboard-load.png", 1280);

      // The load ends: every call that was admitted completes.
      thumbnailsMayFinish.countDown();
      spin.set(false);
      assertThat(Await.result(resize).statusCode()).isEqualTo(200);
      assertThat(thumbnails.stream().map(f -> Await.result(f).statusCode()).toList())
          .containsOnly(200, 429).filteredOn(status -> status == 200).hasSize(12);

      // Back to zero: in flight, queued, and the runtime's carrier threads.
      await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> {
        Chart c = chart(js, "thumbnail");
        assertThat(c.lastInFlight()).isZero();
        assertThat(c.lastQueued()).isZero();
        assertThat(c.maxInFlight()).as("the chart rose with the load").isEqualTo(4);
        assertThat(c.maxQueued()).isEqualTo(8);
        assertThat(text(d, "#carriers")).isEqualTo("0");
        assertThat(d.findElement(By.id("tile-carriers")).getAttribute("class")).contains("zero");
        assertThat(number(js, "var d = cumulusDashboard.charts.runtime.data; return d[1][d[1].length - 1];"))
            .isZero();
        assertThat(text(d, "[data-function='thumbnail'] .pill")).isEqualTo("idle · 4 warm");
      });
      assertThat(text(d, "#carriers-note")).isEqualTo("scaled to zero: no thread held");
      assertThat(text(d, "[data-function='thumbnail'] .cold")).isEqualTo("4");
      assertThat(text(d, "#mode")).isEqualTo(cumulus.meteringMode().name());

      // A function registered now gets its card, in its place by name.
      cumulus.register(FnSpec.of("archive", (String s) -> s).inputType(String.class).build());
      await().atMost(WAIT).ignoreExceptions().until(() -> "archive".equals(
          js.executeScript("return document.querySelector('#functions .fn').dataset.function;")));
      assertThat(text(d, "[data-function='archive'] .pill")).isEqualTo("scaled to zero");
      saveScreenshot(driver, "dashboard.png", 1280);

      // Opened again (the cookie kept), the page starts from the recent past the gateway kept.
      driver.navigate().refresh();
      await().atMost(WAIT).ignoreExceptions().until(() -> frames(js) >= 1);
      assertThat(d.getCurrentUrl()).isEqualTo(base + "/dashboard");
      Chart again = chart(js, "thumbnail");
      assertThat(again.maxInFlight()).as("the history drawn on arrival").isEqualTo(4);
      assertThat(again.maxQueued()).isEqualTo(8);
      assertThat(again.lastInFlight()).isZero();

      // A narrow window: one column, nothing wider than the window.
      saveScreenshot(driver, "dashboard-narrow.png", 400);
      assertThat(number(js, "return document.documentElement.scrollWidth - window.innerWidth;"))
          .as("no horizontal scrolling at 400 px").isLessThanOrEqualTo(0);
      assertThat(number(js, "return document.querySelector(\"[data-function='thumbnail'] canvas\")"
          + ".getBoundingClientRect().right - window.innerWidth;")).isLessThanOrEqualTo(0);

      // The one expected entry: the sign-in page's 401, before the link's token was posted.
      List<LogEntry> problems = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
          .filter(e -> e.getLevel().intValue() >= Level.WARNING.intValue())
          .filter(e -> !(e.getMessage().startsWith(base + "/dashboard") && e.getMessage().contains("status of 401")))
          .toList();
      assertThat(problems).as("the browser's console (script errors, CSP violations)").isEmpty();

      // The page closes: the dashboard's timer goes with it.
      driver.quit();
      driver = null;
      await().atMost(WAIT).until(() -> !gateway.dashboardFeed().busy());
      Await.result(server.close());
    } finally {
      spin.set(false);
      thumbnailsMayFinish.countDown();
      if (driver != null) {
        driver.quit();
      }
      cumulus.close();
      Await.result(vertx.close());
    }
  }

  private static WebDriver chromium(Path profile) {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
        "--window-size=1280,1000", "--user-data-dir=" + profile.toAbsolutePath());
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability(ChromeOptions.LOGGING_PREFS, logs);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .build();
    return new ChromeDriver(service, options);
  }

  private static Future<HttpResponse<Buffer>> post(WebClient http, String fn, String json) {
    return http.post("/functions/" + fn)
        .putHeader("Content-Type", "application/json")
        .bearerTokenAuthentication(TOKEN)
        .sendBuffer(Buffer.buffer(json));
  }

  private static long frames(JavascriptExecutor js) {
    return number(js, "return window.cumulusDashboard ? cumulusDashboard.frames : 0;");
  }

  private static long number(JavascriptExecutor js, String script) {
    Object value = js.executeScript(script);
    return value == null ? -1 : ((Number) value).longValue();
  }

  @SuppressWarnings("unchecked")
  private static Chart chart(JavascriptExecutor js, String function) {
    Map<String, Object> c = (Map<String, Object>) js.executeScript(
        "var u = cumulusDashboard.charts[arguments[0]];"
            + "var d = u.data, n = d[0].length;"
            + "function max(a) { return a.reduce(function (m, v) { return v === null ? m : Math.max(m, v); }, 0); }"
            + "return {points: n, lastInFlight: d[1][n - 1], lastQueued: d[2][n - 1],"
            + " maxInFlight: max(d[1]), maxQueued: max(d[2])};", function);
    return new Chart(((Number) c.get("points")).intValue(), ((Number) c.get("lastInFlight")).intValue(),
        ((Number) c.get("lastQueued")).intValue(), ((Number) c.get("maxInFlight")).intValue(),
        ((Number) c.get("maxQueued")).intValue());
  }

  private static String text(WebDriver driver, String css) {
    WebElement e = driver.findElement(By.cssSelector(css));
    return e.getText().strip();
  }

  /**
   * A screenshot of the whole page laid out {@code width} CSS pixels wide, in target/ (a build
   * artifact). The viewport is set through the DevTools protocol (a headless window cannot grow past
   * its screen).
   */
  private static void saveScreenshot(WebDriver driver, String name, int width) throws IOException {
    JavascriptExecutor js = (JavascriptExecutor) driver;
    viewport(driver, width, 900);
    long height = number(js, "return document.documentElement.scrollHeight;");
    viewport(driver, width, (int) Math.max(600, Math.min(4000, height)));
    // The charts follow their boxes' new widths on the next frame; wait for the layout to settle.
    await().atMost(WAIT).ignoreExceptions().until(() -> number(js,
        "var c = document.querySelector('#runtime-chart canvas'), b = document.getElementById('runtime-chart');"
            + "return Math.abs(c.getBoundingClientRect().width - b.clientWidth) <= 1 ? 1 : 0;") == 1);
    byte[] png = ((org.openqa.selenium.TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
    Files.createDirectories(TARGET);
    Path file = TARGET.resolve(name);
    Files.write(file, png);
    System.out.println("DashboardBrowserTest: screenshot " + file.toAbsolutePath());
  }

  private static void viewport(WebDriver driver, int width, int height) {
    ((ChromeDriver) driver).executeCdpCommand("Emulation.setDeviceMetricsOverride",
        Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", false));
  }

  private static void awaitRelease(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
