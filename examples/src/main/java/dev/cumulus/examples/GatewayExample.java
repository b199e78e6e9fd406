package dev.cumulus.examples;

import dev.cumulus.Cumulus;
import dev.cumulus.FnSpec;
import dev.cumulus.vertx.CumulusGateway;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Cumulus functions over HTTP: a few functions behind {@link CumulusGateway} (calls, events, the
 * runtime's meters as a Prometheus scrape at {@code /metrics}), until Enter is pressed or
 * {@code --duration} has passed; then their usage. Without a terminal (its standard input ends at
 * once), it stops at once and says why, unless {@code --duration} is given: then it serves that long. Run it with
 * {@code java --add-opens java.base/java.lang=ALL-UNNAMED -cp examples/target/cumulus-examples.jar
 * dev.cumulus.examples.GatewayExample [--port 8080] [--host 127.0.0.1] [--token <16+ chars>]
 * [--duration 30s]} and call it with {@code curl} (it prints how).
 */
public final class GatewayExample {
  private GatewayExample() {}

  /** An order, read from JSON {@code {"item": "apple", "quantity": 3}}. */
  public record Order(String item, int quantity) {
    /**
     * Checks the order.
     *
     * @throws IllegalArgumentException if the quantity is not positive (the gateway answers 400)
     */
    public Order {
      if (quantity < 1) {
        throw new IllegalArgumentException("quantity must be at least 1 but was " + quantity);
      }
    }
  }

  /**
   * What an order costs.
   *
   * @param item the item
   * @param quantity how many
   * @param totalCents the price, in cents
   */
  public record Receipt(String item, int quantity, long totalCents) {}

  /**
   * Starts the gateway and waits for Enter or the duration.
   *
   * @param args {@code --port}, {@code --host}, {@code --token}, {@code --duration}
   * @throws Exception if the server cannot start
   */
  public static void main(String[] args) throws Exception {
    System.exit(run(args, System.in, System.out));
  }

  static int run(String[] args, InputStream in, PrintStream out) throws Exception {
    int port = 8080;
    String host = CumulusGateway.DEFAULT_HOST;
    String token = System.getenv("CUMULUS_TOKEN");
    Duration duration = null;
    String durationText = null;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(required(args[i], value));
        case "--host" -> host = required(args[i], value);
        case "--token" -> token = required(args[i], value);
        case "--duration" -> {
          durationText = required(args[i], value);
          duration = duration(durationText);
        }
        default -> {
          out.println("unknown option " + args[i] + "; options: --port N, --host H, --token T, --duration 30s");
          return 2;
        }
      }
      i++;
    }

    Vertx vertx = Vertx.vertx();
    // The runtime's meters go to a Prometheus registry, which GET /metrics scrapes.
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (Cumulus cumulus = Cumulus.builder().meterRegistry(registry).build()) {
      cumulus.register(FnSpec.of("word-count", (String s) -> s.split("\\s+").length)
          .inputType(String.class).outputType(Integer.class).build());
      cumulus.register(FnSpec.of("order", (Order o) -> new Receipt(o.item(), o.quantity(), o.quantity() * 125L))
          .inputType(Order.class).outputType(Receipt.class).build());
      cumulus.register(FnSpec.of("fetch", (Integer id) -> {
        sleep(20); // a blocking call of 20 ms, as a remote service would be
        return "item-" + id;
      }).inputType(Integer.class).maxConcurrency(100).queueCapacity(100).build());
      cumulus.register(FnSpec.of("fail", (String s) -> {
        throw new IllegalStateException("this function always fails: " + s);
      }).inputType(String.class).build());

      CumulusGateway gateway = CumulusGateway.create(vertx, cumulus).host(host);
      if (token != null && !token.isBlank()) {
        gateway.bearerToken(token);
      }
      HttpServer server = gateway.listen(port).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      String base = "http://" + host + ":" + server.actualPort();
      String auth = token == null || token.isBlank() ? "" : " -H 'Authorization: Bearer $CUMULUS_TOKEN'";
      out.printf(Locale.ROOT, "Cumulus gateway on %s (metering %s)%n", base, cumulus.meteringMode());
      out.println("  curl -i" + auth + " -H 'Content-Type: application/json' -d '\"a b c\"' " + base + "/functions/word-count");
      out.println("  curl -s" + auth + " -H 'Content-Type: application/json' -d '{\"item\":\"apple\",\"quantity\":3}' "
          + base + "/functions/order");
      out.println("  curl -i" + auth + " -H 'Content-Type: application/json' -H 'Idempotency-Key: batch-1' -d '\"late event\"' "
          + base + "/functions/word-count/events");
      out.println("  curl -s" + auth + " " + base + "/functions");
      out.println("  curl -s" + auth + " " + base + "/metrics");
      out.println("Live dashboard: " + base + "/dashboard" + (auth.isEmpty() ? "" : " (sign in with the token)"));
      out.println(duration == null ? "Press Enter to stop." : "Stops after " + durationText + " or on Enter.");

      out.println(switch (waitForEnterOr(in, duration)) {
        case ENTER -> "Stopping: Enter was pressed.";
        case DURATION -> "Stopping: " + durationText + " passed.";
        case END_OF_INPUT -> "Stopping: the standard input ended before Enter was pressed (it is not a"
            + " terminal, or was closed), so Enter can never come. To serve without a terminal, give a"
            + " time: --duration 10m.";
      });

      server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      out.println();
      out.println(cumulus.usage());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    return 0;
  }

  /** Why the example stops. */
  enum Stop {
    /** A line arrived on the standard input. */
    ENTER,
    /** The standard input ended (not a terminal, or closed) and no {@code --duration} was given. */
    END_OF_INPUT,
    /** {@code --duration} passed. */
    DURATION
  }

  /**
   * Returns when a line arrives on {@code in}, or when {@code duration} (if given) has passed. The
   * end of {@code in} (no terminal: {@code < /dev/null}, a CI job, a closed pipe) ends the wait only
   * without a duration: with one, the example serves for that long.
   */
  static Stop waitForEnterOr(InputStream in, Duration duration) throws InterruptedException {
    CountDownLatch read = new CountDownLatch(1);
    AtomicBoolean enter = new AtomicBoolean();
    Thread reader = new Thread(() -> {
      try {
        int c;
        do {
          c = in.read();
        } while (c != -1 && c != '\n');
        enter.set(c == '\n');
      } catch (IOException e) {
        // the input is gone: as at its end
      }
      read.countDown();
    }, "gateway-example-stdin");
    reader.setDaemon(true);
    reader.start();
    if (duration == null) {
      read.await();
      return enter.get() ? Stop.ENTER : Stop.END_OF_INPUT;
    }
    long deadline = System.nanoTime() + duration.toNanos();
    if (read.await(duration.toNanos(), TimeUnit.NANOSECONDS) && enter.get()) {
      return Stop.ENTER;
    }
    TimeUnit.NANOSECONDS.sleep(Math.max(0, deadline - System.nanoTime())); // no input to wait for: serve on
    return Stop.DURATION;
  }

  private static String required(String option, String value) {
    if (value == null) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return value;
  }

  /** {@code 30s}, {@code 500ms}, {@code 2m} or an ISO-8601 duration such as {@code PT30S}. */
  static Duration duration(String text) {
    String t = text.strip().toLowerCase(Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      }
      if (t.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      if (t.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      return Duration.parse(text.strip());
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalArgumentException("--duration must be like 30s, 500ms, 2m or PT30S but was '" + text + "'", e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
