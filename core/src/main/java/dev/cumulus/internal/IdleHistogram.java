package dev.cumulus.internal;

import org.jspecify.annotations.Nullable;

/**
 * The hybrid histogram policy of Shahrad et al., "Serverless in the Wild" (USENIX ATC 2020), for
 * one function: a histogram of its idle times (time from the end of one busy period to the start of
 * the next), and from it, when the function becomes idle, how long to keep its instances, or when
 * to create them again.
 *
 * <p>As in the paper: {@value #BINS} bins of equal width over the range (1 minute for the default
 * 4 hours); the head is the 5th percentile's bin (its lower edge, less a 10 % margin), the tail the
 * 99th percentile's (its upper edge, plus 10 %); when the head is past the first bin, instances are
 * unloaded (the pool waits a second first: see {@link #sameBurstNanos}) and pre-warmed at the head,
 * kept until the tail; otherwise kept until the tail; and a fixed keep-alive while the histogram is
 * not representative. Not representative here: fewer
 * than {@value #MIN_SAMPLES} idle times, a 99th percentile beyond the range (the paper turns to a
 * time-series forecast then; this falls back), or a coefficient of variation of the bin counts under
 * {@value #MIN_CV} (no pattern). Two additions for an in-process runtime: idle times under a second
 * are not recorded (a burst of calls milliseconds apart would otherwise fill the first bin and hide
 * the gaps between bursts that decide a keep-alive), and counts are halved once they reach
 * {@value #AGE_AT} in all, so the histogram follows a pattern that changes.
 *
 * <p>Not thread-safe: its owner serialises {@link #record} and {@link #decide}. Not final only so
 * that {@code InstancePoolTest} can script decisions while threads race through the pool.
 */
class IdleHistogram {
  static final int BINS = 240;
  static final int MIN_SAMPLES = 10;
  static final double MIN_CV = 2.0;
  static final long MIN_IDLE_NANOS = 1_000_000_000L;
  static final int AGE_AT = 1_000;
  static final double HEAD = 0.05;
  static final double TAIL = 0.99;
  static final double MARGIN = 0.10;

  /** What to do with a function's idle instances when it becomes idle. */
  record Decision(long preWarmAfterNanos, long keepNanos, boolean learnt) {
    /** Keep idle instances {@code keepNanos} (from when each became idle): the fallback or the tail. */
    static Decision keep(long keepNanos, boolean learnt) {
      return new Decision(0, keepNanos, learnt);
    }

    /**
     * Whether instances are unloaded and created again {@link #preWarmAfterNanos} after the function
     * became idle, then kept {@link #keepNanos} more.
     */
    boolean preWarms() {
      return preWarmAfterNanos > 0;
    }
  }

  private final long rangeNanos;
  private final long binNanos;
  private final long fallbackNanos;
  private final long minIdleNanos;
  private final int[] bins = new int[BINS];
  private int inRange;
  private int beyond;
  /** The decision for the counts as they are; null once a new idle time changed them. */
  private @Nullable Decision decision;

  IdleHistogram(long rangeNanos, long fallbackNanos) {
    this(rangeNanos, fallbackNanos, MIN_IDLE_NANOS);
  }

  /** @param minIdleNanos idle times shorter than this are not recorded (tests set it lower) */
  IdleHistogram(long rangeNanos, long fallbackNanos, long minIdleNanos) {
    this.rangeNanos = rangeNanos;
    this.binNanos = Math.max(1, rangeNanos / BINS);
    this.fallbackNanos = fallbackNanos;
    this.minIdleNanos = minIdleNanos;
  }

  /** Records an idle time; one under a second is not a pattern anyone keeps instances for. */
  void record(long idleNanos) {
    if (idleNanos < minIdleNanos) {
      return;
    }
    decision = null;
    if (idleNanos >= rangeNanos) {
      beyond++;
    } else {
      bins[(int) (idleNanos / binNanos)]++;
      inRange++;
    }
    if (inRange + beyond >= AGE_AT) {
      inRange = 0;
      for (int i = 0; i < BINS; i++) {
        bins[i] /= 2;
        inRange += bins[i];
      }
      beyond /= 2;
    }
  }

  /**
   * Idle times shorter than this are not recorded: calls of one burst, not the gap between two.
   * Instances are kept at least this long after the function becomes idle, whatever the decision.
   */
  long sameBurstNanos() {
    return minIdleNanos;
  }

  /** Idle times recorded (as aged), in range and beyond. */
  int samples() {
    return inRange + beyond;
  }

  /**
   * The policy now. Computed again only after an idle time was recorded: a function called in a
   * tight loop becomes idle on every call, and its sub-second idle times change nothing.
   */
  Decision decide() {
    Decision d = decision;
    if (d == null) {
      d = compute();
      decision = d;
    }
    return d;
  }

  private Decision compute() {
    int n = inRange + beyond;
    if (n < MIN_SAMPLES) {
      return Decision.keep(fallbackNanos, false);
    }
    int tailBin = bin(TAIL, n);
    if (tailBin < 0 || coefficientOfVariation() < MIN_CV) {
      return Decision.keep(fallbackNanos, false); // beyond the range, or no pattern
    }
    int headBin = bin(HEAD, n);
    long tail = (long) ((tailBin + 1) * binNanos * (1 + MARGIN));
    if (headBin >= 1) {
      long head = (long) (headBin * binNanos * (1 - MARGIN));
      return new Decision(head, tail - head, true);
    }
    return Decision.keep(tail, true);
  }

  /** The bin holding the {@code q} quantile of {@code n} idle times, or -1 if it is beyond the range. */
  private int bin(double q, int n) {
    long rank = (long) Math.ceil(q * n);
    long seen = 0;
    for (int i = 0; i < BINS; i++) {
      seen += bins[i];
      if (seen >= rank && seen > 0) {
        return i;
      }
    }
    return -1;
  }

  private double coefficientOfVariation() {
    double mean = (double) inRange / BINS;
    if (mean == 0) {
      return 0;
    }
    double squares = 0;
    for (int c : bins) {
      squares += (c - mean) * (c - mean);
    }
    return Math.sqrt(squares / BINS) / mean;
  }

  @Override
  public String toString() {
    return "IdleHistogram[samples=" + samples() + ", beyond=" + beyond + ", decision=" + decide() + "]";
  }
}
