package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DeadLetterSink#jsonLines}: one valid JSON object per line, whatever the letter holds. */
class JsonLinesSinkTest {
  private static final JsonFactory JSON = new JsonFactory();
  private static final Instant T0 = Instant.parse("2026-12-02T10:15:30.123456789Z");

  static final List<String> HOSTILE = List.of(
      "plain",
      "quote \" and backslash \\ and slash /",
      "new\nline, carriage\rreturn, tab\t, form\ffeed, backspace\b",
      controlCharacters(),
      "NUL \u0000 in the middle",
      "DEL \u007f and C1 \u0085 and line separators \u2028 \u2029",
      "lone high surrogate \uD800 here",
      "lone low surrogate \uDC00 here",
      "reversed pair \uDC00\uD800",
      "high at the end \uD83D",
      "\uDC00 low at the start",
      "a real pair \uD83D\uDE00 and non-ASCII é 中 ü",
      "</script><script>alert(1)</script>",
      "{\"not\": \"an object\"}",
      "",
      "x".repeat(100_000));

  private static String controlCharacters() {
    StringBuilder sb = new StringBuilder();
    for (char ch = 0; ch < 32; ch++) {
      sb.append(ch);
    }
    return sb.toString();
  }

  private static DeadLetter letter(String eventId, Object input, Throwable error) {
    return new DeadLetter("f", eventId, input, 3, T0, T0.plusSeconds(2), error, DeadLetter.Reason.RETRIES_EXHAUSTED);
  }

  @Test
  void hostileStrings_areEscaped_oneLetterPerLine_andReadBackExactly(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("dead.jsonl");
    DeadLetterSink sink = DeadLetterSink.jsonLines(file);
    for (String s : HOSTILE) {
      sink.accept(letter(s, s, new IllegalStateException(s)));
    }
    byte[] bytes = Files.readAllBytes(file);
    // The file is valid UTF-8 (unpaired surrogates are escaped, never written raw).
    StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
    List<String> lines = lines(bytes);
    assertThat(lines).hasSize(HOSTILE.size());
    for (int i = 0; i < HOSTILE.size(); i++) {
      Map<?, ?> o = (Map<?, ?>) parse(lines.get(i));
      String expected = HOSTILE.get(i);
      assertThat(o.get("eventId")).as("line %s", i).isEqualTo(expected);
      assertThat(o.get("input")).as("line %s", i).isEqualTo(expected);
      Map<?, ?> error = (Map<?, ?>) o.get("error");
      assertThat(error.get("type")).isEqualTo("java.lang.IllegalStateException");
      assertThat(error.get("message")).as("line %s", i).isEqualTo(expected);
      assertThat((String) error.get("stackTrace")).startsWith("java.lang.IllegalStateException")
          .contains("JsonLinesSinkTest");
      assertThat(o.get("function")).isEqualTo("f");
      assertThat(o.get("reason")).isEqualTo("RETRIES_EXHAUSTED");
      assertThat(o.get("attempts")).isEqualTo(3L);
      assertThat(o.get("firstAttempt")).isEqualTo("2026-12-02T10:15:30.123456789Z");
      assertThat(o.get("lastAttempt")).isEqualTo("2026-12-02T10:15:32.123456789Z");
    }
  }

  record Order(String id, int quantity, List<String> tags, Map<String, Object> extra) {}

  enum Color { RED }

  static final class Opaque {
    @Override
    public String toString() {
      return "opaque \"thing\"\n";
    }
  }

  static final class Broken {
    @Override
    public String toString() {
      throw new IllegalStateException("no toString");
    }
  }

  @Test
  void inputs_areWrittenAsTheJsonValuesTheyAre(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("dead.jsonl");
    DeadLetterSink sink = DeadLetterSink.jsonLines(file);
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("nested", List.of(1, 2.5, true));
    extra.put("none", null);
    Map<Object, Object> keys = new LinkedHashMap<>();
    keys.put(1, "int key");
    keys.put(Color.RED, "enum key");
    List<Object> inputs = new ArrayList<>();
    inputs.add(new Order("o-1", 3, List.of("a", "b\"c"), extra));
    inputs.add(new int[] {1, 2, 3});
    inputs.add(new String[] {"x", null});
    inputs.add(keys);
    inputs.add(42L);
    inputs.add(new BigDecimal("12345678901234567890.123456789"));
    inputs.add(Double.NaN);
    inputs.add(Double.NEGATIVE_INFINITY);
    inputs.add(true);
    inputs.add('c');
    inputs.add(Color.RED);
    inputs.add(Optional.of("present"));
    inputs.add(new Opaque());
    inputs.add(new Broken());
    inputs.add(null);
    for (Object input : inputs) {
      sink.accept(letter("e", input, null));
    }
    List<Object> read = new ArrayList<>();
    for (String line : lines(Files.readAllBytes(file))) {
      Map<?, ?> o = (Map<?, ?>) parse(line);
      assertThat(o.containsKey("error")).isTrue();
      assertThat(o.get("error")).isNull();
      read.add(o.get("input"));
    }
    Map<String, Object> order = new LinkedHashMap<>();
    order.put("id", "o-1");
    order.put("quantity", 3L);
    order.put("tags", List.of("a", "b\"c"));
    Map<String, Object> extraRead = new LinkedHashMap<>();
    extraRead.put("nested", List.of(1L, 2.5, true));
    extraRead.put("none", null);
    order.put("extra", extraRead);
    assertThat(read.get(0)).isEqualTo(order);
    assertThat(read.get(1)).isEqualTo(List.of(1L, 2L, 3L));
    assertThat(read.get(2)).isEqualTo(java.util.Arrays.asList("x", null));
    assertThat(read.get(3)).isEqualTo(Map.of("1", "int key", "RED", "enum key"));
    assertThat(read.get(4)).isEqualTo(42L);
    assertThat(read.get(5)).isEqualTo(new BigDecimal("12345678901234567890.123456789"));
    assertThat(read.get(6)).isEqualTo("NaN");
    assertThat(read.get(7)).isEqualTo("-Infinity");
    assertThat(read.get(8)).isEqualTo(true);
    assertThat(read.get(9)).isEqualTo("c");
    assertThat(read.get(10)).isEqualTo("RED");
    assertThat(read.get(11)).isEqualTo("present");
    assertThat(read.get(12)).isEqualTo("opaque \"thing\"\n");
    assertThat((String) read.get(13)).startsWith("(dev.cumulus.JsonLinesSinkTest$Broken.toString() threw");
    assertThat(read.get(14)).isNull();
  }

  @Test
  void cyclesAndDeepNesting_endAsStrings_notAsAStackOverflow(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("dead.jsonl");
    DeadLetterSink sink = DeadLetterSink.jsonLines(file);
    List<Object> cyclic = new ArrayList<>();
    cyclic.add("first");
    cyclic.add(cyclic);
    List<Object> deep = new ArrayList<>();
    List<Object> inner = deep;
    for (int i = 0; i < 10_000; i++) {
      List<Object> next = new ArrayList<>();
      inner.add(next);
      inner = next;
    }
    sink.accept(letter("cycle", cyclic, null));
    sink.accept(letter("deep", deep, null));
    List<String> lines = lines(Files.readAllBytes(file));
    assertThat(lines).hasSize(2);
    assertThat(parse(lines.get(0))).isInstanceOf(Map.class);
    assertThat(((Map<?, ?>) parse(lines.get(0))).get("input"))
        .isEqualTo(List.of("first", "(cycle: java.util.ArrayList)"));
    assertThat(parse(lines.get(1))).isInstanceOf(Map.class);
  }

  @Test
  void letters_areAppended_andFlushedOneByOne_andParentDirectoriesCreated(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("a/b/dead.jsonl");
    DeadLetterSink first = DeadLetterSink.jsonLines(file);
    first.accept(letter("1", "one", null));
    assertThat(lines(Files.readAllBytes(file))).hasSize(1); // on disk before the next letter
    DeadLetterSink second = DeadLetterSink.jsonLines(file); // a restarted program: appends
    second.accept(letter("2", "two", null));
    first.accept(letter("3", "three", null));
    List<String> lines = lines(Files.readAllBytes(file));
    assertThat(lines).hasSize(3);
    assertThat(lines.stream().<Object>map(l -> ((Map<?, ?>) parse(l)).get("eventId"))).containsExactly("1", "2", "3");
    assertThat(first.toString()).isEqualTo("DeadLetterSink.jsonLines(" + file + ")");
  }

  @Test
  void aFileThatCannotBeWritten_failsTheSink_withTheFileNamed(@TempDir Path dir) throws Exception {
    Path blocker = dir.resolve("not-a-dir");
    Files.writeString(blocker, "x");
    DeadLetterSink sink = DeadLetterSink.jsonLines(blocker.resolve("dead.jsonl"));
    assertThatThrownBy(() -> sink.accept(letter("e1", "x", null))).isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("cannot append dead letter e1 to " + blocker.resolve("dead.jsonl"));
  }

  @Test
  void endToEnd_aFunctionsDeadLettersLandInTheFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("dead.jsonl");
    try (Cumulus c = Cumulus.create()) {
      Fn<String, String> f = c.register(FnSpec.<String, String>of("ingest", (String s) -> {
        throw new IllegalArgumentException("bad \"" + s + "\"\n");
      }).retry(RetryPolicy.none()).deadLetter(DeadLetterSink.jsonLines(file)).build());
      String id = f.emit("row\u2028\uD800");
      org.awaitility.Awaitility.await().until(() -> f.stats().eventsDeadLettered() == 1);
      Map<?, ?> o = (Map<?, ?>) parse(lines(Files.readAllBytes(file)).get(0));
      assertThat(o.get("eventId")).isEqualTo(id);
      assertThat(o.get("function")).isEqualTo("ingest");
      assertThat(o.get("attempts")).isEqualTo(1L);
      assertThat(o.get("input")).isEqualTo("row\u2028\uD800");
      assertThat(((Map<?, ?>) o.get("error")).get("message")).isEqualTo("bad \"row\u2028\uD800\"\n");
    }
  }

  /** Lines split on '\n' only, as a JSON Lines reader does. */
  static List<String> lines(byte[] bytes) {
    String all = new String(bytes, StandardCharsets.UTF_8);
    assertThat(all).endsWith("\n");
    return List.of(all.substring(0, all.length() - 1).split("\n", -1));
  }

  static Object parse(String line) {
    try (JsonParser p = JSON.createParser(line)) {
      p.nextToken();
      Object value = read(p);
      assertThat(p.nextToken()).as("one value per line").isNull();
      return value;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Object read(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    switch (t) {
      case START_OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        while (p.nextToken() != JsonToken.END_OBJECT) {
          String name = p.currentName();
          p.nextToken();
          m.put(name, read(p));
        }
        return m;
      }
      case START_ARRAY -> {
        List<Object> l = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          l.add(read(p));
        }
        return l;
      }
      case VALUE_STRING -> {
        return p.getText();
      }
      case VALUE_NUMBER_INT -> {
        return p.getLongValue();
      }
      case VALUE_NUMBER_FLOAT -> {
        BigDecimal d = p.getDecimalValue();
        return d.scale() > 3 || d.precision() > 15 ? d : p.getDoubleValue();
      }
      case VALUE_TRUE -> {
        return true;
      }
      case VALUE_FALSE -> {
        return false;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw new IllegalStateException("unexpected " + t);
    }
  }
}
