package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Without {@code --add-opens java.base/java.lang} the runtime falls back to wall-clock metering and
 * says so once. Runs {@link WallClockProbe} in a JVM of its own, started without the option.
 */
class WallClockFallbackTest {
  @Test
  void withoutTheJvmOption_modeIsWallClockOnly_andOneWarningNamesTheOption() throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Set<String> path = new LinkedHashSet<>();
    path.add(Path.of("target", "test-classes").toAbsolutePath().toString());
    path.add(Path.of("target", "classes").toAbsolutePath().toString());
    for (String property : List.of("jdk.module.path", "java.class.path")) {
      String value = System.getProperty(property);
      if (value != null) {
        for (String entry : value.split(File.pathSeparator)) {
          if (entry.endsWith(".jar")) {
            path.add(entry);
          }
        }
      }
    }
    List<String> command = new ArrayList<>(List.of(java, "-cp", String.join(File.pathSeparator, path),
        WallClockProbe.class.getName()));
    Path err = Files.createTempFile("cumulus-probe", ".err");
    Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String stderr = Files.readString(err);
    Files.delete(err);
    assertThat(p.exitValue()).as("probe exit; stdout=%s stderr=%s", out, stderr).isZero();
    assertThat(out).contains("mode=WALL_CLOCK_ONLY", "second=WALL_CLOCK_ONLY", "cpu=PT0S", "allocated=0",
        "result=3", "exact refused: meteringMode EXACT is not available",
        "receipt result=2 bytes=3 cpu=PT0S billedCpu=0 billed=yes");
    assertThat(stderr).contains("--add-opens java.base/java.lang=ALL-UNNAMED");
    assertThat(stderr.split("meters wall-clock time only", -1)).as("warned once: %s", stderr).hasSize(2);
  }
}
