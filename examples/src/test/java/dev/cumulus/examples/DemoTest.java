package dev.cumulus.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DemoTest {
  @Test
  void demo_runsEveryStep_andEndsWithNoCumulusThread() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Demo.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(out);
    assertThat(out)
        .contains("metering EXACT")
        .contains("word-count(\"functions that scale to zero\") = 5")
        .contains("by name: word-count(\"a b\")                  = 2")
        .contains("fetch: 2 000 calls of 20 ms")
        .contains("(limit 500)")
        .contains("Usage over")
        .contains("Bill (0.30 per 1M requests + 0.02 per 1M CPU-ms, metering EXACT)")
        .contains("Bill (0.20 per 1M requests + 0.0000166667 per GB-s at 128 MB, metering EXACT)")
        .containsPattern("Cumulus threads after the keep-alive: \\d+");
    // The demo waits 5 s for its carriers to go, which a busy machine can exceed, and counts every
    // Cumulus thread of the JVM: the scale to zero itself is checked here, with no deadline to meet.
    await().atMost(Duration.ofSeconds(60)).until(() -> Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.isAlive() && t.getName().startsWith("cumulus-")));
    assertThat(out).containsPattern("peak concurrency (\\d+) \\(limit 500\\)");
    int peak = Integer.parseInt(out.replaceAll("(?s).*peak concurrency (\\d+) \\(limit 500\\).*", "$1"));
    assertThat(peak).isBetween(2, 500);
  }
}
