package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class CapacityTest {

  /** A function that needs one slot, and takes it when woken. */
  private static class Waiting implements Capacity.Waiter {
    final Capacity capacity;
    final AtomicBoolean waiting = new AtomicBoolean();
    volatile boolean started;

    Waiting(Capacity capacity) {
      this.capacity = capacity;
    }

    @Override
    public boolean tryStartWorker() {
      if (started) {
        return true;
      }
      if (!capacity.tryAcquire(true)) {
        return false;
      }
      started = true;
      return true;
    }

    @Override
    public boolean needsWorker() {
      return !started;
    }

    @Override
    public boolean markWaiting() {
      return waiting.compareAndSet(false, true);
    }

    @Override
    public void clearWaiting() {
      waiting.set(false);
    }

    @Override
    public boolean isWaiting() {
      return waiting.get();
    }
  }

  @Test
  void wakeWaitersIsExceptionSafe_aWaiterThatThrows_leavesNoCountBehind_andTheOthersStillGetSlots() {
    Capacity capacity = new Capacity(1);
    assertThat(capacity.tryAcquire(true)).isTrue();
    Waiting broken = new Waiting(capacity) {
      @Override
      public boolean tryStartWorker() {
        throw new OutOfMemoryError("injected: unable to create a thread");
      }
    };
    Waiting next = new Waiting(capacity);
    capacity.await(broken); // tried at once: it throws, is logged and dropped, and the loop goes on
    capacity.await(next); // no slot free: it waits
    assertThat(next.started).isFalse();

    capacity.release(true); // the released slot reaches the next waiter
    assertThat(next.started).isTrue();
    assertThat(capacity.othersWait(new Waiting(capacity))).as("anyone still counted as waiting").isFalse();

    Waiting later = new Waiting(capacity);
    capacity.await(later); // no slot free: it waits
    assertThat(later.started).isFalse();
    capacity.release(true); // and a release still reaches it
    assertThat(later.started).isTrue();
  }
}
