package dev.cumulus.examples.pipeline;

import java.util.Objects;

/**
 * A row that was not loaded, and why.
 *
 * @param line the line of the file it starts on (the header is line 1)
 * @param reason every problem found in it, each naming its column
 */
public record BadRow(long line, String reason) {
  /**
   * Checks the reason.
   *
   * @throws NullPointerException if {@code reason} is null
   */
  public BadRow {
    Objects.requireNonNull(reason, "reason");
  }

  @Override
  public String toString() {
    return "line " + line + ": " + reason;
  }
}
