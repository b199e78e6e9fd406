package dev.cumulus.internal;

import dev.cumulus.DeadLetter;
import java.time.Duration;

/**
 * The runtime's one listener seam: the moments of a function's life that observers care about (the
 * lifecycle events of {@code Cumulus.subscribe}, the metrics binder, registration watchers, tests),
 * each signalled from the one component that owns the fact. Every method has an empty default.
 *
 * <p><b>Zero cost when nobody listens.</b> The runtime holds {@link #NONE} then: a call site costs a
 * field read and an empty call, allocates nothing and takes no lock. Arguments are what the caller
 * has at hand (the registration itself, a message already built, a field); figures are read by the
 * listener, from the {@link Registration}, only if it wants them.
 *
 * <p><b>Where they come from.</b> {@link Engine}: registrations and close; {@link Admission}:
 * throttles; {@link WorkerPool}: a function's first and last worker, timeouts; {@link Worker}: cold
 * starts; {@link InstancePool}: scaling from and to zero (counted in instances, as the platforms
 * count it: worker threads come and go between calls), under the pool's lock so that those two
 * reach the listener in the order they happened; the event layer: dead letters; a function's
 * {@link AdaptiveLimit} (through its worker pool): changes of an adaptive concurrency limit;
 * {@link Deployment}: the first call (or event) of a tenant.
 *
 * <p>Called on callers' threads, workers, carriers (through the instance pool), the timer and
 * dead-letter threads: an implementation must be quick, must not block, must not call back into the
 * runtime, and must not throw (what a test's listener throws is taken as the runtime's own failure
 * at that point, which is how fault-injection tests use it).
 */
public interface RuntimeEvents {
  /** Listens to nothing: what the runtime holds while nobody listens. */
  RuntimeEvents NONE = new RuntimeEvents() {};

  /**
   * A function was registered (after it became visible by name, before its provisioned instances
   * are created; never under the registration lock).
   *
   * @param fn the registration
   */
  default void registered(Registration fn) {}

  /**
   * A function was unregistered, or a registration taken back (a group registration that failed
   * halfway): it takes no more calls, and finishes those it accepted. Called after the change.
   *
   * @param fn the registration
   */
  default void unregistered(Registration fn) {}

  /**
   * An unregistered function finished everything it had accepted: its usage is final. May come on
   * any thread of the runtime (the one that ended its last work).
   *
   * @param fn the registration
   */
  default void retired(Registration fn) {}

  /**
   * A function got its first worker: it holds a thread again.
   *
   * @param fn the registration
   */
  default void firstWorker(Registration fn) {}

  /**
   * A function's last worker ended: it holds no thread (warm instances may remain).
   *
   * @param fn the registration
   */
  default void lastWorker(Registration fn) {}

  /**
   * A function that had no instance starts creating one, for a call or to provision
   * {@code minInstances} (under the instance pool's lock).
   *
   * @param fn the registration
   */
  default void scaledFromZero(Registration fn) {}

  /**
   * A function's last instance is gone: it expired, failed to initialise, was discarded, or was
   * closed (under the instance pool's lock).
   *
   * @param fn the registration
   */
  default void scaledToZero(Registration fn) {}

  /**
   * A call created a new instance: its init ran.
   *
   * @param fn the registration
   * @param initNanos how long its init ran, in nanoseconds
   */
  default void coldStart(Registration fn, long initNanos) {}

  /**
   * A call was throttled.
   *
   * @param fn the registration
   * @param reason why, as the exception says
   */
  default void throttled(Registration fn, String reason) {}

  /**
   * An invocation ran past its timeout: its caller is failed now, its code was interrupted.
   *
   * @param fn the registration
   * @param timeout the function's timeout
   */
  default void timedOut(Registration fn, Duration timeout) {}

  /**
   * An event of the function ({@code Fn.emit}) was handed to its dead-letter sink (the sink has
   * returned, or thrown). On the function's dead-letter thread.
   *
   * @param fn the registration
   * @param letter the letter the sink got
   */
  default void deadLettered(Registration fn, DeadLetter letter) {}

  /** The runtime closed: every function drained, its carriers shut down. */
  default void runtimeClosed() {}

  /**
   * A function's {@linkplain dev.cumulus.ConcurrencyLimit#adaptive() adaptive} concurrency limit
   * moved: at most once per window of its estimator (20 ms or more), in the order the changes were
   * made, by the thread of the invocation that closed the window.
   *
   * @param fn the registration
   * @param from the limit before
   * @param to the limit now, as {@code FunctionStats.concurrencyLimit()} shows it
   */
  default void concurrencyLimitChanged(Registration fn, int from, int to) {}

  /**
   * The function served a tenant for the first time: a call or an event was made for a tenant
   * ({@code CallOptions.tenant}) whose usage it keeps apart from now on, under {@code tenant}: the
   * tenant's own name, or {@code "other"} for the first tenant beyond the runtime's
   * {@code maxTenants}. So at most {@code maxTenants + 1} times per registration. Called after the
   * tenant's usage became readable ({@code Engine.tenantStatsOf}), on the caller's thread (which may
   * be an event loop or a worker).
   *
   * @param fn the registration
   * @param tenant the name its usage is kept under
   */
  default void tenantServed(Registration fn, String tenant) {}
}
