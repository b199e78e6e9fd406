package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.MeteringMode;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** What a user writes first: register a function, invoke it, read its stats. */
class WordCountTest {
  @Test
  void invokesAFunction() {
    try (Cumulus cumulus = Cumulus.create()) {
      Fn<String, Integer> words = cumulus.register(
          FnSpec.of("word-count", (String s) -> s.split("\\s+").length).maxConcurrency(4).build());
      int n = words.invoke("a b c");
      assertEquals(3, n);

      // A function without input is invoked with null: its input type says so.
      Fn<@Nullable Void, String> hello = cumulus.register(FnSpec.ofSupplier("hello", () -> "hi").build());
      assertEquals("hi", hello.invoke(null));

      assertEquals(1, words.stats().invocations());
      assertEquals(MeteringMode.EXACT, cumulus.meteringMode());
      System.out.println("cumulus-consumer: word-count(\"a b c\") = " + n + ", metering "
          + cumulus.meteringMode());
    }
  }
}
