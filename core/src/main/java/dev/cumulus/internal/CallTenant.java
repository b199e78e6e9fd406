package dev.cumulus.internal;

/**
 * The tenant a call is made for, as its invocation carries it: the tenant's name (its turn in the
 * function's queue is by name), its weight for this function, and the tally its usage goes to (its
 * own, or the one of {@link TenantNames#OTHER} when the runtime keeps no more tenants apart).
 * Immutable.
 */
final class CallTenant {
  final String name;
  final int weight;
  final TenantTally tally;

  CallTenant(String name, int weight, TenantTally tally) {
    this.name = name;
    this.weight = weight;
    this.tally = tally;
  }

  @Override
  public String toString() {
    return name;
  }
}
