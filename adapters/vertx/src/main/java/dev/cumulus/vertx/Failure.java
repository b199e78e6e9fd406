package dev.cumulus.vertx;

import dev.cumulus.CpuBudgetExceededException;
import dev.cumulus.CumulusException;
import dev.cumulus.FunctionFailedException;
import dev.cumulus.FunctionTimeoutException;
import dev.cumulus.InvalidInputException;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.ThrottledException;
import dev.cumulus.UnknownFunctionException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.jspecify.annotations.Nullable;

/**
 * What went wrong with a call, told the same way over HTTP and the event bus: a status (the HTTP
 * status, and the failure code of an event-bus {@link ReplyException}), a kind, and a message safe to
 * show a client (no stack trace, no class path). Over the event bus a few details ride along so that
 * {@link RemoteFn} can rebuild the exception a local call would have thrown.
 *
 * @param status the HTTP status and event-bus failure code
 * @param kind a short, stable name of the failure mode, such as {@code throttled}
 * @param message what happened, for a person
 * @param details figures that rebuild the exception on another node, or {@code null}
 */
record Failure(int status, String kind, String message, @Nullable JsonObject details) {
  static final String MALFORMED_JSON = "malformed_json";
  static final String INVALID_INPUT = "invalid_input";
  static final String UNAUTHORIZED = "unauthorized";
  static final String UNKNOWN_FUNCTION = "unknown_function";
  static final String NOT_FOUND = "not_found";
  static final String METHOD_NOT_ALLOWED = "method_not_allowed";
  static final String REQUEST_TIMEOUT = "request_timeout";
  static final String BODY_TOO_LARGE = "body_too_large";
  static final String URI_TOO_LONG = "uri_too_long";
  static final String UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type";
  static final String THROTTLED = "throttled";
  static final String HEADERS_TOO_LARGE = "headers_too_large";
  static final String FUNCTION_FAILED = "function_failed";
  static final String CPU_BUDGET_EXCEEDED = "cpu_budget_exceeded";
  static final String UNSERIALIZABLE_RESULT = "unserializable_result";
  static final String INTERNAL_ERROR = "internal_error";
  static final String CLOSING = "closing";
  static final String TIMEOUT = "timeout";
  static final String BAD_REQUEST = "bad_request";

  /** Longest message a client gets; a function's own message can be anything. */
  static final int MAX_MESSAGE = 1_000;

  Failure {
    message = truncate(message, MAX_MESSAGE);
  }

  Failure(int status, String kind, String message) {
    this(status, kind, message, null);
  }

  /** The body of an HTTP error: exactly {@code {"error": kind, "message": message}}. */
  Buffer httpBody() {
    return new JsonObject().put("error", kind).put("message", message).toBuffer();
  }

  /** The event-bus form: the HTTP body plus the details, as the message of a {@link ReplyException}. */
  ReplyException toReplyException() {
    JsonObject json = new JsonObject().put("error", kind).put("message", message);
    if (details != null) {
      json.put("details", details);
    }
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, status, json.encode());
  }

  /**
   * Translates what a call of {@code function} failed with. Cumulus's exceptions map to their status;
   * anything else is an internal error whose message says nothing of the server's insides.
   */
  static Failure of(String function, Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof InvalidInputException) {
      return new Failure(400, INVALID_INPUT, message(t));
    }
    if (t instanceof UnknownFunctionException u) {
      return new Failure(404, UNKNOWN_FUNCTION, message(u),
          new JsonObject().put("nearNames", new JsonArray(List.copyOf(u.nearNames()))));
    }
    if (t instanceof ThrottledException) {
      return new Failure(429, THROTTLED, message(t));
    }
    if (t instanceof RuntimeClosedException) {
      return new Failure(503, CLOSING, message(t));
    }
    if (t instanceof FunctionTimeoutException e) {
      return new Failure(504, TIMEOUT, message(e),
          new JsonObject().put("timeoutNanos", e.timeout().toNanos()));
    }
    if (t instanceof CpuBudgetExceededException e) {
      return new Failure(500, CPU_BUDGET_EXCEEDED, message(e), new JsonObject()
          .put("budgetNanos", e.budget().toNanos()).put("usedNanos", e.used().toNanos()));
    }
    if (t instanceof FunctionFailedException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      String type = cause instanceof RemoteFailure r ? r.type() : typeName(cause);
      String what = cause instanceof RemoteFailure r ? r.getMessage() : describe(cause);
      return new Failure(500, FUNCTION_FAILED, "function '" + function + "' failed: " + what,
          new JsonObject().put("type", type));
    }
    if (t instanceof CumulusException) {
      // The runtime's own refusals (a call that would deadlock, a chain too deep): its messages
      // name functions and limits only.
      return new Failure(500, INTERNAL_ERROR, message(t));
    }
    return new Failure(500, INTERNAL_ERROR, "internal error while calling function '" + function + "'");
  }

  /**
   * Rebuilds, on the calling node, the exception a local call would have thrown: the same type for
   * each failure mode. Failures of the event bus itself (no node serves the function, no reply in
   * time) become {@link UnknownFunctionException} and {@link CumulusException}.
   */
  static RuntimeException toException(String function, Throwable failure, Duration timeout) {
    if (!(failure instanceof ReplyException reply)) {
      return new CumulusException(function, "calling function '" + function + "' over the event bus failed: "
          + describe(failure), failure);
    }
    switch (reply.failureType()) {
      case NO_HANDLERS -> {
        return new UnknownFunctionException(function, List.of());
      }
      case TIMEOUT -> {
        return new CumulusException(function, "no reply from function '" + function + "' within " + timeout
            + ": the node serving it may have left or be overloaded; the call may or may not have run",
            reply);
      }
      case ERROR -> {
        return new CumulusException(function, "the event bus could not deliver the call of function '"
            + function + "': " + reply.getMessage(), reply);
      }
      default -> {
        // RECIPIENT_FAILURE: the serving binding's JSON error, below
      }
    }
    JsonObject json;
    try {
      json = new JsonObject(String.valueOf(reply.getMessage()));
    } catch (DecodeException | ClassCastException e) {
      return new CumulusException(function, "function '" + function + "' failed on another node (code "
          + reply.failureCode() + "): " + reply.getMessage(), reply);
    }
    String kind = json.getString("error", "");
    String message = json.getString("message", "");
    JsonObject details = json.getJsonObject("details", new JsonObject());
    return switch (kind) {
      case INVALID_INPUT, MALFORMED_JSON -> new InvalidInputException(function, message);
      case UNKNOWN_FUNCTION -> new UnknownFunctionException(function,
          details.getJsonArray("nearNames", new JsonArray()).stream().map(String::valueOf).toList());
      case THROTTLED -> new ThrottledException(function, message);
      case CLOSING -> new RuntimeClosedException(function, message);
      case TIMEOUT -> new FunctionTimeoutException(function, Duration.ofNanos(details.getLong("timeoutNanos", 0L)));
      case CPU_BUDGET_EXCEEDED -> new CpuBudgetExceededException(function,
          Duration.ofNanos(details.getLong("budgetNanos", 0L)), Duration.ofNanos(details.getLong("usedNanos", 0L)));
      case FUNCTION_FAILED -> {
        String prefix = "function '" + function + "' failed: ";
        String what = message.startsWith(prefix) ? message.substring(prefix.length()) : message;
        yield new FunctionFailedException(function, message,
            new RemoteFailure(details.getString("type", "unknown"), what));
      }
      default -> new CumulusException(function, message.isEmpty() ? "function '" + function
          + "' failed on another node (code " + reply.failureCode() + ")" : message, reply);
    };
  }

  /** A throwable's message, or its type when it has none. */
  static String message(Throwable t) {
    String m = t.getMessage();
    return m == null ? typeName(t) : m;
  }

  static Throwable unwrap(Throwable t) {
    Throwable u = t;
    while ((u instanceof CompletionException || u instanceof ExecutionException) && u.getCause() != null) {
      u = u.getCause();
    }
    return u;
  }

  /** A throwable's type (its simple name) and message: what a client may see of it. */
  static String describe(Throwable t) {
    String m = t.getMessage();
    return m == null ? typeName(t) : typeName(t) + ": " + m;
  }

  /** The simple name of a throwable's class, or of its nearest named superclass. */
  static String typeName(Throwable t) {
    Class<?> c = t.getClass();
    while (c.getSimpleName().isEmpty() && c.getSuperclass() != null) {
      c = c.getSuperclass();
    }
    return c.getSimpleName();
  }

  static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "… (" + s.length() + " characters)";
  }
}
