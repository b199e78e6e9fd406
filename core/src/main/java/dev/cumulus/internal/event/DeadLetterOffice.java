package dev.cumulus.internal.event;

import dev.cumulus.DeadLetter;
import dev.cumulus.DeadLetterSink;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * Delivers one function's dead letters to its sink, one at a time and in order, on a virtual thread
 * that exists only while letters wait (a sink may block: it writes files, sends messages). A sink or
 * listener that throws is logged with the whole letter and counted; the letter still counts as
 * delivered, so that the event ends.
 */
final class DeadLetterOffice {
  private record Posted(DeadLetter letter, @Nullable EventListener listener, Runnable delivered) {}

  private final String function;
  private final DeadLetterSink sink;
  private final ConcurrentLinkedQueue<Posted> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger wip = new AtomicInteger();
  final LongAdder sinkFailures = new LongAdder();

  DeadLetterOffice(String function, DeadLetterSink sink) {
    this.function = function;
    this.sink = sink;
  }

  /** Queues a letter; {@code delivered} runs once the sink has had it (returned or thrown). */
  void post(DeadLetter letter, @Nullable EventListener listener, Runnable delivered) {
    queue.offer(new Posted(letter, listener, delivered));
    if (wip.getAndIncrement() != 0) {
      return; // the delivering thread will take it
    }
    try {
      Thread.ofVirtual().name("cumulus-dead-letters-" + function).start(this::deliverAll);
    } catch (Throwable e) {
      EventRuntime.LOG.log(System.Logger.Level.ERROR, "cannot start the dead-letter thread of function '"
          + function + "'; delivering on this thread", e);
      deliverAll();
    }
  }

  private void deliverAll() {
    int missed = 1;
    do {
      for (Posted p = queue.poll(); p != null; p = queue.poll()) {
        deliver(p);
      }
      missed = wip.addAndGet(-missed);
    } while (missed != 0);
  }

  private void deliver(Posted p) {
    try {
      EventListener l = p.listener();
      if (l != null) {
        try {
          l.deadLettered(p.letter());
        } catch (Throwable e) {
          EventRuntime.LOG.log(System.Logger.Level.ERROR, "a listener of function '" + function
              + "' failed on dead letter " + p.letter().eventId(), e);
        }
      }
      try {
        sink.accept(p.letter());
      } catch (Throwable e) {
        sinkFailures.increment();
        EventRuntime.LOG.log(System.Logger.Level.ERROR, "the dead-letter sink " + sink + " of function '"
            + function + "' failed; the letter it did not take: " + describe(p.letter()), e);
      }
    } finally {
      p.delivered().run();
    }
  }

  /** The whole letter, for the log when its sink failed (never dropped silently). */
  static String describe(DeadLetter l) {
    String input;
    try {
      input = String.valueOf(l.input());
    } catch (RuntimeException | StackOverflowError e) {
      input = "(toString() threw " + e + ")";
    }
    return "event " + l.eventId() + ", reason " + l.reason() + ", attempts " + l.attempts()
        + ", first attempt " + l.firstAttempt() + ", last attempt " + l.lastAttempt()
        + ", error " + l.error() + ", input " + input;
  }
}
