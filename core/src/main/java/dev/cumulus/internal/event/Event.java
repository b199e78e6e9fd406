package dev.cumulus.internal.event;

import dev.cumulus.internal.CallTenant;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * One accepted event. Kept small: it may wait in a backlog or for a retry by the hundred thousand.
 * Its id is kept as the two halves of a UUID and formatted when asked for. The mutable fields are
 * written by whoever owns the event at the time (the dispatcher, the attempt's completion, the retry
 * timer), each hand-over being through a concurrent queue, a lock or a future.
 */
final class Event {
  private static final VarHandle ENDED;

  static {
    try {
      ENDED = MethodHandles.lookup().findVarHandle(Event.class, "ended", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final long idHigh;
  final long idLow;
  final @Nullable Object input;
  /** The runtime clock when it was accepted; its age counts from here. */
  final long acceptedAt;
  final EventBacklog backlog;
  final @Nullable EventListener listener;
  /** The tenant it was emitted for: its place in the backlog, and each of its attempts. */
  final @Nullable CallTenant tenant;
  long firstAttemptAt;
  long lastAttemptAt;
  /** When its retry is due (runtime clock), while it waits in the retry timer. */
  long dueAt;
  int attempts;
  @Nullable Throwable lastError;
  @SuppressWarnings("unused") // ENDED
  private volatile int ended;

  Event(@Nullable Object input, long acceptedAt, EventBacklog backlog, @Nullable EventListener listener,
      @Nullable CallTenant tenant) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    // A version 7 UUID: 48 bits of Unix milliseconds, then random bits; time-ordered to the ms.
    this.idHigh = (System.currentTimeMillis() << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
    this.idLow = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    this.input = input;
    this.acceptedAt = acceptedAt;
    this.backlog = backlog;
    this.listener = listener;
    this.tenant = tenant;
  }

  String id() {
    return new UUID(idHigh, idLow).toString();
  }

  /** Marks it ended; true only the first time, so that an event ends exactly once. */
  boolean end() {
    return ENDED.compareAndSet(this, 0, 1);
  }
}
