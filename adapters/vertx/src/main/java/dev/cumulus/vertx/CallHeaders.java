package dev.cumulus.vertx;

import dev.cumulus.CallOptions;
import org.jspecify.annotations.Nullable;

/**
 * Reads the options of a call, or of an event, from the header that carries its tenant: the
 * gateway's {@value CumulusGateway#TENANT_HEADER}, the event bus's
 * {@value EventBusBinding#TENANT_HEADER}. No header is a call without a tenant; a value that is no
 * tenant is a 400 naming the header.
 */
final class CallHeaders {
  private CallHeaders() {}

  /**
   * The options of a call whose tenant header has this value.
   *
   * @param header the header's name, for the message
   * @param tenant its value, or null if absent
   * @return the options
   * @throws JsonMapping.BadInput (400 {@code bad_request}) if the value is not a valid tenant (blank,
   *     longer than 128 characters, control characters)
   */
  static CallOptions options(String header, @Nullable String tenant) throws JsonMapping.BadInput {
    if (tenant == null) {
      return CallOptions.none();
    }
    try {
      return CallOptions.tenant(tenant);
    } catch (IllegalArgumentException e) {
      throw new JsonMapping.BadInput(new Failure(400, Failure.BAD_REQUEST, "header " + header + ": " + e.getMessage()));
    }
  }
}
