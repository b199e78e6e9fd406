package dev.cumulus.internal;

/**
 * A function's calls accepted and not finished yet: queued or running. {@code accepted} is counted by
 * admission; finished calls are counted per carrier lane by whoever settles them, and summed here.
 * Callers on the hot path first try {@link #atMost()}, a bound that needs no sum: a finished count seen
 * earlier is a lower bound of it, since it only grows.
 */
final class Outstanding {
  final Counter accepted = new Counter();
  /** A value the finished count had (a lower bound of it now). */
  private final Counter finishedSeen = new Counter();
  private final Meter.Account account;

  Outstanding(Meter.Account account) {
    this.account = account;
  }

  /** Calls not finished now; refreshes the bound of {@link #atMost}. */
  long now() {
    long f = finished();
    return accepted.get() - f;
  }

  /** Calls finished (settled one way or another) now; refreshes the bound of {@link #atMost}. */
  long finished() {
    long f = account.sum(Meter.FINISHED);
    finishedSeen.set(f);
    return f;
  }

  /** An upper bound of the calls not finished, from the finished count seen last. */
  long atMost() {
    return accepted.get() - finishedSeen.get();
  }

  /** The finished count seen last (a lower bound of it now). */
  long finishedSeen() {
    return finishedSeen.get();
  }
}
