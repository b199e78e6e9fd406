package dev.cumulus.examples;

import dev.cumulus.Cumulus;
import dev.cumulus.CumulusEvent;
import dev.cumulus.Fn;
import dev.cumulus.FunctionStats;
import java.io.Console;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * A text chart of a runtime scaling, one row per {@link #ROW_PERIOD}: invocations in flight (with a
 * bar), queued, warm instances and live carrier threads, summed over the runtime's functions, and
 * what happened in between as the runtime's lifecycle events tell it (a function scaling from zero,
 * its cold starts, throttles, its scaling back to zero). Figures are sampled ({@link Fn#stats()},
 * {@link Cumulus#liveCarrierThreads()}); moments come from {@link Cumulus#subscribe}.
 *
 * <p>On a terminal a live line under the chart is rewritten in place ({@code \r}) twenty times a
 * second; anywhere else (a pipe, a file, CI) only whole rows are printed, no control characters.
 *
 * <p>Thread-safe: events arrive on the subscription's thread, samples on the chart's own.
 */
final class ScalingChart implements AutoCloseable {
  /** How often a row is printed. */
  static final Duration ROW_PERIOD = Duration.ofMillis(250);
  /** How often the figures are sampled (and the live line redrawn). */
  static final Duration SAMPLE_PERIOD = Duration.ofMillis(50);
  /** In-flight invocations per {@code #} of the bar. */
  static final int PER_MARK = 10;
  static final int BAR_WIDTH = 30;

  private static final String HEADER = String.format(Locale.ROOT, "%6s  %-" + (BAR_WIDTH + 7) + "s %7s %6s %9s  %s",
      "time", "in flight", "queued", "warm", "carriers", "events since the row above");

  /** What the events of one function said since the last row. */
  private static final class Notes {
    boolean fromZero;
    long coldStarts;
    long throttled;
    long timedOut;
    boolean toZero;

    @Override
    public String toString() {
      List<String> parts = new ArrayList<>();
      if (fromZero) {
        parts.add("scaled from zero");
      }
      if (coldStarts > 0) {
        parts.add(coldStarts + " cold start" + (coldStarts == 1 ? "" : "s"));
      }
      if (throttled > 0) {
        parts.add(throttled + " throttled");
      }
      if (timedOut > 0) {
        parts.add(timedOut + " timed out");
      }
      if (toZero) {
        parts.add("scaled to zero");
      }
      return String.join(", ", parts);
    }
  }

  /**
   * The runtime's figures at one moment.
   *
   * @param nanos when, since the chart's start
   * @param inFlight invocations running, all functions
   * @param queued invocations waiting, all functions
   * @param warm instances alive, all functions
   * @param carriers the runtime's live carrier threads
   */
  record Sample(long nanos, int inFlight, int queued, int warm, int carriers) {
    boolean atZero() {
      return inFlight == 0 && queued == 0 && warm == 0 && carriers == 0;
    }
  }

  private final Cumulus cumulus;
  private final PrintStream out;
  private final boolean live;
  private final long start;
  private final ReentrantLock lock = new ReentrantLock();
  /** By function, in the order their first event came; guarded by {@link #lock}. */
  private final Map<String, Notes> notes = new LinkedHashMap<>();
  /**
   * Functions that scaled from zero and have not been told back to zero yet; guarded by {@link #lock}.
   * The zero row waits for them, so that it reports the events that brought it to zero (events come
   * on their own thread, maybe after the sample that shows their effect).
   */
  private final Set<String> awake = new HashSet<>();
  private final CompletableFuture<Sample> atZero = new CompletableFuture<>();
  private final List<Sample> rows = new ArrayList<>();
  private final ScheduledExecutorService sampler;
  private volatile CumulusEvent.@Nullable Subscription subscription;
  /** When the next row is due, in chart time; guarded by {@link #lock}. */
  private long nextRow;
  private boolean expectZero;
  private int liveWidth;

  private ScalingChart(Cumulus cumulus, PrintStream out, boolean live, long start) {
    this.cumulus = cumulus;
    this.out = out;
    this.live = live;
    this.start = start;
    this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "scaling-chart");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Subscribes to the runtime's events, prints the header and starts sampling.
   *
   * @param cumulus the runtime to chart
   * @param out where to print
   * @param live whether to redraw a live line in place ({@code \r}): only on a terminal
   * @param start the {@link System#nanoTime()} that the chart's times count from
   * @return the running chart; close it to stop
   */
  static ScalingChart start(Cumulus cumulus, PrintStream out, boolean live, long start) {
    ScalingChart chart = new ScalingChart(cumulus, out, live, start);
    chart.subscription = cumulus.subscribe(chart::onEvent);
    out.println(HEADER);
    chart.sampler.scheduleWithFixedDelay(chart::tick, 0, SAMPLE_PERIOD.toNanos(), TimeUnit.NANOSECONDS);
    return chart;
  }

  /**
   * Returns a future completed (with the last row, printed) once everything is back to zero: nothing
   * in flight or queued, no warm instance, no carrier thread, and every function that scaled from
   * zero has been told back to zero by its event. Only moments after this call count, so call it
   * when the load is over.
   *
   * @return the future of the zero row
   */
  CompletableFuture<Sample> awaitZero() {
    lock.lock();
    try {
      expectZero = true;
    } finally {
      lock.unlock();
    }
    return atZero;
  }

  /** The rows printed so far. */
  List<Sample> rows() {
    lock.lock();
    try {
      return List.copyOf(rows);
    } finally {
      lock.unlock();
    }
  }

  private void onEvent(CumulusEvent event) {
    lock.lock();
    try {
      Notes n = notes.computeIfAbsent(event.function(), f -> new Notes());
      switch (event) {
        case CumulusEvent.ScaledFromZero e -> {
          n.fromZero = true;
          awake.add(e.function());
        }
        case CumulusEvent.ColdStart e -> n.coldStarts++;
        case CumulusEvent.Throttled e -> n.throttled += e.count();
        case CumulusEvent.TimedOut e -> n.timedOut++;
        case CumulusEvent.ScaledToZero e -> {
          n.toZero = true;
          awake.remove(e.function());
        }
        default -> { }
      }
    } finally {
      lock.unlock();
    }
  }

  private Sample sample() {
    int inFlight = 0;
    int queued = 0;
    int warm = 0;
    for (Fn<?, ?> fn : cumulus.functions()) {
      FunctionStats s = fn.stats();
      inFlight += s.inFlight();
      queued += s.queued();
      warm += s.warmInstances();
    }
    return new Sample(System.nanoTime() - start, inFlight, queued, warm, cumulus.liveCarrierThreads());
  }

  private void tick() {
    try {
      Sample s = sample();
      lock.lock();
      try {
        if (atZero.isDone()) {
          return;
        }
        boolean rowDue = s.nanos() - nextRow >= 0;
        if (rowDue) {
          long period = ROW_PERIOD.toNanos();
          nextRow = (s.nanos() / period + 1) * period; // on the grid; a late tick skips, never bunches rows
        }
        boolean zero = expectZero && s.atZero() && awake.isEmpty();
        if (rowDue || zero) {
          printRow(s);
        } else if (live) {
          String line = format(s, "");
          out.print("\r" + line + " ".repeat(Math.max(0, liveWidth - line.length())));
          out.flush();
          liveWidth = line.length();
        }
        if (zero) {
          atZero.complete(s);
        }
      } finally {
        lock.unlock();
      }
    } catch (RuntimeException e) {
      atZero.completeExceptionally(e); // the sampler stops; the waiter hears why
      throw e;
    }
  }

  /** Prints a row and forgets the events it reports; called with {@link #lock} held. */
  private void printRow(Sample s) {
    List<String> happened = new ArrayList<>();
    for (Map.Entry<String, Notes> e : notes.entrySet()) {
      String text = e.getValue().toString();
      if (!text.isEmpty()) {
        happened.add(e.getKey() + ": " + text);
      }
    }
    notes.clear();
    String line = format(s, String.join("; ", happened));
    if (live) {
      out.print("\r" + line + " ".repeat(Math.max(0, liveWidth - line.length())) + System.lineSeparator());
      liveWidth = 0;
    } else {
      out.println(line);
    }
    out.flush();
    rows.add(s);
  }

  static String format(Sample s, String events) {
    int marks = (s.inFlight() + PER_MARK - 1) / PER_MARK;
    String bar = marks > BAR_WIDTH ? "#".repeat(BAR_WIDTH - 1) + ">" : "#".repeat(marks);
    return String.format(Locale.ROOT, "%5.1fs  %5d %-" + BAR_WIDTH + "s %7d %6d %9d  %s", s.nanos() / 1e9,
        s.inFlight(), bar, s.queued(), s.warm(), s.carriers(), events).stripTrailing();
  }

  /** Stops sampling and unsubscribes. Idempotent. */
  @Override
  public void close() {
    sampler.shutdownNow();
    try {
      sampler.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    CumulusEvent.Subscription sub = subscription;
    if (sub != null) {
      sub.close();
    }
    lock.lock();
    try {
      if (live && liveWidth > 0) {
        out.print("\r" + " ".repeat(liveWidth) + "\r");
        out.flush();
        liveWidth = 0;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Whether standard output is an interactive terminal. Before JDK 22 {@link System#console()} is
   * null unless it is; from JDK 22 on it is never null and {@code Console.isTerminal()} says (called
   * reflectively: the examples compile for JDK 21).
   *
   * @return true only on a terminal
   */
  static boolean isTerminal() {
    Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      return (boolean) Console.class.getMethod("isTerminal").invoke(console);
    } catch (NoSuchMethodException e) {
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }
}
