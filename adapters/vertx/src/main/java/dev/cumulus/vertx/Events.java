package dev.cumulus.vertx;

import dev.cumulus.Fn;
import org.jspecify.annotations.Nullable;

/**
 * Where the adapter hands an event to the runtime: {@code POST /functions/{name}/events} and an
 * event-bus message with header {@code cumulus-event: true} both come here, after their input has
 * been read and checked, and answer with the id this returns (202 {@code {"eventId": ...}}, or the
 * id as the reply). Failures map as for invocations (429 when the backlog is full, 503 closing, 400
 * invalid input).
 */
final class Events {
  private Events() {}

  /**
   * Accepts an event for {@code fn} and returns its id.
   *
   * <p>Cumulus has no {@code Fn.emit} yet (the events issue adds it): until then this throws, which
   * both routes answer with 501 {@code not_implemented}. When it lands, the body below becomes
   * {@code return fn.emit(input);} and nothing else in the adapter changes.
   *
   * @throws UnsupportedOperationException until {@code Fn.emit} exists
   */
  @SuppressWarnings("DoNotCallSuggester") // it throws only until Fn.emit exists; then it returns the id
  static String emit(Fn<@Nullable Object, @Nullable Object> fn, @Nullable Object input) {
    throw new UnsupportedOperationException("events are not available yet: this Cumulus version has no"
        + " Fn.emit; invoke function '" + fn.name() + "' with POST /functions/" + fn.name()
        + " (or an event-bus request without the cumulus-event header) instead");
  }
}
