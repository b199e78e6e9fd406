package dev.cumulus.trigger;

import dev.cumulus.DeadLetter;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.ThrottledException;
import dev.cumulus.UnknownFunctionException;
import dev.cumulus.internal.Clock;
import dev.cumulus.internal.event.EventBacklog;
import dev.cumulus.internal.event.EventListener;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * A running {@link DirectoryTrigger}. Files move through three states: a <em>candidate</em> (seen,
 * its size and modification time recorded, due for a check {@code stableFor} later on the runtime's
 * clock), <em>taken</em> (emitted, its event not ended) and gone (moved to {@code processed/} or
 * {@code failed/}). One {@link Alarm} serves every candidate; the checks run on a short-lived
 * virtual thread, as they touch the file system.
 */
final class DirectoryWatch implements Trigger {
  private static final System.Logger LOG = System.getLogger("dev.cumulus.trigger");
  private static final long THROTTLED_WAIT_NANOS = Duration.ofSeconds(1).toNanos();

  /** What a candidate looked like when seen, and when to look again. */
  private record Seen(long size, FileTime modified, long due) {}

  private final EventBacklog backlog;
  private final Clock clock;
  private final Path dir;
  private final Path processed;
  private final Path failed;
  private final @Nullable PathMatcher matcher;
  private final long stableFor;
  private final WatchService watcher;
  private final Alarm alarm;
  /** Keyed by file name (a one-element path, as the watch service gives it). */
  private final Map<Path, Seen> candidates = new ConcurrentHashMap<>();
  private final Set<Path> taken = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean open = new AtomicBoolean(true);
  private final LongAdder emitted = new LongAdder();
  private final LongAdder succeeded = new LongAdder();
  private final LongAdder deadLettered = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private volatile @Nullable AutoCloseable onShutdown;

  private DirectoryWatch(EventBacklog backlog, Path dir, @Nullable PathMatcher matcher, long stableFor,
      WatchService watcher) {
    this.backlog = backlog;
    this.clock = backlog.clock();
    this.dir = dir;
    this.processed = dir.resolve(DirectoryTrigger.PROCESSED);
    this.failed = dir.resolve(DirectoryTrigger.FAILED);
    this.matcher = matcher;
    this.stableFor = stableFor;
    this.watcher = watcher;
    this.alarm = new Alarm(clock, () -> Thread.ofVirtual().name("cumulus-trigger-check").start(this::checkCandidates));
  }

  static DirectoryWatch start(EventBacklog backlog, Path dir, @Nullable PathMatcher matcher, long stableFor) {
    WatchService watcher;
    try {
      Files.createDirectories(dir.resolve(DirectoryTrigger.PROCESSED));
      Files.createDirectories(dir.resolve(DirectoryTrigger.FAILED));
      watcher = dir.getFileSystem().newWatchService();
    } catch (IOException e) {
      throw new UncheckedIOException("DirectoryTrigger cannot prepare " + dir + ": " + e.getMessage(), e);
    }
    DirectoryWatch w = new DirectoryWatch(backlog, dir, matcher, stableFor, watcher);
    try {
      // Registered before the scan, so that nothing lands unseen between the two.
      dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
      Thread.ofVirtual().name("cumulus-trigger-" + backlog.functionName()).start(w::watchLoop);
    } catch (IOException e) {
      w.close();
      throw new UncheckedIOException("DirectoryTrigger cannot watch " + dir + ": " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      w.close();
      throw e;
    }
    w.onShutdown = backlog.onShutdown(w::close);
    if (!w.open.get()) {
      throw new RuntimeClosedException(backlog.functionName(), "the runtime of function '"
          + backlog.functionName() + "' is closed; DirectoryTrigger cannot start");
    }
    w.scan();
    return w;
  }

  // ---------------------------------------------------------------------------------------------
  // Seeing files

  private void watchLoop() {
    try {
      while (open.get()) {
        WatchKey key = watcher.take();
        for (WatchEvent<?> event : key.pollEvents()) {
          if (event.kind().equals(StandardWatchEventKinds.OVERFLOW)) {
            scan(); // events were lost: look at everything again
          } else if (event.context() instanceof Path name) {
            if (event.kind().equals(StandardWatchEventKinds.ENTRY_DELETE)) {
              if (candidates.remove(name) != null) {
                report(name, "vanished before it was complete");
              }
            } else {
              observe(name);
            }
          }
        }
        if (!key.reset()) {
          if (open.get()) {
            report(dir, "can no longer be watched (deleted or unmounted); the trigger stops");
          }
          close();
          return;
        }
      }
    } catch (ClosedWatchServiceException | InterruptedException e) {
      // closed
    } catch (Throwable e) {
      errors.increment();
      LOG.log(System.Logger.Level.ERROR, "DirectoryTrigger of function '" + backlog.functionName()
          + "' on " + dir + " failed and stops", e);
      close();
    }
  }

  private void scan() {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path file : files) {
        Path name = file.getFileName();
        if (name != null) {
          observe(name);
        }
      }
    } catch (IOException | RuntimeException e) {
      report(dir, "cannot be listed: " + e);
    }
  }

  private boolean wanted(Path name) {
    return !name.toString().startsWith(".") && (matcher == null || matcher.matches(name));
  }

  /** A file was created or changed: take it if it has been unchanged long enough, else wait. */
  private void observe(Path name) {
    if (!open.get() || !wanted(name) || taken.contains(name)) {
      return;
    }
    BasicFileAttributes a = attributes(name);
    if (a == null || !a.isRegularFile()) {
      return;
    }
    long now = clock.nanoTime();
    if (untouchedNanos(a) >= stableFor) {
      candidates.remove(name);
      take(name, a); // its modification time says it has not changed for stableFor already
      return;
    }
    candidates.put(name, new Seen(a.size(), a.lastModifiedTime(), now + stableFor));
    alarm.atOrBefore(now + stableFor);
  }

  private static long untouchedNanos(BasicFileAttributes a) {
    Duration d = Duration.between(a.lastModifiedTime().toInstant(), Instant.now());
    return d.isNegative() ? 0 : d.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : d.toNanos();
  }

  /** The due candidates whose size and modification time held still are taken; the others wait again. */
  private void checkCandidates() {
    if (!open.get()) {
      return;
    }
    long now = clock.nanoTime();
    long next = Long.MAX_VALUE;
    for (Map.Entry<Path, Seen> entry : new ArrayList<>(candidates.entrySet())) {
      Path name = entry.getKey();
      Seen seen = entry.getValue();
      if (seen.due() - now > 0) {
        next = Math.min(next, seen.due());
        continue;
      }
      BasicFileAttributes a = attributes(name);
      if (a == null || !a.isRegularFile()) {
        candidates.remove(name, seen);
        continue;
      }
      if (a.size() == seen.size() && a.lastModifiedTime().equals(seen.modified())) {
        if (candidates.remove(name, seen)) {
          take(name, a);
        }
      } else {
        Seen again = new Seen(a.size(), a.lastModifiedTime(), now + stableFor);
        if (candidates.replace(name, seen, again)) {
          next = Math.min(next, again.due());
        }
      }
    }
    if (next != Long.MAX_VALUE) {
      alarm.atOrBefore(next);
    }
  }

  /** The file's attributes, or null (reported) if it vanished after it was seen or cannot be read. */
  private @Nullable BasicFileAttributes attributes(Path name) {
    try {
      return Files.readAttributes(dir.resolve(name), BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      if (candidates.remove(name) != null) {
        report(name, "vanished before it was complete");
      }
      return null;
    } catch (IOException | RuntimeException e) {
      report(name, "cannot be read (" + e + "); it stays where it is");
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Taking files, and their outcome

  private void take(Path name, BasicFileAttributes a) {
    if (!open.get() || !taken.add(name)) {
      return;
    }
    Path file = dir.resolve(name);
    if (!Files.isReadable(file)) {
      taken.remove(name);
      report(name, "cannot be read; it stays where it is");
      return;
    }
    try {
      backlog.emit(file, null, null, new Outcome(name, file));
      emitted.increment();
    } catch (ThrottledException e) {
      taken.remove(name); // the function's backlog is full: look again a little later
      long due = clock.nanoTime() + Math.max(stableFor, THROTTLED_WAIT_NANOS);
      candidates.put(name, new Seen(a.size(), a.lastModifiedTime(), due));
      alarm.atOrBefore(due);
    } catch (RuntimeClosedException | UnknownFunctionException e) {
      taken.remove(name);
      close();
    } catch (RuntimeException e) {
      taken.remove(name);
      report(name, "was refused by function '" + backlog.functionName() + "': " + e.getMessage());
    }
  }

  /** How one file's event ended: move the file accordingly. */
  private final class Outcome implements EventListener {
    private final Path name;
    private final Path file;

    Outcome(Path name, Path file) {
      this.name = name;
      this.file = file;
    }

    @Override
    public void succeeded(String eventId, @Nullable Object input) {
      try {
        moveTo(processed, null);
      } finally {
        succeeded.increment(); // after the move: whoever sees the count sees the file in processed/
      }
    }

    @Override
    public void deadLettered(DeadLetter letter) {
      try {
        if (letter.reason() == DeadLetter.Reason.SHUTDOWN) {
          taken.remove(name); // not finished: it stays, and runs again when a trigger next starts
          return;
        }
        moveTo(failed, letter);
      } finally {
        deadLettered.increment(); // after the move, as for succeeded
      }
    }

    /** Moves the file (the commit point), with its error file first when it failed. */
    private void moveTo(Path target, @Nullable DeadLetter letter) {
      try {
        Files.createDirectories(target);
        Path to = unique(target, name, letter != null);
        if (letter != null) {
          Files.writeString(errorFile(to), errorText(letter, file), StandardCharsets.UTF_8);
        }
        Files.move(file, to, StandardCopyOption.ATOMIC_MOVE);
      } catch (NoSuchFileException e) {
        if (!Files.exists(file)) {
          report(name, "vanished before it could be moved to " + target.getFileName() + "/");
          release();
          return;
        }
        report(name, "cannot be moved to " + target.getFileName() + "/: " + e
            + "; it stays, and runs again when a trigger next starts");
        return; // stays taken: not run again by this trigger
      } catch (IOException | RuntimeException e) {
        report(name, "cannot be moved to " + target.getFileName() + "/: " + e
            + "; it stays, and runs again when a trigger next starts");
        return;
      }
      release();
    }

    private void release() {
      taken.remove(name);
      if (Files.exists(dir.resolve(name))) {
        observe(name); // a new file of the same name landed while this one ran
      }
    }
  }

  /** {@code dir/name}, or {@code dir/stem (n).ext} with the first n whose name (and error file) is free. */
  private static Path unique(Path dir, Path name, boolean withErrorFile) {
    Path to = dir.resolve(name);
    if (free(to, withErrorFile)) {
      return to;
    }
    String n = name.toString();
    int dot = n.lastIndexOf('.');
    String stem = dot > 0 ? n.substring(0, dot) : n;
    String ext = dot > 0 ? n.substring(dot) : "";
    for (int i = 1; ; i++) {
      to = dir.resolve(stem + " (" + i + ")" + ext);
      if (free(to, withErrorFile)) {
        return to;
      }
    }
  }

  private static boolean free(Path p, boolean withErrorFile) {
    return !Files.exists(p) && (!withErrorFile || !Files.exists(errorFile(p)));
  }

  private static Path errorFile(Path file) {
    return file.resolveSibling(file.getFileName() + ".error.txt");
  }

  /** The error's message first, so that {@code head -1 failed/*.error.txt} says why each file failed. */
  static String errorText(DeadLetter l, Path file) {
    StringWriter text = new StringWriter();
    try (PrintWriter w = new PrintWriter(text)) {
      w.println(headline(l));
      w.println();
      w.println("file: " + file);
      w.println("function: " + l.function());
      w.println("event: " + l.eventId());
      w.println("reason: " + l.reason());
      w.println("attempts: " + l.attempts());
      w.println("first attempt: " + l.firstAttempt());
      w.println("last attempt: " + l.lastAttempt());
      Throwable error = l.error();
      if (error == null) {
        w.println("error: none (no attempt failed)");
      } else {
        w.println("error:");
        error.printStackTrace(w);
      }
    }
    return text.toString();
  }

  /** One line: the last error's message (its type when it has none), or why the event was given up. */
  private static String headline(DeadLetter l) {
    Throwable error = l.error();
    if (error == null) {
      return "given up (" + l.reason() + ") after " + l.attempts() + " attempt" + (l.attempts() == 1 ? "" : "s");
    }
    String message = error.getMessage();
    String line = message == null || message.isBlank() ? error.getClass().getName() : message.strip();
    int end = line.indexOf('\n');
    return end < 0 ? line : line.substring(0, end).stripTrailing();
  }

  private void report(Path what, String problem) {
    errors.increment();
    LOG.log(System.Logger.Level.WARNING, "DirectoryTrigger of function '" + backlog.functionName() + "': "
        + (what.isAbsolute() ? what : dir.resolve(what)) + " " + problem);
  }

  // ---------------------------------------------------------------------------------------------
  // Trigger

  @Override
  public String function() {
    return backlog.functionName();
  }

  @Override
  public boolean isOpen() {
    return open.get();
  }

  @Override
  public Stats stats() {
    return new Stats(emitted.sum(), succeeded.sum(), deadLettered.sum(), 0, errors.sum());
  }

  @Override
  public void close() {
    if (!open.compareAndSet(true, false)) {
      return;
    }
    try {
      watcher.close(); // ends the JDK's watch thread, and ours (ClosedWatchServiceException)
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "closing the watch service of " + dir + " failed", e);
    }
    alarm.cancel();
    candidates.clear();
    AutoCloseable hook = onShutdown;
    if (hook != null) {
      try {
        hook.close();
      } catch (Exception e) {
        LOG.log(System.Logger.Level.DEBUG, "unregistering a trigger's shutdown hook failed", e);
      }
    }
  }

  @Override
  public String toString() {
    return "DirectoryTrigger[" + function() + ", " + dir + (open.get() ? "" : ", closed") + "]";
  }
}
