package dev.cumulus.internal.event;

import dev.cumulus.RetryPolicy;
import dev.cumulus.internal.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * The event layer's share of one runtime: its clock (for retry timers, ages, idempotency windows
 * and the instants of dead letters), whether it is closing, and the one retry timer all its
 * functions share.
 */
public final class EventRuntime {
  static final System.Logger LOG = System.getLogger("dev.cumulus.events");

  private final Clock clock;
  private final BooleanSupplier closing;
  final RetryTimer retries;
  private final Instant anchor;
  private final long anchorTick;
  private final ReentrantLock jitterLock = new ReentrantLock();
  private volatile @Nullable RandomGenerator jitter;

  /**
   * Creates the event layer of a runtime.
   *
   * @param clock the runtime's clock
   * @param closing whether the runtime is closing (emits are refused from then on)
   */
  public EventRuntime(Clock clock, BooleanSupplier closing) {
    this.clock = clock;
    this.closing = closing;
    this.retries = new RetryTimer(clock);
    this.anchorTick = clock.nanoTime();
    this.anchor = Instant.now();
  }

  /** {@return the runtime's clock} */
  public Clock clock() {
    return clock;
  }

  boolean isClosing() {
    return closing.getAsBoolean();
  }

  /**
   * The wall-clock instant of a reading of the runtime's clock (the two move together, so instants
   * follow a test's manual clock).
   *
   * @param tick a reading of {@link #clock()}
   * @return the instant
   */
  public Instant instant(long tick) {
    return anchor.plusNanos(tick - anchorTick);
  }

  /**
   * Draws retry jitter from {@code random} from now on (tests, with a seeded generator); by default
   * it comes from {@link ThreadLocalRandom}.
   *
   * @param random the generator; used under a lock, so it need not be thread-safe
   */
  public void useJitter(RandomGenerator random) {
    jitter = Objects.requireNonNull(random, "random");
  }

  /** Retries waiting for their timer, over every function of the runtime (tests and diagnostics). */
  public int pendingRetries() {
    return retries.size();
  }

  long backoffNanos(RetryPolicy policy, int retry) {
    RandomGenerator r = jitter;
    if (r == null) {
      return policy.backoff(retry, ThreadLocalRandom.current()).toNanos();
    }
    jitterLock.lock();
    try {
      return policy.backoff(retry, r).toNanos();
    } finally {
      jitterLock.unlock();
    }
  }
}
