/**
 * The doors that wrap existing code as functions: {@code @Serverless} methods of a bean, every method
 * of an interface behind a proxy, and an {@code ExecutorService} whose tasks are invocations. Built on
 * the public API alone ({@code dev.cumulus}): they make {@code FnSpec}s, and the runtime registers
 * them like any other. Not part of the API; not exported.
 */
@NullMarked
package dev.cumulus.internal.wrap;

import org.jspecify.annotations.NullMarked;
