package dev.cumulus.examples.pipeline;

import java.util.List;

/**
 * A file that is not loaded at all: not CSV text, a header that is not the orders export's, CSV that
 * cannot be parsed past some line, or too many bad rows. The table is left as it was.
 */
public final class RejectedFileException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The bad rows found before the file was rejected; empty when it was rejected as a whole. */
  private final transient List<BadRow> badRows;

  RejectedFileException(String message, List<BadRow> badRows) {
    super(message);
    this.badRows = List.copyOf(badRows);
  }

  RejectedFileException(String message, Throwable cause) {
    super(message, cause);
    this.badRows = List.of();
  }

  /**
   * Returns the bad rows found before the file was rejected.
   *
   * @return the rows, in file order; empty when the file was rejected as a whole
   */
  public List<BadRow> badRows() {
    return badRows;
  }
}
