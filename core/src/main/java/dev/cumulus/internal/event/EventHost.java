package dev.cumulus.internal.event;

import dev.cumulus.DeadLetter;
import dev.cumulus.InvalidInputException;
import dev.cumulus.internal.CallTenant;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * What the event layer needs of a function, and all it knows of it: the seam between events and
 * the runtime's invocation path. The function calls back {@link EventBacklog#capacityFreed()} each
 * time one of its invocations ends, so the backlog learns of free capacity without polling.
 */
public interface EventHost {
  /** {@return the function's name} */
  String name();

  /**
   * Checks an input as a call would be checked.
   *
   * @param input the input
   * @return the exception to throw, or null when the input is fine
   */
  @Nullable InvalidInputException checkInput(@Nullable Object input);

  /**
   * Submits one attempt of an event as an invocation: counted, limited, timed out and metered like
   * any call. Unlike a call it is admitted while the runtime drains, and beyond the queue's capacity
   * (the backlog bounds events, and only submits when {@link #hasFreeSlot()} or when no attempt of
   * its own is in admission). Never throws: every outcome arrives through the future — the result,
   * the function's failure, {@code ThrottledException} only if the function can get no capacity at
   * all, {@code RuntimeClosedException} if close abandoned it, {@code UnknownFunctionException} if
   * the function was unregistered.
   *
   * @param input the event's input
   * @param tenant the tenant the event was emitted for (the attempt is a call made for it), or null
   * @return the invocation's future
   */
  CompletableFuture<@Nullable Object> submitAttempt(@Nullable Object input, @Nullable CallTenant tenant);

  /**
   * Whether one more invocation would start now rather than wait behind queued calls: the function
   * is under its limit and a worker or a runtime slot is free. Cheap and lock-free; may be stale.
   *
   * @return true if an attempt submitted now would start at once
   */
  boolean hasFreeSlot();

  /** {@return the function's event backlog} */
  EventBacklog events();

  /**
   * An event of the function was handed to its dead-letter sink (the sink returned or threw): the
   * function tells the runtime's listeners. Called on the dead-letter thread, once per letter, after
   * the letter is counted and before the event ends.
   *
   * @param letter the letter the sink got
   */
  void deadLettered(DeadLetter letter);
}
