package dev.cumulus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where {@linkplain Fn#emit events} that did not succeed go: one {@link DeadLetter} per such event.
 * Set it with {@link FnSpec.Builder#deadLetter(DeadLetterSink)}; the default is {@link #logging()}.
 *
 * <pre>{@code
 * FnSpec.of("ingest", (Path p) -> load(p))
 *     .deadLetter(DeadLetterSink.jsonLines(Path.of("dead-letters.jsonl")))
 *     .build();
 * }</pre>
 *
 * <p>A function's letters are delivered one at a time, in the order the events were given up, on a
 * virtual thread of the runtime (never an emitter's thread), so a sink may block (write a file, send
 * a message). {@link Cumulus#close()} waits for the letters of its shutdown, as long as the drain
 * timeout allows once more. A sink that throws is logged at {@code ERROR} with the whole letter and
 * counted ({@link FunctionStats#deadLetterSinkFailures()}); the event still counts as dead-lettered,
 * and nothing is retried.
 *
 * <p>An implementation shared by several functions is called from several threads at once and must
 * be thread-safe; the two built-in sinks are.
 */
@FunctionalInterface
public interface DeadLetterSink {
  /**
   * Takes one dead letter.
   *
   * @param letter the event given up
   * @throws RuntimeException if the sink failed; the runtime logs and counts it
   */
  void accept(DeadLetter letter);

  /**
   * Returns the default sink: each letter is logged at {@code WARNING} through
   * {@link System.Logger} {@code dev.cumulus.events} (the function, event id, reason, attempts and
   * error with its stack trace, and the input's {@code toString()}, cut after 1 000 characters).
   *
   * @return the sink
   */
  static DeadLetterSink logging() {
    return LoggingSink.INSTANCE;
  }

  /**
   * Returns a sink that appends each letter to {@code file} as one JSON object on one line (JSON
   * Lines), written and flushed per letter. The file and its missing parent directories are created
   * when the first letter arrives. Its fields:
   *
   * <pre>{@code
   * {"function":"ingest","eventId":"0193…","reason":"RETRIES_EXHAUSTED","attempts":3,
   *  "firstAttempt":"2026-12-02T10:15:30.123456789Z","lastAttempt":"…",
   *  "error":{"type":"java.io.IOException","message":"disk full","stackTrace":"java.io.IOException: …"},
   *  "input":…}
   * }</pre>
   *
   * <p>{@code error} is {@code null} when no attempt failed. {@code input} is written as a JSON
   * value when it is a string, number, boolean, character, enum, map, collection, array, record or
   * {@code Optional} (recursively, to a depth of 32; map keys become strings; cycles and deeper
   * values as their {@code toString()}), and otherwise as the string of its {@code toString()}. Every
   * string is escaped as JSON requires (quotes, backslashes, control characters, and unpaired
   * surrogates as {@code \}{@code uXXXX}), so each letter stays on its line whatever it holds. Lines
   * of several functions sharing the sink never interleave.
   *
   * @param file the file to append to
   * @return the sink
   * @throws NullPointerException if {@code file} is null
   * @throws IllegalArgumentException if {@code file} is an existing directory
   */
  static DeadLetterSink jsonLines(Path file) {
    Objects.requireNonNull(file, "file");
    Checks.requireArgument(!Files.isDirectory(file), "jsonLines needs a file, but %s is a directory", file);
    return new JsonLinesSink(file);
  }
}
