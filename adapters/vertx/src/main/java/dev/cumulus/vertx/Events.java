package dev.cumulus.vertx;

import dev.cumulus.CallOptions;
import dev.cumulus.Fn;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Where the adapter hands an event to the runtime: {@code POST /functions/{name}/events} and an
 * event-bus message with header {@code cumulus-event: true} both come here, after their input has
 * been read and checked, and answer with the id {@link Fn#emit} returns (202
 * {@code {"eventId": ...}}, or the id as the reply). Failures map as for invocations (429 when the
 * backlog is full, 503 closing, 400 invalid input, 404 unregistered meanwhile).
 */
final class Events {
  /** Longest idempotency key: {@link Fn#emit(Object, String)}'s limit. */
  static final int MAX_KEY_LENGTH = 256;

  private Events() {}

  /**
   * Accepts an event for {@code fn} and returns its id; with a key, at most once per key (of the
   * tenant) within the function's idempotency window (a duplicate gets the first event's id).
   *
   * @param key the idempotency key, checked by {@link #key}, or null
   * @param options the event's options: its tenant, from the request's header
   * @throws RuntimeException what {@link Fn#emit} throws
   */
  static String emit(Fn<@Nullable Object, @Nullable Object> fn, @Nullable Object input, @Nullable String key,
      CallOptions options) {
    return key == null ? fn.emit(input, options) : fn.emit(input, key, options);
  }

  /**
   * Reads an idempotency key from the values of its header: none is no key. A value in double quotes
   * is read as a structured-field string (RFC 8941, the form of the IETF's {@code Idempotency-Key}
   * draft): the quotes are not part of the key and {@code \"} and {@code \\} are unescaped; any
   * other value is the key as it is.
   *
   * @param function the function's name, for the message
   * @param header the header's name, for the message
   * @param values the header's values (more than one is an error)
   * @return the key, or null if the header is absent
   * @throws JsonMapping.BadInput (400 {@code bad_request}) if the header is repeated, empty, longer
   *     than {@value #MAX_KEY_LENGTH} characters, or a malformed quoted string
   */
  static @Nullable String key(String function, String header, List<String> values) throws JsonMapping.BadInput {
    if (values.isEmpty()) {
      return null;
    }
    if (values.size() > 1) {
      throw badKey(function, "the header " + header + " appears " + values.size() + " times; send one");
    }
    String raw = values.get(0).strip();
    String key = raw.length() >= 2 && raw.charAt(0) == '"' ? unquote(raw) : raw;
    if (key == null) {
      throw badKey(function, "the header " + header + " starts with a double quote but is not a"
          + " well-formed quoted string");
    }
    if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
      throw badKey(function, "the header " + header + " must hold 1 to " + MAX_KEY_LENGTH
          + " characters but held " + key.length());
    }
    return key;
  }

  /** Checks a key given to {@link RemoteFn}, as the serving node would. */
  static void checkKey(String key) {
    if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
      throw new IllegalArgumentException("idempotencyKey must be 1 to " + MAX_KEY_LENGTH
          + " characters but was " + key.length() + " characters long");
    }
  }

  /** The content of an RFC 8941 string {@code "..."}, or null if it is not one. */
  private static @Nullable String unquote(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        if (i + 1 >= s.length() || (s.charAt(i + 1) != '"' && s.charAt(i + 1) != '\\')) {
          return null;
        }
        out.append(s.charAt(++i));
      } else if (c == '"') {
        return i == s.length() - 1 ? out.toString() : null;
      } else {
        out.append(c);
      }
    }
    return null; // no closing quote
  }

  private static JsonMapping.BadInput badKey(String function, String why) {
    return new JsonMapping.BadInput(new Failure(400, Failure.BAD_REQUEST, why + " (an event of function '"
        + function + "')"));
  }
}
