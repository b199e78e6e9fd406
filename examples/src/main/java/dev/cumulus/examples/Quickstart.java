package dev.cumulus.examples;

import dev.cumulus.Bill;
import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionStats;
import dev.cumulus.MeteringMode;
import dev.cumulus.PriceModel;
import dev.cumulus.Serverless;
import dev.cumulus.Usage;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The quickstart, and the examples jar's default: three functions (CPU-heavy, blocking, and a method
 * of an existing class), a burst of calls, a live chart of the runtime scaling up and back to
 * zero (in flight, queued, warm instances, carrier threads, and the lifecycle events in between),
 * then the usage table and the bill. Run it with
 *
 * <pre>{@code
 * mvn -q -DskipTests package && java -jar examples/target/cumulus-examples.jar
 * }</pre>
 *
 * (the jar's manifest opens {@code java.lang} for exact CPU metering). About 10 s; the chart is
 * redrawn in place only on a terminal ({@code --plain} for plain rows there too).
 */
public final class Quickstart {
  /** Idle warm instances live this long: short, so the demo sees them go. */
  static final Duration KEEP_ALIVE = Duration.ofSeconds(2);
  /** Idle carrier threads live this long. */
  static final Duration CARRIER_KEEP_ALIVE = Duration.ofMillis(500);
  /** At most this many {@code fetch-quote} calls at once. */
  static final int QUOTE_CONCURRENCY = 250;
  /** What {@code fetch-quote} waits for its (simulated) remote service. */
  static final Duration QUOTE_LATENCY = Duration.ofMillis(200);
  /** How long the burst of load lasts. */
  static final Duration LOAD = Duration.ofSeconds(3);
  /** {@code fetch-quote} calls per second at the burst's peak, half-way; it ramps up to it and down again. */
  static final int PEAK_QUOTE_RATE = 2_400;
  /** {@code mandelbrot} calls per second, all along. */
  static final int TILE_RATE = 40;
  /** {@code invoice-total} calls per second, all along. */
  static final int INVOICE_RATE = 600;
  /** How often the load generator sends what is due. */
  private static final long PACE_NANOS = Duration.ofMillis(10).toNanos();

  private Quickstart() {}

  /**
   * An existing class of the application: one annotation makes its method the function
   * {@code invoice-total} ({@link Cumulus#registerAll}); the class is otherwise untouched.
   * Thread-safe (stateless).
   */
  public static class Invoices {
    /** Creates the service. */
    public Invoices() {}

    /**
     * Totals an invoice.
     *
     * @param invoice lines of {@code sku,quantity,unit price in cents}
     * @return the total in cents
     * @throws IllegalArgumentException if a line is not of that form
     */
    @Serverless(name = "invoice-total", keepAliveMillis = 2_000)
    public long totalCents(String invoice) {
      long total = 0;
      for (String line : invoice.split("\n")) {
        String[] f = line.split(",");
        if (f.length != 3) {
          throw new IllegalArgumentException("not 'sku,quantity,cents': " + line);
        }
        total = Math.addExact(total, Math.multiplyExact(Long.parseLong(f[1].strip()), Long.parseLong(f[2].strip())));
      }
      return total;
    }
  }

  /**
   * Runs the quickstart.
   *
   * @param args {@code --plain} to print whole rows only, also on a terminal
   * @throws Exception if it fails
   */
  public static void main(String[] args) throws Exception {
    boolean plain = false;
    for (String arg : args) {
      if (arg.equals("--plain")) {
        plain = true;
      } else {
        System.err.println("unknown option " + arg + "; usage: Quickstart [--plain]");
        System.exit(2);
      }
    }
    Result result = run(System.out, !plain && ScalingChart.isTerminal(), Duration.ofSeconds(20));
    System.exit(result.backToZero() ? 0 : 1);
  }

  /**
   * What one run saw.
   *
   * @param usage the runtime's usage at the end
   * @param rows the chart's rows
   * @param backToZero whether everything went back to zero within the deadline
   */
  record Result(Usage usage, List<ScalingChart.Sample> rows, boolean backToZero) {}

  static Result run(PrintStream out, boolean live, Duration zeroDeadline) throws Exception {
    long t0 = System.nanoTime();
    try (Cumulus cumulus = Cumulus.builder().carrierKeepAlive(CARRIER_KEEP_ALIVE).build()) {
      out.printf(Locale.ROOT, "Cumulus quickstart: JDK %s, %d cores, metering %s%n", Runtime.version(),
          Runtime.getRuntime().availableProcessors(), cumulus.meteringMode());

      // 1. CPU-heavy: a lambda.
      Fn<Integer, Integer> mandelbrot = cumulus.register(FnSpec.of("mandelbrot", Quickstart::tile)
          .inputType(Integer.class).outputType(Integer.class)
          .keepAlive(KEEP_ALIVE)
          .build());
      // 2. Blocking: waits on a remote service, so many run at once.
      Fn<String, Long> quotes = cumulus.register(FnSpec.of("fetch-quote", Quickstart::fetchQuote)
          .inputType(String.class).outputType(Long.class)
          .maxConcurrency(QUOTE_CONCURRENCY)
          .keepAlive(KEEP_ALIVE)
          .build());
      // 3. A method of an existing class, by its annotation.
      cumulus.registerAll(new Invoices());
      Fn<String, Long> invoices = cumulus.function("invoice-total", String.class, Long.class);

      out.printf(Locale.ROOT, "  %-14s CPU-heavy: renders one tile of the Mandelbrot set per call%n", "mandelbrot");
      out.printf(Locale.ROOT, "  %-14s blocking: waits %d ms for a remote price service per call, at most %d at once%n",
          "fetch-quote", QUOTE_LATENCY.toMillis(), QUOTE_CONCURRENCY);
      out.printf(Locale.ROOT, "  %-14s Invoices.totalCents, a method of an existing class, by @Serverless%n",
          "invoice-total");
      out.printf(Locale.ROOT, "Load for %d s: fetch-quote ramps up to %,d calls/s and down again (it can serve"
          + " %,d/s), mandelbrot %d/s, invoice-total %d/s.%nIdle warm instances stay %d s, idle carrier threads"
          + " %d ms.%n%n", LOAD.toSeconds(), PEAK_QUOTE_RATE, QUOTE_CONCURRENCY * 1_000 / QUOTE_LATENCY.toMillis(),
          TILE_RATE, INVOICE_RATE, KEEP_ALIVE.toSeconds(), CARRIER_KEEP_ALIVE.toMillis());

      ScalingChart.Sample zero = null;
      List<ScalingChart.Sample> rows;
      long lastCall;
      try (ScalingChart chart = ScalingChart.start(cumulus, out, live, t0)) {
        List<CompletableFuture<?>> calls = load(mandelbrot, quotes, invoices);
        CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();
        lastCall = System.nanoTime();

        try {
          zero = chart.awaitZero().get(zeroDeadline.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          // reported below
        } catch (ExecutionException e) {
          throw new IllegalStateException("the chart failed", e.getCause());
        }
        rows = chart.rows();
      }
      if (zero != null) {
        out.printf(Locale.ROOT, "%nBack to zero %.1f s after the last call: nothing in flight or queued, no warm"
            + " instance, no carrier thread.%n", (t0 + zero.nanos() - lastCall) / 1e9);
      } else {
        out.printf(Locale.ROOT, "%nNOT back to zero %d s after the last call (a very busy machine?)%n",
            zeroDeadline.toSeconds());
      }
      FunctionStats q = quotes.stats();
      FunctionStats m = mandelbrot.stats();
      out.printf(Locale.ROOT, "Peak concurrency: fetch-quote %d of %d (it blocks: one worker per waiting call),"
          + " mandelbrot %d (CPU-bound: about one worker per core, the rest wait their turn), invoice-total %d.%n%n",
          q.peakConcurrency(), QUOTE_CONCURRENCY, m.peakConcurrency(), invoices.stats().peakConcurrency());

      Usage usage = cumulus.usage();
      out.println(usage);
      Bill bill = usage.bill(cumulus.meteringMode() == MeteringMode.EXACT
          ? PriceModel.cloudflareWorkers()
          : PriceModel.awsLambdaX86(128));
      out.println(bill.toTable());
      out.printf(Locale.ROOT, "Quickstart took %.1f s.%n", (System.nanoTime() - t0) / 1e9);
      return new Result(usage, rows, zero != null);
    }
  }

  /**
   * Sends the burst, open loop (calls go out on schedule whether or not earlier ones are done, as
   * requests from users do): {@code fetch-quote} at a rate rising linearly from zero to
   * {@link #PEAK_QUOTE_RATE} half-way and back to zero, the others at a steady rate.
   */
  private static List<CompletableFuture<?>> load(Fn<Integer, Integer> mandelbrot, Fn<String, Long> quotes,
      Fn<String, Long> invoices) throws InterruptedException {
    List<CompletableFuture<?>> calls = new ArrayList<>();
    long start = System.nanoTime();
    double seconds = LOAD.toNanos() / 1e9;
    long tilesSent = 0;
    long quotesSent = 0;
    long invoicesSent = 0;
    for (long now = start; ; now = System.nanoTime()) {
      double t = Math.min(seconds, (now - start) / 1e9);
      for (long due = (long) (TILE_RATE * t); tilesSent < due; tilesSent++) {
        calls.add(mandelbrot.invokeAsync((int) tilesSent));
      }
      for (long due = (long) ramp(PEAK_QUOTE_RATE, seconds, t); quotesSent < due; quotesSent++) {
        calls.add(quotes.invokeAsync(SYMBOLS[(int) (quotesSent % SYMBOLS.length)]));
      }
      for (long due = (long) (INVOICE_RATE * t); invoicesSent < due; invoicesSent++) {
        calls.add(invoices.invokeAsync(invoice((int) invoicesSent)));
      }
      if (t >= seconds) {
        return calls;
      }
      TimeUnit.NANOSECONDS.sleep(PACE_NANOS);
    }
  }

  /** Calls due by {@code t} at a rate rising linearly to {@code peak} at {@code length / 2} and back to 0. */
  static double ramp(double peak, double length, double t) {
    double half = length / 2;
    return t <= half ? peak * t * t / length : peak * half - peak * (length - t) * (length - t) / length;
  }

  private static final String[] SYMBOLS = {"ACME", "GLOBX", "INITECH", "UMBRL", "WAYNE", "STARK", "TYRELL"};

  private static String invoice(int i) {
    StringBuilder s = new StringBuilder();
    for (int line = 0; line < 20; line++) {
      s.append("SKU-").append((i * 31 + line) % 997).append(',').append(1 + line % 5).append(',')
          .append(99 + (i + line) % 4_900).append('\n');
    }
    return s.toString();
  }

  /** A blocking call: waits for a remote price service, then answers a price in cents. */
  static long fetchQuote(String symbol) {
    try {
      Thread.sleep(QUOTE_LATENCY);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while fetching " + symbol, e);
    }
    return 10_000L + Math.floorMod(symbol.hashCode(), 90_000);
  }

  /**
   * Renders tile {@code n} (mod 256) of a 16 x 16 grid over the Mandelbrot set, 96 x 96 points each,
   * and counts the points inside: about 10 ms of CPU on average, from under one (far outside the
   * set) to tens (inside it).
   */
  static int tile(int n) {
    int t = Math.floorMod(n * 37, 256); // neither all the cheap tiles first nor all the dear ones
    double x0 = -2.0 + (t % 16) * (2.6 / 16);
    double y0 = -1.3 + (t / 16) * (2.6 / 16);
    double step = 2.6 / 16 / 96;
    int inside = 0;
    for (int py = 0; py < 96; py++) {
      for (int px = 0; px < 96; px++) {
        double cr = x0 + px * step;
        double ci = y0 + py * step;
        double zr = 0;
        double zi = 0;
        int i = 0;
        while (i < 500 && zr * zr + zi * zi <= 4) {
          double r = zr * zr - zi * zi + cr;
          zi = 2 * zr * zi + ci;
          zr = r;
          i++;
        }
        if (i == 500) {
          inside++;
        }
      }
    }
    return inside;
  }

}
