package dev.cumulus.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The most invocations of one function that ran at once while the window was open: what a load test
 * reports as its run's peak, apart from the function's peak since registration. Counted as the
 * function's own peak is (workers holding or taking an invocation, capped by the calls not yet
 * finished). Open one with {@link Engine#openPeakWindow}, close it when done.
 */
public final class PeakWindow implements AutoCloseable {
  private final Consumer<PeakWindow> closer;
  private final AtomicInteger peak = new AtomicInteger();

  PeakWindow(Consumer<PeakWindow> closer) {
    this.closer = closer;
  }

  /** Returns the peak so far. @return the most invocations that ran at once since the window opened */
  public int peak() {
    return peak.get();
  }

  int current() {
    return peak.get();
  }

  void offer(int running) {
    peak.accumulateAndGet(running, Math::max);
  }

  /** Stops counting. */
  @Override
  public void close() {
    closer.accept(this);
  }
}
