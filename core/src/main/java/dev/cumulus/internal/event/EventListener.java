package dev.cumulus.internal.event;

import dev.cumulus.DeadLetter;
import org.jspecify.annotations.Nullable;

/**
 * Learns how one event ended (triggers move files by it). Called once per event: on success from
 * the thread that completed the attempt, for a dead letter from the dead-letter thread just before
 * the sink. A listener that throws is logged.
 */
public interface EventListener {
  /**
   * The event succeeded.
   *
   * @param eventId its id
   * @param input its input
   */
  void succeeded(String eventId, @Nullable Object input);

  /**
   * The event was given up.
   *
   * @param letter the letter about to go to the sink
   */
  void deadLettered(DeadLetter letter);
}
