package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Where the CPU time and allocated bytes of one function accumulate: a cell per carrier slot, each
 * written only by the carrier in that slot at the end of a segment (under the carrier's sequence
 * lock), and summed by readers together with the segments still running.
 */
final class FunctionMeter {
  private static final VarHandle CELLS = MethodHandles.arrayElementVarHandle(long[].class);
  // Two longs per cell, each cell on its own 128-byte stretch so carriers do not share cache lines.
  private static final int STRIDE = 16;

  final String name;
  private final long[] cells;
  private final int slots;

  FunctionMeter(String name, int slots) {
    this.name = name;
    this.slots = slots;
    this.cells = new long[(slots + 1) * STRIDE];
  }

  int slots() {
    return slots;
  }

  /** Called by the carrier in {@code slot} only. */
  void charge(int slot, long cpuNanos, long allocatedBytes) {
    int i = (slot + 1) * STRIDE;
    CELLS.setOpaque(cells, i, (long) CELLS.getOpaque(cells, i) + cpuNanos);
    CELLS.setOpaque(cells, i + 1, (long) CELLS.getOpaque(cells, i + 1) + allocatedBytes);
  }

  long cellCpu(int slot) {
    return (long) CELLS.getOpaque(cells, (slot + 1) * STRIDE);
  }

  long cellAllocated(int slot) {
    return (long) CELLS.getOpaque(cells, (slot + 1) * STRIDE + 1);
  }

  @Override
  public String toString() {
    return "meter of " + name;
  }
}
