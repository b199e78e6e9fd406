package dev.cumulus.internal;

import dev.cumulus.CumulusEvent;
import dev.cumulus.DeadLetter;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The runtime's {@link RuntimeEvents} while anyone listens: it turns the runtime's moments into
 * {@link CumulusEvent}s for the subscriptions ({@link #subscribe}), each delivered by its own
 * {@link EventDelivery}, and tells its observers ({@link #observe}: the metrics binder, registration
 * watchers) every moment, synchronously, on the thread where it happened. With no subscription and
 * no observer the runtime holds the listener it was built with ({@link RuntimeEvents#NONE} outside
 * tests) instead of this, and nothing here runs. A listener given to the runtime's builder (tests) is
 * told first, and what it throws is not caught.
 */
public final class EventHub implements RuntimeEvents {
  static final System.Logger LOG = System.getLogger("dev.cumulus");

  private static final EventDelivery[] NO_SUBSCRIPTIONS = {};
  private static final RuntimeEvents[] NO_OBSERVERS = {};

  private final RuntimeEvents configured;
  private final Runnable listenersChanged;
  private final int capacity;
  private final ReentrantLock lock = new ReentrantLock(); // guards changes of the two arrays
  private volatile EventDelivery[] subscriptions = NO_SUBSCRIPTIONS;
  private volatile RuntimeEvents[] observers = NO_OBSERVERS;
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();

  /**
   * @param configured the listener the runtime was built with, told every moment first
   * @param listenersChanged called (under this hub's lock) when the first listener comes or the last
   *     one goes: the runtime then switches between this hub and {@code configured}
   * @param capacity the buffer of each subscription
   */
  EventHub(RuntimeEvents configured, Runnable listenersChanged, int capacity) {
    this.configured = configured;
    this.listenersChanged = listenersChanged;
    this.capacity = capacity;
  }

  /** Whether anyone listens here: a subscription or an observer. */
  boolean listening() {
    return subscriptions.length + observers.length > 0;
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
      listenersChanged.run();
    } finally {
      lock.unlock();
    }
    return delivery;
  }

  /**
   * Tells {@code observer} every moment of the runtime from now on, synchronously, on the thread
   * where it happens (see {@link RuntimeEvents} for what that asks of it); what it throws is logged
   * and does not reach the runtime. Closing the handle removes it (idempotent); an observer added
   * twice is told twice, and each handle removes one.
   *
   * @param observer the observer
   * @return the handle
   */
  public AutoCloseable observe(RuntimeEvents observer) {
    Objects.requireNonNull(observer, "observer");
    // A wrapper per call: one observer added twice is removed once per handle.
    Observed observed = new Observed(observer);
    lock.lock();
    try {
      observers = append(observers, observed);
      listenersChanged.run();
    } finally {
      lock.unlock();
    }
    return () -> {
      lock.lock();
      try {
        RuntimeEvents[] fewer = remove(observers, observed, NO_OBSERVERS);
        if (fewer != observers) {
          observers = fewer;
          listenersChanged.run();
        }
      } finally {
        lock.unlock();
      }
    };
  }

  void unsubscribe(EventDelivery delivery) {
    lock.lock();
    try {
      subscriptions = remove(subscriptions, delivery, NO_SUBSCRIPTIONS);
      listenersChanged.run();
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
   * virtual thread inherits its scheduler: started from a worker, it would run on Cumulus's carriers
   * and be metered as the function (as the threads a function's own code starts are), though its
   * work is the runtime's. So a virtual caller hands the start to a platform thread of the common
   * pool.
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

  // ---------------------------------------------------------------------------------------------
  // RuntimeEvents: the configured listener, the observers, then the subscriptions

  @Override
  public void registered(Registration fn) {
    configured.registered(fn);
    for (RuntimeEvents o : observers) {
      o.registered(fn);
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.Registered(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow()));
    }
  }

  @Override
  public void unregistered(Registration fn) {
    configured.unregistered(fn);
    for (RuntimeEvents o : observers) {
      o.unregistered(fn);
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.Unregistered(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow()));
    }
  }

  @Override
  public void retired(Registration fn) {
    configured.retired(fn);
    for (RuntimeEvents o : observers) {
      o.retired(fn);
    }
  }

  @Override
  public void firstWorker(Registration fn) {
    configured.firstWorker(fn);
    for (RuntimeEvents o : observers) {
      o.firstWorker(fn);
    }
  }

  @Override
  public void lastWorker(Registration fn) {
    configured.lastWorker(fn);
    for (RuntimeEvents o : observers) {
      o.lastWorker(fn);
    }
  }

  @Override
  public void scaledFromZero(Registration fn) {
    configured.scaledFromZero(fn);
    for (RuntimeEvents o : observers) {
      o.scaledFromZero(fn);
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.ScaledFromZero(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow()));
    }
  }

  @Override
  public void scaledToZero(Registration fn) {
    configured.scaledToZero(fn);
    for (RuntimeEvents o : observers) {
      o.scaledToZero(fn);
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.ScaledToZero(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow()));
    }
  }

  @Override
  public void coldStart(Registration fn, long initNanos) {
    configured.coldStart(fn, initNanos);
    for (RuntimeEvents o : observers) {
      o.coldStart(fn, initNanos);
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.ColdStart(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow(), Duration.ofNanos(initNanos)));
    }
  }

  @Override
  public void throttled(Registration fn, String reason) {
    configured.throttled(fn, reason);
    for (RuntimeEvents o : observers) {
      o.throttled(fn, reason);
    }
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
  public void timedOut(Registration fn, Duration timeout) {
    configured.timedOut(fn, timeout);
    for (RuntimeEvents o : observers) {
      o.timedOut(fn, timeout);
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.TimedOut(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow(), timeout));
    }
  }

  @Override
  public void deadLettered(Registration fn, DeadLetter letter) {
    configured.deadLettered(fn, letter);
    for (RuntimeEvents o : observers) {
      o.deadLettered(fn, letter);
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      publish(subs, fn, new CumulusEvent.DeadLettered(fn.name(), Instant.now(), fn.inFlightNow(),
          fn.queuedNow(), fn.warmNow(), letter.eventId(), letter.attempts(), letter.reason()));
    }
  }

  @Override
  public void concurrencyLimitChanged(Registration fn, int from, int to) {
    configured.concurrencyLimitChanged(fn, from, to);
    for (RuntimeEvents o : observers) {
      o.concurrencyLimitChanged(fn, from, to);
    }
    EventDelivery[] subs = subscriptions;
    if (subs.length > 0) {
      Instant now = Instant.now();
      int inFlight = fn.inFlightNow();
      int queued = fn.queuedNow();
      int warm = fn.warmNow();
      for (EventDelivery s : subs) {
        s.limitChanged(fn.name(), now, inFlight, queued, warm, from, to);
      }
    }
  }

  @Override
  public void tenantServed(Registration fn, String tenant) {
    configured.tenantServed(fn, tenant);
    for (RuntimeEvents o : observers) {
      o.tenantServed(fn, tenant);
    }
  }

  @Override
  public void runtimeClosed() {
    configured.runtimeClosed();
    for (RuntimeEvents o : observers) {
      o.runtimeClosed();
    }
  }

  private static void publish(EventDelivery[] subs, Registration fn, CumulusEvent event) {
    for (EventDelivery s : subs) {
      s.offer(fn.name(), event);
    }
  }

  private static <T> T[] append(T[] array, T element) {
    T[] grown = Arrays.copyOf(array, array.length + 1);
    grown[array.length] = element;
    return grown;
  }

  @SuppressWarnings("ReferenceEquality") // elements are their identity
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

  /** An observer, its failures caught and logged: an observer's bug never reaches the runtime. */
  private static final class Observed implements RuntimeEvents {
    private final RuntimeEvents observer;

    Observed(RuntimeEvents observer) {
      this.observer = observer;
    }

    private void failed(String moment, @org.jspecify.annotations.Nullable Registration fn, Throwable e) {
      if (e instanceof VirtualMachineError vme) {
        throw vme;
      }
      LOG.log(System.Logger.Level.WARNING, "an observer of the Cumulus runtime (" + observer + ") failed on "
          + moment + (fn == null ? "" : " of function '" + fn.name() + "'"), e);
    }

    @Override
    public void registered(Registration fn) {
      try {
        observer.registered(fn);
      } catch (Throwable e) {
        failed("registered", fn, e);
      }
    }

    @Override
    public void unregistered(Registration fn) {
      try {
        observer.unregistered(fn);
      } catch (Throwable e) {
        failed("unregistered", fn, e);
      }
    }

    @Override
    public void retired(Registration fn) {
      try {
        observer.retired(fn);
      } catch (Throwable e) {
        failed("retired", fn, e);
      }
    }

    @Override
    public void firstWorker(Registration fn) {
      try {
        observer.firstWorker(fn);
      } catch (Throwable e) {
        failed("firstWorker", fn, e);
      }
    }

    @Override
    public void lastWorker(Registration fn) {
      try {
        observer.lastWorker(fn);
      } catch (Throwable e) {
        failed("lastWorker", fn, e);
      }
    }

    @Override
    public void scaledFromZero(Registration fn) {
      try {
        observer.scaledFromZero(fn);
      } catch (Throwable e) {
        failed("scaledFromZero", fn, e);
      }
    }

    @Override
    public void scaledToZero(Registration fn) {
      try {
        observer.scaledToZero(fn);
      } catch (Throwable e) {
        failed("scaledToZero", fn, e);
      }
    }

    @Override
    public void coldStart(Registration fn, long initNanos) {
      try {
        observer.coldStart(fn, initNanos);
      } catch (Throwable e) {
        failed("coldStart", fn, e);
      }
    }

    @Override
    public void throttled(Registration fn, String reason) {
      try {
        observer.throttled(fn, reason);
      } catch (Throwable e) {
        failed("throttled", fn, e);
      }
    }

    @Override
    public void timedOut(Registration fn, Duration timeout) {
      try {
        observer.timedOut(fn, timeout);
      } catch (Throwable e) {
        failed("timedOut", fn, e);
      }
    }

    @Override
    public void deadLettered(Registration fn, DeadLetter letter) {
      try {
        observer.deadLettered(fn, letter);
      } catch (Throwable e) {
        failed("deadLettered", fn, e);
      }
    }

    @Override
    public void concurrencyLimitChanged(Registration fn, int from, int to) {
      try {
        observer.concurrencyLimitChanged(fn, from, to);
      } catch (Throwable e) {
        failed("concurrencyLimitChanged", fn, e);
      }
    }

    @Override
    public void tenantServed(Registration fn, String tenant) {
      try {
        observer.tenantServed(fn, tenant);
      } catch (Throwable e) {
        failed("tenantServed", fn, e);
      }
    }

    @Override
    public void runtimeClosed() {
      try {
        observer.runtimeClosed();
      } catch (Throwable e) {
        failed("runtimeClosed", null, e);
      }
    }
  }
}
