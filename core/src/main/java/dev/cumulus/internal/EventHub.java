package dev.cumulus.internal;

import dev.cumulus.CumulusEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The runtime's {@link LifecycleListener} while anyone listens: it turns the runtime's calls into
 * {@link CumulusEvent}s for the subscriptions ({@link #subscribe}), each delivered by its own
 * {@link EventDelivery}, and tells internal {@link Observer}s (the metrics binder) about
 * registrations. With no subscription and no observer the engine holds
 * {@link LifecycleListener#NONE} instead of this, and nothing here runs.
 */
public final class EventHub implements LifecycleListener {
  static final System.Logger LOG = System.getLogger("dev.cumulus");

  /**
   * Told synchronously about registrations, for bookkeeping such as meters. {@link #registered} is
   * called under the runtime's registration lock (so that it sees registrations in order): it must
   * not wait for another thread that registers. {@link #retired} may come on a worker thread, so
   * anything slow or blocking belongs on a thread of its own.
   */
  public interface Observer {
    /** A function was registered (under the registration lock). @param fn the function */
    void registered(Deployment fn);

    /** An unregistered function finished what it had accepted. @param fn the function */
    void retired(Deployment fn);

    /** The runtime closed. */
    void runtimeClosed();
  }

  private static final EventDelivery[] NO_SUBSCRIPTIONS = {};
  private static final Observer[] NO_OBSERVERS = {};

  private final Engine engine;
  private final int capacity;
  private final ReentrantLock lock = new ReentrantLock(); // guards changes of the two arrays
  private volatile EventDelivery[] subscriptions = NO_SUBSCRIPTIONS;
  private volatile Observer[] observers = NO_OBSERVERS;
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();

  EventHub(Engine engine, int capacity) {
    this.engine = engine;
    this.capacity = capacity;
  }

  /**
   * Delivers every event from now on to {@code listener}, off the caller's thread, in order.
   *
   * @param listener the listener
   * @return the subscription; closing it stops the delivery
   */
  public CumulusEvent.Subscription subscribe(Consumer<? super CumulusEvent> listener) {
    Objects.requireNonNull(listener, "listener");
    EventDelivery delivery = new EventDelivery(this, listener, capacity);
    lock.lock();
    try {
      subscriptions = append(subscriptions, delivery);
      engine.listen(true);
    } finally {
      lock.unlock();
    }
    return delivery;
  }

  /** Adds an observer; closing the handle removes it. @param observer the observer @return the handle */
  public AutoCloseable observe(Observer observer) {
    Objects.requireNonNull(observer, "observer");
    lock.lock();
    try {
      observers = append(observers, observer);
      engine.listen(true);
    } finally {
      lock.unlock();
    }
    return () -> {
      lock.lock();
      try {
        observers = remove(observers, observer, NO_OBSERVERS);
        engine.listen(subscriptions.length + observers.length > 0);
      } finally {
        lock.unlock();
      }
    };
  }

  void unsubscribe(EventDelivery delivery) {
    lock.lock();
    try {
      subscriptions = remove(subscriptions, delivery, NO_SUBSCRIPTIONS);
      engine.listen(subscriptions.length + observers.length > 0);
    } finally {
      lock.unlock();
    }
  }

  /** Listener failures of every subscription so far, closed ones included. @return the count */
  public long listenerFailures() {
    return failures.get();
  }

  /** Events dropped by every subscription so far (buffer full), closed ones included. @return the count */
  public long droppedEvents() {
    return dropped.get();
  }

  /** Subscriptions whose delivery thread runs or is being started now (tests). @return the count */
  public int deliveryThreads() {
    int n = 0;
    for (EventDelivery d : subscriptions) {
      if (d.delivering()) {
        n++;
      }
    }
    return n;
  }

  /**
   * Starts {@code body} on a virtual thread of the JDK's own scheduler. A virtual thread started by a
   * virtual thread inherits its scheduler: started from a worker, it would run on Cumulus's carriers,
   * be metered as the function, and have its mounts reported to that worker (which would then see
   * itself blocked and start more workers). So a virtual caller hands the start to a platform thread
   * of the common pool.
   *
   * @param name the thread's name
   * @param body what it runs
   */
  public static void startOffCarriers(String name, Runnable body) {
    if (Thread.currentThread().isVirtual()) {
      java.util.concurrent.ForkJoinPool.commonPool().execute(() -> Thread.ofVirtual().name(name).start(body));
    } else {
      Thread.ofVirtual().name(name).start(body);
    }
  }

  void failed() {
    failures.incrementAndGet();
  }

  void dropped() {
    dropped.incrementAndGet();
  }

  void runtimeClosed() {
    for (Observer o : observers) {
      try {
        o.runtimeClosed();
      } catch (Throwable e) {
        LOG.log(System.Logger.Level.WARNING, "an observer of the Cumulus runtime failed", e);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // LifecycleListener

  @Override
  public void registered(Deployment fn) {
    for (Observer o : observers) {
      try {
        o.registered(fn);
      } catch (Throwable e) {
        LOG.log(System.Logger.Level.WARNING, "an observer of function '" + fn.name() + "' failed", e);
      }
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.Registered(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow()));
    }
  }

  @Override
  public void unregistered(Deployment fn) {
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.Unregistered(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow()));
    }
  }

  @Override
  public void retired(Deployment fn) {
    for (Observer o : observers) {
      try {
        o.retired(fn);
      } catch (Throwable e) {
        LOG.log(System.Logger.Level.WARNING, "an observer of function '" + fn.name() + "' failed", e);
      }
    }
  }

  @Override
  public void scaledFromZero(Deployment fn) {
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.ScaledFromZero(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow()));
    }
  }

  @Override
  public void coldStart(Deployment fn, long initNanos) {
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.ColdStart(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow(), Duration.ofNanos(initNanos)));
    }
  }

  @Override
  public void scaledToZero(Deployment fn) {
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.ScaledToZero(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow()));
    }
  }

  @Override
  public void throttled(Deployment fn) {
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      Instant now = Instant.now();
      int inFlight = fn.inFlightNow();
      int queued = fn.queuedNow();
      int warm = fn.warmNow();
      for (EventDelivery s : subs) {
        s.throttled(fn.name(), now, inFlight, queued, warm);
      }
    }
  }

  @Override
  public void timedOut(Deployment fn) {
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.TimedOut(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow(), fn.spec().timeout()));
    }
  }

  @Override
  public void deadLettered(Deployment fn, String eventId, int attempts, String reason) {
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.DeadLettered(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow(), eventId, attempts, reason));
    }
  }

  private static void publish(EventDelivery[] subs, Deployment fn, CumulusEvent event) {
    for (EventDelivery s : subs) {
      s.offer(fn.name(), event);
    }
  }

  private static <T> T[] append(T[] array, T element) {
    T[] grown = Arrays.copyOf(array, array.length + 1);
    grown[array.length] = element;
    return grown;
  }

  private static <T> T[] remove(T[] array, T element, T[] empty) {
    for (int i = 0; i < array.length; i++) {
      if (array[i] == element) {
        if (array.length == 1) {
          return empty;
        }
        T[] shrunk = Arrays.copyOf(array, array.length - 1);
        System.arraycopy(array, i + 1, shrunk, i, array.length - i - 1);
        return shrunk;
      }
    }
    return array;
  }
}
