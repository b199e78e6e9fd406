package dev.cumulus.examples;

import dev.cumulus.Cumulus;
import dev.cumulus.Fn;
import dev.cumulus.FunctionStats;
import dev.cumulus.InvalidInputException;
import dev.cumulus.Serverless;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Wrapping existing code, the three doors: {@code @Serverless} methods of a bean
 * ({@link Cumulus#registerAll}), an interface whose implementation runs as functions
 * ({@link Cumulus#proxy}), and an {@link ExecutorService} whose tasks are invocations
 * ({@link Cumulus#executor}). Each one changes the calling code by one line. Run it with
 * {@code java --add-opens java.base/java.lang=ALL-UNNAMED -cp examples/target/cumulus-examples.jar
 * dev.cumulus.examples.WrapExistingCode} (the option gives exact CPU metering; without it the example
 * runs too, metering wall-clock time only).
 */
public final class WrapExistingCode {
  private WrapExistingCode() {}

  /** An existing service class: one annotation per method makes it a function. */
  public static class Thumbnails {
    /**
     * A function named {@code Thumbnails.resize}, at most 4 at once.
     *
     * @param image an image name
     * @return the thumbnail's name
     */
    @Serverless(maxConcurrency = 4)
    public String resize(String image) {
      return image.replace(".png", "@128px.png");
    }

    /**
     * A function named {@code area}; two parameters, so it takes an {@code Object[]}.
     *
     * @param width the width
     * @param height the height
     * @return the area
     */
    @Serverless(name = "area", timeoutMillis = 500)
    public int area(int width, int height) {
      return width * height;
    }
  }

  /** An existing interface. */
  public interface Inventory {
    /**
     * Units in stock.
     *
     * @param sku the item
     * @return how many
     */
    int stock(String sku);

    /**
     * Reserves units, asynchronously.
     *
     * @param sku the item
     * @param quantity how many
     * @return a future of a receipt
     */
    CompletableFuture<String> reserve(String sku, int quantity);

    /**
     * Adds units.
     *
     * @param sku the item
     * @param quantity how many, positive
     * @throws IllegalArgumentException if the quantity is not positive
     */
    void restock(String sku, int quantity) throws IllegalArgumentException;
  }

  /** Its existing implementation. */
  public static final class InMemoryInventory implements Inventory {
    private final Map<String, Integer> units = new ConcurrentHashMap<>(Map.of("apple", 10));

    @Override
    public int stock(String sku) {
      return units.getOrDefault(sku, 0);
    }

    @Override
    public CompletableFuture<String> reserve(String sku, int quantity) {
      return CompletableFuture.supplyAsync(() -> {
        units.merge(sku, -quantity, Integer::sum);
        return "reserved " + quantity + " of " + sku;
      });
    }

    @Override
    public void restock(String sku, int quantity) {
      if (quantity <= 0) {
        throw new IllegalArgumentException("quantity must be positive but was " + quantity);
      }
      units.merge(sku, quantity, Integer::sum);
    }
  }

  /**
   * Runs the example.
   *
   * @param args ignored
   * @throws Exception if the example fails
   */
  public static void main(String[] args) throws Exception {
    run(System.out);
  }

  static void run(PrintStream out) throws Exception {
    try (Cumulus cumulus = Cumulus.create()) {
      // 1. @Serverless methods: registerAll(bean).
      out.println("1. @Serverless methods: cumulus.registerAll(new Thumbnails())");
      List<Fn<?, ?>> fns = cumulus.registerAll(new Thumbnails());
      out.println("   functions: " + fns.stream().map(Fn::name).toList());
      out.println("   Thumbnails.resize(\"cat.png\") = " + cumulus.invoke("Thumbnails.resize", "cat.png"));
      out.println("   area(3, 4)                   = " + cumulus.invoke("area", new Object[] {3, 4}));
      try {
        cumulus.invoke("area", new Object[] {"3", 4});
      } catch (InvalidInputException e) {
        out.println("   area(\"3\", 4)                 -> InvalidInputException: " + e.getMessage());
      }

      // 2. An interface proxy: proxy(iface, target).
      out.println();
      out.println("2. An interface: Inventory inventory = cumulus.proxy(Inventory.class, new InMemoryInventory())");
      Inventory inventory = cumulus.proxy(Inventory.class, new InMemoryInventory());
      out.println("   functions: " + cumulus.functions().stream().map(Fn::name)
          .filter(n -> n.startsWith("Inventory.")).toList());
      out.println("   inventory.stock(\"apple\")      = " + inventory.stock("apple"));
      CompletableFuture<String> receipt = inventory.reserve("apple", 3); // returns at once
      out.println("   inventory.reserve(\"apple\", 3) = " + receipt.get(10, TimeUnit.SECONDS));
      out.println("   inventory.stock(\"apple\")      = " + inventory.stock("apple"));
      try {
        inventory.restock("pear", 0);
      } catch (IllegalArgumentException declared) {
        out.println("   inventory.restock(\"pear\", 0)  -> IllegalArgumentException (declared, as is): "
            + declared.getMessage());
      }
      out.println("   " + summary(cumulus.function("Inventory.stock").stats()));

      // 3. An ExecutorService: executor(name, options).
      out.println();
      out.println("3. An ExecutorService: cumulus.executor(\"reports\", spec -> spec.maxConcurrency(2))");
      ExecutorService reports = cumulus.executor("reports", spec -> spec.maxConcurrency(2));
      List<Callable<Integer>> tasks = new ArrayList<>();
      for (int i = 1; i <= 8; i++) {
        int n = i;
        tasks.add(() -> {
          Thread.sleep(20); // an I/O call, say
          return n * n;
        });
      }
      List<Integer> squares = new ArrayList<>();
      for (Future<Integer> f : reports.invokeAll(tasks)) {
        squares.add(f.get());
      }
      reports.shutdown();
      boolean terminated = reports.awaitTermination(10, TimeUnit.SECONDS);
      out.println("   invokeAll of 8 tasks         = " + squares);
      out.println("   " + summary(cumulus.function("reports").stats()));
      out.println("   shutdown, terminated: " + terminated);
    }
  }

  private static String summary(FunctionStats s) {
    return String.format(Locale.ROOT, "stats of %s: %d invocations, %d ok, peak concurrency %d, %d cold start(s)",
        s.name(), s.invocations(), s.successes(), s.peakConcurrency(), s.coldStarts());
  }
}
