/**
 * Triggers: what turns something happening into {@linkplain dev.cumulus.Fn#emit events} of a
 * function. {@link dev.cumulus.trigger.DirectoryTrigger} emits the files that land in a directory,
 * {@link dev.cumulus.trigger.ScheduleTrigger} emits the ticks of a fixed-rate schedule; both return a
 * {@link dev.cumulus.trigger.Trigger} to close. Events get the function's limits, retries and dead
 * letters like any other.
 *
 * <p>Every type in this package rejects {@code null} arguments with a {@link NullPointerException}
 * naming the parameter unless a parameter is marked {@code @Nullable}.
 */
@NullMarked
package dev.cumulus.trigger;

import org.jspecify.annotations.NullMarked;
