package dev.cumulus.examples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InboxTest {
  @TempDir
  Path inbox;

  @Test
  void drain_movesEachMatchingFileByItsOutcome_andWritesTheErrorBesideAFailedOne() throws IOException {
    Files.writeString(inbox.resolve("b ok.csv"), "fine");
    Files.writeString(inbox.resolve("a-bad.csv"), "boom");
    Files.writeString(inbox.resolve("notes.txt"), "not matched");
    Files.writeString(inbox.resolve(".c.csv.part"), "being written");
    Files.createDirectories(inbox.resolve("processed"));
    Files.writeString(inbox.resolve("processed/b ok.csv"), "an earlier file of that name");

    List<Inbox.Outcome> outcomes;
    try (Cumulus cumulus = Cumulus.create()) {
      Fn<Path, Integer> fn = cumulus.register(FnSpec.of("read", (Path p) -> {
        try {
          String text = Files.readString(p);
          if (text.equals("boom")) {
            throw new IllegalStateException("cannot handle " + p.getFileName());
          }
          return text.length();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).inputType(Path.class).build());

      outcomes = Inbox.of(inbox).glob("*.csv").drain(fn);
    }

    assertThat(outcomes).extracting(o -> o.file().getFileName().toString()).containsExactly("a-bad.csv", "b ok.csv");
    Inbox.Outcome failed = outcomes.get(0);
    assertThat(failed.succeeded()).isFalse();
    assertThat(failed.movedTo()).isEqualTo(inbox.resolve("failed/a-bad.csv"));
    assertThat(failed.error()).isInstanceOf(IllegalStateException.class).hasMessage("cannot handle a-bad.csv");
    assertThat(failed.errorFile()).isEqualTo(inbox.resolve("failed/a-bad.csv.error.txt"));
    assertThat(Files.readString(failed.errorFile()))
        .startsWith("cannot handle a-bad.csv\n\njava.lang.IllegalStateException");
    Inbox.Outcome succeeded = outcomes.get(1);
    assertThat(succeeded.succeeded()).isTrue();
    assertThat(succeeded.movedTo()).isEqualTo(inbox.resolve("processed/b ok.csv.1"));
    assertThat(Files.readString(succeeded.movedTo())).isEqualTo("fine");
    assertThat(succeeded.errorFile()).isNull();
    try (var left = Files.list(inbox)) {
      assertThat(left.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("notes.txt", ".c.csv.part", "processed", "failed");
    }
  }
}
