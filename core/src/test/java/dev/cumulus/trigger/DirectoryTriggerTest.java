package dev.cumulus.trigger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cumulus.Cumulus;
import dev.cumulus.DeadLetter;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.ManualTime;
import dev.cumulus.RetryPolicy;
import dev.cumulus.RuntimeClosedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DirectoryTrigger} end to end on a temporary directory, with the runtime's clock driven by
 * hand: the stability period is an hour of that clock, so a file is taken only when the test moves
 * the clock (real time never makes a file look stable here).
 */
class DirectoryTriggerTest {
  static final Duration STABLE = Duration.ofHours(1);

  @TempDir
  Path dir;

  /** The function's view: what it read of each file, by name. */
  final Map<String, List<String>> read = new ConcurrentHashMap<>();
  final List<DeadLetter> letters = new CopyOnWriteArrayList<>();

  private Fn<Path, Void> register(Cumulus c, FnSpec.Builder<Path, Void> spec) {
    return c.register(spec.deadLetter(letters::add).build());
  }

  private FnSpec.Builder<Path, Void> loader(String name) {
    return FnSpec.ofConsumer(name, (Path p) -> {
      String content;
      try {
        content = Files.readString(p);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      read.computeIfAbsent(p.getFileName().toString(), k -> new CopyOnWriteArrayList<>()).add(content);
      if (content.startsWith("bad")) {
        throw new IllegalArgumentException("malformed row in " + p.getFileName());
      }
    });
  }

  private static void awaitCandidate(ManualTime time) {
    long due = time.nanoTime() + STABLE.toNanos();
    await().until(() -> time.dueTimes().contains(due));
  }

  private void renameIn(String name, String content) throws IOException {
    Path tmp = dir.resolve("." + name + ".part");
    Files.writeString(tmp, content);
    Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
  }

  @Test
  void goodFile_renamedIn_isProcessed_andMovedToProcessed() throws Exception {
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load"));
      try (Trigger t = DirectoryTrigger.watch(dir).glob("*.csv").stableFor(STABLE).invoke(load)) {
        renameIn("orders.csv", "id,qty\n1,2\n");
        Files.writeString(dir.resolve("notes.txt"), "not a csv"); // not matched by the glob
        awaitCandidate(time);
        time.advance(STABLE);
        await().until(() -> Files.exists(dir.resolve("processed/orders.csv")));
        assertThat(read).containsOnlyKeys("orders.csv");
        assertThat(read.get("orders.csv")).containsExactly("id,qty\n1,2\n");
        assertThat(dir.resolve("orders.csv")).doesNotExist();
        assertThat(dir.resolve("notes.txt")).exists();
        assertThat(dir.resolve(".orders.csv.part")).doesNotExist();
        await().until(() -> t.stats().succeeded() == 1);
        assertThat(t.stats()).isEqualTo(new Trigger.Stats(1, 1, 0, 0, 0));
        assertThat(t.function()).isEqualTo("load");
        FunctionStats s = load.stats();
        assertThat(s.eventsSucceeded()).isEqualTo(1);
      }
    }
  }

  @Test
  void badFile_afterItsLastRetry_movesToFailed_withItsErrorBesideIt() throws Exception {
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load")
          .retry(RetryPolicy.exponential(2, Duration.ofSeconds(1), Duration.ofSeconds(1))));
      try (Trigger t = DirectoryTrigger.watch(dir).stableFor(STABLE).invoke(load)) {
        renameIn("broken.csv", "bad,row\n");
        awaitCandidate(time);
        time.advance(STABLE);
        await().until(() -> load.stats().eventRetries() == 1);
        time.advance(Duration.ofSeconds(1));
        await().until(() -> load.stats().eventRetries() == 2);
        time.advance(Duration.ofSeconds(1));
        await().until(() -> Files.exists(dir.resolve("failed/broken.csv")));

        Path error = dir.resolve("failed/broken.csv.error.txt");
        assertThat(error).exists();
        String text = Files.readString(error);
        assertThat(text.lines().findFirst()).hasValue("malformed row in broken.csv"); // the message first
        assertThat(text).contains("file: " + dir.resolve("broken.csv"), "function: load", "reason: RETRIES_EXHAUSTED",
            "attempts: 3", "java.lang.IllegalArgumentException: malformed row in broken.csv");
        assertThat(dir.resolve("broken.csv")).doesNotExist();
        assertThat(read.get("broken.csv")).hasSize(3);
        await().until(() -> letters.size() == 1); // the function's sink has the letter too
        assertThat(letters.get(0).input()).isEqualTo(dir.resolve("broken.csv"));
        await().until(() -> t.stats().deadLettered() == 1);
        assertThat(t.stats().errors()).isZero();
      }
    }
  }

  @Test
  void filesPresentAtStart_areProcessed() throws Exception {
    Files.writeString(dir.resolve("old.csv"), "old");
    Files.setLastModifiedTime(dir.resolve("old.csv"), FileTime.from(Instant.now().minus(Duration.ofHours(2))));
    Files.writeString(dir.resolve("fresh.csv"), "fresh");
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load"));
      try (Trigger t = DirectoryTrigger.watch(dir).stableFor(STABLE).invoke(load)) {
        // Unchanged for longer than stableFor (its modification time says so): taken at once.
        await().until(() -> Files.exists(dir.resolve("processed/old.csv")));
        assertThat(read).containsOnlyKeys("old.csv");
        time.advance(STABLE); // the fresh one after the stability period
        await().until(() -> Files.exists(dir.resolve("processed/fresh.csv")));
        assertThat(read).containsOnlyKeys("old.csv", "fresh.csv");
      }
    }
  }

  @Test
  void fileWrittenInPlace_isTakenOnlyOnceComplete() throws Exception {
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load"));
      try (Trigger t = DirectoryTrigger.watch(dir).stableFor(STABLE).invoke(load)) {
        Path file = dir.resolve("big.csv");
        Files.writeString(file, "part 1\n");
        awaitCandidate(time);
        time.advance(STABLE.dividedBy(2));
        Files.writeString(file, "part 2\n", StandardOpenOption.APPEND); // still being written
        time.advance(STABLE.dividedBy(2)); // the first check is due: the file changed meanwhile
        await().until(() -> time.dueTimes().stream().anyMatch(d -> d > time.nanoTime()));
        assertThat(read).isEmpty();
        assertThat(file).exists();
        // Now it holds still. (A change the watch service reports late pushes the check back by one
        // stability period: keep the clock moving until the file is taken.)
        await().until(() -> {
          time.advance(STABLE);
          return Files.exists(dir.resolve("processed/big.csv"));
        });
        assertThat(read.get("big.csv")).containsExactly("part 1\npart 2\n");
      }
    }
  }

  @Test
  void restartAfterACrash_doesNotProcessAFinishedFileTwice_andFinishesTheOneCutShort() throws Exception {
    Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    CountDownLatch never = new CountDownLatch(1);
    FnSpec.Builder<Path, Void> spec = FnSpec.ofConsumer("load", (Path p) -> {
      String name = p.getFileName().toString();
      int n = runs.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
      if (name.equals("slow.csv") && n == 1) {
        try {
          never.await(); // the process "crashes" while this file is being processed
        } catch (InterruptedException e) {
          throw new IllegalStateException("cut short", e);
        }
      }
    });
    renameIn("done.csv", "a");
    renameIn("slow.csv", "b");
    ManualTime first = new ManualTime();
    Cumulus c1 = first.runtime().drainTimeout(Duration.ofSeconds(1)).build();
    Fn<Path, Void> load1 = register(c1, spec);
    Trigger t1 = DirectoryTrigger.watch(dir).stableFor(STABLE).invoke(load1);
    awaitCandidate(first);
    first.advance(STABLE);
    await().until(() -> Files.exists(dir.resolve("processed/done.csv")) && runs.containsKey("slow.csv"));
    long deadline = first.nanoTime() + Duration.ofSeconds(1).toNanos();
    CompletableFuture<Void> crash = CompletableFuture.runAsync(c1::close); // its drain gives up on slow.csv
    await().until(() -> !t1.isOpen() && first.dueTimes().contains(deadline));
    first.advance(Duration.ofSeconds(1));
    crash.get(30, TimeUnit.SECONDS);
    await().until(() -> letters.size() == 1);
    assertThat(letters.get(0).reason()).isEqualTo(DeadLetter.Reason.SHUTDOWN);
    assertThat(dir.resolve("slow.csv")).as("not finished: still in the inbox").exists();
    assertThat(dir.resolve("failed/slow.csv")).doesNotExist();

    ManualTime second = new ManualTime();
    try (Cumulus c2 = second.runtime().build()) {
      Fn<Path, Void> load2 = register(c2, FnSpec.ofConsumer("load", (Path p) ->
          runs.computeIfAbsent(p.getFileName().toString(), k -> new AtomicInteger()).incrementAndGet()));
      try (Trigger t2 = DirectoryTrigger.watch(dir).stableFor(STABLE).invoke(load2)) {
        awaitCandidate(second);
        second.advance(STABLE);
        await().until(() -> Files.exists(dir.resolve("processed/slow.csv")));
        assertThat(runs.get("done.csv")).as("finished before the crash: never again").hasValue(1);
        assertThat(runs.get("slow.csv")).as("cut short: run again, at least once").hasValue(2);
        assertThat(t2.stats().emitted()).isEqualTo(1);
      }
    }
  }

  @Test
  void namesWithSpacesAndNonAsciiCharacters_work() throws Exception {
    List<String> names = List.of("my orders 2026.csv", "Bestellungen Übersicht.csv", "订单 三月.csv",
        "emoji \uD83D\uDE00.csv", "quote ' and \" and #.csv");
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load"));
      try (Trigger t = DirectoryTrigger.watch(dir).glob("*.csv").stableFor(Duration.ZERO).invoke(load)) {
        for (String name : names) {
          renameIn(name, "content of " + name);
        }
        for (String name : names) {
          await().until(() -> Files.exists(dir.resolve(DirectoryTrigger.PROCESSED).resolve(name)));
          assertThat(read.get(name)).containsExactly("content of " + name);
        }
        assertThat(t.stats().errors()).isZero();
      }
    }
  }

  @Test
  void aFileThatVanishes_isReported_andTheTriggerGoesOn() throws Exception {
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load"));
      Fn<Path, Void> deleter = register(c, FnSpec.ofConsumer("deleter", (Path p) -> {
        try {
          Files.delete(p); // the function itself removes the file: the move has nothing to move
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }));
      Path sub = Files.createDirectory(dir.resolve("other"));
      try (Trigger t = DirectoryTrigger.watch(dir).glob("*.csv").stableFor(STABLE).invoke(load);
          Trigger t2 = DirectoryTrigger.watch(sub).stableFor(Duration.ZERO).invoke(deleter)) {
        Files.writeString(dir.resolve("gone.csv"), "soon gone");
        awaitCandidate(time);
        Files.delete(dir.resolve("gone.csv"));
        await().until(() -> t.stats().errors() == 1); // reported when the watch service says so
        time.advance(STABLE);
        renameIn("next.csv", "still working");
        awaitCandidate(time);
        time.advance(STABLE);
        await().until(() -> Files.exists(dir.resolve("processed/next.csv")));
        assertThat(read).containsOnlyKeys("next.csv");
        assertThat(t.isOpen()).isTrue();

        Files.writeString(sub.resolve("self-destructing.txt"), "x");
        await().until(() -> t2.stats().succeeded() == 1 && t2.stats().errors() == 1);
        assertThat(t2.isOpen()).isTrue();
      }
    }
  }

  @Test
  void statsCountAFile_onlyOnceItHasMoved_soAWaiterOnTheCountFindsItMoved() throws Exception {
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load").retry(RetryPolicy.none()));
      try (Trigger t = DirectoryTrigger.watch(dir).stableFor(Duration.ZERO).invoke(load)) {
        renameIn("good.csv", "id\n1\n");
        renameIn("broken.csv", "bad");

        await().until(() -> t.stats().succeeded() == 1 && t.stats().deadLettered() == 1);

        // No wait here: the counts were raised after the moves (and the error file was written first).
        assertThat(dir.resolve("processed/good.csv")).exists();
        assertThat(dir.resolve("failed/broken.csv")).exists();
        assertThat(Files.readAllLines(dir.resolve("failed/broken.csv.error.txt")).subList(0, 3))
            .containsExactly("malformed row in broken.csv", "", "file: " + dir.resolve("broken.csv"));
        assertThat(dir.resolve("good.csv")).doesNotExist();
        assertThat(dir.resolve("broken.csv")).doesNotExist();
      }
    }
  }

  @Test
  void aNameTakenInProcessed_getsASuffix() throws Exception {
    Files.createDirectories(dir.resolve("processed"));
    Files.writeString(dir.resolve("processed/daily.csv"), "yesterday");
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load"));
      try (Trigger t = DirectoryTrigger.watch(dir).stableFor(Duration.ZERO).invoke(load)) {
        renameIn("daily.csv", "today");
        await().until(() -> Files.exists(dir.resolve("processed/daily (1).csv")));
        assertThat(Files.readString(dir.resolve("processed/daily.csv"))).isEqualTo("yesterday");
        assertThat(Files.readString(dir.resolve("processed/daily (1).csv"))).isEqualTo("today");
      }
    }
  }

  @Test
  void stops_whenClosed_andWhenTheRuntimeCloses() throws Exception {
    ManualTime time = new ManualTime();
    Cumulus c = time.runtime().build();
    Fn<Path, Void> load = register(c, loader("load"));
    Trigger t = DirectoryTrigger.watch(dir).stableFor(Duration.ZERO).invoke(load);
    renameIn("one.csv", "1");
    await().until(() -> Files.exists(dir.resolve("processed/one.csv")));
    t.close();
    t.close(); // idempotent
    assertThat(t.isOpen()).isFalse();
    renameIn("two.csv", "2");
    Trigger other = DirectoryTrigger.watch(dir).stableFor(STABLE).invoke(load);
    awaitCandidate(time); // two.csv, seen by the second trigger only
    assertThat(read).containsOnlyKeys("one.csv");
    c.close();
    assertThat(other.isOpen()).as("stopped with its runtime").isFalse();
    assertThat(time.pendingTimers()).as("its check timer went with it").isZero();
    assertThatThrownBy(() -> DirectoryTrigger.watch(dir).invoke(load)).isInstanceOf(RuntimeClosedException.class);
  }

  @Test
  void whileIdle_itHoldsTheJdksWatchThread_andNoOtherPlatformThread() throws Exception {
    try (Cumulus c = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(100)).build()) {
      Fn<Path, Void> load = register(c, loader("load"));
      Set<Thread> before = Thread.getAllStackTraces().keySet();
      Trigger t = DirectoryTrigger.watch(dir).stableFor(Duration.ofMillis(50)).invoke(load);
      renameIn("a.csv", "a");
      await().until(() -> Files.exists(dir.resolve("processed/a.csv")));
      // Idle again: the runtime's carriers and timer thread go after their keep-alive; what the
      // trigger keeps is the JDK's watch-service thread. (The JDK's own virtual-thread scheduler
      // threads, ForkJoinPool-* and VirtualThread-unparker, shared by every virtual thread of the JVM,
      // and Awaitility's thread are not counted.)
      await().atMost(Duration.ofSeconds(30)).until(() -> newPlatformThreads(before),
          names -> names.equals(List.of("FileSystemWatchService")));
      t.close();
      await().atMost(Duration.ofSeconds(30)).until(() -> newPlatformThreads(before), List::isEmpty);
    }
  }

  private static List<String> newPlatformThreads(Set<Thread> before) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(th -> !before.contains(th) && th.isAlive())
        .map(Thread::getName)
        .filter(n -> !n.startsWith("ForkJoinPool") && !n.equals("VirtualThread-unparker") && !n.startsWith("awaitility"))
        .sorted().toList();
  }

  @Test
  void badOptions_areRefused() throws Exception {
    ManualTime time = new ManualTime();
    try (Cumulus c = time.runtime().build()) {
      Fn<Path, Void> load = register(c, loader("load"));
      assertThatThrownBy(() -> DirectoryTrigger.watch(dir.resolve("missing")).invoke(load))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("DirectoryTrigger cannot watch " + dir.resolve("missing") + ": it does not exist");
      Path file = Files.writeString(dir.resolve("file"), "x");
      assertThatThrownBy(() -> DirectoryTrigger.watch(file).invoke(load))
          .isInstanceOf(IllegalArgumentException.class).hasMessageEndingWith("it is not a directory");
      assertThatThrownBy(() -> DirectoryTrigger.watch(dir).glob("[")).isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("glob '[' is not a valid pattern");
      assertThatThrownBy(() -> DirectoryTrigger.watch(dir).glob("*").glob("*")).isInstanceOf(IllegalStateException.class)
          .hasMessage("glob was already set to *");
      assertThatThrownBy(() -> DirectoryTrigger.watch(dir).stableFor(Duration.ofSeconds(-1)))
          .isInstanceOf(IllegalArgumentException.class).hasMessage("stableFor must not be negative but was PT-1S");
      assertThatThrownBy(() -> DirectoryTrigger.watch(null)).isInstanceOf(NullPointerException.class).hasMessage("dir");
      assertThatThrownBy(() -> DirectoryTrigger.watch(dir).invoke(null)).isInstanceOf(NullPointerException.class)
          .hasMessage("fn");
      @SuppressWarnings("unchecked")
      Fn<Path, Void> notLocal = (Fn<Path, Void>) java.lang.reflect.Proxy.newProxyInstance(
          Fn.class.getClassLoader(), new Class<?>[] {Fn.class}, (proxy, m, args) -> null);
      assertThatThrownBy(() -> DirectoryTrigger.watch(dir).invoke(notLocal)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("a trigger needs a function registered with a Cumulus runtime in this JVM");
      DirectoryTrigger once = DirectoryTrigger.watch(dir).stableFor(STABLE);
      try (Trigger t = once.invoke(load)) {
        assertThatThrownBy(() -> once.invoke(load)).isInstanceOf(IllegalStateException.class);
      }
    }
  }
}
