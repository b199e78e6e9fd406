package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/** Checks of the gateway's answers. */
final class Json {
  private Json() {}

  /**
   * Asserts that {@code response} is a well-formed JSON error of {@code status} and {@code kind}:
   * exactly the two fields, JSON content type, no stack trace or class path in it; returns its message.
   */
  static String error(HttpResponse<Buffer> response, int status, String kind) {
    assertThat(response.statusCode()).as("status of %s", response.bodyAsString()).isEqualTo(status);
    assertThat(response.getHeader("Content-Type")).startsWith("application/json");
    JsonObject body = new JsonObject(response.bodyAsString());
    assertThat(body.fieldNames()).containsExactlyInAnyOrder("error", "message");
    assertThat(body.getString("error")).isEqualTo(kind);
    String message = body.getString("message");
    assertThat(message).isNotBlank();
    assertNoLeak(message);
    return message;
  }

  /** No stack frame, no source file, no file path of the server in a client's message. */
  static void assertNoLeak(String message) {
    assertThat(message)
        .doesNotContain("\tat ")
        .doesNotContainPattern("\\.java:\\d+")
        .doesNotContain("Exception.java")
        .doesNotContain("/work/")
        .doesNotContain(".jar")
        .doesNotContain("dev.cumulus.internal");
  }
}
