package dev.cumulus.examples.pipeline;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes each function read, the third billing dimension beside requests and CPU (query engines bill
 * scans by the byte). Until Cumulus meters it (a {@code FunctionStats} figure and a
 * {@code PriceModel} dimension), the pipeline's functions report their bytes here themselves.
 * Thread-safe.
 */
public final class BytesProcessed {
  private final ConcurrentHashMap<String, LongAdder> byFunction = new ConcurrentHashMap<>();

  /**
   * Adds bytes to a function's total.
   *
   * @param function the function's name
   * @param bytes bytes it read
   * @throws NullPointerException if {@code function} is null
   * @throws IllegalArgumentException if {@code bytes} is negative
   */
  public void add(String function, long bytes) {
    Objects.requireNonNull(function, "function");
    if (bytes < 0) {
      throw new IllegalArgumentException("bytes must not be negative but was " + bytes);
    }
    byFunction.computeIfAbsent(function, f -> new LongAdder()).add(bytes);
  }

  /**
   * Returns a function's total.
   *
   * @param function the function's name
   * @return its bytes, zero if it reported none
   */
  public long of(String function) {
    LongAdder bytes = byFunction.get(function);
    return bytes == null ? 0 : bytes.sum();
  }

  /**
   * Returns every function's total.
   *
   * @return totals by function name, sorted
   */
  public Map<String, Long> snapshot() {
    Map<String, Long> totals = new TreeMap<>();
    byFunction.forEach((function, bytes) -> totals.put(function, bytes.sum()));
    return totals;
  }
}
