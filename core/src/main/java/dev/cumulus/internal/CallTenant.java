package dev.cumulus.internal;

/**
 * The tenant a call is made for, as its invocation carries it: the tenant's name (its turn in the
 * function's queue is by name), its weight for this function, and the tally its usage goes to (its
 * own, or the one of {@link TenantNames#OTHER} when the runtime keeps no more tenants apart). An
 * event emitted for a tenant carries it too, for its place in the function's event backlog and for
 * each of its attempts. Immutable.
 */
public final class CallTenant {
  final String name;
  final int weight;
  final TenantTally tally;

  CallTenant(String name, int weight, TenantTally tally) {
    this.name = name;
    this.weight = weight;
    this.tally = tally;
  }

  /** {@return the tenant's own name, by which its turns are taken} */
  public String name() {
    return name;
  }

  /** {@return its weight for this function: its turns in a round} */
  public int weight() {
    return weight;
  }

  @Override
  public String toString() {
    return name;
  }
}
