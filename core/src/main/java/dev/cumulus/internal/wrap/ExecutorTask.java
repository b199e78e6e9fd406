package dev.cumulus.internal.wrap;

import dev.cumulus.FunctionFailedException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RunnableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * A task of a {@code FunctionExecutor} and its {@code Future}. Admitted to the executor, it runs as
 * one invocation of the executor's function; its outcome is published once that invocation has
 * completed, so the function's stats already count it. Run directly ({@link #run()}, as
 * {@code invokeAny} does), it runs on the calling thread like a {@code FutureTask}.
 *
 * <p>Its state decides, once, who gets to run it: {@code NEW} becomes {@code RUNNING} (then
 * {@code RAN}), or {@code CANCELLED} (its {@code Future} was cancelled first), {@code DETACHED}
 * (returned by {@code shutdownNow}; it can still be run or cancelled by whoever holds it) or
 * {@code ABORTED} (its invocation failed before it started). An admitted task holds the executor
 * open until both its invocation has completed and its code is not running, whichever is last.
 */
final class ExecutorTask<V extends @Nullable Object> implements RunnableFuture<V> {
  /** The executor a task belongs to. */
  interface Owner {
    /** Returns the executor's name, for messages. @return the name */
    String name();

    /**
     * An accepted task will not run any more: it ran, or it never will.
     *
     * @param task the task
     */
    void finished(ExecutorTask<?> task);
  }

  private static final System.Logger LOG = System.getLogger("dev.cumulus");
  static final int NEW = 0;
  static final int RUNNING = 1;
  static final int RAN = 2;
  static final int CANCELLED = 3;
  static final int DETACHED = 4;
  static final int ABORTED = 5;

  private static final VarHandle STATE;
  private static final VarHandle PARTIES;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      STATE = lookup.findVarHandle(ExecutorTask.class, "state", int.class);
      PARTIES = lookup.findVarHandle(ExecutorTask.class, "parties", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final Owner owner;
  private final Callable<V> callable;
  /** What {@code shutdownNow} returns for it: the command given to execute, or this task. */
  private final Runnable submitted;
  /** A task given to execute (not submit): nobody sees its failure unless it is logged. */
  private final boolean fireAndForget;
  private final CompletableFuture<V> result = new CompletableFuture<>();
  /** Guards {@link #runner}, so that an interrupt reaches the task's code and nothing after it. */
  private final ReentrantLock runnerLock = new ReentrantLock();
  private @Nullable Thread runner;
  long seq;

  @SuppressWarnings("unused") // STATE
  private volatile int state;
  /** Admitted: 2 = its invocation and its code; the executor releases it at 0. */
  @SuppressWarnings("unused") // PARTIES
  private volatile int parties;
  private volatile boolean admitted;
  private volatile @Nullable CompletableFuture<@Nullable Object> invocation;
  /** Set by the invocation that ran it, before it completes. */
  private volatile boolean ranAsInvocation;
  private volatile @Nullable Throwable thrown;

  private ExecutorTask(Owner owner, Callable<V> callable, @Nullable Runnable submitted,
      boolean fireAndForget) {
    this.owner = owner;
    this.callable = callable;
    this.submitted = submitted != null ? submitted : this;
    this.fireAndForget = fireAndForget;
  }

  /** A task made by submit, invokeAll or invokeAny. */
  static <V extends @Nullable Object> ExecutorTask<V> of(Owner owner, Callable<V> callable) {
    return new ExecutorTask<>(owner, callable, null, false);
  }

  /** A task made for a command given to execute. */
  static ExecutorTask<@Nullable Void> wrapping(Owner owner, Runnable command) {
    return new ExecutorTask<@Nullable Void>(owner, Executors.callable(command, null), command, true);
  }

  /** Marks it admitted; false if it already was (it then needs a wrapper to run again). */
  boolean admit() {
    if (admitted || (int) STATE.getVolatile(this) != NEW) {
      return false;
    }
    PARTIES.setVolatile(this, 2);
    admitted = true;
    return true;
  }

  Runnable submitted() {
    return submitted;
  }

  /**
   * Links the invocation that will run it. If the task left {@code NEW} meanwhile (cancelled, or
   * detached by shutdownNow), the invocation is cancelled so that it never runs.
   */
  void bind(CompletableFuture<@Nullable Object> inv) {
    invocation = inv;
    inv.whenComplete(this::invocationDone);
    if ((int) STATE.getVolatile(this) != NEW && (int) STATE.getVolatile(this) != RUNNING
        && (int) STATE.getVolatile(this) != RAN) {
      inv.cancel(false);
    }
  }

  /**
   * Admission failed (throttled, closed, unregistered): no invocation will run it. Releases the
   * executor's hold on it.
   *
   * @return true if the task is dead, false if a concurrent shutdownNow took it back first (it is
   *     then in the list shutdownNow returned)
   */
  boolean rejected() {
    boolean mine = STATE.compareAndSet(this, NEW, ABORTED);
    if (mine) {
      release(); // its code will never run
    }
    release(); // nor will its invocation
    return mine;
  }

  // ---------------------------------------------------------------------------------------------
  // Running

  /**
   * Runs it as an invocation of the executor's function (the function's handler calls this).
   *
   * @return the task's result
   */
  @Nullable Object runAsInvocation() {
    if (!STATE.compareAndSet(this, NEW, RUNNING)) {
      return null; // cancelled, detached or run directly before its invocation started
    }
    ranAsInvocation = true;
    Object value;
    try {
      value = runHere();
    } finally {
      Thread.interrupted(); // an interrupt meant for this task must not reach the next one
      release();
    }
    Throwable t = thrown;
    if (t != null) {
      if (fireAndForget) {
        LOG.log(System.Logger.Level.WARNING, "a task run by executor '" + owner.name() + "' failed", t);
      }
      // Fails the invocation, so that the function's stats count a failure.
      throw MethodInvoker.<RuntimeException>sneaky(t);
    }
    return value;
  }

  /** Runs it on the calling thread and completes its future at once, as a FutureTask does. */
  @Override
  public void run() {
    int s = (int) STATE.getVolatile(this);
    if ((s != NEW && s != DETACHED) || !STATE.compareAndSet(this, s, RUNNING)) {
      return;
    }
    CompletableFuture<@Nullable Object> inv = invocation;
    if (admitted && s == NEW && inv != null) {
      inv.cancel(false); // it ran here: its invocation has nothing left to do
    }
    try {
      Object value = runHere();
      Throwable t = thrown;
      if (t != null) {
        failWithOwn(t);
      } else {
        @SuppressWarnings("unchecked")
        V v = (V) value;
        result.complete(v);
      }
    } finally {
      if (admitted && s == NEW) {
        release();
      }
    }
  }

  private @Nullable Object runHere() {
    runnerLock.lock();
    try {
      runner = Thread.currentThread();
    } finally {
      runnerLock.unlock();
    }
    try {
      if (result.isDone()) {
        return null; // cancelled between the claim and now
      }
      return callable.call();
    } catch (Throwable t) {
      thrown = t;
      return null;
    } finally {
      runnerLock.lock();
      try {
        runner = null;
        STATE.setVolatile(this, RAN);
      } finally {
        runnerLock.unlock();
      }
    }
  }

  /** Interrupts its code if it is running now (shutdownNow, cancel(true)). */
  void interruptIfRunning() {
    runnerLock.lock();
    try {
      Thread t = runner;
      if (t != null) {
        t.interrupt();
      }
    } finally {
      runnerLock.unlock();
    }
  }

  /** shutdownNow: takes it back if it has not started; true if so (it will never run here). */
  boolean detach() {
    if (!STATE.compareAndSet(this, NEW, DETACHED)) {
      return false;
    }
    cancelInvocation();
    release();
    return true;
  }

  private void cancelInvocation() {
    CompletableFuture<@Nullable Object> inv = invocation;
    if (inv != null) {
      inv.cancel(false); // a queued invocation is then skipped, and counted as cancelled
    }
  }

  /** The invocation completed: publish the outcome, and release the executor's hold on the task. */
  private void invocationDone(@Nullable Object value, @Nullable Throwable failure) {
    if (failure != null && STATE.compareAndSet(this, NEW, ABORTED)) {
      release(); // it will never run: the runtime closed, or the function is gone
    }
    if (ranAsInvocation) {
      Throwable t = thrown;
      if (failure == null) {
        @SuppressWarnings("unchecked")
        V v = (V) value;
        result.complete(v);
      } else if (t != null && failure instanceof FunctionFailedException f && f.getCause() == t) {
        failWithOwn(t);
      } else {
        result.completeExceptionally(failure); // timed out, over its CPU budget, runtime closed
      }
    } else if (failure != null && !(failure instanceof CancellationException)) {
      result.completeExceptionally(failure);
    }
    release();
  }

  /**
   * Fails the future with what the task threw, so that get() throws ExecutionException caused by it,
   * as a FutureTask's does, even when the task threw a CompletionException or CancellationException
   * (CompletableFuture would unwrap the one and report the other as a cancellation).
   */
  private void failWithOwn(Throwable t) {
    result.completeExceptionally(t instanceof CompletionException || t instanceof CancellationException
        ? new CompletionException(t) : t);
  }

  private void release() {
    if (admitted && (int) PARTIES.getAndAdd(this, -1) == 1) {
      owner.finished(this);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Future

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    // True only for the call that cancels it (CompletableFuture.cancel says true again and again).
    if (!result.completeExceptionally(new CancellationException())) {
      return false;
    }
    int s = (int) STATE.getVolatile(this);
    if (s == NEW && STATE.compareAndSet(this, NEW, CANCELLED)) {
      cancelInvocation();
      release();
    } else if (s == DETACHED) {
      STATE.compareAndSet(this, DETACHED, CANCELLED);
    } else if (mayInterruptIfRunning) {
      interruptIfRunning();
    }
    return true;
  }

  @Override
  public boolean isCancelled() {
    return result.isCancelled();
  }

  @Override
  public boolean isDone() {
    return result.isDone();
  }

  @Override
  public V get() throws InterruptedException, ExecutionException {
    return result.get();
  }

  @Override
  public V get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
    return result.get(timeout, unit);
  }

  @Override
  public String toString() {
    String s = switch ((int) STATE.getVolatile(this)) {
      case NEW -> "not started";
      case RUNNING -> "running";
      case RAN -> "ran";
      case CANCELLED -> "cancelled";
      case DETACHED -> "returned by shutdownNow";
      default -> "aborted";
    };
    return "ExecutorTask[executor '" + owner.name() + "', " + s + ", " + callable + "]";
  }
}
