package dev.cumulus.examples.pipeline;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.LockManager;

/**
 * Iceberg's commit lock for the Hadoop catalog, shared by every catalog of the JVM: a Hadoop catalog
 * commits by renaming {@code v<N>.metadata.json} into place, and this lock makes "check that
 * {@code v<N>} does not exist, then rename" atomic between the function instances of one JVM.
 *
 * <p>Iceberg's default in-memory lock manager does the same job, with two costs here: a waiter polls
 * every five seconds ({@code lock.acquire-interval-ms}), so two files committing at the same moment
 * cost the loser five seconds, and its {@code close()}, called when any Hadoop catalog closes, clears
 * every lock of the JVM. This one wakes a waiter as soon as the lock is released, and its
 * {@code close()} leaves the shared locks alone. Used through the catalog property
 * {@link CatalogProperties#LOCK_IMPL}; Iceberg instantiates it. Thread-safe.
 */
public final class InProcessLockManager implements LockManager {
  /** Held locks by entity (the metadata file being committed); shared by all instances. */
  private static final ConcurrentHashMap<String, Holder> LOCKS = new ConcurrentHashMap<>();

  private record Holder(String owner, CountDownLatch released) {}

  private volatile long acquireTimeoutMs = CatalogProperties.LOCK_ACQUIRE_TIMEOUT_MS_DEFAULT;

  /** Creates a lock manager; Iceberg calls {@link #initialize} next. */
  public InProcessLockManager() {}

  /**
   * Reads {@link CatalogProperties#LOCK_ACQUIRE_TIMEOUT_MS} (default three minutes).
   *
   * @param properties the catalog's properties
   * @throws NumberFormatException if the timeout is not a number
   */
  @Override
  public void initialize(Map<String, String> properties) {
    String timeout = properties.get(CatalogProperties.LOCK_ACQUIRE_TIMEOUT_MS);
    if (timeout != null) {
      acquireTimeoutMs = Long.parseLong(timeout);
    }
  }

  /**
   * Takes the lock of {@code entityId}, waiting up to the acquire timeout for its holder to release
   * it. Taking a lock one already holds succeeds.
   *
   * @param entityId what to lock
   * @param ownerId who takes it
   * @return true if {@code ownerId} holds the lock now; false after the timeout or an interrupt
   *     (whose status is kept)
   */
  @Override
  public boolean acquire(String entityId, String ownerId) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(acquireTimeoutMs);
    Holder mine = new Holder(ownerId, new CountDownLatch(1));
    while (true) {
      Holder current = LOCKS.putIfAbsent(entityId, mine);
      if (current == null || current.owner().equals(ownerId)) {
        return true;
      }
      try {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !current.released().await(left, TimeUnit.NANOSECONDS)) {
          return false;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  /**
   * Releases the lock of {@code entityId} if {@code ownerId} holds it, waking its waiters.
   *
   * @param entityId what was locked
   * @param ownerId who took it
   * @return true if it was held by {@code ownerId} and is released
   */
  @Override
  public boolean release(String entityId, String ownerId) {
    Holder current = LOCKS.get(entityId);
    if (current == null || !current.owner().equals(ownerId) || !LOCKS.remove(entityId, current)) {
      return false;
    }
    current.released().countDown();
    return true;
  }

  /** Leaves the JVM's locks to the catalogs still using them. */
  @Override
  public void close() {}
}
