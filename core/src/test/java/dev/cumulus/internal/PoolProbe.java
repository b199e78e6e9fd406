package dev.cumulus.internal;

import dev.cumulus.Fn;

/** Test access to a function's internals: its worker pool, for seams and for diagnostics of a failing check. */
public final class PoolProbe {
  private PoolProbe() {}

  /** The worker pool of {@code fn}, a function registered with a Cumulus runtime. */
  static WorkerPool pool(Fn<?, ?> fn) {
    return ((Deployment) fn).pool();
  }

  /**
   * Whether a worker of {@code fn} is on its way to its queue: it has no invocation and its thread
   * is not parked (started and not mounted yet, or between two calls), while fewer of the function's
   * workers run invocations on carriers than it has carriers, so that it can mount. Such a worker
   * takes a queued call without any handler returning: a check that counts waiting calls from the
   * outside waits for it first. A worker that cannot mount (CPU-bound workers hold every carrier) is
   * not on its way: a call counted on it waits.
   */
  public static boolean workerOnItsWay(Fn<?, ?> fn) {
    WorkerPool pool = pool(fn);
    int[] running = {0};
    boolean[] idle = {false};
    pool.forEachLive(w -> {
      Thread t = w.thread;
      Thread.State state = t == null ? Thread.State.NEW : t.getState();
      boolean unparked = state == Thread.State.NEW || state == Thread.State.RUNNABLE;
      if (w.ended || !unparked) {
        return;
      }
      if (w.current() != null) {
        running[0]++;
      } else {
        idle[0] = true;
      }
    });
    int carriers = pool.parallelism();
    return idle[0] && (carriers == 0 || running[0] < carriers);
  }

  /** The worker pool's state of {@code fn} now: slots, reservations, blocked, queue, capacity, live workers. */
  public static String describe(Fn<?, ?> fn) {
    return fn instanceof Deployment d ? d.pool().describe() : "(no internal state: " + fn.getClass().getName() + ")";
  }
}
