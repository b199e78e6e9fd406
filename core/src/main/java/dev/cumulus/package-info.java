/**
 * Cumulus: an embeddable, serverless-style function runtime for the JVM.
 *
 * <p>Start at {@link dev.cumulus.Cumulus}: build a runtime, {@linkplain dev.cumulus.Cumulus#register
 * register} plain Java functions described by a {@link dev.cumulus.FnSpec}, and invoke them through the
 * returned {@link dev.cumulus.Fn}. Every function runs on virtual threads, scales with demand up to its
 * limits, scales back to zero when idle, and is metered ({@link dev.cumulus.FunctionStats}).
 *
 * <p>Every type in this package rejects {@code null} arguments with a {@link NullPointerException}
 * naming the parameter unless a parameter is marked {@code @Nullable}.
 */
@NullMarked
package dev.cumulus;

import org.jspecify.annotations.NullMarked;
