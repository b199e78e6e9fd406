package dev.cumulus.trigger;

import dev.cumulus.Fn;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.internal.event.EventBacklog;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Emits an event of a function for every file that lands in a directory: the in-process form of
 * "a file lands in a bucket, and a function processes it".
 *
 * <pre>{@code
 * Fn<Path, Void> load = cumulus.register(FnSpec.ofConsumer("clean-and-load", (Path csv) -> load(csv)).build());
 * try (Trigger inbox = DirectoryTrigger.watch(Path.of("inbox")).glob("*.csv").invoke(load)) {
 *   ...
 * }
 * }</pre>
 *
 * <ul>
 *   <li><b>Complete files only.</b> A file is taken once its size and modification time have not
 *       changed for {@link #stableFor} (default 1 s): a file renamed into the directory is taken
 *       {@code stableFor} after it appears, one written in place once its writer has paused that
 *       long. (Java's watch service reports a rename-in and a creation alike, so both wait.) Write to
 *       a name starting with {@code .} and rename it when done: such names are never taken.
 *   <li><b>Outcome.</b> The function gets the file's absolute {@link Path} as an event, with its
 *       limits, retries and dead letters. When the event succeeds the file moves to
 *       {@code processed/}; when it is given up (retries exhausted, not retryable, expired) it moves
 *       to {@code failed/} with {@code <name>.error.txt} beside it: its first line is the error's
 *       message (so {@code head -1 failed/*.error.txt} lists why each file failed), then the file,
 *       function, event, reason, attempts and the error's stack trace. A name already taken there gets a suffix
 *       ({@code name (1).csv}). The file's dead letter still goes to the function's sink.
 *   <li><b>Start and restart.</b> Files already in the directory when the trigger starts are
 *       processed. The move is the commit point: a file is finished when it is in {@code processed/}
 *       or {@code failed/}, and a restarted trigger never sees it again. A file whose processing was
 *       cut short (a crash, or {@code close()} giving it up with reason {@code SHUTDOWN}) is still in
 *       the directory and runs again after a restart: at least once, so the function should be
 *       idempotent for a file (loading it again replaces, or is skipped). A journal was not used: it
 *       would be a second record of the same fact, which can disagree with the directory, and it
 *       cannot close the gap between the function's success and its own write either.
 *   <li><b>Robust.</b> A file that vanishes before it is taken, cannot be read (it is left where it
 *       is), or cannot be moved, is reported (logged at {@code WARNING}, counted in
 *       {@link Trigger.Stats#errors()}) and the trigger goes on. Names with spaces and non-ASCII
 *       characters work (non-ASCII needs the JVM to run in a UTF-8 locale, as for any Java program
 *       that handles such names). Subdirectories and non-regular files are ignored.
 *   <li><b>Threads.</b> While idle it holds the JDK's watch service (on Linux, one platform thread
 *       blocked on inotify) and one virtual thread parked for its events; the size checks are timers
 *       of the runtime's clock, never a polling thread. It stops when closed, and when the
 *       function's runtime closes.
 * </ul>
 *
 * <p>This builder is not thread-safe and starts one trigger; the trigger is thread-safe.
 */
public final class DirectoryTrigger {
  /** Default {@linkplain #stableFor(Duration) stability period}. */
  public static final Duration DEFAULT_STABLE_FOR = Duration.ofSeconds(1);
  /** The subdirectory files move to when their event succeeded. */
  public static final String PROCESSED = "processed";
  /** The subdirectory files move to when their event was given up. */
  public static final String FAILED = "failed";

  private final Path dir;
  private @Nullable String glob;
  private @Nullable PathMatcher matcher;
  private @Nullable Duration stableFor;
  private boolean started;

  private DirectoryTrigger(Path dir) {
    this.dir = dir;
  }

  /**
   * Starts describing a trigger on {@code dir}.
   *
   * @param dir the directory to watch; it must exist when the trigger starts
   * @return the trigger's options
   * @throws NullPointerException if {@code dir} is null
   */
  public static DirectoryTrigger watch(Path dir) {
    return new DirectoryTrigger(Objects.requireNonNull(dir, "dir"));
  }

  /**
   * Takes only the files whose name matches {@code glob} (the syntax of
   * {@link java.nio.file.FileSystem#getPathMatcher}, without its {@code glob:} prefix), such as
   * {@code "*.csv"} or {@code "*.{csv,tsv}"}. Default: every name not starting with {@code .}.
   *
   * @param glob the pattern
   * @return this
   * @throws IllegalArgumentException if the pattern is invalid
   * @throws IllegalStateException if already set
   */
  public DirectoryTrigger glob(String glob) {
    Objects.requireNonNull(glob, "glob");
    if (this.glob != null) {
      throw new IllegalStateException("glob was already set to " + this.glob);
    }
    try {
      this.matcher = dir.getFileSystem().getPathMatcher("glob:" + glob);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("glob '" + glob + "' is not a valid pattern: " + e.getMessage(), e);
    }
    this.glob = glob;
    return this;
  }

  /**
   * Sets how long a file's size and modification time must stay unchanged before it is taken.
   *
   * @param stableFor zero (take files at first sight) or more (default 1 s)
   * @return this
   * @throws IllegalArgumentException if negative or longer than about 73 years
   * @throws IllegalStateException if already set
   */
  public DirectoryTrigger stableFor(Duration stableFor) {
    Objects.requireNonNull(stableFor, "stableFor");
    if (this.stableFor != null) {
      throw new IllegalStateException("stableFor was already set to " + this.stableFor);
    }
    if (stableFor.isNegative()) {
      throw new IllegalArgumentException("stableFor must not be negative but was " + stableFor);
    }
    if (stableFor.compareTo(Duration.ofNanos(Long.MAX_VALUE >> 2)) > 0) {
      throw new IllegalArgumentException("stableFor must be at most about 73 years but was " + stableFor);
    }
    this.stableFor = stableFor;
    return this;
  }

  /**
   * Starts the trigger: creates {@code processed/} and {@code failed/} if missing, watches the
   * directory, and takes the files already in it.
   *
   * @param fn a function registered in this JVM that takes a {@link Path}
   * @return the running trigger; close it to stop
   * @throws NullPointerException if {@code fn} is null
   * @throws IllegalArgumentException if the directory does not exist or is not a directory, or
   *     {@code fn} is not a function of a runtime in this JVM (a remote handle, say)
   * @throws IllegalStateException if this builder already started a trigger
   * @throws UncheckedIOException if the subdirectories cannot be created or the directory cannot be
   *     watched
   * @throws RuntimeClosedException if the function's runtime is closed
   */
  public Trigger invoke(Fn<Path, ?> fn) {
    Objects.requireNonNull(fn, "fn");
    if (started) {
      throw new IllegalStateException("this DirectoryTrigger already started; make another with DirectoryTrigger.watch");
    }
    EventBacklog backlog = EventBacklog.of(fn);
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("DirectoryTrigger cannot watch " + dir + ": "
          + (Files.exists(dir) ? "it is not a directory" : "it does not exist"));
    }
    started = true;
    PathMatcher m = matcher;
    Duration stable = stableFor;
    return DirectoryWatch.start(backlog, dir.toAbsolutePath().normalize(), m,
        (stable == null ? DEFAULT_STABLE_FOR : stable).toNanos());
  }

  @Override
  public String toString() {
    return "DirectoryTrigger.watch(" + dir + ")" + (glob == null ? "" : ".glob(" + glob + ")")
        + (stableFor == null ? "" : ".stableFor(" + stableFor + ")");
  }
}
