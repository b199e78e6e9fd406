package dev.cumulus.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * What a user's build does with a release: import {@code cumulus-bom} from a repository, depend on
 * {@code cumulus-core} without a version, compile against it and run a function.
 *
 * <p>The reactor deploys every published module to the staging repository
 * ({@code target/staging-deploy}, the dry run of a release) in its verify phase; this module runs
 * last. The test builds {@code src/it/consumer} with a nested {@code mvn}, offline, with a local
 * repository of its own under {@code target/}: Cumulus can only come from the staging repository,
 * third-party artifacts come from the build's own local repository (read as a file repository, as if
 * it were Maven Central), and nothing is written to that one, so no {@code dev.cumulus} snapshot
 * reaches {@code ~/.m2} where other checkouts would pick it up.
 */
class ConsumerBuildIT {
  private static final String GROUP_PATH = "dev/cumulus";

  private static Path staging;
  private static String version;

  @BeforeAll
  static void locateStaging() {
    assumeFalse(Boolean.getBoolean("cumulus.staging.skipped"),
        "nothing staged: the build ran with -Dcumulus.stage.skip=true");
    staging = Path.of(property("cumulus.staging.repository"));
    version = property("cumulus.version");
    assertThat(staging.resolve(GROUP_PATH))
        .as("staging repository (each published module deploys there in its verify phase)")
        .isDirectory();
  }

  @Test
  void bom_managesEveryPublishedModule_andNothingElse() throws Exception {
    Document bom = parse(stagedFile("cumulus-bom", ".pom"));
    Element project = bom.getDocumentElement();
    assertThat(children(project, "parent"))
        .as("the published BOM has no parent: an import would bring the parent's dependencyManagement")
        .isEmpty();
    List<Element> managed = new ArrayList<>();
    for (Element dm : children(project, "dependencyManagement")) {
      for (Element deps : children(dm, "dependencies")) {
        managed.addAll(children(deps, "dependency"));
      }
    }
    Map<String, String> versions = new TreeMap<>();
    for (Element d : managed) {
      assertThat(text(d, "groupId")).as("groupId of a dependency managed by the BOM").isEqualTo("dev.cumulus");
      versions.put(text(d, "artifactId"), text(d, "version"));
    }
    assertThat(versions.keySet())
        .as("the BOM lists exactly the published jars (add a new published module to bom/pom.xml)")
        .containsExactlyInAnyOrderElementsOf(publishedJars());
    assertThat(text(project, "version")).as("version of the BOM").isEqualTo(version);
    // ${project.version} of an imported BOM is the BOM's own version.
    assertThat(versions.values()).as("versions in the BOM").allMatch(
        v -> v.equals(version) || v.equals("${project.version}"));
  }

  @Test
  void releaseDryRun_stagesWhatCentralNeeds() throws Exception {
    boolean signed = !Boolean.parseBoolean(property("cumulus.sign.skip"));
    for (String artifact : publishedJars()) {
      List<String> required = new ArrayList<>(List.of(".pom", ".jar"));
      if (Boolean.getBoolean("cumulus.release")) {
        required.add("-cyclonedx.json");
        if (hasClasses(stagedFile(artifact, ".jar"))) { // an empty jar has no sources to document
          required.addAll(List.of("-sources.jar", "-javadoc.jar"));
        }
      }
      for (String suffix : required) {
        Path file = stagedFile(artifact, suffix);
        assertThat(file.resolveSibling(file.getFileName() + ".sha1")).as("checksum of %s", file).exists();
        if (signed) {
          assertThat(file.resolveSibling(file.getFileName() + ".asc")).as("signature of %s", file).exists();
        }
      }
    }
  }

  @Test
  void consumerProject_importsTheBom_andRunsAFunction() throws Exception {
    Path work = Path.of(property("cumulus.consumer.work"));
    Path project = work.resolve("project");
    Path repository = work.resolve("repository");
    deleteRecursively(project);
    // Third-party artifacts may stay from an earlier run; Cumulus is resolved afresh every time.
    deleteRecursively(repository.resolve(GROUP_PATH));
    copyRecursively(Path.of(property("cumulus.consumer.source")), project);
    Path settings = work.resolve("settings.xml");
    Files.writeString(settings, settings(Path.of(property("cumulus.local.repository")), staging));

    List<String> command = new ArrayList<>(List.of(
        Path.of(property("maven.home"), "bin", "mvn").toString(),
        "-B", "--offline", "-Daether.offline.protocols=file",
        "-s", settings.toString(),
        "-Dmaven.repo.local=" + repository,
        "-Dcumulus.version=" + version));
    for (String pair : property("cumulus.consumer.versions").split(",")) {
      command.add("-D" + pair.strip());
    }
    command.add("test");
    Path log = work.resolve("build.log");
    ProcessBuilder builder = new ProcessBuilder(command)
        .directory(project.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    builder.environment().remove("MAVEN_OPTS");
    Process mvn = builder.start();
    if (!mvn.waitFor(5, TimeUnit.MINUTES)) {
      mvn.destroyForcibly();
      fail("the consumer build did not finish in 5 minutes; its log: " + log + "\n" + tail(log));
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertThat(mvn.exitValue())
        .as("exit code of the consumer build (%s), log %s:%n%s", String.join(" ", command), log, tail(log))
        .isZero();
    assertThat(output).contains("cumulus-consumer: word-count(\"a b c\") = 3, metering EXACT");

    // Cumulus came from the staging repository, as it would come from Central.
    Path core = repository.resolve(GROUP_PATH).resolve("cumulus-core").resolve(version);
    assertThat(Files.readString(core.resolve("_remote.repositories")))
        .as("where the consumer build resolved cumulus-core from")
        .contains("cumulus-staging");
  }

  /**
   * The settings of the nested build: Central is the build's local repository (it has no checksum
   * files, so the nested build warns about them), plus the staging repository.
   */
  private static String settings(Path localRepository, Path staging) {
    String central = localRepository.toUri().toString();
    String stage = staging.toUri().toString();
    return """
        <settings>
          <mirrors>
            <!-- Every lookup of Central, those of dependencies' POMs included. -->
            <mirror>
              <id>local-as-central</id>
              <mirrorOf>central</mirrorOf>
              <url>%1$s</url>
            </mirror>
          </mirrors>
          <profiles>
            <profile>
              <id>cumulus-consumer-test</id>
              <repositories>
                <repository>
                  <id>cumulus-staging</id>
                  <url>%2$s</url>
                  <releases><checksumPolicy>fail</checksumPolicy></releases>
                  <snapshots><updatePolicy>always</updatePolicy><checksumPolicy>fail</checksumPolicy></snapshots>
                </repository>
              </repositories>
            </profile>
          </profiles>
          <activeProfiles>
            <activeProfile>cumulus-consumer-test</activeProfile>
          </activeProfiles>
        </settings>
        """.formatted(central, stage);
  }

  private static boolean hasClasses(Path jar) throws IOException {
    try (JarFile file = new JarFile(jar.toFile())) {
      return file.stream().anyMatch(e -> e.getName().endsWith(".class"));
    }
  }

  /** Artifact ids of the staged modules that publish a jar. */
  private static List<String> publishedJars() throws IOException {
    List<String> jars = new ArrayList<>();
    try (Stream<Path> modules = Files.list(staging.resolve(GROUP_PATH))) {
      for (Path module : modules.sorted().toList()) {
        Path dir = module.resolve(version);
        if (Files.isDirectory(dir) && !listMatching(dir, ".jar").isEmpty()) {
          jars.add(module.getFileName().toString());
        }
      }
    }
    return jars;
  }

  /** The newest staged file of an artifact with that suffix (a snapshot is deployed timestamped). */
  private static Path stagedFile(String artifactId, String suffix) throws IOException {
    Path dir = staging.resolve(GROUP_PATH).resolve(artifactId).resolve(version);
    List<Path> files = Files.isDirectory(dir) ? listMatching(dir, suffix) : List.of();
    if (files.isEmpty()) {
      fail("nothing staged for %s%s in %s", artifactId, suffix, dir);
    }
    return files.get(files.size() - 1);
  }

  /**
   * Staged files named {@code <artifactId>-<version><suffix>}, oldest first: a snapshot is deployed
   * with a timestamp for its version ({@code 0.1.0-20261201.101010-3}). The suffix names the
   * classifier if any ({@code -sources.jar}), so {@code .jar} is the main jar only.
   */
  private static List<Path> listMatching(Path dir, String suffix) throws IOException {
    String artifactId = dir.getParent().getFileName().toString();
    String versionPattern = version.endsWith("-SNAPSHOT")
        ? Pattern.quote(version.substring(0, version.length() - "-SNAPSHOT".length())) + "-\\d{8}\\.\\d{6}-\\d+"
        : Pattern.quote(version);
    Pattern name = Pattern.compile(Pattern.quote(artifactId + "-") + versionPattern + Pattern.quote(suffix));
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .filter(f -> name.matcher(f.getFileName().toString()).matches())
          .sorted()
          .collect(Collectors.toCollection(ArrayList::new));
    }
  }

  private static Document parse(Path pom) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    return factory.newDocumentBuilder().parse(pom.toFile());
  }

  private static List<Element> children(Element parent, String name) {
    List<Element> found = new ArrayList<>();
    NodeList nodes = parent.getChildNodes();
    for (int i = 0; i < nodes.getLength(); i++) {
      if (nodes.item(i) instanceof Element e && e.getTagName().equals(name)) {
        found.add(e);
      }
    }
    return found;
  }

  private static String text(Element parent, String name) {
    List<Element> found = children(parent, name);
    return found.isEmpty() ? "" : found.get(0).getTextContent().strip();
  }

  private static String property(String name) {
    String value = System.getProperty(name);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("system property " + name + " is not set: run this test with"
          + " mvn verify (build-checks/pom.xml passes it to failsafe)");
    }
    return value.strip();
  }

  private static String tail(Path log) throws IOException {
    if (!Files.exists(log)) {
      return "(no log)";
    }
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }

  private static void copyRecursively(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path source : files.toList()) {
        Path target = to.resolve(from.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else {
          Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
