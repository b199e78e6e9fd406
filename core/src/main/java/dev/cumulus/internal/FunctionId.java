package dev.cumulus.internal;

/**
 * Who a registered function is, for the invocations of a call chain: its name, whether it reserves
 * concurrency, and the runtime it belongs to (limits are per runtime). One per registration, compared
 * by identity: a name registered again is another function.
 */
final class FunctionId {
  final String name;
  /** Its reserved concurrency; 0 when it shares the runtime's unreserved capacity. */
  final int reserved;
  /** The runtime it belongs to. */
  final Object runtime;

  FunctionId(String name, int reserved, Object runtime) {
    this.name = name;
    this.reserved = reserved;
    this.runtime = runtime;
  }

  @Override
  public String toString() {
    return name;
  }
}
