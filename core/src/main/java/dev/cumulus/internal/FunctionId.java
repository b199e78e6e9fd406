package dev.cumulus.internal;

import org.jspecify.annotations.Nullable;

/**
 * Who a registered function is, for the invocations of a call chain: its name, whether it reserves
 * concurrency, whether it declares its input type, the runtime it belongs to (limits are per
 * runtime) and its admission (which a caller about to wait for one of its invocations asks whether
 * the wait could end). One per registration, compared by identity: a name registered again is
 * another function.
 */
final class FunctionId {
  final String name;
  /** Its reserved concurrency; 0 when it shares the runtime's unreserved capacity. */
  final int reserved;
  /** The runtime it belongs to. */
  final Object runtime;
  /** Whether its inputs are checked against a declared type (else it takes any object). */
  final boolean typedInput;
  /** Its admission: set by its registration before any invocation of it exists. */
  @Nullable Admission admission;

  FunctionId(String name, int reserved, Object runtime, boolean typedInput) {
    this.name = name;
    this.reserved = reserved;
    this.runtime = runtime;
    this.typedInput = typedInput;
  }

  @Override
  public String toString() {
    return name;
  }
}
