package dev.cumulus.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** A long counter on a cache line of its own, for the few counters every invocation touches. */
@SuppressWarnings("unused")
final class Counter {
  private static final VarHandle VALUE;

  static {
    try {
      VALUE = MethodHandles.lookup().findVarHandle(Counter.class, "value", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private long p01, p02, p03, p04, p05, p06, p07;
  private volatile long value;
  private long p11, p12, p13, p14, p15, p16, p17;

  long get() {
    return value;
  }

  void set(long v) {
    value = v;
  }

  long incrementAndGet() {
    return (long) VALUE.getAndAdd(this, 1L) + 1;
  }

  boolean compareAndSet(long expected, long next) {
    return VALUE.compareAndSet(this, expected, next);
  }
}
