package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Bytes processed: reported by a function's code through {@link FnContext}, counted per invocation. */
class FnContextTest {
  private final Cumulus cumulus = Cumulus.create();

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void outsideAnInvocation_currentThrowsNamingTheThread_andFindIsEmpty() {
    assertThatThrownBy(FnContext::current).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no Cumulus invocation runs on thread '" + Thread.currentThread().getName() + "'")
        .hasMessageContaining("pass it to them");
    assertThat(FnContext.find()).isEmpty();
  }

  @Test
  void bytesAdded_areInTheReceipt_theStats_theUsage_andTheBill() {
    Fn<String, Integer> scan = cumulus.register(FnSpec.of("scan", (String s) -> {
      FnContext ctx = FnContext.current();
      assertThat(ctx.function()).isEqualTo("scan");
      ctx.addBytesProcessed(s.length());
      ctx.addBytesProcessed(0);
      FnContext.current().addBytesProcessed(1_000);
      assertThat(ctx.bytesProcessed()).isEqualTo(s.length() + 1_000L);
      assertThat(FnContext.find()).contains(ctx);
      return s.length();
    }).build());

    Receipt<Integer> r = scan.invokeMetered("hello");
    scan.invoke("abc");
    scan.invokeAsync("abcdefg").join();

    assertThat(r.bytesProcessed()).isEqualTo(1_005);
    assertThat(scan.stats().bytesProcessed()).isEqualTo(1_005 + 1_003 + 1_007);
    Usage usage = cumulus.usage();
    assertThat(usage.bytesProcessed()).isEqualTo(3_015);
    assertThat(usage.toString()).contains("processed").contains("2.9 KiB");

    // 3 015 bytes at 2^40 per TiB x 6.25 = 0.0000000171...
    Bill bill = usage.bill(PriceModel.cloudflareWorkers().withPerTibProcessed(new BigDecimal("6.25")));
    Bill.Line line = bill.lines().get(0);
    assertThat(line.bytesProcessed()).isEqualTo(3_015);
    assertThat(line.bytesCost()).isEqualByComparingTo("0.0000000171");
    assertThat(line.total()).isEqualByComparingTo(line.requestCost().add(line.computeCost()).add(line.bytesCost()));
    assertThat(bill.toTable()).contains("processed", "bytes cost", "per TiB processed");
  }

  @Test
  void threadsTheCodeStarts_countThroughTheContextItHandsThem() {
    ExecutorService helpers = Executors.newFixedThreadPool(3);
    AtomicReference<Optional<FnContext>> seenByHelper = new AtomicReference<>();
    AtomicReference<Optional<FnContext>> seenByChild = new AtomicReference<>();
    try {
      Fn<Integer, Long> fanOut = cumulus.register(FnSpec.of("fan-out", (Integer parts) -> {
        FnContext ctx = FnContext.current();
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
          done.add(helpers.submit(() -> {
            seenByHelper.set(FnContext.find()); // a helper thread runs no invocation of its own
            ctx.addBytesProcessed(250);
          }));
        }
        LongStream.range(0, 1_000).parallel().forEach(i -> ctx.addBytesProcessed(1));
        // A virtual thread it starts runs on Cumulus's carriers (its parent's scheduler), but no
        // invocation of its own either.
        Thread child = Thread.ofVirtual().start(() -> {
          seenByChild.set(FnContext.find());
          ctx.addBytesProcessed(500);
        });
        try {
          child.join();
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        for (Future<?> f : done) {
          try {
            f.get();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
        return ctx.bytesProcessed();
      }).build());

      Receipt<Long> r = fanOut.invokeMetered(8);

      long all = 8 * 250 + 1_000 + 500;
      assertThat(r.result()).isEqualTo(all);
      assertThat(r.bytesProcessed()).isEqualTo(all);
      assertThat(fanOut.stats().bytesProcessed()).isEqualTo(all);
      assertThat(seenByHelper.get()).isEmpty();
      assertThat(seenByChild.get()).isEmpty();
    } finally {
      helpers.shutdownNow();
    }
  }

  @Test
  void aLateAdd_afterTheCodeReturned_isRefused_andCountedNowhere() {
    AtomicReference<FnContext> kept = new AtomicReference<>();
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("leaky", (Integer i) -> {
      kept.set(FnContext.current());
      FnContext.current().addBytesProcessed(i);
      return i;
    }).build());
    Receipt<Integer> r = f.invokeMetered(7);

    assertThatThrownBy(() -> kept.get().addBytesProcessed(5)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("the invocation of function 'leaky' has returned")
        .hasMessageContaining("5 bytes were not counted");
    assertThat(kept.get().bytesProcessed()).isEqualTo(7);
    assertThat(r.bytesProcessed()).isEqualTo(7);
    assertThat(f.stats().bytesProcessed()).isEqualTo(7);
  }

  @Test
  void negativeBytes_areRefused_namingTheFunction_andTheTotalSaturates() {
    Fn<Integer, Long> f = cumulus.register(FnSpec.of("huge", (Integer i) -> {
      FnContext ctx = FnContext.current();
      assertThatThrownBy(() -> ctx.addBytesProcessed(-1)).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("bytes processed must not be negative but was -1 (function 'huge')");
      ctx.addBytesProcessed(Long.MAX_VALUE - 1);
      ctx.addBytesProcessed(Long.MAX_VALUE);
      return ctx.bytesProcessed();
    }).build());

    assertThat(f.invoke(1)).isEqualTo(Long.MAX_VALUE);
    assertThat(f.stats().bytesProcessed()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void aCallee_countsItsOwnBytes_notItsCallers() {
    Fn<Integer, Integer> callee = cumulus.register(FnSpec.of("callee", (Integer i) -> {
      FnContext.current().addBytesProcessed(100);
      return i;
    }).build());
    Fn<Integer, Integer> caller = cumulus.register(FnSpec.of("caller", (Integer i) -> {
      FnContext.current().addBytesProcessed(1);
      int result = callee.invoke(i);
      assertThat(FnContext.current().bytesProcessed()).as("the caller's own, after the call").isEqualTo(1);
      return result;
    }).build());

    Receipt<Integer> r = caller.invokeMetered(3);

    assertThat(r.bytesProcessed()).isEqualTo(1);
    assertThat(callee.stats().bytesProcessed()).isEqualTo(100);
  }

  @Test
  void theInit_ofAColdStart_countsForTheInvocationThatRanIt() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.<String, Integer, Integer>withInstance("with-init", () -> {
      FnContext.current().addBytesProcessed(4_096); // loads a model, say
      return "model";
    }, (model, i) -> i).build());

    assertThat(f.invokeMetered(1).bytesProcessed()).isEqualTo(4_096);
    assertThat(f.invokeMetered(2).bytesProcessed()).isZero();
  }

  @Test
  void events_andEveryKindOfCall_countBytes() {
    Fn<Integer, Integer> f = cumulus.register(FnSpec.of("counted", (Integer i) -> {
      FnContext.current().addBytesProcessed(i);
      return i;
    }).build());
    f.emit(10);
    CompletableFuture<Integer> async = f.invokeAsync(20);
    cumulus.invoke("counted", 30);
    async.join();

    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
        .until(() -> f.stats().eventsSucceeded() == 1);
    assertThat(f.stats().bytesProcessed()).isEqualTo(60);
  }
}
