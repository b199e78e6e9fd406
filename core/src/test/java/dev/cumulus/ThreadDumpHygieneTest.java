package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Nothing in the build takes a thread dump the way that crashes JDK 25 under virtual-thread load
 * ({@code HotSpotDiagnosticMXBean.dumpThreads}, which {@code jcmd <pid> Thread.dump_to_file} uses;
 * OpenJDK JDK-8364343, JDK-8392031; README, "Troubleshooting"). Watchdogs and timeouts dump with
 * {@link Thread#getAllStackTraces()}, as JUnit's timeout thread dump
 * ({@code junit.jupiter.execution.timeout.threaddump.enabled}, set in the parent pom) does.
 */
class ThreadDumpHygieneTest {
  /** What starts such a dump from code, a script or a build file. */
  private static final Pattern CRASHING_DUMP = Pattern.compile(
      "dumpThreads\\s*\\(|Thread\\.dump_to_file|HotSpotDiagnosticMXBean|ThreadMXBean\\s*\\)?\\s*\\.\\s*dumpAllThreads");

  @Test
  void noSourceScriptOrBuildFile_takesTheThreadDumpThatCrashesJdk25() throws IOException {
    Path root = repositoryRoot();
    List<String> offenders;
    try (Stream<Path> files = Files.walk(root)) {
      offenders = files
          .filter(Files::isRegularFile)
          .filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git/"))
          .filter(p -> p.toString().matches(".*\\.(java|xml|sh|properties|config)$") || p.endsWith(".ci/run"))
          .filter(p -> !p.getFileName().toString().equals("ThreadDumpHygieneTest.java"))
          .filter(p -> CRASHING_DUMP.matcher(stripComments(read(p))).find())
          .map(p -> root.relativize(p).toString())
          .sorted()
          .toList();
    }
    assertThat(offenders).as("files that take a HotSpotDiagnosticMXBean thread dump").isEmpty();
  }

  @Test
  void junitsTimeoutThreadDump_isOnAndTakenWithGetAllStackTraces() throws Exception {
    String pom = read(repositoryRoot().resolve("pom.xml"));
    assertThat(pom).contains("junit.jupiter.execution.timeout.threaddump.enabled = true");
    // JUnit's printer (checked in its 6.1 byte code) calls Thread.getAllStackTraces(); it must exist
    // under that name, or the configuration above silently prints nothing.
    assertThat(Class.forName("org.junit.jupiter.engine.extension.PreInterruptThreadDumpPrinter", false,
        ThreadDumpHygieneTest.class.getClassLoader())).isNotNull();
  }

  /** The repository root: the parent of the core module, where the tests run. */
  private static Path repositoryRoot() {
    Path here = Path.of("").toAbsolutePath();
    Path root = Files.exists(here.resolve("core")) ? here : here.getParent();
    assertThat(root.resolve("pom.xml")).exists();
    return root;
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Java and XML comments may name the method (to warn against it); code may not call it. */
  private static String stripComments(String text) {
    return text.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("(?m)//.*$", "").replaceAll("(?s)<!--.*?-->", "")
        .replaceAll("(?m)^\\s*#.*$", "");
  }
}
