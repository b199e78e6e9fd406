package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jspecify.annotations.Nullable;

/**
 * Metering: what every function used, written where it is cheap and summed where it is read.
 *
 * <p><b>Lanes.</b> Each carrier slot has a {@link Lane}: the carrier in that slot is its only writer
 * (it, or the virtual thread mounted on it at the time, which is the same platform thread). Each
 * function has an {@link Account}: a row of counters per lane, plus a shared row that other threads
 * add to atomically. So the per-invocation counts of a busy function cost plain stores on a cache
 * line of the carrier's own, and a reader sums a handful of rows.
 *
 * <p><b>CPU.</b> Reading a thread's CPU clock is a system call (about 0.7 µs here), too dear for every
 * mounted segment. A lane reads its carrier's clock at most once every {@value #READ_INTERVAL_NANOS}
 * ns, at a segment's end, and shares the CPU used since its previous reading between the segments
 * that ran in that interval by their {@code nanoTime} lengths (a mounted virtual thread runs without
 * pause, so CPU follows time). Every nanosecond a carrier used between two readings goes to some
 * function: per-carrier totals are exact, only the split inside one interval is proportional.
 * A segment cannot use more CPU than its length: what a carrier used beyond its segments' lengths it
 * used between them (looking for work), and that goes to the runtime's own account. A long invocation
 * ends with a reading of its own ({@link Lane#readAt}), so its own CPU is exact too. Allocated bytes
 * are read at the same moments and shared the same way (a native call each: too dear per segment).
 *
 * <p><b>Reads.</b> {@link #usage} adds, under each lane's sequence lock, the function's share of what
 * the lane has not apportioned yet and the part of a segment still mounted, read from the carrier's
 * clocks: once a caller has an invocation's result, its CPU is in the stats.
 */
final class Meter {
  /** A lane reads its carrier's CPU clock at most once per this long. */
  static final long READ_INTERVAL_NANOS = 50_000;
  /** Segments a lane holds between two readings before it reads anyway. */
  private static final int MAX_PENDING = 32;

  static final int CPU = 0;
  static final int ALLOCATED = 1;
  static final int STARTED = 2;
  static final int FINISHED = 3;
  static final int SUCCESSES = 4;
  static final int FAILURES = 5;
  static final int CANCELLED = 6;
  static final int COLD_STARTS = 7;
  static final int WALL = 8;
  static final int QUEUE_WAIT = 9;
  static final int INIT = 10;
  static final int BILLED = 11;
  static final int BILLED_CPU = 12;
  /** Bytes the functions' code reported processing ({@code FnContext.addBytesProcessed}). */
  static final int BYTES_PROCESSED = 13;
  /** Longs per row: 14 counters and room enough that two rows never share a cache line. */
  private static final int STRIDE = 24;

  private static final VarHandle CELLS = MethodHandles.arrayElementVarHandle(long[].class);

  /** Whether lanes read the CPU and allocation clocks ({@link dev.cumulus.MeteringMode#EXACT}). */
  final boolean clocks;
  /**
   * The runtime's own account: its threads (the timer of idle instances), and the CPU a carrier uses
   * outside any segment (looking for work, scheduling), which is no function's.
   */
  final Account runtime;
  private final Lane[] lanes;
  /** The row of an account written atomically, by threads that are not Cumulus carriers. */
  final int sharedLane;

  /**
   * @param slots carrier slots (0 when functions run on the JDK's own scheduler)
   * @param clocks whether to read CPU and allocation clocks
   */
  Meter(int slots, boolean clocks) {
    this.clocks = clocks;
    this.runtime = new Account("cumulus-runtime", slots + 1);
    this.lanes = new Lane[slots];
    for (int i = 0; i < slots; i++) {
      lanes[i] = new Lane(i, runtime);
    }
    this.sharedLane = slots;
  }

  Lane lane(int slot) {
    return lanes[slot];
  }

  Account account(String name) {
    return new Account(name, lanes.length + 1);
  }

  /**
   * Reads an account's CPU time and allocated bytes, what the carriers have not apportioned yet
   * included: {@code out[0]} gets CPU ns, {@code out[1]} bytes.
   */
  void usage(Account a, long[] out) {
    long cpu = a.get(sharedLane, CPU);
    long allocated = a.get(sharedLane, ALLOCATED);
    long[] part = new long[2];
    for (Lane lane : lanes) {
      lane.read(a, clocks, part);
      cpu += part[0];
      allocated += part[1];
    }
    out[0] = cpu;
    out[1] = allocated;
  }

  /** Billed duration: rounded up to a whole millisecond, at least one, as the platforms bill. */
  static long billedMillis(long nanos) {
    return Math.max(1, (nanos + 999_999) / 1_000_000);
  }

  /**
   * Where one function's usage accumulates: a row of counters per lane, and the shared row. A lane's
   * row is written only on that lane's carrier; the shared row with atomic adds.
   */
  static final class Account {
    final String name;
    private final long[] cells;
    private final int shared;

    Account(String name, int rows) {
      this.name = name;
      this.shared = rows - 1;
      this.cells = new long[(rows + 1) * STRIDE]; // a leading pad row: no row shares a line with the header
    }

    private static int index(int lane, int counter) {
      return (lane + 1) * STRIDE + counter;
    }

    /** Adds to a counter of a lane's row: a plain add on the lane's carrier, atomic on the shared row. */
    void add(int lane, int counter, long delta) {
      int i = index(lane, counter);
      if (lane == shared) {
        CELLS.getAndAdd(cells, i, delta);
      } else {
        CELLS.setOpaque(cells, i, (long) CELLS.getOpaque(cells, i) + delta);
      }
    }

    long get(int lane, int counter) {
      return (long) CELLS.getOpaque(cells, index(lane, counter));
    }

    /** The sum of a counter over every row (each row read once: a value it had during the call). */
    long sum(int counter) {
      long sum = 0;
      for (int lane = 0; lane <= shared; lane++) {
        sum += get(lane, counter);
      }
      return sum;
    }

    @Override
    public String toString() {
      return "account of " + name;
    }
  }

  /**
   * The metering state of one carrier slot: its last CPU reading, the segments run since, and the
   * segment mounted now. Written by the carrier in the slot (and the virtual thread mounted on it)
   * under a sequence lock, so that a reader gets a consistent picture without the writer waiting.
   */
  @SuppressWarnings("unused") // padding
  static final class Lane {
    private static final VarHandle SEQ;

    static {
      try {
        SEQ = MethodHandles.lookup().findVarHandle(Lane.class, "seq", int.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private long p01, p02, p03, p04, p05, p06, p07;
    final int index;
    private final Account runtime;
    /** Odd while the fields below, or this lane's cells of any account, are being written. */
    private volatile int seq;
    /** The id of the carrier thread in this slot, -1 while none lives there. */
    private volatile long threadId = -1;
    private long readCpu;
    private long readAllocated;
    private long readNanos;
    private final @Nullable Account[] pendingAccounts = new Account[MAX_PENDING];
    private final long[] pendingWalls = new long[MAX_PENDING];
    private int pending;
    private long pendingWall;
    private @Nullable Account active;
    private @Nullable Object owner;
    private long pieceStart;
    private long p11, p12, p13, p14, p15, p16, p17;

    Lane(int index, Account runtime) {
      this.index = index;
      this.runtime = runtime;
    }

    private void beginWrite() {
      int s = (int) SEQ.getOpaque(this);
      SEQ.setOpaque(this, s + 1);
      VarHandle.storeStoreFence();
    }

    private void endWrite() {
      SEQ.setRelease(this, (int) SEQ.getOpaque(this) + 1);
    }

    /** A carrier starts in this slot (on the carrier). */
    void open(long carrierThreadId, boolean clocks) {
      beginWrite();
      threadId = carrierThreadId;
      readCpu = clocks ? CpuClock.currentThreadCpu() : 0;
      readAllocated = clocks ? CpuClock.currentThreadAllocated() : 0;
      readNanos = System.nanoTime();
      endWrite();
    }

    /** The carrier ends: what it ran since its last reading is apportioned now (on the carrier). */
    void close(boolean clocks) {
      boolean flush = clocks && pending > 0;
      long cpuNow = flush ? CpuClock.currentThreadCpu() : 0;
      long allocatedNow = flush ? CpuClock.currentThreadAllocated() : 0;
      beginWrite();
      if (flush) {
        distribute(cpuNow, allocatedNow, null, 0);
      }
      pending = 0;
      pendingWall = 0;
      threadId = -1;
      endWrite();
    }

    /** What runs now on this lane's carrier: the worker (or null), to find the caller of a call. */
    @Nullable Object owner() {
      return owner;
    }

    /** A segment of {@code account} starts at {@code t0}, run for {@code owner} (on the carrier). */
    void mount(Account account, @Nullable Object owner, long t0, boolean clocks) {
      if (!clocks) {
        this.owner = owner;
        return;
      }
      beginWrite();
      active = account;
      this.owner = owner;
      pieceStart = t0;
      endWrite();
    }

    /** Where the segment's part not yet apportioned starts: its start, or its last reading. */
    long pieceStart() {
      return pieceStart;
    }

    /**
     * The segment ends at {@code t1} (on the carrier). Charges its allocations, and its CPU at once
     * if the clock is due, else later.
     *
     * @return the CPU of the segment's unapportioned part: exact if the clock was read, else its length
     */
    long unmount(long t1, boolean clocks) {
      if (!clocks) {
        owner = null;
        return 0;
      }
      Account a = active;
      long wall = Math.max(0, t1 - pieceStart);
      boolean due = a == null || t1 - readNanos >= READ_INTERVAL_NANOS || pending == MAX_PENDING;
      long cpuNow = due ? CpuClock.currentThreadCpu() : 0;
      long allocatedNow = due ? CpuClock.currentThreadAllocated() : 0;
      long cpu;
      beginWrite();
      if (due) {
        cpu = distribute(cpuNow, allocatedNow, a, wall);
        readNanos = t1;
      } else {
        pendingAccounts[pending] = a;
        pendingWalls[pending++] = wall;
        pendingWall += wall;
        cpu = wall;
      }
      active = null;
      owner = null;
      endWrite();
      return cpu;
    }

    /**
     * Reads the clock now, at {@code t}, from the virtual thread mounted on this lane's carrier (a
     * long invocation ends): apportions the interval, the mounted segment's part up to {@code t}
     * included, and starts a new part there.
     *
     * @return the CPU of the mounted segment's part that ended at {@code t}
     */
    long readAt(long t) {
      long cpuNow = CpuClock.threadCpu(threadId);
      long allocatedNow = CpuClock.threadAllocated(threadId);
      beginWrite();
      long cpu = distribute(cpuNow, allocatedNow, active, Math.max(0, t - pieceStart));
      readNanos = t;
      pieceStart = t;
      endWrite();
      return cpu;
    }

    /**
     * Shares the CPU used since the last reading (now {@code cpuNow}) between the pending segments
     * and the current part, by length; the rounding rest goes to the current part (or the last
     * pending one). A segment cannot use more CPU than its length: what the carrier used beyond the
     * segments' total length it used between them, and goes to the runtime's account. So nothing is
     * lost and nothing is charged twice. Inside a write.
     *
     * @return the current part's share
     */
    private long distribute(long cpuNow, long allocatedNow, @Nullable Account current, long currentWall) {
      long total = pendingWall + currentWall;
      long used = Math.max(0, cpuNow - readCpu);
      long d = Math.min(used, total);
      long bytes = Math.max(0, allocatedNow - readAllocated);
      if (used > d) {
        runtime.add(index, CPU, used - d);
      }
      long given = 0;
      long givenBytes = 0;
      Account restTo = current;
      for (int i = 0; i < pending; i++) {
        Account a = java.util.Objects.requireNonNull(pendingAccounts[i]);
        double part = total > 0 ? (double) pendingWalls[i] / total : 0;
        long share = (long) (d * part);
        long shareBytes = (long) (bytes * part);
        a.add(index, CPU, share);
        a.add(index, ALLOCATED, shareBytes);
        given += share;
        givenBytes += shareBytes;
        pendingAccounts[i] = null;
        if (current == null) {
          restTo = a;
        }
      }
      long rest = d - given;
      (restTo != null ? restTo : runtime).add(index, CPU, rest);
      (restTo != null ? restTo : runtime).add(index, ALLOCATED, bytes - givenBytes);
      pending = 0;
      pendingWall = 0;
      readCpu = Math.max(readCpu, cpuNow);
      readAllocated = Math.max(readAllocated, allocatedNow);
      return rest;
    }

    /**
     * Adds to {@code out} what {@code a} used on this lane: its cells, its share of what the lane has
     * not apportioned yet, and the allocations of its segment mounted now.
     */
    @SuppressWarnings({"ReferenceEquality", "ThreadPriorityCheck"}) // accounts by identity; a yield after long spinning
    void read(Account a, boolean clocks, long[] out) {
      long cpuNow = -1;
      long allocatedNow = -1;
      for (int spins = 0; ; spins++) {
        int s1 = (int) SEQ.getAcquire(this);
        if ((s1 & 1) == 0) {
          long cpu = a.get(index, CPU);
          long allocated = a.get(index, ALLOCATED);
          long tid = threadId;
          boolean mine = active == a;
          for (int i = 0; i < pending && !mine; i++) {
            mine = pendingAccounts[i] == a;
          }
          if (clocks && mine && tid >= 0 && cpuNow < 0) {
            // Read the carrier's clocks outside the section (a system call), then look again.
            cpuNow = Math.max(0, CpuClock.threadCpu(tid));
            allocatedNow = Math.max(0, CpuClock.threadAllocated(tid));
            continue;
          }
          if (clocks && mine && cpuNow >= 0) {
            long now = System.nanoTime();
            long mounted = active != null ? Math.max(0, now - pieceStart) : 0;
            long total = pendingWall + mounted;
            long ours = active == a ? mounted : 0;
            for (int i = 0; i < pending; i++) {
              if (pendingAccounts[i] == a) {
                ours += pendingWalls[i];
              }
            }
            if (total > 0) {
              double part = (double) ours / total;
              cpu += (long) (Math.min(Math.max(0, cpuNow - readCpu), total) * part);
              allocated += (long) (Math.max(0, allocatedNow - readAllocated) * part);
            }
          }
          VarHandle.loadLoadFence();
          if ((int) SEQ.getOpaque(this) == s1) {
            out[0] = cpu;
            out[1] = allocated;
            return;
          }
          cpuNow = -1; // the lane moved on: its clocks are read again if still needed
        }
        if (spins > 64) {
          Thread.yield();
        } else {
          Thread.onSpinWait();
        }
      }
    }

    /**
     * The CPU {@code owner} has used on this lane since {@code from}, if it is mounted here now (for
     * CPU budgets, read from another thread); -1 if it is not.
     */
    @SuppressWarnings("ReferenceEquality") // the owner is its identity
    long liveCpu(Object owner, long from) {
      long tid = threadId;
      if (tid < 0) {
        return -1;
      }
      long cpuNow = Math.max(0, CpuClock.threadCpu(tid));
      for (;;) {
        int s1 = (int) SEQ.getAcquire(this);
        if ((s1 & 1) == 0) {
          long result = -1;
          if (this.owner == owner && active != null) {
            long now = System.nanoTime();
            long mounted = Math.max(0, now - pieceStart);
            long total = pendingWall + mounted;
            long ours = Math.max(0, now - Math.max(from, pieceStart));
            result = total > 0
                ? (long) (Math.min(Math.max(0, cpuNow - readCpu), total) * (double) ours / total) : 0;
          }
          VarHandle.loadLoadFence();
          if ((int) SEQ.getOpaque(this) == s1) {
            return result;
          }
        }
        Thread.onSpinWait();
      }
    }
  }
}
