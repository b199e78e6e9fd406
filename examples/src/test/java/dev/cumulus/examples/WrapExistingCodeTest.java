package dev.cumulus.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WrapExistingCodeTest {
  @Test
  void example_showsTheThreeDoors() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    WrapExistingCode.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(out);
    assertThat(out)
        .contains("functions: [Thumbnails.resize, area]")
        .contains("Thumbnails.resize(\"cat.png\") = cat@128px.png")
        .contains("area(3, 4)                   = 12")
        .contains("InvalidInputException: function 'area' expects args[0] of type int but got java.lang.String")
        .contains("functions: [Inventory.reserve, Inventory.restock, Inventory.stock]")
        .contains("inventory.stock(\"apple\")      = 10")
        .contains("inventory.reserve(\"apple\", 3) = reserved 3 of apple")
        .contains("inventory.stock(\"apple\")      = 7")
        .contains("IllegalArgumentException (declared, as is): quantity must be positive but was 0")
        .contains("stats of Inventory.stock: 2 invocations, 2 ok")
        .contains("invokeAll of 8 tasks         = [1, 4, 9, 16, 25, 36, 49, 64]")
        .contains("stats of reports: 8 invocations, 8 ok")
        .contains("shutdown, terminated: true");
    assertThat(out).containsPattern("stats of reports: 8 invocations, 8 ok, peak concurrency [12],");
  }
}
