package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Cumulus#executor(String)}: the {@code ExecutorService} contract, as the JSR-166 TCK's
 * {@code AbstractExecutorServiceTest} and {@code ThreadPoolExecutorTest} exercise it, over a
 * function's limits, queue and stats.
 */
class FunctionExecutorServiceTest {
  private static final long LONG = 30;

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final CountDownLatch gate = new CountDownLatch(1);

  @AfterEach
  void closeAll() throws Exception {
    gate.countDown();
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private Cumulus runtime(Cumulus c) {
    toClose.add(c);
    return c;
  }

  private Cumulus runtime() {
    return runtime(Cumulus.create());
  }

  private static ExecutorService shutdownLater(ExecutorService e, List<AutoCloseable> toClose) {
    toClose.add(e::shutdownNow);
    return e;
  }

  /** A task that waits for the test's gate, interruptibly; records being interrupted. */
  private Callable<String> blocked(String value, AtomicInteger interrupts) {
    return () -> {
      try {
        if (!gate.await(LONG, TimeUnit.SECONDS)) {
          throw new IllegalStateException("gate not opened");
        }
        return value;
      } catch (InterruptedException e) {
        interrupts.incrementAndGet();
        throw e;
      }
    };
  }

  // ---------------------------------------------------------------------------------------------
  // execute / submit (AbstractExecutorServiceTest)

  @Test
  void execute_runsTheTaskAsAnInvocationOfTheFunction_onACumulusVirtualThread() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    AtomicReference<Thread> ran = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(1);
    e.execute(() -> {
      ran.set(Thread.currentThread());
      done.countDown();
    });
    assertThat(done.await(LONG, TimeUnit.SECONDS)).isTrue();
    assertThat(ran.get().isVirtual()).isTrue();
    assertThat(ran.get().getName()).contains("jobs");
    await().until(() -> c.function("jobs").stats().successes() == 1);
    assertThat(c.function("jobs").spec().inputType()).isEqualTo(Runnable.class);
  }

  @Test
  void submitCallable_givesItsResult_andTheStatsAlreadyCountIt() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    Future<String> f = e.submit(() -> "done");
    assertThat(f.get(LONG, TimeUnit.SECONDS)).isEqualTo("done");
    assertThat(f.isDone()).isTrue();
    assertThat(f.isCancelled()).isFalse();
    FunctionStats s = c.function("jobs").stats(); // read-your-calls: no waiting
    assertThat(s.invocations()).isEqualTo(1);
    assertThat(s.successes()).isEqualTo(1);
  }

  @Test
  void submitRunnable_givesNull_orTheGivenResult() throws Exception {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    AtomicInteger runs = new AtomicInteger();
    Runnable task = () -> {
      runs.incrementAndGet();
    };
    Future<?> plain = e.submit(task);
    Future<String> withResult = e.submit(task, "result");
    assertThat(plain.get(LONG, TimeUnit.SECONDS)).isNull();
    assertThat(withResult.get(LONG, TimeUnit.SECONDS)).isEqualTo("result");
    assertThat(runs).hasValue(2);
  }

  @Test
  void nullTasks_areRejectedWithNullPointerException() {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    assertThatThrownBy(() -> e.execute(null)).isInstanceOf(NullPointerException.class).hasMessage("command");
    assertThatThrownBy(() -> e.submit((Runnable) null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> e.submit((Callable<?>) null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> e.submit((Runnable) null, "x")).isInstanceOf(NullPointerException.class);
  }

  @Test
  void taskThatThrows_getThrowsExecutionExceptionCausedByIt_andTheFunctionCountsAFailure() {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    Future<String> f = e.submit(() -> {
      throw new IOException("checked failure");
    });
    assertThatThrownBy(() -> f.get(LONG, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isExactlyInstanceOf(IOException.class).hasMessage("checked failure");
    assertThat(c.function("jobs").stats().failures()).isEqualTo(1);
  }

  @Test
  void taskThatThrowsCancellationException_isAFailure_notACancellation() {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    Future<String> f = e.submit(() -> {
      throw new CancellationException("the task's own");
    });
    assertThatThrownBy(() -> f.get(LONG, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isExactlyInstanceOf(CancellationException.class).hasMessage("the task's own");
    assertThat(f.isCancelled()).isFalse();
  }

  @Test
  void executedTaskThatThrows_isCountedAsAFailure_andTheExecutorGoesOn() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    e.execute(() -> {
      throw new IllegalStateException("expected by the test: logged, not rethrown");
    });
    await().until(() -> c.function("jobs").stats().failures() == 1);
    assertThat(e.submit(() -> 42).get(LONG, TimeUnit.SECONDS)).isEqualTo(42);
  }

  @Test
  void get_whenTheCallerIsInterrupted_throwsInterruptedException() {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    Future<String> f = e.submit(blocked("x", new AtomicInteger()));
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(f::get).isInstanceOf(InterruptedException.class);
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void timedGet_ofARunningTask_throwsTimeoutException() {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    Future<String> f = e.submit(blocked("x", new AtomicInteger()));
    assertThatThrownBy(() -> f.get(1, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
  }

  @Test
  void aTaskCanSubmitAnotherAndWaitForIt() throws Exception {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    Future<Integer> outer = e.submit(() -> e.submit(() -> 20).get() + 22);
    assertThat(outer.get(LONG, TimeUnit.SECONDS)).isEqualTo(42);
  }

  // ---------------------------------------------------------------------------------------------
  // invokeAll / invokeAny (AbstractExecutorServiceTest)

  @Test
  void invokeAll_ofNothing_isEmpty_andNullsAreRejected() throws Exception {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    assertThat(e.invokeAll(List.of())).isEmpty();
    assertThatThrownBy(() -> e.invokeAll(null)).isInstanceOf(NullPointerException.class);
    List<Callable<String>> withNull = new ArrayList<>();
    withNull.add(() -> "a");
    withNull.add(null);
    assertThatThrownBy(() -> e.invokeAll(withNull)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> e.invokeAll(List.of(() -> "a"), 1, null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void invokeAll_waitsForEveryTask_andKeepsTheirOrder() throws Exception {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    List<Callable<String>> tasks = List.of(() -> "a", () -> {
      throw new IllegalArgumentException("b failed");
    }, () -> "c");
    List<Future<String>> fs = e.invokeAll(tasks);
    assertThat(fs).hasSize(3).allMatch(Future::isDone);
    assertThat(fs.get(0).get()).isEqualTo("a");
    assertThatThrownBy(() -> fs.get(1).get()).isInstanceOf(ExecutionException.class)
        .cause().isExactlyInstanceOf(IllegalArgumentException.class);
    assertThat(fs.get(2).get()).isEqualTo("c");
  }

  @Test
  void timedInvokeAll_cancelsAndInterruptsTasksNotDoneInTime() throws Exception {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    AtomicInteger interrupts = new AtomicInteger();
    // The slow task never ends by itself, so whatever the timeout it is cancelled; 1 s is for the
    // quick one to finish even on a busy machine.
    List<Future<String>> fs = e.invokeAll(List.of(() -> "quick", blocked("slow", interrupts)),
        1, TimeUnit.SECONDS);
    assertThat(fs).hasSize(2).allMatch(Future::isDone);
    // The quick task finished in time, unless the machine was too busy to run it within the second:
    // then it was cancelled, which the contract allows too. The slow one never finishes.
    if (!fs.get(0).isCancelled()) {
      assertThat(fs.get(0).get()).isEqualTo("quick");
    }
    assertThat(fs.get(1).isCancelled()).isTrue();
    assertThatThrownBy(() -> fs.get(1).get()).isInstanceOf(CancellationException.class);
    e.shutdown();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
    // It had started (interrupted) or had not (never ran): never both, never neither finished.
    assertThat(interrupts.get()).isLessThanOrEqualTo(1);
  }

  @Test
  void invokeAll_whenATaskIsRejected_throwsAndCancelsTheOthers() {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs", spec -> spec.maxConcurrency(1).queueCapacity(0)), toClose);
    AtomicInteger interrupts = new AtomicInteger();
    assertThatThrownBy(() -> e.invokeAll(List.of(blocked("a", interrupts), () -> "b")))
        .isInstanceOf(RejectedExecutionException.class)
        .cause().isInstanceOf(ThrottledException.class);
    await().until(() -> c.function("jobs").stats().inFlight() == 0);
    e.shutdown();
    await().until(e::isTerminated);
  }

  @Test
  void invokeAny_ofNothingOrNulls_isRejected() {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    assertThatThrownBy(() -> e.invokeAny(List.of())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> e.invokeAny(null)).isInstanceOf(NullPointerException.class);
    List<Callable<String>> withNull = new ArrayList<>();
    withNull.add(null);
    assertThatThrownBy(() -> e.invokeAny(withNull)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void invokeAny_givesTheResultOfOneTask_andCancelsTheRest() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    AtomicInteger interrupts = new AtomicInteger();
    String result = e.invokeAny(List.of(blocked("slow", interrupts), () -> "fast"));
    assertThat(result).isEqualTo("fast");
    e.shutdown();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue(); // the slow one was stopped
    assertThat(c.function("jobs").stats().inFlight()).isZero();
  }

  @Test
  void invokeAny_whenEveryTaskFails_throwsExecutionException() {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    assertThatThrownBy(() -> e.invokeAny(List.of(() -> {
      throw new IllegalStateException("one");
    }, () -> {
      throw new IllegalStateException("two");
    }))).isInstanceOf(ExecutionException.class).cause().isInstanceOf(IllegalStateException.class);
  }

  @Test
  void timedInvokeAny_whenNothingCompletesInTime_throwsTimeoutException() throws Exception {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    AtomicInteger interrupts = new AtomicInteger();
    assertThatThrownBy(() -> e.invokeAny(List.of(blocked("x", interrupts)), 20, TimeUnit.MILLISECONDS))
        .isInstanceOf(TimeoutException.class);
    assertThatThrownBy(() -> e.invokeAny(List.of(() -> "x"), 1, null)).isInstanceOf(NullPointerException.class);
    e.shutdown();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle (ThreadPoolExecutorTest)

  @Test
  void beforeShutdown_notShutdownNorTerminated_andAwaitTerminationTimesOut() throws Exception {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    assertThat(e.isShutdown()).isFalse();
    assertThat(e.isTerminated()).isFalse();
    assertThat(e.awaitTermination(1, TimeUnit.MILLISECONDS)).isFalse();
  }

  @Test
  void shutdown_withNothingPending_terminatesAtOnce_andRejectsNewTasks() throws Exception {
    ExecutorService e = shutdownLater(runtime().executor("jobs"), toClose);
    e.shutdown();
    assertThat(e.isShutdown()).isTrue();
    assertThat(e.isTerminated()).isTrue();
    assertThat(e.awaitTermination(0, TimeUnit.SECONDS)).isTrue();
    assertThatThrownBy(() -> e.execute(() -> { }))
        .isInstanceOf(RejectedExecutionException.class)
        .hasMessage("executor 'jobs' is shut down; it accepts no more tasks");
    assertThatThrownBy(() -> e.submit(() -> "x")).isInstanceOf(RejectedExecutionException.class);
    e.shutdown(); // idempotent
    assertThat(e.isTerminated()).isTrue();
  }

  @Test
  void shutdown_letsAcceptedTasksFinish_runningAndQueued() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs", spec -> spec.maxConcurrency(1)), toClose);
    List<Integer> ran = new CopyOnWriteArrayList<>();
    Future<String> running = e.submit(blocked("first", new AtomicInteger()));
    await().until(() -> c.function("jobs").stats().inFlight() == 1);
    for (int i = 0; i < 3; i++) {
      int n = i;
      e.execute(() -> ran.add(n));
    }
    e.shutdown();
    assertThat(e.isShutdown()).isTrue();
    assertThat(e.isTerminated()).isFalse();
    assertThat(e.awaitTermination(10, TimeUnit.MILLISECONDS)).isFalse(); // the gate is closed
    gate.countDown();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
    assertThat(e.isTerminated()).isTrue();
    assertThat(running.get()).isEqualTo("first");
    assertThat(ran).containsExactly(0, 1, 2);
    assertThat(c.function("jobs").stats().successes()).isEqualTo(4); // terminated: all counted
  }

  @Test
  void shutdownNow_interruptsRunningTasks_andReturnsTheNeverStartedOnesInOrder_whichNeverRun()
      throws Exception {
    Cumulus c = runtime();
    ExecutorService e = c.executor("jobs", spec -> spec.maxConcurrency(1));
    AtomicInteger interrupts = new AtomicInteger();
    Future<String> running = e.submit(blocked("first", interrupts));
    await().until(() -> c.function("jobs").stats().inFlight() == 1);
    AtomicBoolean queuedRan = new AtomicBoolean();
    Runnable r1 = () -> queuedRan.set(true);
    Runnable r2 = () -> queuedRan.set(true);
    Runnable r3 = () -> queuedRan.set(true);
    e.execute(r1);
    e.execute(r2);
    e.execute(r3);
    List<Runnable> neverStarted = e.shutdownNow();
    assertThat(neverStarted).containsExactly(r1, r2, r3);
    assertThat(e.isShutdown()).isTrue();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
    assertThat(interrupts).hasValue(1);
    assertThatThrownBy(running::get).isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(InterruptedException.class);
    await().until(() -> c.function("jobs").stats().cancelled() == 3);
    assertThat(queuedRan).isFalse();
    assertThatThrownBy(() -> e.execute(() -> { })).isInstanceOf(RejectedExecutionException.class);
  }

  @Test
  void shutdownNow_returnsSubmittedTasksAsTheirFutures_whichTheCallerMayStillRun() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = c.executor("jobs", spec -> spec.maxConcurrency(1));
    e.submit(blocked("first", new AtomicInteger()));
    await().until(() -> c.function("jobs").stats().inFlight() == 1);
    Future<String> queued = e.submit(() -> "ran by the caller");
    List<Runnable> neverStarted = e.shutdownNow();
    assertThat(neverStarted).containsExactly((Runnable) queued);
    assertThat(queued).isNotDone();
    neverStarted.get(0).run();
    assertThat(queued.get()).isEqualTo("ran by the caller");
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void close_shutsDownAndWaitsForTheTasks() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = c.executor("jobs");
    AtomicInteger done = new AtomicInteger();
    for (int i = 0; i < 20; i++) {
      e.execute(done::incrementAndGet);
    }
    e.close();
    assertThat(e.isTerminated()).isTrue();
    assertThat(done).hasValue(20);
  }

  // ---------------------------------------------------------------------------------------------
  // Cancellation

  @Test
  void cancellingAQueuedTask_meansItNeverRuns_andIsCountedAsCancelled() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs", spec -> spec.maxConcurrency(1)), toClose);
    Future<String> running = e.submit(blocked("first", new AtomicInteger()));
    await().until(() -> c.function("jobs").stats().inFlight() == 1);
    AtomicBoolean ran = new AtomicBoolean();
    Future<?> queued = e.submit(() -> ran.set(true));
    assertThat(queued.cancel(false)).isTrue();
    assertThat(queued.isCancelled()).isTrue();
    assertThat(queued.isDone()).isTrue();
    assertThat(queued.cancel(true)).isFalse(); // already cancelled
    assertThatThrownBy(queued::get).isInstanceOf(CancellationException.class);
    gate.countDown();
    assertThat(running.get()).isEqualTo("first");
    e.shutdown();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
    await().until(() -> c.function("jobs").stats().cancelled() == 1);
    assertThat(ran).isFalse();
  }

  @Test
  void cancelTrue_interruptsARunningTask() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    AtomicInteger interrupts = new AtomicInteger();
    Future<String> f = e.submit(blocked("x", interrupts));
    await().until(() -> c.function("jobs").stats().inFlight() == 1);
    assertThat(f.cancel(true)).isTrue();
    assertThat(f.isCancelled()).isTrue();
    assertThatThrownBy(f::get).isInstanceOf(CancellationException.class);
    await().until(() -> interrupts.get() == 1);
    e.shutdown();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void cancelFalse_letsARunningTaskFinish_withoutInterrupt() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    AtomicInteger interrupts = new AtomicInteger();
    Future<String> f = e.submit(blocked("x", interrupts));
    await().until(() -> c.function("jobs").stats().inFlight() == 1);
    assertThat(f.cancel(false)).isTrue();
    e.shutdown();
    assertThat(e.isTerminated()).isFalse(); // the task still runs
    gate.countDown();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
    assertThat(interrupts).hasValue(0);
    assertThat(c.function("jobs").stats().successes()).isEqualTo(1);
  }

  @Test
  void anInterruptMeantForOneTask_neverReachesTheNext() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs", spec -> spec.maxConcurrency(1)), toClose);
    for (int i = 0; i < 50; i++) {
      Future<String> f = e.submit(blocked("x", new AtomicInteger()));
      f.cancel(true);
      assertThat(e.submit(() -> Thread.currentThread().isInterrupted()).get(LONG, TimeUnit.SECONDS)).isFalse();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The function's limits, queue, throttling, timeout, closing

  @Test
  void options_configureTheFunction() {
    Cumulus c = runtime();
    shutdownLater(c.executor("jobs", spec -> spec.maxConcurrency(3).queueCapacity(7)
        .timeout(Duration.ofMinutes(5))), toClose);
    FnSpec<?, ?> spec = c.function("jobs").spec();
    assertThat(spec.maxConcurrency()).hasValue(3);
    assertThat(spec.queueCapacity()).isEqualTo(7);
    assertThat(spec.timeout()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void badOptionsOrNames_failClearly_andRegisterNothing() {
    Cumulus c = runtime();
    assertThatThrownBy(() -> c.executor("jobs", spec -> spec.maxConcurrency(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConcurrency must be positive but was 0");
    assertThatThrownBy(() -> c.executor("jobs", spec -> spec.inputType(Runnable.class)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("the executor sets the inputType of 'jobs' itself (its input is the submitted task,"
            + " a Runnable): do not set it in executor options");
    assertThatThrownBy(() -> c.executor("jobs", FnSpec.Builder::build))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("the options of executor 'jobs' called build(): do not call build() in executor options;"
            + " set the options on the builder and return, and the executor builds the function");
    assertThatThrownBy(() -> c.executor("no spaces")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> c.executor(null)).isInstanceOf(NullPointerException.class).hasMessage("name");
    assertThatThrownBy(() -> c.executor("jobs", null)).isInstanceOf(NullPointerException.class).hasMessage("options");
    assertThat(c.functions()).isEmpty();
    shutdownLater(c.executor("jobs"), toClose);
    assertThatThrownBy(() -> c.executor("jobs"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("a function named 'jobs' is already registered");
  }

  @Test
  void concurrency_isLimitedByTheFunction_restWaitsInItsQueue() throws Exception {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs", spec -> spec.maxConcurrency(2)), toClose);
    AtomicInteger now = new AtomicInteger();
    AtomicInteger max = new AtomicInteger();
    List<Future<?>> fs = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      fs.add(e.submit(() -> {
        max.accumulateAndGet(now.incrementAndGet(), Math::max);
        try {
          TestFunctions.await(gate);
        } finally {
          now.decrementAndGet();
        }
      }));
    }
    await().until(() -> c.function("jobs").stats().inFlight() == 2);
    assertThat(c.function("jobs").stats().queued()).isEqualTo(4);
    gate.countDown();
    for (Future<?> f : fs) {
      f.get(LONG, TimeUnit.SECONDS);
    }
    assertThat(max).hasValue(2);
  }

  @Test
  void whenTheQueueIsFull_execute_isRejected_causedByThrottled() {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs", spec -> spec.maxConcurrency(1).queueCapacity(1)), toClose);
    e.submit(blocked("running", new AtomicInteger()));
    await().until(() -> c.function("jobs").stats().inFlight() == 1);
    e.submit(blocked("queued", new AtomicInteger()));
    assertThatThrownBy(() -> e.submit(() -> "one too many"))
        .isInstanceOf(RejectedExecutionException.class)
        .hasMessage("executor 'jobs' rejected a task: function 'jobs' is throttled: 1 running"
            + " (maxConcurrency 1) and 1 waiting (queueCapacity 1)")
        .cause().isInstanceOf(ThrottledException.class);
    assertThat(c.function("jobs").stats().throttles()).isEqualTo(1);
    assertThat(e.isShutdown()).isFalse();
    e.shutdown();
    gate.countDown();
    await().until(e::isTerminated); // the rejected task holds nothing
  }

  @Test
  void aTaskRunningPastTheFunctionsTimeout_failsWithFunctionTimeout_andIsInterrupted() throws Exception {
    ManualClock clock = new ManualClock();
    Cumulus c = runtime(Cumulus.builder().clock(clock).build());
    ExecutorService e = shutdownLater(c.executor("jobs", spec -> spec.timeout(Duration.ofSeconds(2))), toClose);
    AtomicInteger interrupts = new AtomicInteger();
    Future<String> f = e.submit(blocked("x", interrupts));
    await().until(() -> c.function("jobs").stats().inFlight() == 1);
    clock.advance(Duration.ofSeconds(2));
    assertThatThrownBy(() -> f.get(LONG, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(FunctionTimeoutException.class)
        .hasMessage("function 'jobs' timed out after 2 s");
    await().until(() -> interrupts.get() == 1);
    e.shutdown();
    assertThat(e.awaitTermination(LONG, TimeUnit.SECONDS)).isTrue();
    assertThat(c.function("jobs").stats().timeouts()).isEqualTo(1);
  }

  @Test
  void afterTheRuntimeCloses_tasksAreRejected_causedByRuntimeClosed() {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    c.close();
    assertThatThrownBy(() -> e.execute(() -> { }))
        .isInstanceOf(RejectedExecutionException.class)
        .cause().isInstanceOf(RuntimeClosedException.class);
  }

  @Test
  void afterTheFunctionIsUnregistered_tasksAreRejected_causedByUnknownFunction() {
    Cumulus c = runtime();
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    c.unregister("jobs");
    assertThatThrownBy(() -> e.execute(() -> { }))
        .isInstanceOf(RejectedExecutionException.class)
        .cause().isInstanceOf(UnknownFunctionException.class);
  }

  @Test
  void idleExecutor_holdsNoThread() throws Exception {
    Cumulus c = runtime(Cumulus.builder().carrierKeepAlive(Duration.ofMillis(50)).build());
    ExecutorService e = shutdownLater(c.executor("jobs"), toClose);
    List<Future<Integer>> fs = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      int n = i;
      fs.add(e.submit(() -> n));
    }
    for (Future<Integer> f : fs) {
      f.get(LONG, TimeUnit.SECONDS);
    }
    assertThat(c.function("jobs").stats().successes()).isEqualTo(100);
    await().atMost(Duration.ofSeconds(LONG)).until(() -> c.engine().liveCarriers() == 0);
    assertThat(e.isShutdown()).isFalse(); // idle, not shut down: it takes tasks again
    assertThat(e.submit(() -> "again").get(LONG, TimeUnit.SECONDS)).isEqualTo("again");
  }
}
