package dev.cumulus.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Runs every example the way {@code examples/README.md} says, from the repository root, against the
 * executable jar that {@code mvn package} built: the commands are read from the README's {@code sh}
 * blocks, so a command that is documented is a command that works. Each one must exit 0 by itself,
 * except the gateway, a server: it must start, answer one request, and stop on Enter. Standard output
 * and error of each run are kept in {@code target/documented-commands/}.
 */
class DocumentedCommandsIT {
  private static final Path ROOT = Path.of(System.getProperty("cumulus.root", "..")).toAbsolutePath().normalize();
  private static final Path OUTPUT = ROOT.resolve("examples/target/documented-commands");
  private static final Duration LIMIT = Duration.ofMinutes(5);
  private static final String PACKAGE = "dev.cumulus.examples.";

  @Test
  void theReadme_documentsEveryExample_andTheTopReadmeRunsTheQuickstart() throws IOException {
    assertThat(commands().stream().map(DocumentedCommandsIT::mainClass).distinct())
        .containsExactlyInAnyOrder("Quickstart", "WrapExistingCode", "pipeline.IngestionPipeline", "GatewayExample",
            "ClusterExample");
    assertThat(Files.readString(ROOT.resolve("README.md")))
        .contains("mvn -q -DskipTests package && java -jar examples/target/cumulus-examples.jar");
  }

  @Test
  void quickstart() throws Exception {
    Run run = run("Quickstart");
    assertThat(run.out()).contains("metering EXACT", "Back to zero", "Usage over", "Bill (").doesNotContain("\r");
  }

  @Test
  void wrapExistingCode() throws Exception {
    Run run = run("WrapExistingCode");
    assertThat(run.out()).contains("Thumbnails.resize(\"cat.png\") = cat@128px.png", "invokeAll of 8 tasks");
  }

  @Test
  void ingestionPipeline() throws Exception {
    Run run = run("pipeline.IngestionPipeline");
    try {
      assertThat(run.out()).contains("FAILED (NOT_RETRYABLE, 1 attempt) -> inbox/failed/orders-2026-11-05.csv.error.txt",
          "query> SELECT currency", "per TiB processed");
    } finally {
      // The example leaves its working directory to look at; the test does not.
      Matcher dir = Pattern.compile("working directory (\\S+)").matcher(run.out());
      if (dir.find()) {
        deleteTree(Path.of(dir.group(1)));
      }
    }
  }

  @Test
  void cluster() throws Exception {
    Run run = run("ClusterExample");
    assertThat(run.out()).contains("ran on node B", "ran on node A", "node B exited with status 0");
  }

  @Test
  void gateway_startsAnswersOneRequestAndStopsOnEnter() throws Exception {
    List<String> command = new ArrayList<>(command("GatewayExample"));
    command.addAll(List.of("--port", "0")); // the documented default, 8080, may be taken on this machine
    Path out = OUTPUT.resolve("GatewayExample.out.txt");
    Process process = start(command, out);
    try {
      Pattern address = Pattern.compile("Cumulus gateway on (http://127\\.0\\.0\\.1:\\d+)");
      await().atMost(LIMIT).until(() -> address.matcher(read(out)).find() || !process.isAlive());
      Matcher m = address.matcher(read(out));
      assertThat(m.find()).as("output: %s", read(out)).isTrue();
      try (HttpClient http = HttpClient.newHttpClient()) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(m.group(1) + "/functions/word-count"))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("\"a b c\"")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("3");
      }
      try (OutputStream enter = process.getOutputStream()) {
        enter.write('\n');
      }
      assertThat(process.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).as("stopped on Enter").isTrue();
      assertThat(process.exitValue()).as("exit status; output: %s", read(out)).isZero();
      assertThat(read(out)).contains("Press Enter to stop.", "Usage over", "word-count");
    } finally {
      process.destroyForcibly();
    }
  }

  // ---------------------------------------------------------------------------------------------

  private record Run(String out, String err) {}

  /** Runs the documented command of an example to its end, and checks it exited 0. */
  private static Run run(String example) throws Exception {
    Path out = OUTPUT.resolve(example + ".out.txt");
    Process process = start(command(example), out);
    try (OutputStream none = process.getOutputStream()) {
      // no input: closed at once, as in CI
    }
    boolean ended = process.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS);
    Run run = new Run(read(out), read(err(out)));
    System.out.println(run.out());
    System.out.println(run.err());
    if (!ended) {
      process.destroyForcibly();
    }
    assertThat(ended).as("%s ended within %s", example, LIMIT).isTrue();
    assertThat(process.exitValue()).as("exit status of %s; stderr: %s", example, run.err()).isZero();
    return run;
  }

  private static Process start(List<String> command, Path out) throws IOException {
    Files.createDirectories(OUTPUT);
    System.out.println("$ " + String.join(" ", command));
    return new ProcessBuilder(command).directory(ROOT.toFile())
        .redirectOutput(out.toFile()).redirectError(err(out).toFile()).start();
  }

  private static Path err(Path out) {
    return out.resolveSibling(out.getFileName().toString().replace(".out.txt", ".err.txt"));
  }

  private static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
  }

  /** The documented command of an example, with {@code java} being this JVM's. */
  private static List<String> command(String example) throws IOException {
    List<List<String>> found = commands().stream().filter(c -> mainClass(c).equals(example)).distinct().toList();
    assertThat(found).as("documented commands of %s", example).hasSize(1);
    List<String> command = new ArrayList<>(found.get(0));
    command.set(0, Path.of(System.getProperty("java.home"), "bin", "java").toString());
    return command;
  }

  /** Every {@code java ...} command in the README's {@code sh} blocks (after a {@code &&}, too). */
  static List<List<String>> commands() throws IOException {
    List<List<String>> commands = new ArrayList<>();
    boolean inSh = false;
    StringBuilder line = new StringBuilder();
    for (String text : Files.readAllLines(ROOT.resolve("examples/README.md"), StandardCharsets.UTF_8)) {
      if (!inSh) {
        inSh = text.strip().equals("```sh");
        continue;
      }
      if (text.strip().equals("```")) {
        inSh = false;
        continue;
      }
      line.append(text.strip());
      if (text.endsWith("\\")) {
        line.setLength(line.length() - 1);
        line.append(' ');
        continue;
      }
      for (String part : line.toString().split("&&")) {
        List<String> words = Arrays.stream(part.strip().split("\\s+")).toList();
        if (words.get(0).equals("java")) {
          commands.add(words);
        }
      }
      line.setLength(0);
    }
    return commands;
  }

  /** The example a command runs: its main class without the package, {@code Quickstart} for the jar. */
  private static String mainClass(List<String> command) {
    int jar = command.indexOf("-jar");
    if (jar >= 0) {
      return "Quickstart";
    }
    return command.stream().filter(w -> w.startsWith(PACKAGE)).map(w -> w.substring(PACKAGE.length()))
        .findFirst().orElse("?");
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.isDirectory(dir) || !dir.getFileName().toString().startsWith("cumulus-pipeline-")) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
