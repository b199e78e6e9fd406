package dev.cumulus.examples.pipeline;

import dev.cumulus.Fn;
import dev.cumulus.FunctionFailedException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * A directory of files waiting for a function, drained once: what {@code DirectoryTrigger} (issue
 * 13) will do continuously, kept to its contract so that swapping one for the other is a few lines.
 * Every file matching the glob that is in the directory now is handed to the function, all at once
 * (they run under the function's limits, as emitted events will); a file whose invocation succeeds
 * moves to {@code processed/}, one whose invocation fails to {@code failed/} with
 * {@code <name>.error.txt} beside it. Files whose names start with a dot (being written) are left
 * alone. No retries: a failed file waits in {@code failed/} for a person. Not thread-safe.
 */
public final class Inbox {
  /** Subdirectory of files whose invocation succeeded. */
  public static final String PROCESSED = "processed";
  /** Subdirectory of files whose invocation failed, each with {@code <name>.error.txt}. */
  public static final String FAILED = "failed";

  private final Path dir;
  private String glob = "*";

  private Inbox(Path dir) {
    this.dir = dir;
  }

  /**
   * An inbox over a directory.
   *
   * @param dir the directory
   * @return the inbox, matching every file until {@link #glob} says otherwise
   * @throws NullPointerException if {@code dir} is null
   */
  public static Inbox of(Path dir) {
    return new Inbox(Objects.requireNonNull(dir, "dir"));
  }

  /**
   * Takes only the files whose names match a glob.
   *
   * @param pattern a {@link java.nio.file.FileSystem#getPathMatcher glob}, e.g. {@code *.csv}
   * @return this inbox
   * @throws NullPointerException if {@code pattern} is null
   */
  public Inbox glob(String pattern) {
    this.glob = Objects.requireNonNull(pattern, "pattern");
    return this;
  }

  /**
   * Hands every matching file to {@code fn} and moves it by the outcome, waiting for all of them.
   *
   * @param fn the function, input the file's path
   * @return one outcome per file, in name order
   * @throws UncheckedIOException if the directory cannot be listed or a file cannot be moved
   * @throws NullPointerException if {@code fn} is null
   */
  public List<Outcome> drain(Fn<Path, ?> fn) {
    Objects.requireNonNull(fn, "fn");
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> listing = Files.newDirectoryStream(dir, glob)) {
      for (Path file : listing) {
        if (Files.isRegularFile(file) && !file.getFileName().toString().startsWith(".")) {
          files.add(file);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
    files.sort(null);
    List<CompletableFuture<?>> calls = new ArrayList<>(files.size());
    for (Path file : files) {
      calls.add(fn.invokeAsync(file));
    }
    List<Outcome> outcomes = new ArrayList<>(files.size());
    for (int i = 0; i < files.size(); i++) {
      outcomes.add(settle(files.get(i), calls.get(i)));
    }
    return List.copyOf(outcomes);
  }

  private Outcome settle(Path file, CompletableFuture<?> call) {
    Throwable error = null;
    try {
      call.join();
    } catch (CompletionException e) {
      error = e.getCause() instanceof FunctionFailedException failed && failed.getCause() != null
          ? failed.getCause()
          : e.getCause();
    } catch (RuntimeException e) {
      error = e;
    }
    try {
      if (error == null) {
        return new Outcome(file, move(file, dir.resolve(PROCESSED)), null, null);
      }
      Path target = move(file, dir.resolve(FAILED));
      Path errorFile = target.resolveSibling(target.getFileName() + ".error.txt");
      Files.writeString(errorFile, describe(error), StandardCharsets.UTF_8);
      return new Outcome(file, target, errorFile, error);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move " + file, e);
    }
  }

  /** Moves a file into a directory, under its own name or, if that is taken, {@code name.1}, ... */
  private static Path move(Path file, Path into) throws IOException {
    Files.createDirectories(into);
    String name = file.getFileName().toString();
    Path target = into.resolve(name);
    for (int n = 1; Files.exists(target); n++) {
      target = into.resolve(name + "." + n);
    }
    return Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String describe(Throwable error) {
    StringWriter text = new StringWriter();
    text.append(String.valueOf(error.getMessage())).append("\n\n");
    error.printStackTrace(new PrintWriter(text));
    return text.toString();
  }

  /**
   * What happened to one file.
   *
   * @param file where it was
   * @param movedTo where it is now, in {@code processed/} or {@code failed/}
   * @param errorFile the {@code .error.txt} beside a failed file; null on success
   * @param error why it failed (the function's own exception); null on success
   */
  public record Outcome(Path file, Path movedTo, @Nullable Path errorFile, @Nullable Throwable error) {
    /**
     * Returns whether the function succeeded on the file.
     *
     * @return true if it moved to {@code processed/}
     */
    public boolean succeeded() {
      return error == null;
    }
  }
}
