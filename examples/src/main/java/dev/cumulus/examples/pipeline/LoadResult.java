package dev.cumulus.examples.pipeline;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What {@code clean-and-load} did with one file.
 *
 * @param file the file's name
 * @param sha256 the SHA-256 of its bytes, in hex
 * @param bytesRead bytes read from it
 * @param rowsRead data rows (lines of a quoted multi-line field count once)
 * @param rowsLoaded rows appended to the table
 * @param rowsCleaned loaded rows that cleaning changed (trimmed, upper-cased, normalised)
 * @param badRows rows not loaded, with their lines and reasons
 * @param snapshotId the snapshot that holds the file's rows
 * @param dataFiles Parquet files the load committed (zero when already loaded)
 * @param dataBytes their size
 * @param alreadyLoaded whether a file with the same bytes had been loaded before, so nothing was committed
 */
public record LoadResult(String file, String sha256, long bytesRead, int rowsRead, int rowsLoaded, int rowsCleaned,
    List<BadRow> badRows, long snapshotId, int dataFiles, long dataBytes, boolean alreadyLoaded) {
  /**
   * Copies the bad rows.
   *
   * @throws NullPointerException if a component is null
   */
  public LoadResult {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(sha256, "sha256");
    badRows = List.copyOf(badRows);
  }

  /** One line: the file, its counts and the snapshot. */
  @Override
  public String toString() {
    if (alreadyLoaded) {
      return String.format(Locale.ROOT, "%s: already loaded by snapshot %d, nothing committed", file, snapshotId);
    }
    return String.format(Locale.ROOT, "%s: %d rows, %d loaded (%d cleaned), %d rejected -> snapshot %d (%d data files)",
        file, rowsRead, rowsLoaded, rowsCleaned, badRows.size(), snapshotId, dataFiles);
  }
}
