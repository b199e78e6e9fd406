package dev.cumulus.build;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cumulus.Cumulus;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The public API of each published module against its committed baseline, the API of release 0.1.0
 * ({@code core/api/cumulus-core.api}, {@code adapters/vertx/api/cumulus-vertx.api}).
 *
 * <p>Only what breaks users fails: a type or member of the baseline that is gone or whose signature
 * changed (return type, parameters, generics, {@code @Nullable}, modifiers, thrown exceptions).
 * Additions pass, and are listed; an abstract method added to an interface or abstract class that
 * users may implement is listed as a warning, since it breaks their implementations. To accept a
 * change on purpose (and say so in CHANGELOG.md): {@code mvn -B verify -Dcumulus.api.accept=true},
 * which rewrites the baselines; review their diff like code.
 */
class ApiCompatibilityTest {
  private static final String HEADER = """
      # Public API of %s: the baseline that build-checks' ApiCompatibilityTest compares with.
      # A line that disappears or changes is a change that breaks users; additions are allowed.
      # Rewrite it on purpose with: mvn -B verify -Dcumulus.api.accept=true (see CONTRIBUTING.md).
      """;

  @Test
  void publicApi_keepsEverythingInTheBaseline() throws Exception {
    boolean accept = Boolean.getBoolean("cumulus.api.accept");
    Path out = Path.of(property("cumulus.api.out"));
    Files.createDirectories(out);
    Map<String, Path> baselines = baselines();
    Map<String, Path> jars = Map.of("cumulus-core", location(Cumulus.class), "cumulus-vertx", vertxLocation(out));
    assertThat(jars.keySet()).as("modules with a baseline").containsExactlyInAnyOrderElementsOf(baselines.keySet());

    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, Path> e : baselines.entrySet()) {
      String module = e.getKey();
      Path baselineFile = e.getValue();
      Map<String, Set<String>> current = ApiSignature.of(jars.get(module), getClass().getClassLoader());
      String text = HEADER.formatted(module) + ApiSignature.render(current);
      Files.writeString(out.resolve(module + ".api"), text, StandardCharsets.UTF_8);
      if (accept) {
        Files.writeString(baselineFile, text, StandardCharsets.UTF_8);
        System.out.printf("%s: API baseline rewritten: %s%n", module, baselineFile);
        continue;
      }
      Map<String, Set<String>> baseline = Files.exists(baselineFile)
          ? ApiSignature.parse(Files.readAllLines(baselineFile, StandardCharsets.UTF_8))
          : Map.of();
      Report report = compare(baseline, current);
      report.print(module);
      if (!report.breaking.isEmpty()) {
        failures.add(module + " (" + baselineFile + "):\n  " + String.join("\n  ", report.breaking));
      }
    }
    assertThat(failures)
        .as("""
            changes that break users of the public API, against the 0.1.0 baseline.
            If a change is intended, record it: mvn -B verify -Dcumulus.api.accept=true (rewrites the
            baselines; the proposed ones are also in build-checks/target/api), note it in CHANGELOG.md
            under Changed or Removed, and review the baseline diff like code""")
        .isEmpty();
  }

  @Test
  void compare_flagsRemovalsAndChanges_notAdditions() {
    Map<String, Set<String>> baseline = Map.of(
        "public final class a.B", Set.of("method int size()", "static method a.B of(java.lang.String)"),
        "public interface a.Sink", Set.of("abstract method void accept(java.lang.Object)"),
        "public final class a.Gone", Set.of());
    Map<String, Set<String>> current = Map.of(
        "public final class a.B", Set.of("method long size()", "static method a.B of(java.lang.String)",
            "method a.B copy()"),
        "public interface a.Sink", Set.of("abstract method void accept(java.lang.Object)",
            "abstract method void flush()"),
        "public final class a.New", Set.of());

    Report report = compare(baseline, current);

    assertThat(report.breaking).containsExactlyInAnyOrder(
        "removed or changed type: public final class a.Gone",
        "removed or changed in public final class a.B: method int size()");
    assertThat(report.added).contains("public final class a.New", "public final class a.B: method a.B copy()");
    assertThat(report.implementorWarnings).containsExactly("public interface a.Sink: abstract method void flush()");
  }

  @Test
  void signature_rendersNullnessAndGenerics() throws Exception {
    Map<String, Set<String>> api = ApiSignature.of(location(Cumulus.class), getClass().getClassLoader());
    assertThat(api).containsKey(
        "public interface dev.cumulus.Fn<I extends @Nullable java.lang.Object, O extends @Nullable java.lang.Object>");
    assertThat(api.keySet()).noneMatch(t -> t.contains(".internal."));
    assertThat(api.get("public final class dev.cumulus.Cumulus implements java.lang.AutoCloseable")).contains(
        "method @Nullable java.lang.Object invoke(java.lang.String, @Nullable java.lang.Object)");
  }

  private record Report(List<String> breaking, List<String> added, List<String> implementorWarnings) {
    void print(String module) {
      if (!added.isEmpty()) {
        System.out.printf("%s: %d additions to the public API since the baseline:%n  %s%n", module,
            added.size(), String.join("\n  ", added));
      }
      if (!implementorWarnings.isEmpty()) {
        System.out.printf("%s: WARNING: abstract methods added to types users may implement (breaks"
            + " their implementations; make them default or accept):%n  %s%n", module,
            String.join("\n  ", implementorWarnings));
      }
    }
  }

  static Report compare(Map<String, Set<String>> baseline, Map<String, Set<String>> current) {
    List<String> breaking = new ArrayList<>();
    List<String> added = new ArrayList<>();
    List<String> implementorWarnings = new ArrayList<>();
    for (String type : new TreeSet<>(baseline.keySet())) {
      Set<String> now = current.get(type);
      if (now == null) {
        breaking.add("removed or changed type: " + type);
        continue;
      }
      for (String member : new TreeSet<>(baseline.get(type))) {
        if (!now.contains(member)) {
          breaking.add("removed or changed in " + type + ": " + member);
        }
      }
    }
    for (String type : new TreeSet<>(current.keySet())) {
      Set<String> before = baseline.get(type);
      if (before == null) {
        added.add(type);
        continue;
      }
      boolean implementable = !type.contains(" final ") && !type.contains(" sealed ") && !type.contains(" enum ")
          && !type.contains(" record ")
          && (type.contains(" interface ") || type.contains(" @interface ") || type.contains(" abstract "));
      for (String member : new TreeSet<>(current.get(type))) {
        if (before.contains(member)) {
          continue;
        }
        boolean annotationElementWithDefault = type.contains("@interface") && member.endsWith(" default");
        if (implementable && member.contains("abstract method") && !annotationElementWithDefault) {
          implementorWarnings.add(type + ": " + member);
        } else {
          added.add(type + ": " + member);
        }
      }
    }
    return new Report(breaking, added, implementorWarnings);
  }

  private static Map<String, Path> baselines() {
    Map<String, Path> baselines = new LinkedHashMap<>();
    for (String pair : property("cumulus.api.baselines").split(",")) {
      String[] kv = pair.strip().split("=", 2);
      baselines.put(kv[0], Path.of(kv[1]));
    }
    return baselines;
  }

  /** The adapter's jar (or classes) on the class path; an empty directory while it has no code. */
  private static Path vertxLocation(Path out) throws Exception {
    String classPath = System.getProperty("java.class.path");
    for (String entry : classPath.split(java.io.File.pathSeparator)) {
      Path p = Path.of(entry);
      String name = p.getFileName() == null ? "" : p.getFileName().toString();
      if (name.startsWith("cumulus-vertx") || p.endsWith(Path.of("adapters", "vertx", "target", "classes"))) {
        return p;
      }
    }
    return Files.createDirectories(out.resolve("no-classes"));
  }

  private static Path location(Class<?> type) throws URISyntaxException {
    return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  private static String property(String name) {
    String value = System.getProperty(name);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("system property " + name + " is not set: run this test with"
          + " mvn verify (build-checks/pom.xml passes it to surefire)");
    }
    return value.strip();
  }
}
