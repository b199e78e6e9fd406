package dev.cumulus.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class GatewayExampleTest {
  @Test
  void example_startsTheGateway_answersARequest_andStopsOnEnter() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    PipedOutputStream keyboard = new PipedOutputStream();
    PipedInputStream in = new PipedInputStream(keyboard);
    CompletableFuture<Integer> running = CompletableFuture.supplyAsync(() -> {
      try {
        return GatewayExample.run(new String[] {"--port", "0"}, in, out);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });

    Pattern address = Pattern.compile("Cumulus gateway on (http://127\\.0\\.0\\.1:\\d+)");
    await().atMost(Duration.ofSeconds(60)).until(() -> address.matcher(bytes.toString(StandardCharsets.UTF_8)).find()
        || running.isDone());
    Matcher m = address.matcher(bytes.toString(StandardCharsets.UTF_8));
    assertThat(m.find()).as("output: %s", bytes).isTrue();
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(m.group(1) + "/functions/order"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"item\":\"apple\",\"quantity\":3}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("{\"item\":\"apple\",\"quantity\":3,\"totalCents\":375}");
      assertThat(r.headers().firstValue("Cumulus-Cold-Start")).hasValue("true");
      HttpResponse<String> event = http.send(HttpRequest.newBuilder(URI.create(m.group(1) + "/functions/word-count/events"))
          .header("Content-Type", "application/json").header("Idempotency-Key", "batch-1")
          .POST(HttpRequest.BodyPublishers.ofString("\"late event\"")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(event.statusCode()).isEqualTo(202);
      assertThat(event.body()).startsWith("{\"eventId\":\"");
      HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(m.group(1) + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.body()).contains("cumulus_invocations_total{function=\"order\",outcome=\"success\"} 1.0");
    }

    keyboard.write('\n');
    keyboard.flush();

    assertThat(running.get(60, TimeUnit.SECONDS)).isZero();
    String text = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(text);
    assertThat(text).contains("curl -i -H 'Content-Type: application/json' -d '\"a b c\"'")
        .contains("Press Enter to stop.", "Stopping: Enter was pressed.").contains("Usage over").contains("order")
        .contains("Live dashboard: " + m.group(1) + "/dashboard");
  }

  @Test
  void example_stopsByItselfAfterTheDuration() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PipedInputStream neverTyped = new PipedInputStream(new PipedOutputStream());

    int exit = GatewayExample.run(new String[] {"--port", "0", "--duration", "200ms"}, neverTyped,
        new PrintStream(bytes, true, StandardCharsets.UTF_8));

    assertThat(exit).isZero();
    assertThat(bytes.toString(StandardCharsets.UTF_8)).contains("Stops after 200ms or on Enter.",
        "Stopping: 200ms passed.");
  }

  @Test
  void withoutATerminal_itStopsAtOnceSayingWhy_unlessGivenADuration() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int exit = GatewayExample.run(new String[] {"--port", "0"}, new ByteArrayInputStream(new byte[0]),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertThat(exit).isZero();
    assertThat(bytes.toString(StandardCharsets.UTF_8)).contains("Stopping: the standard input ended before Enter"
        + " was pressed (it is not a terminal, or was closed), so Enter can never come. To serve without a"
        + " terminal, give a time: --duration 10m.", "Usage over");

    // With a duration, the end of the input does not stop it; a line still does.
    assertThat(GatewayExample.waitForEnterOr(new ByteArrayInputStream(new byte[0]), Duration.ofMillis(100)))
        .isEqualTo(GatewayExample.Stop.DURATION);
    assertThat(GatewayExample.waitForEnterOr(new ByteArrayInputStream(new byte[0]), null))
        .isEqualTo(GatewayExample.Stop.END_OF_INPUT);
    assertThat(GatewayExample.waitForEnterOr(new ByteArrayInputStream("\n".getBytes(StandardCharsets.UTF_8)),
        Duration.ofMinutes(10))).isEqualTo(GatewayExample.Stop.ENTER);
  }

  @Test
  void durations_areParsed_andBadOnesNamed() {
    assertThat(GatewayExample.duration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(GatewayExample.duration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(GatewayExample.duration("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(GatewayExample.duration("PT1H")).isEqualTo(Duration.ofHours(1));
    assertThatThrownBy(() -> GatewayExample.duration("soon")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--duration must be like 30s, 500ms, 2m or PT30S but was 'soon'");
  }
}
