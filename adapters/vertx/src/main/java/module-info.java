/**
 * Cumulus over Vert.x: an HTTP gateway ({@link dev.cumulus.vertx.CumulusGateway}), an event-bus
 * binding ({@link dev.cumulus.vertx.EventBusBinding}) and a typed handle on a function served by
 * another node ({@link dev.cumulus.vertx.RemoteFn}).
 *
 * <p>Inputs and results are mapped to the functions' declared types by Jackson databind: on the
 * module path, open the packages of your input and output types to {@code com.fasterxml.jackson.databind}.
 * {@code GET /metrics} needs {@code micrometer-registry-prometheus}, an optional dependency.
 */
module dev.cumulus.vertx {
  requires transitive dev.cumulus.core;
  requires transitive io.vertx.core;
  requires transitive io.vertx.web;
  requires com.fasterxml.jackson.databind;
  // Netty's decoder result says why Vert.x could not parse a request (line or headers too long).
  requires io.netty.codec;
  requires io.netty.codec.http;
  requires static micrometer.registry.prometheus;
  requires static org.jspecify;

  exports dev.cumulus.vertx;
}
