package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import dev.cumulus.Cumulus;
import dev.cumulus.CumulusException;
import dev.cumulus.FnSpec;
import dev.cumulus.RuntimeClosedException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Scale-out on a clustered Vert.x (Hazelcast): nodes in this JVM, bound to 127.0.0.1, joined by
 * TCP/IP (no multicast), in a cluster of their own name so that other builds on the machine never
 * join it. Node A only calls; B and C serve.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterTest {
  private final String clusterName = "cumulus-test-" + UUID.randomUUID();
  private final List<Vertx> nodes = new ArrayList<>();
  private final List<Cumulus> runtimes = new ArrayList<>();
  private int firstMemberPort;
  private Vertx a;
  private Vertx b;
  private Vertx c;
  private Cumulus onB;
  private Cumulus onC;

  @BeforeAll
  void startCluster() {
    a = node();
    b = node();
    c = node();
    onB = serving(b, "B");
    onC = serving(c, "C");
  }

  @AfterAll
  void stopCluster() {
    for (Vertx v : nodes.reversed()) {
      Await.result(v.close());
    }
    runtimes.forEach(Cumulus::close);
  }

  @Test
  void functionOnB_isCallableFromA() {
    onB.register(FnSpec.of("only-on-b", (String s) -> s + " from B").inputType(String.class).build());
    awaitRegistrations(a, "only-on-b", 1);

    String answer = RemoteFn.of(a, "only-on-b", String.class, String.class).invoke("hello");

    assertThat(answer).isEqualTo("hello from B");
  }

  @Test
  void eventFromA_isAcceptedAndRunOnB_andAKeyRetriedFromA_runsOnce() {
    CountDownLatch ran = new CountDownLatch(2);
    onB.register(FnSpec.ofConsumer("record-on-b", (String s) -> ran.countDown()).inputType(String.class).build());
    awaitRegistrations(a, "record-on-b", 1);
    RemoteFn<String, Void> record = RemoteFn.of(a, "record-on-b", String.class, Void.class);

    String id = record.emit("first");
    String keyed = record.emit("second", "batch-1");
    String retried = record.emit("second", "batch-1");

    assertThat(id).isNotEqualTo(keyed);
    assertThat(retried).isEqualTo(keyed);
    await().atMost(Duration.ofSeconds(30)).until(() -> onB.function("record-on-b").stats().eventsSucceeded() == 2);
    assertThat(ran.getCount()).isZero();
    assertThat(onB.function("record-on-b").stats().eventDuplicates()).isEqualTo(1);
  }

  @Test
  void functionOnBAndC_getsItsCallsSpreadOverBoth() {
    RemoteFn<String, String> where = RemoteFn.of(a, "where", String.class, String.class);
    awaitRegistrations(a, "where", 2);

    // The event bus round-robins point-to-point requests over the nodes that consume the address.
    Map<String, Integer> served = new HashMap<>();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      served.clear();
      for (int i = 0; i < 10; i++) {
        served.merge(where.invoke("?"), 1, Integer::sum);
      }
      return served.size() == 2;
    });
    System.out.println("10 calls of 'where' from node A were served by " + served);
    assertThat(served).containsOnlyKeys("B", "C");
    assertThat(onB.function("where").stats().successes()).isPositive();
    assertThat(onC.function("where").stats().successes()).isPositive();
  }

  @Test
  void nodeThatLeaves_stopsGettingCalls_andItsCallInFlightFailsVisibly() {
    Vertx d = node();
    Cumulus onD = Cumulus.create();
    runtimes.add(onD);
    CountDownLatch hold = new CountDownLatch(1);
    onD.register(FnSpec.of("leaving", (String s) -> {
      try {
        hold.await(60, TimeUnit.SECONDS); // D's calls stay in flight until D has left
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return "D";
    }).inputType(String.class).build());
    onC.register(FnSpec.of("leaving", (String s) -> "C").inputType(String.class).build());
    // Drain timeout zero: when D leaves, what it still runs fails at once (the test needs no wait).
    Await.result(EventBusBinding.bind(d, onD, Duration.ZERO));
    awaitRegistrations(a, "leaving", 2);
    // The request timeout bounds the wait for an answer the event bus may not deliver (see below).
    RemoteFn<String, String> leaving = RemoteFn.of(a, "leaving", String.class, String.class)
        .withTimeout(Duration.ofSeconds(5));

    // Calls until one is in flight on D (round robin: the first or the second).
    Future<String> onDInFlight = null;
    for (int i = 0; i < 20 && onDInFlight == null; i++) {
      Future<String> call = leaving.request("?");
      await().atMost(Duration.ofSeconds(30))
          .until(() -> call.isComplete() || onD.function("leaving").stats().inFlight() == 1);
      if (!call.isComplete()) {
        onDInFlight = call;
      } else {
        assertThat(call.result()).isEqualTo("C");
      }
    }
    assertThat(onDInFlight).as("a call in flight on node D").isNotNull();

    Await.result(d.close()); // D leaves the cluster; its binding closes first

    // D answered it with 503 before leaving; the event bus does not guarantee that answer's
    // delivery (at most once), and then the request timeout fails it. Either way it fails, visibly.
    Throwable failure = Await.failure(onDInFlight);
    System.out.println("the call in flight on the node that left failed with " + failure);
    if (failure instanceof RuntimeClosedException) {
      assertThat(failure).hasMessageContaining("left before it finished");
    } else {
      assertThat(failure).isExactlyInstanceOf(CumulusException.class).hasMessageContaining("no reply");
    }
    awaitRegistrations(a, "leaving", 1);
    long servedByD = onD.function("leaving").stats().invocations();
    for (int i = 0; i < 10; i++) {
      assertThat(leaving.invoke("?")).isEqualTo("C");
    }
    assertThat(onD.function("leaving").stats().invocations()).isEqualTo(servedByD);
    hold.countDown();
  }

  // ---------------------------------------------------------------------------------------------

  /** A runtime on {@code node} serving "where", which answers the node's name. */
  private Cumulus serving(Vertx node, String name) {
    Cumulus cumulus = Cumulus.create();
    runtimes.add(cumulus);
    cumulus.register(FnSpec.of("where", (String s) -> name).inputType(String.class).build());
    Await.result(EventBusBinding.bind(node, cumulus));
    return cumulus;
  }

  /** Waits until {@code node}'s cluster view has {@code count} consumers of the function's address. */
  private static void awaitRegistrations(Vertx node, String function, int count) {
    ClusterManager cm = ((io.vertx.core.internal.VertxInternal) node).clusterManager();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      Future<List<RegistrationInfo>> regs = Future.future(p -> cm.getRegistrations(EventBusBinding.address(function), p));
      return Await.result(regs).size() == count;
    });
  }

  /** Starts a clustered Vert.x bound to 127.0.0.1 that joins the first node by TCP/IP. */
  private Vertx node() {
    Config hz = ConfigUtil.loadConfig(); // Vert.x's maps and multimaps
    hz.setClusterName(clusterName);
    hz.setProperty("hazelcast.logging.type", "none");
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.shutdownhook.enabled", "false");
    hz.setProperty("hazelcast.wait.seconds.before.join", "0");
    hz.setProperty("hazelcast.socket.bind.any", "false");
    NetworkConfig net = hz.getNetworkConfig();
    net.setPort(5701).setPortAutoIncrement(true).setPortCount(200);
    net.getInterfaces().setEnabled(true).addInterface("127.0.0.1");
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true)
        .addMember("127.0.0.1" + (firstMemberPort == 0 ? "" : ":" + firstMemberPort));
    HazelcastClusterManager manager = new HazelcastClusterManager(hz);
    VertxOptions options = new VertxOptions()
        .setEventBusOptions(new EventBusOptions().setHost("127.0.0.1").setPort(0));
    long t0 = System.nanoTime();
    Vertx vertx = Await.result(Vertx.builder().with(options).withClusterManager(manager).buildClustered());
    System.out.printf("cluster node %d joined in %d ms%n", nodes.size() + 1, (System.nanoTime() - t0) / 1_000_000);
    if (firstMemberPort == 0) {
      firstMemberPort = manager.getHazelcastInstance().getCluster().getLocalMember().getAddress().getPort();
    }
    nodes.add(vertx);
    return vertx;
  }
}
