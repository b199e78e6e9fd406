package dev.cumulus.vertx;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.Usage;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The dashboard's live data: a frame a second, computed from {@link Cumulus#usage()} and sent as
 * server-sent events to every connected page.
 *
 * <ul>
 *   <li>The timer that samples the runtime exists only while a page is connected: it starts with the
 *       first and is cancelled with the last, so a gateway nobody watches does no work for the
 *       dashboard (scale to zero holds for it too).
 *   <li>A sample ({@code usage()}, which may read carriers' CPU clocks, the bill, the JSON) is taken
 *       on a worker thread, never on an event loop, and one at a time: a tick that finds the last
 *       sample still running is skipped.
 *   <li>A page that reads slower than frames come skips frames (its write queue is full) instead of
 *       having them buffered.
 *   <li>The last {@value #HISTORY_POINTS} points (five minutes) of what the charts draw are kept, so a
 *       page that connects, or reconnects, starts with the recent past; they are kept while nobody
 *       watches too, and points older than five minutes are dropped on the next start. They are kept
 *       encoded, within {@value #HISTORY_BUDGET_CHARS} characters: a runtime with very many functions
 *       keeps a shorter past rather than more memory.
 * </ul>
 *
 * <p>Thread-safe.
 */
final class DashboardFeed {
  /** Time between two frames. */
  static final long INTERVAL_MILLIS = 1_000;
  /** Points of history kept: five minutes of frames. */
  static final int HISTORY_POINTS = 300;
  /** Most characters of encoded history kept (about 4 MB; a point is some 50 characters a function). */
  static final int HISTORY_BUDGET_CHARS = 4_000_000;
  private static final Duration HISTORY = Duration.ofMillis(INTERVAL_MILLIS * HISTORY_POINTS);
  private static final System.Logger LOG = System.getLogger("dev.cumulus.vertx");

  /** One frame, encoded off the event loop, and its point for the history, encoded too. */
  private record Sample(String event, Point point) {}

  /** A point of the charts' history: its time and its JSON. */
  private record Point(long t, String json) {}

  private final Vertx vertx;
  private final Cumulus cumulus;
  /** Used by one sample at a time (see {@link #sample}); reset when the feed starts again. */
  private final DashboardFrames frames;
  private long framesGeneration = -1;

  private final ReentrantLock lock = new ReentrantLock();
  /** Connected pages and the context each one's connection runs on. Guarded by {@link #lock}. */
  private final IdentityHashMap<HttpServerResponse, Context> watchers = new IdentityHashMap<>();
  /** Guarded by {@link #lock}. */
  private final ArrayDeque<Point> history = new ArrayDeque<>();
  /** Characters of {@link #history}. Guarded by {@link #lock}. */
  private long historyChars;
  /** The sampling timer, or -1 while nobody watches. Guarded by {@link #lock}. */
  private long timer = -1;
  /** Counts starts; a sample begun before a stop is dropped. Guarded by {@link #lock}. */
  private long generation;
  /** Whether a sample is being taken. Guarded by {@link #lock}. */
  private boolean sampling;
  /** The last frame of this start, sent at once to a page that connects. Guarded by {@link #lock}. */
  private @Nullable String lastFrame;
  /** Whether a failed sample was logged since the last start. Guarded by {@link #lock}. */
  private boolean failureLogged;

  private final long historyBudget;

  DashboardFeed(Vertx vertx, Cumulus cumulus, DashboardFrames frames) {
    this(vertx, cumulus, frames, HISTORY_BUDGET_CHARS);
  }

  /** With another history budget, in characters (tests). */
  DashboardFeed(Vertx vertx, Cumulus cumulus, DashboardFrames frames, long historyBudget) {
    this.vertx = vertx;
    this.cumulus = cumulus;
    this.frames = frames;
    this.historyBudget = historyBudget;
  }

  /** Streams the frames to {@code response} until it closes. Called on the request's context. */
  void watch(HttpServerResponse response) {
    Context context = vertx.getOrCreateContext();
    response.setChunked(true)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .putHeader("X-Accel-Buffering", "no"); // a proxy in front must not hold the frames back
    response.closeHandler(v -> unwatch(response));
    response.exceptionHandler(e -> unwatch(response));
    StringBuilder hello = new StringBuilder("retry: 2000\n\n");
    lock.lock();
    try {
      if (response.closed()) {
        return;
      }
      watchers.put(response, context);
      if (timer == -1) {
        start();
      }
      hello.append("event: history\ndata: [");
      String comma = "";
      for (Point p : history) {
        hello.append(comma).append(p.json());
        comma = ",";
      }
      hello.append("]\n\n");
      if (lastFrame != null) {
        hello.append(lastFrame);
      }
    } finally {
      lock.unlock();
    }
    response.write(hello.toString());
  }

  private void unwatch(HttpServerResponse response) {
    lock.lock();
    try {
      if (watchers.remove(response) != null && watchers.isEmpty()) {
        vertx.cancelTimer(timer);
        timer = -1;
        lastFrame = null;
      }
    } finally {
      lock.unlock();
    }
  }

  /** Starts sampling: now, and every interval. Called under the lock. */
  private void start() {
    long gen = ++generation;
    failureLogged = false;
    long horizon = System.currentTimeMillis() - HISTORY.toMillis();
    for (Point first = history.peekFirst(); first != null && first.t() < horizon; first = history.peekFirst()) {
      historyChars -= history.removeFirst().json().length();
    }
    timer = vertx.setPeriodic(INTERVAL_MILLIS, id -> sample(gen));
    vertx.getOrCreateContext().runOnContext(v -> sample(gen));
  }

  private void sample(long gen) {
    lock.lock();
    try {
      if (gen != generation || timer == -1 || sampling) {
        return;
      }
      sampling = true;
    } finally {
      lock.unlock();
    }
    vertx.executeBlocking(() -> take(gen), false).onComplete(result -> publish(gen, result));
  }

  /** Takes a sample, on a worker thread; samples never overlap (see {@link #sample}). */
  private Sample take(long gen) {
    if (framesGeneration != gen) {
      frames.reset(); // rates and projections start again: the gap since the last start is not watched
      framesGeneration = gen;
    }
    Map<String, FnSpec<?, ?>> registered = new HashMap<>();
    for (Fn<?, ?> fn : cumulus.functions()) {
      registered.put(fn.name(), fn.spec());
    }
    Usage usage = cumulus.usage();
    JsonObject frame = frames.next(usage, cumulus.liveCarrierThreads(), registered);
    return new Sample("data: " + frame.encode() + "\n\n",
        new Point(frame.getLong("t"), DashboardFrames.point(frame).encode()));
  }

  private void publish(long gen, AsyncResult<Sample> result) {
    List<Map.Entry<HttpServerResponse, Context>> targets;
    String event;
    lock.lock();
    try {
      sampling = false;
      if (gen != generation || timer == -1) {
        return;
      }
      if (result.failed()) {
        if (!failureLogged) {
          failureLogged = true;
          LOG.log(System.Logger.Level.WARNING, "the dashboard could not sample the runtime", result.cause());
        }
        return;
      }
      event = result.result().event();
      Point point = result.result().point();
      history.addLast(point);
      historyChars += point.json().length();
      while (history.size() > HISTORY_POINTS || (historyChars > historyBudget && history.size() > 1)) {
        historyChars -= history.removeFirst().json().length();
      }
      lastFrame = event;
      targets = new ArrayList<>(watchers.entrySet());
    } finally {
      lock.unlock();
    }
    for (Map.Entry<HttpServerResponse, Context> t : targets) {
      HttpServerResponse response = t.getKey();
      t.getValue().runOnContext(v -> {
        // A page that has not read the last frames yet skips this one: nothing piles up for it.
        if (!response.closed() && !response.ended() && !response.writeQueueFull()) {
          response.write(event);
        }
      });
    }
  }

  /** Whether the sampling timer exists (tests). */
  boolean running() {
    lock.lock();
    try {
      return timer != -1;
    } finally {
      lock.unlock();
    }
  }

  /** Whether the timer exists or a sample is still being taken (tests). */
  boolean busy() {
    lock.lock();
    try {
      return timer != -1 || sampling;
    } finally {
      lock.unlock();
    }
  }

  /** Points of history kept (tests). */
  int historyPoints() {
    lock.lock();
    try {
      return history.size();
    } finally {
      lock.unlock();
    }
  }

  /** Connected pages (tests). */
  int watchers() {
    lock.lock();
    try {
      return watchers.size();
    } finally {
      lock.unlock();
    }
  }
}
