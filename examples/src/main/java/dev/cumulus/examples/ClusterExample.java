package dev.cumulus.examples;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import dev.cumulus.Cumulus;
import dev.cumulus.FnSpec;
import dev.cumulus.UnknownFunctionException;
import dev.cumulus.vertx.EventBusBinding;
import dev.cumulus.vertx.RemoteFn;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Two Cumulus nodes in a clustered Vert.x (Hazelcast, on 127.0.0.1 only), in one command: this JVM
 * is node A and starts node B as a second JVM (same class path). The function {@code fingerprint}
 * lives on node B; node A calls it through the event bus with {@link RemoteFn} and prints which
 * node ran each call. Then node A serves the function too, and the event bus spreads the calls over
 * both nodes. Each node meters what it ran. Run it with
 *
 * <pre>{@code
 * java --add-opens java.base/java.lang=ALL-UNNAMED -cp examples/target/cumulus-examples.jar \
 *      dev.cumulus.examples.ClusterExample
 * }</pre>
 *
 * Node B ends when node A closes its standard input (or when A's JVM ends, which closes it too).
 */
public final class ClusterExample {
  /** The function's name. */
  static final String FUNCTION = "fingerprint";
  /** Calls made while the function lives on node B only. */
  static final int CALLS_ON_B = 4;
  /** Calls made once both nodes serve it (more if the bus has not used both by then). */
  static final int CALLS_ON_BOTH = 6;
  /** How long a node may take to start and join, and node B to stop. */
  static final Duration STARTUP = Duration.ofSeconds(90);

  private static final String NODE_B = "--node-b";
  private static final Pattern READY = Pattern.compile("node B: pid (\\d+), in the cluster .*, serving " + FUNCTION);

  private ClusterExample() {}

  /**
   * What a call of {@code fingerprint} answers.
   *
   * @param sha256 the first 16 hex digits of the input's SHA-256, hashed 5 000 times over
   * @param node the node that ran it, {@code A} or {@code B}
   * @param pid the process id of that node's JVM
   */
  public record Fingerprint(String sha256, String node, long pid) {}

  /**
   * Runs node A (and, through it, node B); with {@code --node-b --cluster NAME --join HOST:PORT}
   * runs node B.
   *
   * @param args none for the example; node B's options when node A starts it
   * @throws Exception if a node fails
   */
  public static void main(String[] args) throws Exception {
    int status = args.length > 0 && args[0].equals(NODE_B) ? runNodeB(args, System.in, System.out) : run(System.out);
    System.exit(status);
  }

  // ---------------------------------------------------------------------------------------------
  // Node A

  static int run(PrintStream out) throws Exception {
    String cluster = "cumulus-example-" + UUID.randomUUID();
    long pid = ProcessHandle.current().pid();
    out.printf(Locale.ROOT, "Cumulus cluster example: two JVMs on 127.0.0.1 in the Hazelcast cluster %s%n", cluster);
    long t0 = System.nanoTime();
    Node a = Node.start(cluster, null);
    out.printf(Locale.ROOT, "node A: pid %d, in the cluster after %.1f s (Hazelcast member %s)%n", pid, seconds(t0),
        a.member());
    NodeB b = null;
    try (Cumulus onA = Cumulus.create()) {
      b = NodeB.start(cluster, a.member(), out);
      b.awaitReady(STARTUP);

      RemoteFn<String, Fingerprint> fingerprint = RemoteFn.of(a.vertx(), FUNCTION, String.class, Fingerprint.class);
      out.printf(Locale.ROOT, "%n\"%s\" lives on node B only; node A calls it with RemoteFn over the event bus:%n",
          FUNCTION);
      int call = 0;
      for (int i = 0; i < CALLS_ON_B; i++) {
        call(out, fingerprint, ++call);
      }

      // Node A serves the function too: the bus round-robins point-to-point requests over its consumers.
      onA.register(FnSpec.of(FUNCTION, (String document) -> fingerprint(document, "A"))
          .inputType(String.class).outputType(Fingerprint.class).build());
      EventBusBinding binding = await(EventBusBinding.bind(a.vertx(), onA), STARTUP);
      out.printf(Locale.ROOT, "%nnode A registers \"%s\" too and binds it to the event bus: the calls are shared%n",
          FUNCTION);
      Set<String> nodes = new LinkedHashSet<>();
      for (int i = 0; i < CALLS_ON_BOTH || (nodes.size() < 2 && i < 10 * CALLS_ON_BOTH); i++) {
        nodes.add(call(out, fingerprint, ++call).node());
      }
      await(binding.close(), STARTUP);

      out.printf(Locale.ROOT, "%nnode A: stopping node B%n");
      int bStatus = b.stop(STARTUP);
      out.printf(Locale.ROOT, "node B exited with status %d%n%nnode A's usage (it meters what it ran):%n%s", bStatus,
          onA.usage());
      boolean both = nodes.containsAll(List.of("A", "B"));
      if (!both) {
        out.println("the calls were not spread over both nodes: " + nodes);
      }
      return bStatus == 0 && both ? 0 : 1;
    } finally {
      if (b != null) {
        b.destroy();
      }
      a.close();
    }
  }

  /**
   * One call from node A, printed with the node that ran it. Until node A has heard of a consumer
   * of the function (node B's registration travels through Hazelcast), the event bus answers "no
   * handlers" at once, an {@link UnknownFunctionException}: nothing ran, so the call is made again.
   */
  private static Fingerprint call(PrintStream out, RemoteFn<String, Fingerprint> fingerprint, int n)
      throws InterruptedException {
    String document = "order-" + n + ".csv";
    long end = System.nanoTime() + STARTUP.toNanos();
    while (true) {
      long t0 = System.nanoTime();
      try {
        Fingerprint f = fingerprint.invoke(document);
        out.printf(Locale.ROOT, "  call %2d  %s(\"%s\") = %s  ran on node %s (pid %d) in %.1f ms%n", n, FUNCTION,
            document, f.sha256(), f.node(), f.pid(), (System.nanoTime() - t0) / 1e6);
        return f;
      } catch (UnknownFunctionException e) {
        if (System.nanoTime() - end > 0) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }

  /** Node B, a child JVM: its output is relayed line by line, prefixed with {@code [node B]}. */
  private static final class NodeB {
    private final Process process;
    private final CompletableFuture<Long> ready = new CompletableFuture<>();
    private final Thread relay;

    private NodeB(Process process, PrintStream out) {
      this.process = process;
      this.relay = Thread.ofPlatform().daemon().name("node-b-output").start(() -> {
        try (BufferedReader lines = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line; (line = lines.readLine()) != null; ) {
            out.println("[node B] " + line);
            Matcher m = READY.matcher(line);
            if (m.matches()) {
              ready.complete(Long.parseLong(m.group(1)));
            }
          }
        } catch (IOException e) {
          out.println("[node B] output lost: " + e);
        }
        ready.completeExceptionally(new IllegalStateException("node B ended before it was ready"));
      });
    }

    static NodeB start(String cluster, String join, PrintStream out) throws IOException {
      Path java = Path.of(System.getProperty("java.home"), "bin", "java");
      List<String> command = new ArrayList<>(List.of(java.toString(),
          "--add-opens", "java.base/java.lang=ALL-UNNAMED", // exact CPU metering on node B too
          "-cp", System.getProperty("java.class.path")));
      if (Runtime.version().feature() >= 23) {
        command.add("--sun-misc-unsafe-memory-access=allow"); // Hazelcast uses it: no warning from JDK 24 on
      }
      command.addAll(List.of(ClusterExample.class.getName(), NODE_B, "--cluster", cluster, "--join", join));
      out.printf(Locale.ROOT, "node A: starting node B: java ... %s %s --cluster %s --join %s%n",
          ClusterExample.class.getName(), NODE_B, cluster, join);
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      return new NodeB(process, out);
    }

    void awaitReady(Duration deadline) throws InterruptedException {
      try {
        ready.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        throw new IllegalStateException("node B did not start (exit status "
            + (process.isAlive() ? "none yet" : process.exitValue()) + "); its output is above", e.getCause());
      } catch (TimeoutException e) {
        throw new IllegalStateException("node B was not ready within " + deadline + "; its output is above", e);
      }
    }

    /** Closes its standard input, which tells it to stop, and waits for it and its output. */
    int stop(Duration deadline) throws InterruptedException, IOException {
      process.getOutputStream().close();
      if (!process.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("node B did not stop within " + deadline);
      }
      relay.join(deadline.toMillis());
      return process.exitValue();
    }

    void destroy() {
      if (process.isAlive()) {
        process.destroyForcibly();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Node B

  static int runNodeB(String[] args, InputStream in, PrintStream out) throws Exception {
    String cluster = null;
    String join = null;
    for (int i = 1; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--cluster" -> cluster = args[i + 1];
        case "--join" -> join = args[i + 1];
        default -> throw new IllegalArgumentException("node B: unknown option " + args[i]);
      }
    }
    if (cluster == null || join == null) {
      throw new IllegalArgumentException("node B needs --cluster NAME and --join HOST:PORT");
    }
    long t0 = System.nanoTime();
    Node b = Node.start(cluster, join);
    try (Cumulus onB = Cumulus.create()) {
      onB.register(FnSpec.of(FUNCTION, (String document) -> fingerprint(document, "B"))
          .inputType(String.class).outputType(Fingerprint.class).build());
      EventBusBinding binding = await(EventBusBinding.bind(b.vertx(), onB), STARTUP);
      out.printf(Locale.ROOT, "node B: pid %d, in the cluster after %.1f s (Hazelcast member %s), serving %s%n",
          ProcessHandle.current().pid(), seconds(t0), b.member(), FUNCTION);
      out.flush();
      drain(in); // until node A closes our standard input, or ends
      await(binding.close(), STARTUP);
      out.printf(Locale.ROOT, "node B's usage (it meters what it ran):%n%s", onB.usage());
      return 0;
    } finally {
      b.close();
    }
  }

  private static void drain(InputStream in) throws IOException {
    byte[] buffer = new byte[256];
    while (in.read(buffer) != -1) {
      // nothing to read: node A only ever closes it
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Both

  /** Hashes the document 5 000 times over (a little CPU), and says where it ran. */
  static Fingerprint fingerprint(String document, String node) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    byte[] digest = document.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < 5_000; i++) {
      digest = sha256.digest(digest);
    }
    return new Fingerprint(HexFormat.of().formatHex(digest, 0, 8), node, ProcessHandle.current().pid());
  }

  /**
   * A clustered Vert.x on 127.0.0.1: Hazelcast bound to the loopback interface, joined by TCP/IP to
   * {@code join} (no multicast), in a cluster of its own name so that no other Hazelcast on the
   * machine joins it.
   */
  private record Node(Vertx vertx, HazelcastClusterManager manager) {
    private static final String HAZELCAST_LOGGING = "hazelcast.logging.type";

    static Node start(String cluster, @Nullable String join) throws Exception {
      // Before Hazelcast's first class loads: it warns about module access through its logger then.
      if (System.getProperty(HAZELCAST_LOGGING) == null) {
        System.setProperty(HAZELCAST_LOGGING, "none");
      }
      Config hz = ConfigUtil.loadConfig(); // Vert.x's maps and multimaps
      hz.setClusterName(cluster);
      hz.setProperty(HAZELCAST_LOGGING, System.getProperty(HAZELCAST_LOGGING));
      hz.setProperty("hazelcast.phone.home.enabled", "false");
      hz.setProperty("hazelcast.shutdownhook.enabled", "false");
      hz.setProperty("hazelcast.wait.seconds.before.join", "0");
      hz.setProperty("hazelcast.socket.bind.any", "false");
      NetworkConfig net = hz.getNetworkConfig();
      net.setPort(5701).setPortAutoIncrement(true).setPortCount(200);
      net.getInterfaces().setEnabled(true).addInterface("127.0.0.1");
      JoinConfig joining = net.getJoin();
      joining.getMulticastConfig().setEnabled(false);
      joining.getAutoDetectionConfig().setEnabled(false);
      // The first node lists no member: it forms the cluster at once instead of probing 127.0.0.1:5701-5703.
      joining.getTcpIpConfig().setEnabled(true).setMembers(join == null ? List.of() : List.of(join));
      HazelcastClusterManager manager = new HazelcastClusterManager(hz);
      VertxOptions options = new VertxOptions()
          .setEventBusOptions(new EventBusOptions().setHost("127.0.0.1").setPort(0));
      Vertx vertx = await(Vertx.builder().with(options).withClusterManager(manager).buildClustered(), STARTUP);
      return new Node(vertx, manager);
    }

    /** This node's Hazelcast address, {@code 127.0.0.1:5701} say: what the other node joins. */
    String member() {
      var address = manager.getHazelcastInstance().getCluster().getLocalMember().getAddress();
      return address.getHost() + ":" + address.getPort();
    }

    void close() throws Exception {
      await(vertx.close(), STARTUP);
    }
  }

  private static <T> T await(Future<T> future, Duration deadline) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(deadline.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }
}
