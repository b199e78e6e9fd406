package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The live workers of one function, for the rare passes over them (deadlines, close): a stack linked
 * through the workers themselves. A worker that starts is pushed with one CAS; one that ends is only
 * marked. When the last live worker ends, the whole stack is dropped at once (every worker in it has
 * ended); under steady load, a pass unlinks ended workers once they are more than four times the
 * live ones plus {@value #SWEEP_AT}, so a pass is rare and its cost is shared by the ends before it. So starting and ending a worker cost no map node and no lock, and ended workers
 * do not pile up.
 */
final class LiveWorkers {
  private static final int SWEEP_AT = 4_096;
  private static final VarHandle HEAD;

  static {
    try {
      HEAD = MethodHandles.lookup().findVarHandle(LiveWorkers.class, "head", Worker.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @SuppressWarnings("unused") // HEAD
  private volatile @Nullable Worker head;
  private final AtomicInteger live = new AtomicInteger();
  private final AtomicInteger endedLinked = new AtomicInteger();
  /** Held by the one pass that unlinks; passes that only read never take it. */
  private final ReentrantLock sweeping = new ReentrantLock();

  /** Adds a worker that starts; true if it is the only live one. Lock-free. */
  boolean add(Worker w) {
    // Counted before it is linked: a count of zero then proves every linked worker has ended.
    boolean first = live.getAndIncrement() == 0;
    for (;;) {
      Worker h = head;
      w.nextLive = h;
      if (HEAD.compareAndSet(this, h, w)) {
        return first;
      }
    }
  }

  /** A worker ended; true if no live one is left. Lock-free (an unlinking pass only if none runs). */
  boolean remove(Worker w) {
    w.ended = true;
    int ended = endedLinked.incrementAndGet();
    if (live.decrementAndGet() == 0) {
      // If still none is live after reading the head, every worker linked from it has ended (a
      // worker is counted before it is linked); one pushed since makes the CAS fail.
      Worker h = head;
      if (h != null && live.get() == 0 && HEAD.compareAndSet(this, h, null)) {
        endedLinked.set(0);
      }
      return true;
    }
    if (ended > SWEEP_AT + 4 * live.get()) {
      sweep();
    }
    return false;
  }

  int size() {
    return Math.max(0, live.get());
  }

  /** Calls {@code action} for each live worker (one that ends meanwhile may be seen or not). */
  void forEach(Consumer<Worker> action) {
    for (Worker w = head; w != null; w = w.nextLive) {
      if (!w.ended) {
        action.accept(w);
      }
    }
  }

  /** Unlinks ended workers, unless another pass is doing so. */
  private void sweep() {
    if (!sweeping.tryLock()) {
      return;
    }
    try {
      // The head is the only link pushers write: take it off with a CAS, or leave it for next time.
      Worker h = head;
      while (h != null && h.ended && HEAD.compareAndSet(this, h, h.nextLive)) {
        endedLinked.decrementAndGet();
        h = head;
      }
      // Inner links are written by this pass alone. Readers on an unlinked worker still follow its link.
      if (h == null) {
        return;
      }
      Worker prev = h;
      for (Worker w = prev.nextLive; w != null; ) {
        Worker next = w.nextLive;
        if (w.ended) {
          prev.nextLive = next;
          endedLinked.decrementAndGet();
        } else {
          prev = w;
        }
        w = next;
      }
    } finally {
      sweeping.unlock();
    }
  }
}
