package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * CPU, allocation and billing figures. CPU is checked against ground truth, the CPU clocks of the
 * runtime's own carrier threads (a fresh runtime per test, carriers kept alive through it), so the
 * checks hold however loaded the machine is; the tight accuracy figures live in the jmh-benchmarks
 * metering report.
 */
class MeteringTest {
  private final Cumulus cumulus = Cumulus.builder().carrierKeepAlive(Duration.ofMinutes(1)).build();

  /** CPU the carriers used, all of it work of this test's functions (plus a little runtime). */
  private Duration carriersCpu() {
    return Duration.ofNanos(cumulus.engine().carrierCpuNanos());
  }

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void modeIsExact_withTheJvmOption() {
    assertThat(cumulus.meteringMode()).isEqualTo(MeteringMode.EXACT);
    assertThat(cumulus.usage().meteringMode()).isEqualTo(MeteringMode.EXACT);
  }

  @Test
  void busyLoopOf200ms_isMeteredAbout200msOfCpu() {
    Fn<Long, Long> burn = cumulus.register(FnSpec.of("burn", TestFunctions::spinCpu).build());
    burn.invoke(200L);
    FunctionStats s = burn.stats();
    Duration truth = carriersCpu();
    assertThat(truth).isGreaterThan(Duration.ofMillis(100));
    assertThat(s.cpuTime()).isBetween(truth.multipliedBy(90).dividedBy(100), truth);
    assertThat(s.cpuPerInvocation().max()).isBetween(truth.multipliedBy(85).dividedBy(100), truth.plusMillis(2));
    assertThat(s.billedCpuMillis()).isBetween(truth.toMillis() * 85 / 100, truth.toMillis() + 1);
  }

  @Test
  void sleepOf100ms_isMeteredUnder20msOfCpu() {
    Fn<Long, Long> nap = cumulus.register(FnSpec.of("nap", (Long ms) -> {
      TestFunctions.sleep(ms);
      return ms;
    }).build());
    nap.invoke(0L); // the first call of a fresh JVM loads classes: CPU, but not the sleep's
    FunctionStats before = nap.stats();
    nap.invoke(100L);
    FunctionStats s = nap.stats();
    assertThat(s.cpuTime().minus(before.cpuTime())).isLessThan(Duration.ofMillis(20));
    assertThat(s.wallTime().minus(before.wallTime())).isGreaterThanOrEqualTo(Duration.ofMillis(100));
    assertThat(s.billedMillis() - before.billedMillis()).isGreaterThanOrEqualTo(100);
    assertThat(s.billedCpuMillis() - before.billedCpuMillis()).isLessThan(20);
  }

  @Test
  void cpuSpreadOverBlockedSegments_isChargedToTheInvocation() {
    Fn<Long, Long> mixed = cumulus.register(FnSpec.of("mixed", (Long ms) -> {
      TestFunctions.spinCpu(ms);
      TestFunctions.sleep(50);
      TestFunctions.spinCpu(ms);
      return ms;
    }).build());
    mixed.invoke(60L);
    FunctionStats s = mixed.stats();
    Duration truth = carriersCpu();
    assertThat(truth).isGreaterThan(Duration.ofMillis(60));
    assertThat(s.cpuTime()).isBetween(truth.multipliedBy(90).dividedBy(100), truth);
    // Both halves of the invocation, before and after the sleep, are its own.
    assertThat(s.cpuPerInvocation().max()).isBetween(truth.multipliedBy(80).dividedBy(100), truth.plusMillis(2));
  }

  @Test
  void twoFunctionsAtOnce_areChargedSeparately() {
    Fn<Long, Long> busy = cumulus.register(FnSpec.of("busy", TestFunctions::spinCpu).build());
    Fn<Long, Long> idle = cumulus.register(FnSpec.of("idle", (Long ms) -> {
      TestFunctions.sleep(ms);
      return ms;
    }).build());
    CompletableFuture<Long> a = busy.invokeAsync(200L);
    CompletableFuture<Long> b = idle.invokeAsync(200L);
    CompletableFuture.allOf(a, b).join();
    Duration busyCpu = busy.stats().cpuTime();
    Duration idleCpu = idle.stats().cpuTime();
    Duration truth = carriersCpu();
    assertThat(busyCpu.plus(idleCpu)).isBetween(truth.multipliedBy(90).dividedBy(100), truth);
    assertThat(busyCpu).isGreaterThan(Duration.ofMillis(100));
    assertThat(idleCpu).isLessThan(Duration.ofMillis(20));
    assertThat(busyCpu).isGreaterThan(idleCpu.multipliedBy(10));
  }

  @Test
  void allocationOf64MiB_isMetered() {
    Fn<Integer, Integer> alloc = cumulus.register(FnSpec.of("alloc", (Integer mib) -> new byte[mib << 20].length).build());
    assertThat(alloc.invoke(64)).isEqualTo(64 << 20);
    assertThat(alloc.stats().allocatedBytes()).isGreaterThanOrEqualTo(64L << 20);
  }

  @Test
  void initCpu_isChargedToTheFunction() {
    Fn<String, String> f = cumulus.register(FnSpec.withInstance("heavy-init", () -> {
      TestFunctions.spinCpu(100);
      return new Object();
    }, (Object o, String s) -> s).build());
    f.invoke("x");
    FunctionStats s = f.stats();
    Duration truth = carriersCpu();
    assertThat(truth).isGreaterThan(Duration.ofMillis(50));
    assertThat(s.initTime()).isGreaterThanOrEqualTo(truth.multipliedBy(80).dividedBy(100));
    assertThat(s.cpuTime()).isBetween(truth.multipliedBy(90).dividedBy(100), truth);
  }

  @Test
  void cpuBudget_exceeded_interruptsAndFails() {
    Fn<Long, Long> hog = cumulus.register(FnSpec.of("hog", (Long ms) -> {
      long end = System.nanoTime() + ms * 1_000_000;
      while (System.nanoTime() < end && !Thread.currentThread().isInterrupted()) {
        TestFunctions.burn(1);
      }
      return ms;
    }).cpuBudget(Duration.ofMillis(50)).build());
    assertThatThrownBy(() -> hog.invoke(5_000L))
        .isInstanceOfSatisfying(CpuBudgetExceededException.class, e -> {
          assertThat(e.budget()).isEqualTo(Duration.ofMillis(50));
          assertThat(e.used()).isGreaterThanOrEqualTo(Duration.ofMillis(50));
        })
        .hasMessageContaining("over its budget of 50 ms");
    await().until(() -> hog.stats().inFlight() == 0);
    FunctionStats s = hog.stats();
    assertThat(s.failures()).isEqualTo(1);
    assertThat(s.cpuTime()).isLessThan(Duration.ofSeconds(2));
    assertThat(hog.invokeAsync(5L)).succeedsWithin(Duration.ofSeconds(10)).isEqualTo(5L);
  }

  @Test
  void cpuBudget_sleepingIsNotCpu() {
    Fn<Long, Long> napper = cumulus.register(FnSpec.of("napper", (Long ms) -> {
      TestFunctions.sleep(ms);
      return ms;
    }).cpuBudget(Duration.ofMillis(20)).build());
    assertThat(napper.invoke(0L)).isZero(); // loads classes (CPU) in a fresh JVM, within its own budget
    assertThat(napper.invoke(150L)).isEqualTo(150L);
  }

  @Test
  void cpuBudget_needsExactMetering() {
    try (Cumulus wall = Cumulus.builder().meteringMode(MeteringMode.WALL_CLOCK_ONLY).build()) {
      assertThatThrownBy(() -> wall.register(FnSpec.of("f", (Long x) -> x).cpuBudget(Duration.ofMillis(5)).build()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("function 'f' has a cpuBudget, which needs MeteringMode.EXACT, but this runtime meters WALL_CLOCK_ONLY");
    }
  }

  @Test
  void usage_coversEveryFunction_unregisteredOnesIncluded() throws ExecutionException, InterruptedException {
    Fn<Long, Long> a = cumulus.register(FnSpec.of("a", TestFunctions::spinCpu).build());
    Fn<Long, Long> b = cumulus.register(FnSpec.of("b", TestFunctions::spinCpu).build());
    a.invoke(20L);
    b.invoke(20L);
    cumulus.unregister("b");
    Usage usage = cumulus.usage();
    assertThat(usage.functions()).extracting(FunctionStats::name).containsExactly("a", "b");
    assertThat(usage.invocations()).isEqualTo(2);
    Duration truth = carriersCpu();
    assertThat(usage.cpuTime()).isBetween(truth.multipliedBy(85).dividedBy(100), truth);
    assertThat(usage.cpuTime()).isGreaterThan(Duration.ofMillis(15));
    assertThat(usage.window()).isPositive();
    assertThat(usage.toString()).contains("Usage over", "metering EXACT", "TOTAL").contains("a ", "b ");
    Bill bill = usage.bill(PriceModel.cloudflareWorkers());
    assertThat(bill.lines()).hasSize(2);
    assertThat(bill.toTable()).contains("CPU-ms", "TOTAL");
  }
}
