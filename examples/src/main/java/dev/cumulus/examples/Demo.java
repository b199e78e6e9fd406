package dev.cumulus.examples;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.PriceModel;
import dev.cumulus.Usage;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32;

/**
 * The Cumulus demo: three functions (a lambda, a blocking one and one with per-instance state),
 * a burst of calls that scales them out, their metered usage and what it would cost, and the runtime
 * scaling back to zero threads. Run it with
 * {@code mvn -q -DskipTests package && java -jar examples/target/cumulus-examples.jar}.
 */
public final class Demo {
  private Demo() {}

  public static void main(String[] args) throws Exception {
    run(System.out);
  }

  static void run(PrintStream out) throws Exception {
    try (Cumulus cumulus = Cumulus.builder().carrierKeepAlive(Duration.ofMillis(500)).build()) {
      out.printf(Locale.ROOT, "Cumulus demo: JDK %s, %d cores, metering %s%n%n",
          Runtime.version(), Runtime.getRuntime().availableProcessors(), cumulus.meteringMode());

      // 1. A plain lambda.
      Fn<String, Integer> words = cumulus.register(
          FnSpec.of("word-count", (String s) -> s.split("\\s+").length).inputType(String.class).build());
      out.println("word-count(\"functions that scale to zero\") = " + words.invoke("functions that scale to zero"));
      out.println("by name: word-count(\"a b\")                  = " + cumulus.invoke("word-count", "a b"));

      // 2. A blocking function (think: an HTTP call of 20 ms), 2 000 calls at once.
      Fn<Integer, Integer> fetch = cumulus.register(FnSpec.of("fetch", (Integer id) -> {
        sleep(20);
        return id;
      }).maxConcurrency(500).build());
      long t0 = System.nanoTime();
      List<CompletableFuture<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        calls.add(fetch.invokeAsync(i));
      }
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();
      FunctionStats f = fetch.stats();
      out.printf(Locale.ROOT, "fetch: 2 000 calls of 20 ms in %d ms, peak concurrency %d (limit 500),"
          + " %d cold starts, %s of CPU%n", (System.nanoTime() - t0) / 1_000_000, f.peakConcurrency(),
          f.coldStarts(), millis(f.cpuTime()));

      // 3. CPU work with per-instance state (a checksum buffer per instance).
      Fn<Integer, Long> checksum = cumulus.register(FnSpec.withInstance("checksum",
          () -> new byte[64 * 1024], (byte[] buffer, Integer rounds) -> {
            CRC32 crc = new CRC32();
            for (int r = 0; r < rounds; r++) {
              buffer[r % buffer.length]++;
              crc.update(buffer);
            }
            return crc.getValue();
          }).build());
      List<CompletableFuture<Long>> sums = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        sums.add(checksum.invokeAsync(100));
      }
      CompletableFuture.allOf(sums.toArray(CompletableFuture[]::new)).join();
      FunctionStats c = checksum.stats();
      out.printf(Locale.ROOT, "checksum: 200 calls, %s of CPU in all, p50 latency %s, %d instances%n%n",
          millis(c.cpuTime()), millis(c.latency().p50()), c.warmInstances());

      // 4. What it all used, and what it would cost on two platforms' price lists.
      Usage usage = cumulus.usage();
      out.println(usage);
      if (cumulus.meteringMode() == dev.cumulus.MeteringMode.EXACT) {
        out.println(usage.bill(PriceModel.cloudflareWorkers()).toTable());
      }
      out.println(usage.bill(PriceModel.awsLambdaX86(128)).toTable());

      // 5. Idle: the carrier threads go after their keep-alive.
      out.println("Cumulus threads now: " + cumulusThreads());
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (cumulusThreads() > 0 && System.nanoTime() < deadline) {
        sleep(50);
      }
      out.println("Cumulus threads after the keep-alive: " + cumulusThreads()
          + " (warm instances stay, threadless: " + fetch.stats().warmInstances() + " of fetch)");
    }
  }

  private static String millis(Duration d) {
    return String.format(Locale.ROOT, "%.1f ms", d.toNanos() / 1e6);
  }

  private static long cumulusThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("cumulus-"))
        .count();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
