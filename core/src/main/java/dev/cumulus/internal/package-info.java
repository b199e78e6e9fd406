/**
 * Implementation of the Cumulus runtime. Not part of the API: nothing here is exported by the
 * {@code dev.cumulus.core} module and any of it may change in any release.
 */
@NullMarked
package dev.cumulus.internal;

import org.jspecify.annotations.NullMarked;
