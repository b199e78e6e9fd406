package dev.cumulus;

import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Options of one call, beside its input: today, the tenant it is made for.
 *
 * <pre>{@code
 * Integer n = words.invoke("a b c", CallOptions.tenant("acme"));
 * Bill acme = cumulus.usage().byTenant().get("acme").bill(PriceModel.cloudflareWorkers());
 * }</pre>
 *
 * <p><b>Tenants.</b> When a function is contended (its calls wait in its queue), the queue serves
 * tenants in weighted round-robin ({@linkplain FnSpec.Builder#tenantWeight(String, int) weights} per
 * tenant, equal by default; calls without a tenant take one turn as one more tenant), so a flood of
 * calls from one tenant cannot starve another: each waits for its own share of the turns, not behind
 * the flood. The queue's room is shared the same way: a tenant holding less than its weighted share
 * of {@code queueCapacity} is admitted even when the queue is full (the queue then holds up to twice
 * {@code queueCapacity}), while a tenant beyond its share is throttled. A function whose calls do not
 * wait serves them at once, tenants or not. {@linkplain Fn#emit(Object, CallOptions) Events emitted
 * for a tenant} take turns the same way in the function's event backlog, and each of their attempts
 * is a call made for the tenant. The runtime keeps usage per tenant
 * ({@link Usage#byTenant()}), to bill each; {@link Cumulus.Builder#maxTenants(int)} bounds how many
 * tenants it keeps apart.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class CallOptions {
  private static final CallOptions NONE = new CallOptions(null);

  private final @Nullable String tenant;

  private CallOptions(@Nullable String tenant) {
    this.tenant = tenant;
  }

  /**
   * No options: a call as {@code invoke(input)} makes it.
   *
   * @return the options
   */
  public static CallOptions none() {
    return NONE;
  }

  /**
   * A call made for a tenant.
   *
   * @param tenant 1 to 128 characters, not blank, without control characters (it is a tag of
   *     meters and a header of the HTTP gateway)
   * @return the options
   * @throws NullPointerException if {@code tenant} is null
   * @throws IllegalArgumentException if {@code tenant} is blank, too long or has control characters
   */
  public static CallOptions tenant(String tenant) {
    return new CallOptions(Checks.tenant("tenant", tenant));
  }

  /**
   * Returns the tenant the call is made for.
   *
   * @return the tenant, or empty for a call without one
   */
  public Optional<String> tenant() {
    return Optional.ofNullable(tenant);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof CallOptions c && Objects.equals(c.tenant, tenant);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(tenant);
  }

  @Override
  public String toString() {
    return tenant == null ? "CallOptions[]" : "CallOptions[tenant=" + tenant + "]";
  }
}
