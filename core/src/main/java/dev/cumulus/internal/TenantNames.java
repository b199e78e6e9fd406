package dev.cumulus.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The tenants a runtime keeps apart in its usage (and meters): the first {@code max} distinct names
 * it sees. Calls of any other tenant are accounted under {@link #OTHER}, and counted, so that a
 * caller that makes up tenant names (from an HTTP header, say) cannot grow the runtime's memory or a
 * meter registry without bound. Fair queueing is by the real name, whatever the accounting.
 * Thread-safe, lock-free.
 */
final class TenantNames {
  /** The tenant that the usage of tenants beyond the bound goes to. */
  static final String OTHER = "other";

  private final int max;
  private final Set<String> kept = ConcurrentHashMap.newKeySet();
  private final AtomicInteger size = new AtomicInteger();
  private final LongAdder folded = new LongAdder();

  TenantNames(int max) {
    this.max = max;
  }

  /**
   * The name {@code tenant}'s usage is accounted under: its own, or {@link #OTHER} (then the call is
   * counted as folded). Callers remember a tenant that is kept, and ask again per call for others.
   */
  String account(String tenant) {
    if (kept.contains(tenant)) {
      return tenant;
    }
    for (int n; (n = size.get()) < max; ) {
      if (size.compareAndSet(n, n + 1)) {
        if (kept.add(tenant)) {
          return tenant;
        }
        size.decrementAndGet(); // another thread added it first
        return tenant;
      }
    }
    if (kept.contains(tenant)) {
      return tenant;
    }
    folded.increment();
    return OTHER;
  }

  /** Calls accounted under {@link #OTHER} because their tenant was beyond the bound. */
  long foldedCalls() {
    return folded.sum();
  }

  int max() {
    return max;
  }
}
