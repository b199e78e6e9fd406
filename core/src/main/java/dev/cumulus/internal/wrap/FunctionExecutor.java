package dev.cumulus.internal.wrap;

import dev.cumulus.Fn;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.ThrottledException;
import dev.cumulus.UnknownFunctionException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The {@code ExecutorService} of {@code Cumulus.executor(name)}: every task is one invocation of
 * the function {@code name}, whose input is the task, so the function's concurrency limit, queue,
 * throttling, timeout, scaling to zero and metering apply to tasks. A task the function cannot
 * admit (throttled, runtime closed) is rejected with {@link RejectedExecutionException}, caused by
 * the runtime's exception.
 *
 * <p>Lifecycle as {@code ThreadPoolExecutor}'s: {@link #shutdown()} admits nothing new and lets
 * every accepted task run; {@link #shutdownNow()} also interrupts running tasks and returns the
 * tasks that never started (their invocations are cancelled, so they never run here); the executor
 * is terminated once it is shut down and no accepted task is queued or running.
 */
public final class FunctionExecutor extends AbstractExecutorService implements ExecutorTask.Owner {
  private static final long SHUTDOWN = 1L << 62;

  private final String name;
  private volatile @Nullable Fn<Runnable, @Nullable Object> fn;
  /** The SHUTDOWN bit and the number of accepted tasks not finished yet. */
  private final AtomicLong ctl = new AtomicLong();
  private final AtomicLong seq = new AtomicLong();
  private final Set<ExecutorTask<?>> live = ConcurrentHashMap.newKeySet();
  private final CountDownLatch terminated = new CountDownLatch(1);
  private volatile boolean stopped;

  /**
   * Creates the executor of function {@code name}; {@link #attach} it to the function once that is
   * registered with {@link #handle} as its code.
   *
   * @param name the function's name
   */
  public FunctionExecutor(String name) {
    this.name = name;
  }

  /**
   * Connects the registered function.
   *
   * @param function the function whose handler is {@link #handle}
   */
  public void attach(Fn<Runnable, @Nullable Object> function) {
    this.fn = function;
  }

  /** Returns the function's name. @return the name */
  @Override
  public String name() {
    return name;
  }

  /**
   * The function's code: runs a task of this executor as this invocation, or any other
   * {@code Runnable} given to the function by name.
   *
   * @param input the task
   * @return the task's result ({@code null} for a {@code Runnable})
   */
  public @Nullable Object handle(Runnable input) {
    if (input instanceof ExecutorTask<?> task && task.owner == this) {
      return task.runAsInvocation();
    }
    input.run();
    return null;
  }

  @Override
  protected <T> RunnableFuture<T> newTaskFor(Runnable runnable, T value) {
    return ExecutorTask.of(this, Executors.callable(Objects.requireNonNull(runnable, "task"), value));
  }

  @Override
  protected <T> RunnableFuture<T> newTaskFor(Callable<T> callable) {
    return ExecutorTask.of(this, Objects.requireNonNull(callable, "task"));
  }

  @Override
  public void execute(Runnable command) {
    Objects.requireNonNull(command, "command");
    ExecutorTask<?> task = command instanceof ExecutorTask<?> t && t.owner == this && t.admit()
        ? t : ExecutorTask.wrapping(this, command);
    if (task != command) {
      task.admit();
    }
    for (;;) {
      long c = ctl.get();
      if ((c & SHUTDOWN) != 0) {
        throw new RejectedExecutionException("executor '" + name + "' is shut down; it accepts no"
            + " more tasks");
      }
      if (ctl.compareAndSet(c, c + 1)) {
        break;
      }
    }
    task.seq = seq.incrementAndGet();
    live.add(task);
    Fn<Runnable, @Nullable Object> f = Objects.requireNonNull(fn, "executor not attached to its function");
    CompletableFuture<@Nullable Object> inv;
    try {
      inv = f.invokeAsync(task);
    } catch (RuntimeException | Error e) {
      task.rejected();
      throw new RejectedExecutionException("executor '" + name + "' could not start a task: " + e, e);
    }
    if (inv.isCompletedExceptionally()) {
      Throwable cause = inv.exceptionNow();
      if (cause instanceof ThrottledException || cause instanceof RuntimeClosedException
          || cause instanceof UnknownFunctionException) {
        if (task.rejected()) {
          throw new RejectedExecutionException("executor '" + name + "' rejected a task: "
              + cause.getMessage(), cause);
        }
        return; // shutdownNow took it back meanwhile: it is in the list it returned
      }
    }
    task.bind(inv);
    if (stopped && task.detach()) {
      // shutdownNow ran while this task was being admitted and did not see it.
      throw new RejectedExecutionException("executor '" + name + "' is shut down; it accepts no"
          + " more tasks");
    }
  }

  @Override
  public void finished(ExecutorTask<?> task) {
    live.remove(task);
    if (ctl.decrementAndGet() == SHUTDOWN) {
      terminated.countDown();
    }
  }

  @Override
  public void shutdown() {
    if (ctl.updateAndGet(c -> c | SHUTDOWN) == SHUTDOWN) {
      terminated.countDown();
    }
  }

  @Override
  public List<Runnable> shutdownNow() {
    stopped = true;
    shutdown();
    List<ExecutorTask<?>> tasks = new ArrayList<>(live);
    tasks.sort(Comparator.comparingLong(t -> t.seq));
    List<Runnable> neverStarted = new ArrayList<>();
    // Take back the queued tasks first: an interrupted task that ends would free its worker to
    // start the next one.
    for (ExecutorTask<?> task : tasks) {
      if (task.detach()) {
        neverStarted.add(task.submitted());
      }
    }
    for (ExecutorTask<?> task : tasks) {
      task.interruptIfRunning();
    }
    return neverStarted;
  }

  @Override
  public boolean isShutdown() {
    return (ctl.get() & SHUTDOWN) != 0;
  }

  @Override
  public boolean isTerminated() {
    return ctl.get() == SHUTDOWN;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    Objects.requireNonNull(unit, "unit");
    return terminated.await(timeout, unit);
  }

  @Override
  public String toString() {
    long c = ctl.get();
    long pending = c & ~SHUTDOWN;
    String state = (c & SHUTDOWN) == 0 ? "running" : pending == 0 ? "terminated" : "shutting down";
    return "FunctionExecutor[" + name + ", " + state + ", tasks=" + pending + "]";
  }
}
