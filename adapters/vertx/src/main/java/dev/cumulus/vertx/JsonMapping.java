package dev.cumulus.vertx;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidDefinitionException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.DatabindCodec;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Maps JSON to a function's declared input type and its result back to JSON, strictly: Jackson
 * databind with Vert.x's module ({@link DatabindCodec}), but no comments, no trailing tokens, no
 * unknown fields and no silent coercion (a string is not a number, {@code 1.5} is not an int).
 * Errors become {@link Failure}s whose messages name the field and the expected type by simple name,
 * never a stack trace or Jackson's echo of the input. Thread-safe.
 */
final class JsonMapping {
  /** Deepest nesting of arrays and objects accepted in a body. */
  static final int MAX_NESTING = 500;

  /** The mapping every gateway, binding and remote handle uses: an ObjectMapper is costly to copy. */
  static final JsonMapping SHARED = new JsonMapping(strict(DatabindCodec.mapper()));

  private final ObjectMapper mapper;

  JsonMapping(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  /** A strict copy of {@code base}: the base mapper (Vert.x's shared one) is left as it is. */
  static ObjectMapper strict(ObjectMapper base) {
    ObjectMapper m = base.copy();
    m.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build());
    m.configure(JsonParser.Feature.ALLOW_COMMENTS, false);
    m.configure(JsonParser.Feature.STRICT_DUPLICATE_DETECTION, true);
    m.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    m.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    m.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    m.disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
    for (LogicalType number : new LogicalType[] {LogicalType.Integer, LogicalType.Float, LogicalType.Boolean}) {
      m.coercionConfigFor(number).setCoercion(CoercionInputShape.String, CoercionAction.Fail);
      m.coercionConfigFor(number).setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
    }
    m.coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    m.coercionConfigFor(LogicalType.Boolean).setCoercion(CoercionInputShape.Integer, CoercionAction.Fail);
    return m;
  }

  /**
   * Reads an HTTP body as the input of a function taking {@code inputType}.
   *
   * @throws BadInput if the body is not JSON or does not map to the type
   */
  @Nullable Object readBody(String function, Class<?> inputType, @Nullable Buffer body) throws BadInput {
    byte[] bytes = body == null ? new byte[0] : body.getBytes();
    if (inputType == Void.class) {
      if (isBlank(bytes) || isJsonNull(bytes)) {
        return null;
      }
      throw new BadInput(new Failure(400, Failure.INVALID_INPUT,
          "function '" + function + "' takes no input: send an empty body or null"));
    }
    if (isBlank(bytes)) {
      throw new BadInput(new Failure(400, Failure.MALFORMED_JSON, "the body is empty; function '" + function
          + "' takes " + describe(inputType) + " as JSON"));
    }
    try {
      return mapper.readValue(bytes, inputType);
    } catch (IOException e) {
      throw new BadInput(failure(function, inputType, e instanceof JsonMappingException ? syntaxError(bytes, e) : e,
          bytes));
    }
  }

  /**
   * A body that does not map may not be JSON at all: databind stops at the first token it cannot
   * use (an object where a string is due), before the parser sees that the text is truncated or has trailing
   * garbage. Reads the whole text to tell a malformed body (its parse error) from one that is JSON
   * of the wrong shape ({@code mapping}). Runs only on the error path.
   */
  private IOException syntaxError(byte[] bytes, IOException mapping) {
    try (JsonParser p = mapper.getFactory().createParser(bytes)) {
      if (p.nextToken() != null) {
        p.skipChildren();
        if (p.nextToken() != null) {
          return new com.fasterxml.jackson.core.JsonParseException(p, "trailing text after the JSON value");
        }
      }
      return mapping;
    } catch (IOException syntax) {
      return syntax;
    }
  }

  /**
   * Converts an event-bus message body (a JSON value in Vert.x's form, or a {@link Buffer} of JSON
   * text) to the input of a function taking {@code inputType}.
   *
   * @throws BadInput if it does not map to the type
   */
  @Nullable Object readMessage(String function, Class<?> inputType, @Nullable Object body) throws BadInput {
    if (body instanceof Buffer b) {
      return readBody(function, inputType, b);
    }
    if (body == null) {
      return null; // the runtime says whether the function takes null
    }
    if (inputType == Void.class) {
      throw new BadInput(new Failure(400, Failure.INVALID_INPUT,
          "function '" + function + "' takes no input: send null"));
    }
    Object plain = plain(body);
    if (inputType == Object.class
        || (inputType.isInstance(body) && !(body instanceof JsonObject) && !(body instanceof JsonArray))) {
      return inputType == Object.class ? plain : body;
    }
    byte[] text = null;
    try {
      // Through the text form, so that the rules are those of HTTP bodies exactly.
      text = mapper.writeValueAsBytes(plain);
      return mapper.readValue(text, inputType);
    } catch (IOException e) {
      throw new BadInput(failure(function, inputType, e, text));
    }
  }

  /** Writes a result as JSON text (HTTP). */
  Buffer writeBody(@Nullable Object result) throws JsonProcessingException {
    return Buffer.buffer(mapper.writeValueAsBytes(result));
  }

  /**
   * Writes a value (a result, or a {@link RemoteFn}'s input) in the form the event bus carries:
   * {@code null}, a {@code String}, {@code Boolean}, {@code Integer}, {@code Long} or {@code Double},
   * a {@link JsonObject} or a {@link JsonArray}; any other number goes as a {@link Buffer} of its JSON
   * text, so that no digit is lost.
   */
  @Nullable Object toMessage(@Nullable Object value) throws JsonProcessingException {
    if (value == null || value instanceof String || value instanceof Boolean || value instanceof Integer
        || value instanceof Long || value instanceof Double || value instanceof JsonObject
        || value instanceof JsonArray) {
      return value;
    }
    Object tree = mapper.convertValue(value, Object.class);
    if (tree instanceof Map<?, ?> map) {
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) map;
      return new JsonObject(m);
    }
    if (tree instanceof List<?> list) {
      return new JsonArray(list);
    }
    if (tree == null || tree instanceof String || tree instanceof Boolean || tree instanceof Integer
        || tree instanceof Long || tree instanceof Double) {
      return tree;
    }
    return writeBody(value);
  }

  /** Reads a value the event bus carried back into {@code type} (a {@link RemoteFn}'s result). */
  <T> @Nullable T fromMessage(@Nullable Object body, Class<T> type) throws IOException {
    if (body == null || type == Void.class) {
      return null;
    }
    if (body instanceof Buffer b) {
      return mapper.readValue(b.getBytes(), type);
    }
    Object plain = plain(body);
    if (type == Object.class) {
      return type.cast(plain);
    }
    if (type.isInstance(body)) {
      return type.cast(body);
    }
    return mapper.readValue(mapper.writeValueAsBytes(plain), type);
  }

  /** JsonObject and JsonArray, deeply, as the maps and lists a function without input type gets. */
  private @Nullable Object plain(Object body) {
    if (body instanceof JsonObject || body instanceof JsonArray) {
      return mapper.convertValue(body, Object.class);
    }
    return body;
  }

  /**
   * What a client is told of a body that does not map: its {@code text} (when there is one) tells a
   * field that is missing from one that has the wrong value, which Jackson reports alike.
   */
  private Failure failure(String function, Class<?> type, IOException e, byte @Nullable [] text) {
    String target = describe(type);
    if (e instanceof StreamConstraintsException) {
      return new Failure(400, Failure.MALFORMED_JSON, "the body is nested deeper than " + MAX_NESTING
          + " levels or exceeds a JSON size limit");
    }
    if (e instanceof com.fasterxml.jackson.core.exc.InputCoercionException c) {
      return new Failure(400, Failure.INVALID_INPUT, "the body does not map to " + target + " (the input of"
          + " function '" + function + "'): a number out of range of " + describe(c.getTargetType()) + at(e));
    }
    if (e instanceof JsonEOFException) {
      return new Failure(400, Failure.MALFORMED_JSON, "the body is not valid JSON: it ends too early"
          + at(e));
    }
    if (e instanceof UnrecognizedPropertyException u) {
      return new Failure(400, Failure.INVALID_INPUT, "the body does not map to " + target + " (the input of"
          + " function '" + function + "'): unknown field '" + u.getPropertyName() + "'" + path(u));
    }
    if (e instanceof InvalidFormatException f) {
      return new Failure(400, Failure.INVALID_INPUT, "the body does not map to " + target + " (the input of"
          + " function '" + function + "'): " + quoted(f.getValue()) + " is not " + describe(f.getTargetType())
          + path(f));
    }
    if (e instanceof InvalidDefinitionException) {
      return new Failure(400, Failure.INVALID_INPUT, "function '" + function + "' takes " + target
          + ", which cannot be read from JSON (no constructor or factory Jackson can use)");
    }
    if (e instanceof ValueInstantiationException v) {
      Throwable cause = v.getCause() == null ? v : v.getCause();
      return new Failure(400, Failure.INVALID_INPUT, "the body does not map to " + target + " (the input of"
          + " function '" + function + "'): " + Failure.describe(cause) + path(v));
    }
    if (e instanceof MismatchedInputException m) {
      Class<?> expected = m.getTargetType();
      String missing = text == null ? null : missingField(text, m);
      if (missing != null) {
        return new Failure(400, Failure.INVALID_INPUT, "the body does not map to " + target + " (the input of"
            + " function '" + function + "'): the field '" + missing + "' is missing"
            + (expected == null ? "" : " (" + describe(expected) + ", which has no default)") + path(m));
      }
      return new Failure(400, Failure.INVALID_INPUT, "the body does not map to " + target + " (the input of"
          + " function '" + function + "'): expected " + (expected == null ? "another type" : describe(expected))
          + path(m));
    }
    if (e instanceof JsonMappingException m) {
      return new Failure(400, Failure.INVALID_INPUT, "the body does not map to " + target + " (the input of"
          + " function '" + function + "')" + path(m));
    }
    if (e instanceof JacksonException j) {
      // Jackson's own message without its location and its echo of the input.
      return new Failure(400, Failure.MALFORMED_JSON, "the body is not valid JSON: " + j.getOriginalMessage() + at(e));
    }
    return new Failure(400, Failure.MALFORMED_JSON, "the body could not be read as JSON");
  }

  /**
   * The name of the field at the end of {@code e}'s path if the body's object there lacks it (Jackson
   * says "null for a primitive" both for a field that is absent and for one that is null), else null.
   * Reads the body again: on the error path only.
   */
  private @Nullable String missingField(byte[] text, JsonMappingException e) {
    List<JsonMappingException.Reference> refs = e.getPath();
    if (refs.isEmpty()) {
      return null;
    }
    String field = refs.get(refs.size() - 1).getFieldName();
    if (field == null) {
      return null;
    }
    try {
      com.fasterxml.jackson.databind.JsonNode node = mapper.readTree(text);
      for (JsonMappingException.Reference r : refs.subList(0, refs.size() - 1)) {
        node = node == null ? null : r.getFieldName() != null ? node.get(r.getFieldName()) : node.get(r.getIndex());
      }
      return node != null && node.isObject() && !node.has(field) ? field : null;
    } catch (IOException | RuntimeException unreadable) {
      return null;
    }
  }

  private static String at(IOException e) {
    if (e instanceof JacksonException j && j.getLocation() != null && j.getLocation().getLineNr() > 0) {
      return " (line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() + ")";
    }
    return "";
  }

  private static String path(JsonMappingException e) {
    List<JsonMappingException.Reference> refs = e.getPath();
    if (refs.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder(" at $");
    for (JsonMappingException.Reference r : refs) {
      if (r.getFieldName() != null) {
        sb.append('.').append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        sb.append('[').append(r.getIndex()).append(']');
      }
    }
    return sb.toString();
  }

  private static String quoted(@Nullable Object value) {
    return value instanceof String s ? "\"" + Failure.truncate(s, 100) + "\"" : String.valueOf(value);
  }

  /** A type as a client can read it: its simple name, with "a JSON ..." for the JSON shapes. */
  static String describe(Class<?> type) {
    if (type == Object.class) {
      return "any JSON value";
    }
    if (type.isArray()) {
      return "an array of " + describe(type.getComponentType());
    }
    return type.getSimpleName().isEmpty() ? "an object" : type.getSimpleName();
  }

  private static boolean isBlank(byte[] bytes) {
    for (byte b : bytes) {
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        return false;
      }
    }
    return true;
  }

  private static boolean isJsonNull(byte[] bytes) {
    return new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).strip().equals("null");
  }

  /** The body cannot be the function's input; the failure says why. */
  static final class BadInput extends Exception {
    private static final long serialVersionUID = 1L;
    final transient Failure failure;

    BadInput(Failure failure) {
      super(failure.message(), null, false, false);
      this.failure = failure;
    }
  }
}
