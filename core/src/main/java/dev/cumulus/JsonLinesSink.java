package dev.cumulus;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * {@link DeadLetterSink#jsonLines(Path)}: one JSON object per line, written by Jackson's streaming
 * generator (which escapes quotes, backslashes, control characters and unpaired surrogates), appended
 * and flushed per letter. The file is opened for each letter and closed after it: dead letters are
 * rare, and a sink has no close method that could release a long-lived descriptor.
 */
final class JsonLinesSink implements DeadLetterSink {
  private static final JsonFactory JSON = JsonFactory.builder().build();
  /** Nesting beyond this is written as the value's {@code toString()}. */
  static final int MAX_DEPTH = 32;

  private final Path file;
  /** One letter at a time: lines of functions that share this sink never interleave. */
  private final ReentrantLock lock = new ReentrantLock();

  JsonLinesSink(Path file) {
    this.file = file;
  }

  @Override
  public void accept(DeadLetter letter) {
    byte[] line = line(letter);
    lock.lock();
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      try (OutputStream out = Files.newOutputStream(file,
          StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
        out.write(line);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append dead letter " + letter.eventId() + " to " + file, e);
    } finally {
      lock.unlock();
    }
  }

  /** The letter as one line of JSON, newline included, in UTF-8. */
  static byte[] line(DeadLetter l) {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream(512);
    try (JsonGenerator g = JSON.createGenerator(buffer, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeStringField("function", l.function());
      g.writeStringField("eventId", l.eventId());
      g.writeStringField("reason", l.reason().name());
      g.writeNumberField("attempts", l.attempts());
      g.writeStringField("firstAttempt", l.firstAttempt().toString());
      g.writeStringField("lastAttempt", l.lastAttempt().toString());
      g.writeFieldName("error");
      writeError(g, l.error());
      g.writeFieldName("input");
      writeValue(g, l.input(), 0, java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    buffer.write('\n');
    return buffer.toByteArray();
  }

  private static void writeError(JsonGenerator g, @Nullable Throwable error) throws IOException {
    if (error == null) {
      g.writeNull();
      return;
    }
    g.writeStartObject();
    g.writeStringField("type", error.getClass().getName());
    String message;
    try {
      message = error.getMessage();
    } catch (RuntimeException e) {
      message = "(getMessage() threw " + e + ")";
    }
    if (message == null) {
      g.writeNullField("message");
    } else {
      g.writeStringField("message", message);
    }
    StringWriter trace = new StringWriter();
    try (PrintWriter w = new PrintWriter(trace)) {
      error.printStackTrace(w);
    } catch (RuntimeException e) {
      trace.write("(printStackTrace threw " + e + ")");
    }
    g.writeStringField("stackTrace", trace.toString());
    g.writeEndObject();
  }

  /**
   * Writes {@code value} as the JSON value it naturally is, or as the string of its
   * {@code toString()}. {@code open} holds the containers being written, to cut cycles.
   */
  private static void writeValue(JsonGenerator g, @Nullable Object value, int depth, Set<Object> open)
      throws IOException {
    if (value == null) {
      g.writeNull();
    } else if (value instanceof String s) {
      g.writeString(s);
    } else if (value instanceof Character || value instanceof Enum<?>) {
      g.writeString(value instanceof Enum<?> e ? e.name() : value.toString());
    } else if (value instanceof Boolean b) {
      g.writeBoolean(b);
    } else if (value instanceof Integer || value instanceof Long || value instanceof Short
        || value instanceof Byte) {
      g.writeNumber(((Number) value).longValue());
    } else if (value instanceof Double || value instanceof Float) {
      double d = ((Number) value).doubleValue();
      if (Double.isFinite(d)) {
        g.writeNumber(d);
      } else {
        g.writeString(value.toString()); // JSON has no NaN or Infinity
      }
    } else if (value instanceof BigDecimal d) {
      g.writeNumber(d);
    } else if (value instanceof BigInteger i) {
      g.writeNumber(i);
    } else if (value instanceof Optional<?> o) {
      writeValue(g, o.orElse(null), depth, open);
    } else if (!(value instanceof Map<?, ?> || value instanceof Collection<?> || value.getClass().isArray()
        || value instanceof Record)) {
      g.writeString(safeToString(value));
    } else if (depth >= MAX_DEPTH) {
      g.writeString(safeToString(value));
    } else if (!open.add(value)) {
      g.writeString("(cycle: " + value.getClass().getName() + ")");
    } else {
      try {
        writeContainer(g, value, depth, open);
      } finally {
        open.remove(value);
      }
    }
  }

  private static void writeContainer(JsonGenerator g, Object value, int depth, Set<Object> open)
      throws IOException {
    if (value instanceof Map<?, ?> map) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        g.writeFieldName(e.getKey() instanceof String s ? s : safeToString(e.getKey()));
        writeValue(g, e.getValue(), depth + 1, open);
      }
      g.writeEndObject();
    } else if (value instanceof Collection<?> c) {
      g.writeStartArray();
      for (Object element : c) {
        writeValue(g, element, depth + 1, open);
      }
      g.writeEndArray();
    } else if (value.getClass().isArray()) {
      g.writeStartArray();
      int n = Array.getLength(value);
      for (int i = 0; i < n; i++) {
        writeValue(g, Array.get(value, i), depth + 1, open);
      }
      g.writeEndArray();
    } else {
      RecordComponent[] components = value.getClass().getRecordComponents();
      Object[] values = new Object[components.length];
      for (int i = 0; i < components.length; i++) {
        Method accessor = components[i].getAccessor();
        try {
          if (!accessor.canAccess(value) && !accessor.trySetAccessible()) {
            g.writeString(safeToString(value)); // not ours to read: its toString() says what it is
            return;
          }
          values[i] = accessor.invoke(value);
        } catch (ReflectiveOperationException | RuntimeException e) {
          g.writeString(safeToString(value));
          return;
        }
      }
      g.writeStartObject();
      for (int i = 0; i < components.length; i++) {
        g.writeFieldName(components[i].getName());
        writeValue(g, values[i], depth + 1, open);
      }
      g.writeEndObject();
    }
  }

  /** {@code String.valueOf(value)}, or a note of what went wrong if its {@code toString()} threw. */
  static String safeToString(@Nullable Object value) {
    try {
      return String.valueOf(value);
    } catch (RuntimeException | StackOverflowError e) {
      return "(" + (value == null ? "null" : value.getClass().getName()) + ".toString() threw " + e + ")";
    }
  }

  @Override
  public String toString() {
    return "DeadLetterSink.jsonLines(" + file + ")";
  }
}
