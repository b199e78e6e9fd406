package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cumulus.Cumulus;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * DESIGN.md section 1: dependencies point one way, and Vert.x lives only in the adapters. Checks
 * the built core artifact (its module descriptor and every class file) from the adapter's side,
 * where both core and Vert.x are on the class path.
 */
class ModuleBoundaryTest {
  private static Path coreLocation() throws URISyntaxException {
    return Path.of(Cumulus.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  @Test
  void coreModule_exportsOnlyItsApi_andRequiresNoVertx() throws Exception {
    ModuleReference core = ModuleFinder.of(coreLocation()).findAll().stream().findFirst().orElseThrow();
    ModuleDescriptor d = core.descriptor();
    assertThat(d.name()).isEqualTo("dev.cumulus.core");
    assertThat(d.exports()).extracting(ModuleDescriptor.Exports::source)
        .containsExactlyInAnyOrder("dev.cumulus", "dev.cumulus.trigger");
    assertThat(d.requires()).extracting(ModuleDescriptor.Requires::name)
        .noneMatch(name -> name.startsWith("io.vertx"))
        .contains("micrometer.core");
  }

  @Test
  void noCoreClass_refersToVertx() throws Exception {
    List<String> offenders = new ArrayList<>();
    int classes = 0;
    Path location = coreLocation();
    if (Files.isDirectory(location)) {
      try (Stream<Path> files = Files.walk(location)) {
        for (Path p : files.filter(f -> f.toString().endsWith(".class")).toList()) {
          classes++;
          if (refersToVertx(Files.readAllBytes(p))) {
            offenders.add(location.relativize(p).toString());
          }
        }
      }
    } else {
      try (ZipFile jar = new ZipFile(location.toFile())) {
        for (ZipEntry e : jar.stream().filter(e -> e.getName().endsWith(".class")).toList()) {
          classes++;
          try (InputStream in = jar.getInputStream(e)) {
            if (refersToVertx(in.readAllBytes())) {
              offenders.add(e.getName());
            }
          }
        }
      }
    }
    assertThat(classes).as("core classes found at %s", location).isGreaterThan(20);
    assertThat(offenders).isEmpty();
  }

  @Test
  void adapterModule_exportsOnlyItsApi_andReadsCoreAndVertx() throws Exception {
    Path classes = Path.of(CumulusGateway.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    ModuleDescriptor d = ModuleFinder.of(classes).findAll().stream().findFirst().orElseThrow().descriptor();
    assertThat(d.name()).isEqualTo("dev.cumulus.vertx");
    assertThat(d.exports()).extracting(ModuleDescriptor.Exports::source).containsExactly("dev.cumulus.vertx");
    assertThat(d.requires()).extracting(ModuleDescriptor.Requires::name)
        .contains("dev.cumulus.core", "io.vertx.core", "io.vertx.web", "com.fasterxml.jackson.databind");
  }

  @Test
  void vertxIsOnTheAdaptersClassPath() throws IOException {
    // The other side of the rule: this module may use Vert.x (and does, from the adapter issue on).
    assertThat(io.vertx.core.Vertx.class.getName()).isEqualTo("io.vertx.core.Vertx");
  }

  private static boolean refersToVertx(byte[] classFile) {
    // Class references live in the constant pool as UTF-8 internal names such as io/vertx/core/Vertx.
    return new String(classFile, StandardCharsets.ISO_8859_1).contains("io/vertx/");
  }
}
