package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import org.jspecify.annotations.Nullable;

/**
 * A carrier thread of a {@link Carriers} pool. Besides carrying virtual threads it publishes the
 * segment it is running (which function, and its CPU and allocation clocks at mount) under a
 * sequence lock, so that a stats reader can add the CPU of segments still running to the totals
 * without the hot path paying for it.
 */
final class Carrier extends ForkJoinWorkerThread {
  private static final VarHandle SEQ;

  static {
    try {
      SEQ = MethodHandles.lookup().findVarHandle(Carrier.class, "seq", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final int index;
  // This thread's CPU clock at the end of its last metered segment (0: none yet), and when.
  // Written and read by this thread only.
  long lastSegmentCpu;
  long lastSegmentEnd;
  private final Carriers owner;

  // Sequence lock: odd while the fields below (or a meter cell of this carrier) are being written.
  @SuppressWarnings("unused")
  private volatile int seq;
  private @Nullable FunctionMeter active;
  private @Nullable Object activeThread;
  private long cpuAtMount;
  private long allocatedAtMount;

  Carrier(ForkJoinPool pool, Carriers owner, int index, String name) {
    super(null, pool, true);
    this.owner = owner;
    this.index = index;
    setName(name);
    setDaemon(true);
  }

  /**
   * Publishes the start of a segment charged to {@code meter}, run for {@code owner} (the segment's
   * observer: the worker, or null). Called on this thread only.
   */
  void mount(FunctionMeter meter, @Nullable Object owner, long cpu, long allocated) {
    int s = (int) SEQ.getOpaque(this);
    SEQ.setOpaque(this, s + 1);
    VarHandle.storeStoreFence();
    active = meter;
    activeThread = owner;
    cpuAtMount = cpu;
    allocatedAtMount = allocated;
    SEQ.setRelease(this, s + 2);
  }

  /** Moves the segment's usage into the meter's cell for this carrier. Called on this thread only. */
  void unmount(FunctionMeter meter, long cpu, long allocated) {
    int s = (int) SEQ.getOpaque(this);
    SEQ.setOpaque(this, s + 1);
    VarHandle.storeStoreFence();
    meter.charge(index, cpu, allocated);
    active = null;
    activeThread = null;
    SEQ.setRelease(this, s + 2);
  }

  /**
   * Reads, consistently, this carrier's cell of {@code meter} plus the part of the segment of
   * {@code meter} it is running now, if any. {@code out[0]} gets CPU ns, {@code out[1]} bytes.
   */
  void read(FunctionMeter meter, long[] out) {
    for (int spins = 0; ; spins++) {
      int s1 = (int) SEQ.getAcquire(this);
      if ((s1 & 1) == 0) {
        long cpu = meter.cellCpu(index);
        long allocated = meter.cellAllocated(index);
        if (active == meter) {
          long cpuNow = CpuClock.threadCpu(threadId());
          long allocatedNow = CpuClock.threadAllocated(threadId());
          cpu += Math.max(0, cpuNow - cpuAtMount);
          allocated += Math.max(0, allocatedNow - allocatedAtMount);
        }
        VarHandle.loadLoadFence();
        if ((int) SEQ.getOpaque(this) == s1) {
          out[0] += cpu;
          out[1] += allocated;
          return;
        }
      }
      if (spins > 64) {
        Thread.yield();
      } else {
        Thread.onSpinWait();
      }
    }
  }

  /**
   * CPU time this carrier has run of the segment it runs now for {@code owner}, or -1 if it is not
   * running one (the owner is unmounted, or runs elsewhere).
   */
  long liveCpu(Object owner) {
    for (;;) {
      int s1 = (int) SEQ.getAcquire(this);
      if ((s1 & 1) == 0) {
        long result = -1;
        if (activeThread == owner) {
          result = Math.max(0, CpuClock.threadCpu(threadId()) - cpuAtMount);
        }
        VarHandle.loadLoadFence();
        if ((int) SEQ.getOpaque(this) == s1) {
          return result;
        }
      }
      Thread.onSpinWait();
    }
  }

  @Override
  protected void onTermination(@Nullable Throwable exception) {
    owner.released(this);
  }
}
