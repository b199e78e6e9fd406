/**
 * Cumulus functions over Vert.x: HTTP ({@link dev.cumulus.vertx.CumulusGateway}), the event bus
 * ({@link dev.cumulus.vertx.EventBusBinding}) and, on a clustered event bus, calls to functions that
 * live on other nodes ({@link dev.cumulus.vertx.RemoteFn}).
 *
 * <p>The adapter translates and never re-implements what the runtime does: invocations run on
 * Cumulus's own virtual threads (never on an event loop), their results come back on the Vert.x
 * context that asked, and the only backpressure is Cumulus's admission (a full queue is HTTP 429,
 * or event-bus failure code 429); nothing is buffered without bound in the adapter.
 *
 * <p>Every type in this package rejects {@code null} arguments with a {@link NullPointerException}
 * naming the parameter unless a parameter is marked {@code @Nullable}.
 */
@NullMarked
package dev.cumulus.vertx;

import org.jspecify.annotations.NullMarked;
