package dev.cumulus.internal;

/**
 * The one seam through which the runtime tells observers about its functions' lives: registration,
 * scaling from and to zero, cold starts, throttles, timeouts, dead letters. Each is reported from a
 * single place in the runtime, named after it.
 *
 * <p>While nobody listens, the runtime holds {@link #NONE}, whose methods are empty: a call site then
 * costs one field read and an empty call, allocates nothing and takes no lock. An implementation is
 * called on callers' threads, workers, the timer thread, and inside the instance pool's lock (the
 * scaling calls, so that they reach observers in the order they happened): it must not block, nor
 * call back into the runtime, and must not throw.
 */
public interface LifecycleListener {
  /** Listens to nothing; what the runtime holds while nobody subscribed. */
  LifecycleListener NONE = new LifecycleListener() {};

  /** {@code fn} was registered (called under the registration lock, before provisioning). */
  default void registered(Deployment fn) {}

  /** {@code fn} was unregistered: it takes no more calls, and finishes those it accepted. */
  default void unregistered(Deployment fn) {}

  /** An unregistered {@code fn} finished what it had accepted: its usage is final. */
  default void retired(Deployment fn) {}

  /** {@code fn} had no instance and starts creating one (called under the instance pool's lock). */
  default void scaledFromZero(Deployment fn) {}

  /** A worker of {@code fn} created a new instance (its init ran for {@code initNanos}). */
  default void coldStart(Deployment fn, long initNanos) {}

  /** {@code fn}'s last instance is gone (called under the instance pool's lock). */
  default void scaledToZero(Deployment fn) {}

  /** A call of {@code fn} was refused: it is at its limits and its queue is full. */
  default void throttled(Deployment fn) {}

  /** An invocation of {@code fn} ran past its timeout; its caller is failed now. */
  default void timedOut(Deployment fn) {}

  /**
   * An event of {@code fn} was given to its dead-letter sink.
   *
   * @param eventId the event's id
   * @param attempts how many times it ran
   * @param reason why it was dead-lettered (the name of the dead letter's reason)
   */
  default void deadLettered(Deployment fn, String eventId, int attempts, String reason) {}
}
