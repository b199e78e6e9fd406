package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Fn#invokeMetered} and {@link Fn#invokeMeteredAsync}: each call's own figures with its result.
 * CPU is compared by order between calls doing given amounts of CPU time of work ({@link
 * TestFunctions#spinCpu}), never against a duration.
 */
class ReceiptTest {
  private final Cumulus cumulus = Cumulus.builder().carrierKeepAlive(Duration.ofMinutes(1)).build();

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void invokeMetered_returnsTheResult_coldThenWarm() {
    AtomicInteger inits = new AtomicInteger();
    Fn<String, Integer> words = cumulus.register(FnSpec.<StringBuilder, String, Integer>withInstance("words",
        () -> {
          inits.incrementAndGet();
          TestFunctions.spinCpu(2);
          return new StringBuilder();
        }, (sb, s) -> s.split(" ").length).build());

    Receipt<Integer> cold = words.invokeMetered("a b c");
    Receipt<Integer> warm = words.invokeMetered("a b");

    assertThat(cold.result()).isEqualTo(3);
    assertThat(warm.result()).isEqualTo(2);
    assertThat(cold.function()).isEqualTo("words");
    assertThat(cold.coldStart()).isTrue();
    assertThat(cold.initTime()).isPositive().isLessThanOrEqualTo(cold.wallTime());
    assertThat(warm.coldStart()).isFalse();
    assertThat(warm.initTime()).isZero();
    assertThat(inits).hasValue(1);
    for (Receipt<Integer> r : List.of(cold, warm)) {
      assertThat(r.billedMillis()).isPositive();
      assertThat(r.billedCpuMillis()).as("EXACT metering: at least 1 ms, as billed").isPositive();
      assertThat(r.cpuTime()).as("one thread cannot use more CPU than its time").isLessThanOrEqualTo(r.wallTime());
      assertThat(r.billedCpuMillis()).isLessThanOrEqualTo(r.billedMillis());
      assertThat(r.bytesProcessed()).isZero();
    }
    assertThat(cold.cpuTime()).as("the init's CPU is the cold call's").isGreaterThan(warm.cpuTime());
    assertThat(cold.toString()).startsWith("words: cold start (init ").contains("result=3");
  }

  @Test
  void receipts_areTheInvocationsTermsOfTheStats() {
    Fn<Long, Long> spin = cumulus.register(FnSpec.of("spin", (Long ms) -> {
      FnContext.current().addBytesProcessed(ms * 1_000);
      return TestFunctions.spinCpu(ms);
    }).build());
    FunctionStats before = spin.stats();
    List<Receipt<Long>> receipts = new ArrayList<>();
    for (long ms = 1; ms <= 6; ms++) {
      receipts.add(spin.invokeMetered(ms));
    }
    FunctionStats used = spin.stats().minus(before);

    assertThat(receipts.stream().mapToLong(Receipt::billedMillis).sum()).isEqualTo(used.billedMillis());
    assertThat(receipts.stream().mapToLong(Receipt::billedCpuMillis).sum()).isEqualTo(used.billedCpuMillis());
    assertThat(receipts.stream().mapToLong(Receipt::bytesProcessed).sum()).isEqualTo(used.bytesProcessed())
        .isEqualTo(21_000);
    assertThat(receipts.stream().map(Receipt::wallTime).reduce(Duration.ZERO, Duration::plus))
        .isEqualTo(used.wallTime());
    assertThat(receipts.stream().map(Receipt::queueWait).reduce(Duration.ZERO, Duration::plus))
        .isEqualTo(used.queueWait());
    assertThat(receipts.stream().filter(Receipt::coldStart).count()).isEqualTo(used.coldStarts());
    assertThat(used.invocations()).isEqualTo(6);
  }

  @Test
  void overlappingCalls_eachReceiptHasItsOwnCpu_orderedByTheWorkItDid() throws Exception {
    // Every call waits at the gate until all are running, so they overlap; then each spins its own
    // amount of CPU. Their receipts must order as their work does.
    TestFunctions.prepareCpuWork(); // here, on the test's platform thread, not by four calls at once
    long[] work = {64, 1, 16, 4};
    CountDownLatch running = new CountDownLatch(work.length);
    CountDownLatch gate = new CountDownLatch(1);
    Fn<Long, Long> spin = cumulus.register(FnSpec.of("spin", (Long ms) -> {
      running.countDown();
      TestFunctions.await(gate);
      FnContext.current().addBytesProcessed(ms);
      TestFunctions.spinCpu(ms);
      return ms;
    }).build());
    List<CompletableFuture<Receipt<Long>>> calls = new ArrayList<>();
    for (long ms : work) {
      calls.add(spin.invokeMeteredAsync(ms));
    }
    TestFunctions.await(running);
    assertThat(spin.stats().inFlight()).isEqualTo(work.length);
    gate.countDown();

    List<Receipt<Long>> receipts = new ArrayList<>();
    for (CompletableFuture<Receipt<Long>> call : calls) {
      receipts.add(call.get());
    }
    for (int i = 0; i < work.length; i++) {
      assertThat(receipts.get(i).result()).isEqualTo(work[i]);
      assertThat(receipts.get(i).bytesProcessed()).as("its own bytes").isEqualTo(work[i]);
      assertThat(receipts.get(i).coldStart()).as("four at once: four instances").isTrue();
    }
    List<Receipt<Long>> byWork = receipts.stream().sorted(Comparator.comparing(Receipt::result)).toList();
    assertThat(byWork).extracting(Receipt::cpuTime).isSortedAccordingTo(Comparator.naturalOrder())
        .doesNotHaveDuplicates();
    assertThat(byWork).extracting(Receipt::billedCpuMillis).isSortedAccordingTo(Comparator.naturalOrder());
    assertThat(byWork.get(3).billedCpuMillis()).isGreaterThan(byWork.get(0).billedCpuMillis());
  }

  @Test
  void invokeMetered_failsAsInvokeDoes() {
    Fn<String, Integer> boom = cumulus.register(FnSpec.<String, Integer>of("boom", (String s) -> {
      throw new IllegalStateException("boom " + s);
    }).inputType(String.class).build());

    assertThatThrownBy(() -> boom.invokeMetered("x")).isInstanceOf(FunctionFailedException.class)
        .hasCauseInstanceOf(IllegalStateException.class);
    assertThat(boom.invokeMeteredAsync("y")).failsWithin(Duration.ofSeconds(30))
        .withThrowableOfType(ExecutionException.class).withCauseInstanceOf(FunctionFailedException.class);
    @SuppressWarnings({"unchecked", "rawtypes"})
    Fn<Object, Object> raw = (Fn) boom;
    assertThatThrownBy(() -> raw.invokeMetered(42)).isInstanceOf(InvalidInputException.class);
    assertThat(raw.invokeMeteredAsync(42)).isCompletedExceptionally();
    assertThat(boom.stats().failures()).isEqualTo(2);
  }

  @Test
  void invokeMeteredAsync_throttledAndCancelled_asInvokeAsync() {
    CountDownLatch gate = new CountDownLatch(1);
    Fn<Integer, Integer> one = cumulus.register(FnSpec.of("one", (Integer i) -> {
      TestFunctions.await(gate);
      return i;
    }).maxConcurrency(1).queueCapacity(1).build());
    CompletableFuture<Receipt<Integer>> running = one.invokeMeteredAsync(1);
    await().until(() -> one.stats().inFlight() == 1);
    CompletableFuture<Receipt<Integer>> queued = one.invokeMeteredAsync(2);
    assertThat(one.invokeMeteredAsync(3)).failsWithin(Duration.ofSeconds(30))
        .withThrowableOfType(ExecutionException.class).withCauseInstanceOf(ThrottledException.class);

    assertThat(queued.cancel(false)).isTrue();
    gate.countDown();

    assertThat(running.join().result()).isEqualTo(1);
    await().until(() -> one.stats().cancelled() == 1);
    assertThat(one.stats().successes()).isEqualTo(1);
  }

  @Test
  void timedOut_hasNoReceipt() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<Integer, Integer> slow = c.register(FnSpec.of("slow", (Integer i) -> {
        TestFunctions.await(gate);
        return i;
      }).timeout(Duration.ofSeconds(2)).build());
      CompletableFuture<Receipt<Integer>> call = slow.invokeMeteredAsync(1);
      await().until(() -> slow.stats().inFlight() == 1);
      clock.advance(Duration.ofSeconds(2));

      assertThat(call).failsWithin(Duration.ofSeconds(30))
          .withThrowableOfType(ExecutionException.class).withCauseInstanceOf(FunctionTimeoutException.class);
    }
  }

  @Test
  void wallClockOnly_receiptsHaveNoCpu() {
    try (Cumulus c = Cumulus.builder().meteringMode(MeteringMode.WALL_CLOCK_ONLY).build()) {
      Fn<Long, Long> spin = c.register(FnSpec.of("spin", TestFunctions::spinCpu).build());
      Receipt<Long> r = spin.invokeMetered(2L);
      assertThat(r.cpuTime()).isZero();
      assertThat(r.billedCpuMillis()).isZero();
      assertThat(r.billedMillis()).isPositive();
    }
  }

  @Test
  void plainCalls_areCompletedWithTheirResult_notAReceipt() {
    Fn<Integer, Integer> twice = cumulus.register(FnSpec.of("twice", (Integer i) -> 2 * i).build());
    assertThat(twice.invokeMetered(1).result()).isEqualTo(2);
    assertThat(twice.invoke(2)).isEqualTo(4);
    assertThat(twice.invokeAsync(3).join()).isEqualTo(6);
    Object byName = cumulus.invoke("twice", 4);
    assertThat(byName).isEqualTo(8);
  }

  @Test
  void receipt_refusesNegativeFigures_namingThem() {
    assertThatThrownBy(() -> new Receipt<>("f", 1, false, Duration.ZERO, Duration.ofNanos(-1), Duration.ZERO,
        Duration.ZERO, 1, 1, 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("queueWait must not be negative but was -1 ns");
    assertThatThrownBy(() -> new Receipt<>("f", 1, false, Duration.ZERO, Duration.ZERO, Duration.ZERO,
        Duration.ZERO, 1, 1, -5)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bytesProcessed must not be negative but was -5");
    assertThatThrownBy(() -> new Receipt<>("f", 1, false, null, Duration.ZERO, Duration.ZERO,
        Duration.ZERO, 1, 1, 0)).isInstanceOf(NullPointerException.class).hasMessage("initTime");
  }
}
