/**
 * The project's founding scenario, in-process: order exports (CSV) land in an inbox, the
 * {@code clean-and-load} function ({@link dev.cumulus.examples.pipeline.CleanAndLoad}) validates and
 * cleans their rows and appends them to an Apache Iceberg table on the local file system, one
 * snapshot per file, and the {@code query} function ({@link dev.cumulus.examples.pipeline.OrdersQuery})
 * runs SQL over the table with embedded DuckDB. {@link dev.cumulus.examples.pipeline.IngestionPipeline}
 * runs it end to end.
 */
@NullMarked
package dev.cumulus.examples.pipeline;

import org.jspecify.annotations.NullMarked;
