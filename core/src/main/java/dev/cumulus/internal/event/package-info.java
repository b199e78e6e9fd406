/**
 * Events: the backlog of {@code Fn.emit}, retries, dead letters and idempotency keys. A layer of its
 * own over the runtime: it reaches a function only through {@link dev.cumulus.internal.event.EventHost}
 * (submit an attempt, ask for a free slot, check an input) and is woken by
 * {@link dev.cumulus.internal.event.EventBacklog#capacityFreed()} when an invocation of the function
 * ends; the runtime gives it its clock and closing state ({@link dev.cumulus.internal.event.EventRuntime})
 * and calls its drain, abandon and retire hooks. Not part of the API.
 */
@NullMarked
package dev.cumulus.internal.event;

import org.jspecify.annotations.NullMarked;
