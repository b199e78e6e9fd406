package dev.cumulus.internal.event;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.cumulus.internal.CallTenant;
import dev.cumulus.internal.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The idempotency keys of one function's events, mapped to the id of the event first accepted with
 * each: a Caffeine cache bounded in size, expiring a key its window after it was written, on the
 * runtime's clock (so tests drive it). Its maintenance runs on the calling thread, and it has no
 * scheduler: no thread of its own, ever. Created with the first key, so functions that never use
 * keys pay nothing. Keys are per tenant ({@link #scoped}).
 */
final class IdempotencyKeys {
  /** The fewest keys remembered, whatever the event capacity. */
  static final int MIN_KEYS = 10_000;

  private final Clock clock;
  private final long windowNanos;
  private final long maxKeys;
  private final ReentrantLock lock = new ReentrantLock();
  private volatile @Nullable Cache<Object, String> cache;

  IdempotencyKeys(Clock clock, long windowNanos, int eventCapacity) {
    this.clock = clock;
    this.windowNanos = windowNanos;
    this.maxKeys = Math.max(MIN_KEYS, eventCapacity);
  }

  /**
   * The cache's key for an idempotency key: the key itself, or, for an event emitted for a tenant,
   * the pair, so that two tenants' keys never meet (a tenant can neither suppress another's event
   * nor learn its id by guessing its key).
   */
  static Object scoped(String key, @Nullable CallTenant tenant) {
    return tenant == null ? key : new TenantKey(tenant.name(), key);
  }

  /** An idempotency key of one tenant. */
  private record TenantKey(String tenant, String key) {}

  Cache<Object, String> cache() {
    Cache<Object, String> c = cache;
    if (c != null) {
      return c;
    }
    lock.lock();
    try {
      c = cache;
      if (c == null) {
        c = Caffeine.newBuilder()
            .maximumSize(maxKeys)
            .expireAfterWrite(windowNanos, TimeUnit.NANOSECONDS)
            .ticker(clock::nanoTime)
            .executor(Runnable::run)
            .build();
        cache = c;
      }
      return c;
    } finally {
      lock.unlock();
    }
  }
}
