package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cumulus.CpuBudgetExceededException;
import dev.cumulus.Cumulus;
import dev.cumulus.CumulusException;
import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.FunctionFailedException;
import dev.cumulus.FunctionTimeoutException;
import dev.cumulus.InvalidInputException;
import dev.cumulus.MeteringMode;
import dev.cumulus.RuntimeClosedException;
import dev.cumulus.ThrottledException;
import dev.cumulus.UnknownFunctionException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link EventBusBinding} and {@link RemoteFn} on one (not clustered) Vert.x. */
@ExtendWith(VertxExtension.class)
class EventBusBindingTest {
  record Order(String item, int quantity) {}

  record Receipt(String item, long totalCents) {}

  private final CountDownLatch gate = new CountDownLatch(1);
  private Vertx vertx;
  private Cumulus cumulus;
  private EventBusBinding binding;

  @BeforeEach
  void bind(Vertx vertx) {
    this.vertx = vertx;
    cumulus = Cumulus.create();
    cumulus.register(FnSpec.of("word-count", (String s) -> s.split("\\s+").length)
        .inputType(String.class).outputType(Integer.class).build());
    cumulus.register(FnSpec.of("order", (Order o) -> new Receipt(o.item(), o.quantity() * 250L))
        .inputType(Order.class).outputType(Receipt.class).build());
    cumulus.register(FnSpec.of("echo", (Object any) -> any).build());
    cumulus.register(FnSpec.ofSupplier("hello", () -> List.of("h", "i")).build());
    cumulus.register(FnSpec.of("boom", (String s) -> {
      throw new IllegalArgumentException("no " + s);
    }).inputType(String.class).build());
    cumulus.register(FnSpec.of("slow", (String s) -> awaitGate(s)).inputType(String.class)
        .timeout(Duration.ofMillis(200)).build());
    cumulus.register(FnSpec.of("busy", (String s) -> awaitGate(s)).inputType(String.class)
        .maxConcurrency(1).queueCapacity(0).build());
    binding = Await.result(EventBusBinding.bind(vertx, cumulus));
  }

  @AfterEach
  void close() {
    gate.countDown();
    Await.result(binding.close());
    cumulus.close();
  }

  @Test
  void bind_consumesEveryFunctionAtItsAddress() {
    assertThat(binding.boundFunctions()).containsExactly("boom", "busy", "echo", "hello", "order", "slow", "word-count");
    assertThat(EventBusBinding.address("word-count")).isEqualTo("cumulus.fn.word-count");
  }

  @Test
  void request_plainEventBusUser_getsTheResultAsAJsonValue() {
    assertThat(request("word-count", "a b c")).isEqualTo(3);
    assertThat(request("order", new JsonObject().put("item", "pear").put("quantity", 2)))
        .isEqualTo(new JsonObject().put("item", "pear").put("totalCents", 500));
    assertThat(request("order", Buffer.buffer("{\"item\":\"fig\",\"quantity\":1}")))
        .isEqualTo(new JsonObject().put("item", "fig").put("totalCents", 250));
    assertThat(request("echo", new JsonArray().add(1).add("two"))).isEqualTo(new JsonArray().add(1).add("two"));
    assertThat(request("hello", null)).isEqualTo(new JsonArray().add("h").add("i"));
  }

  @Test
  void request_failures_areReplyExceptions_withTheHttpStatusAsCode_andTheJsonErrorAsMessage() {
    ReplyException bad = replyFailure("order", new JsonObject().put("item", "x").put("quantity", "many"));
    ReplyException failed = replyFailure("boom", "it");
    ReplyException timedOut = replyFailure("slow", "x");
    ReplyException badEvent = replyFailure("word-count", 42, new DeliveryOptions().addHeader("cumulus-event", "true"));
    ReplyException badKey = replyFailure("word-count", "a", new DeliveryOptions().addHeader("cumulus-event", "true")
        .addHeader("cumulus-idempotency-key", "k".repeat(257)));

    assertThat(bad.failureType()).isEqualTo(ReplyFailure.RECIPIENT_FAILURE);
    assertThat(bad.failureCode()).isEqualTo(400);
    assertThat(new JsonObject(bad.getMessage()).getString("error")).isEqualTo("invalid_input");
    assertThat(failed.failureCode()).isEqualTo(500);
    JsonObject failure = new JsonObject(failed.getMessage());
    assertThat(failure.getString("message")).isEqualTo("function 'boom' failed: IllegalArgumentException: no it");
    assertThat(failure.getJsonObject("details").getString("type")).isEqualTo("IllegalArgumentException");
    assertThat(timedOut.failureCode()).isEqualTo(504);
    assertThat(badEvent.failureCode()).isEqualTo(400);
    assertThat(new JsonObject(badEvent.getMessage()).getString("error")).isEqualTo("invalid_input");
    assertThat(badKey.failureCode()).isEqualTo(400);
    assertThat(new JsonObject(badKey.getMessage()).getString("message")).contains("cumulus-idempotency-key");
    assertThat(cumulus.function("word-count").stats().eventsAccepted()).isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // Events

  @Test
  void eventMessage_isEmitted_andTheReplyIsItsId_onceAKeyWithAKey() {
    Fn<?, ?> words = cumulus.function("word-count");
    DeliveryOptions event = new DeliveryOptions().addHeader(EventBusBinding.EVENT_HEADER, "true");
    DeliveryOptions keyed = new DeliveryOptions().addHeader(EventBusBinding.EVENT_HEADER, "true")
        .addHeader(EventBusBinding.IDEMPOTENCY_KEY_HEADER, "k-1");

    Object id = Await.result(vertx.eventBus().request(EventBusBinding.address("word-count"), "a b", event)).body();
    Object first = Await.result(vertx.eventBus().request(EventBusBinding.address("word-count"), "c", keyed)).body();
    Object again = Await.result(vertx.eventBus().request(EventBusBinding.address("word-count"), "c", keyed)).body();

    assertThat(id).isInstanceOf(String.class);
    assertThat(first).isInstanceOf(String.class).isNotEqualTo(id).isEqualTo(again);
    await().atMost(Duration.ofSeconds(30)).until(() -> words.stats().eventsSucceeded() == 2);
    assertThat(words.stats().eventDuplicates()).isEqualTo(1);
  }

  @Test
  void remoteFn_emit_returnsTheEventId_withAndWithoutAKey_synchronouslyAndAsynchronously() throws Exception {
    RemoteFn<String, Integer> words = RemoteFn.of(vertx, "word-count", String.class, Integer.class);
    Fn<?, ?> local = cumulus.function("word-count");

    String plain = words.emit("a b");
    String keyed = words.emit("c", "order-7");
    String retried = words.emitAsync("c", "order-7").get(30, TimeUnit.SECONDS);
    String async = words.emitAsync("d e f").get(30, TimeUnit.SECONDS);

    assertThat(List.of(plain, keyed, async)).doesNotHaveDuplicates();
    assertThat(retried).isEqualTo(keyed);
    await().atMost(Duration.ofSeconds(30)).until(() -> local.stats().eventsSucceeded() == 3);
    assertThat(local.stats().invocations()).isEqualTo(3);
  }

  @Test
  void remoteFn_withTenant_makesItsCallsAndEventsForTheTenant_withKeysOfItsOwn() throws Exception {
    RemoteFn<String, Integer> words = RemoteFn.of(vertx, "word-count", String.class, Integer.class);
    RemoteFn<String, Integer> acme = words.withTenant("acme").withTimeout(Duration.ofSeconds(30));
    Fn<?, ?> local = cumulus.function("word-count");

    assertThat(acme.tenant()).hasValue("acme");
    assertThat(acme.timeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(words.tenant()).isEmpty();
    assertThat(acme.invoke("a b c")).isEqualTo(3);
    assertThat(acme.invokeAsync("a").get(30, TimeUnit.SECONDS)).isEqualTo(1);
    String event = acme.emit("x", "order-1");
    assertThat(acme.emitAsync("x", "order-1").get(30, TimeUnit.SECONDS)).isEqualTo(event);
    assertThat(words.withTenant("globex").emit("x", "order-1")).as("globex's key").isNotEqualTo(event);
    assertThat(words.invoke("no tenant")).isEqualTo(2);
    await().atMost(Duration.ofSeconds(30)).until(() -> local.stats().eventsSucceeded() == 2);

    assertThat(cumulus.usage().byTenant()).containsOnlyKeys("acme", "globex");
    assertThat(cumulus.usage().byTenant().get("acme").functions()).singleElement()
        .satisfies(s -> assertThat(s.invocations()).as("two calls, one event").isEqualTo(3));
    assertThat(acme.toString()).contains("tenant acme");
    assertThatThrownBy(() -> words.withTenant(" ")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tenant must be 1 to 128 characters");
    assertThatThrownBy(() -> words.withTenant(null)).isInstanceOf(NullPointerException.class).hasMessage("tenant");
  }

  @Test
  void aMessageWithABadTenantHeader_fails400_callOrEvent_andNothingRuns() {
    ReplyException call = replyFailure("word-count", "a", new DeliveryOptions()
        .addHeader(EventBusBinding.TENANT_HEADER, "t".repeat(129)));
    ReplyException event = replyFailure("word-count", "a", new DeliveryOptions()
        .addHeader(EventBusBinding.EVENT_HEADER, "true").addHeader(EventBusBinding.TENANT_HEADER, ""));

    for (ReplyException e : List.of(call, event)) {
      assertThat(e.failureCode()).isEqualTo(400);
      JsonObject error = new JsonObject(e.getMessage());
      assertThat(error.getString("error")).isEqualTo("bad_request");
      assertThat(error.getString("message")).startsWith("header cumulus-tenant: tenant must be 1 to 128 characters");
    }
    assertThat(cumulus.function("word-count").stats().invocations()).isZero();
    assertThat(cumulus.function("word-count").stats().eventsAccepted()).isZero();
  }

  @Test
  void remoteFn_emit_throwsTheExceptionsOfALocalEmit() {
    Fn<?, ?> held = cumulus.register(FnSpec.of("held", (String s) -> awaitGate(s)).inputType(String.class)
        .eventCapacity(1).build());
    await().atMost(Duration.ofSeconds(30)).until(() -> binding.boundFunctions().contains("held"));
    RemoteFn<String, String> remote = RemoteFn.of(vertx, "held", String.class, String.class);
    RemoteFn<Object, Object> wrongType = RemoteFn.of(vertx, "held", Object.class, Object.class);
    RemoteFn<String, String> nobody = RemoteFn.of(vertx, "nobody", String.class, String.class);
    remote.emit("first");

    assertThatThrownBy(() -> remote.emit("second")).isInstanceOf(ThrottledException.class)
        .hasMessageContaining("eventCapacity 1");
    assertThatThrownBy(() -> wrongType.emit(42)).isInstanceOf(InvalidInputException.class);
    assertThatThrownBy(() -> nobody.emit("x")).isInstanceOf(UnknownFunctionException.class);
    assertThatThrownBy(() -> remote.emit("x", "")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("idempotencyKey");
    assertThatThrownBy(() -> remote.emitAsync("x", "k".repeat(257))).isInstanceOf(IllegalArgumentException.class);
    gate.countDown();
    await().atMost(Duration.ofSeconds(30)).until(() -> held.stats().eventsSucceeded() == 1);
    assertThat(held.stats().eventsAccepted()).isEqualTo(1);
  }

  @Test
  void remoteFn_emitOnAnEventLoop_isRefusedBeforeAnythingIsSent(VertxTestContext test) {
    RemoteFn<String, Integer> words = RemoteFn.of(vertx, "word-count", String.class, Integer.class);
    vertx.runOnContext(v -> test.verify(() -> {
      assertThatThrownBy(() -> words.emit("a")).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("event-loop").hasMessageContaining("emitAsync");
      Future.fromCompletionStage(words.emitAsync("a b"), vertx.getOrCreateContext())
          .onComplete(test.succeeding(id -> test.verify(() -> {
            assertThat(id).isNotBlank();
            assertThat(cumulus.function("word-count").stats().eventsAccepted()).isEqualTo(1);
            test.completeNow();
          })));
    }));
  }

  @Test
  void remoteFn_givesTypedResults_synchronouslyAndAsynchronously() throws Exception {
    RemoteFn<Order, Receipt> order = RemoteFn.of(vertx, "order", Order.class, Receipt.class);
    RemoteFn<String, Integer> words = RemoteFn.of(vertx, "word-count", String.class, int.class);
    RemoteFn<Void, Object> hello = RemoteFn.of(vertx, "hello", Void.class, Object.class);

    assertThat(order.invoke(new Order("apple", 3))).isEqualTo(new Receipt("apple", 750));
    assertThat(words.invokeAsync("a b").get(30, TimeUnit.SECONDS)).isEqualTo(2);
    assertThat(Await.result(words.request("a b c d"))).isEqualTo(4);
    assertThat(hello.invoke(null)).isEqualTo(List.of("h", "i"));
  }

  @Test
  void remoteFn_throwsTheExceptionsOfALocalFn() {
    RemoteFn<String, String> boom = RemoteFn.of(vertx, "boom", String.class, String.class);
    RemoteFn<String, String> slow = RemoteFn.of(vertx, "slow", String.class, String.class);
    RemoteFn<String, String> nobody = RemoteFn.of(vertx, "nobody", String.class, String.class);
    RemoteFn<Object, Object> wrongType = RemoteFn.of(vertx, "order", Object.class, Object.class);

    assertThatThrownBy(() -> boom.invoke("x"))
        .isInstanceOfSatisfying(FunctionFailedException.class, e -> {
          assertThat(e.functionName()).isEqualTo("boom");
          assertThat(e).hasMessage("function 'boom' failed: IllegalArgumentException: no x");
          assertThat(e.getCause()).isInstanceOfSatisfying(RemoteFailure.class, r -> {
            assertThat(r.type()).isEqualTo("IllegalArgumentException");
            assertThat(r).hasMessage("IllegalArgumentException: no x");
          });
        });
    assertThatThrownBy(() -> slow.invoke("x")).isInstanceOfSatisfying(FunctionTimeoutException.class,
        e -> assertThat(e.timeout()).isEqualTo(Duration.ofMillis(200)));
    assertThatThrownBy(() -> nobody.invoke("x")).isInstanceOf(UnknownFunctionException.class);
    assertThatThrownBy(() -> wrongType.invoke("not an order")).isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("Order");
    assertThatThrownBy(() -> boom.invoke(null)).isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("null");
  }

  @Test
  void remoteFn_throttled_whenTheServingQueueIsFull() {
    RemoteFn<String, String> busy = RemoteFn.of(vertx, "busy", String.class, String.class);
    Fn<?, ?> local = cumulus.function("busy");
    var first = busy.request("first");
    await().atMost(Duration.ofSeconds(30)).until(() -> local.stats().inFlight() == 1);

    assertThatThrownBy(() -> busy.invoke("second")).isInstanceOf(ThrottledException.class)
        .hasMessageContaining("busy");
    gate.countDown();
    assertThat(Await.result(first)).isEqualTo("first");
  }

  @Test
  void remoteFn_cpuBudgetExceeded_andClosedRuntime() {
    Cumulus other = Cumulus.create();
    if (other.meteringMode() == MeteringMode.EXACT) {
      other.register(FnSpec.of("greedy", (String s) -> {
        long x = 0;
        while (!Thread.currentThread().isInterrupted()) {
          x += s.hashCode();
        }
        return x;
      }).inputType(String.class).cpuBudget(Duration.ofMillis(5)).build());
    }
    other.register(FnSpec.of("closing", (String s) -> s).inputType(String.class).build());
    EventBusBinding b = Await.result(EventBusBinding.bind(vertx, other));
    try {
      if (other.meteringMode() == MeteringMode.EXACT) {
        assertThatThrownBy(() -> RemoteFn.of(vertx, "greedy", String.class, Long.class).invoke("x"))
            .isInstanceOfSatisfying(CpuBudgetExceededException.class,
                e -> assertThat(e.budget()).isEqualTo(Duration.ofMillis(5)));
      }
      other.close();
      assertThatThrownBy(() -> RemoteFn.of(vertx, "closing", String.class, String.class).invoke("x"))
          .isInstanceOf(RuntimeClosedException.class);
    } finally {
      Await.result(b.close());
      other.close();
    }
  }

  @Test
  void remoteFn_noReplyInTime_isACumulusExceptionThatSaysSo() {
    RemoteFn<String, String> busy = RemoteFn.of(vertx, "busy", String.class, String.class)
        .withTimeout(Duration.ofMillis(300));

    assertThatThrownBy(() -> busy.invoke("x"))
        .isExactlyInstanceOf(CumulusException.class)
        .hasMessageContaining("no reply from function 'busy' within PT0.3S")
        .hasMessageContaining("may or may not have run");
  }

  @Test
  void remoteFn_invokeOnAnEventLoop_isRefused(VertxTestContext test) {
    RemoteFn<String, Integer> words = RemoteFn.of(vertx, "word-count", String.class, Integer.class);
    vertx.runOnContext(v -> test.verify(() -> {
      assertThatThrownBy(() -> words.invoke("a")).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("event-loop");
      words.request("a b").onComplete(test.succeeding(n -> test.verify(() -> {
        assertThat(n).isEqualTo(2);
        test.completeNow();
      })));
    }));
  }

  @Test
  void functionsRegisteredLater_areBound_andUnregisteredOnes_unbound() {
    RemoteFn<String, String> late = RemoteFn.of(vertx, "late", String.class, String.class);
    assertThatThrownBy(() -> late.invoke("x")).isInstanceOf(UnknownFunctionException.class);

    cumulus.register(FnSpec.of("late", (String s) -> s + "!").inputType(String.class).build());
    await().atMost(Duration.ofSeconds(30)).until(() -> binding.boundFunctions().contains("late"));
    assertThat(late.invoke("x")).isEqualTo("x!");

    cumulus.unregister("late");
    await().atMost(Duration.ofSeconds(30)).until(() -> !binding.boundFunctions().contains("late"));
    assertThatThrownBy(() -> late.invoke("x")).isInstanceOf(UnknownFunctionException.class);
  }

  @Test
  void close_unbinds_thenFailsCallsStillInFlightAfterTheDrainTimeout_with503() {
    Cumulus other = Cumulus.create();
    CountDownLatch hold = new CountDownLatch(1);
    other.register(FnSpec.of("held", (String s) -> {
      try {
        hold.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return s;
    }).inputType(String.class).build());
    other.register(FnSpec.of("quick", (String s) -> s).inputType(String.class).build());
    EventBusBinding b = Await.result(EventBusBinding.bind(vertx, other, Duration.ZERO));
    RemoteFn<String, String> held = RemoteFn.of(vertx, "held", String.class, String.class);
    try {
      Future<String> inFlight = held.request("x");
      await().atMost(Duration.ofSeconds(30)).until(() -> other.function("held").stats().inFlight() == 1);

      Await.result(b.close());

      assertThat(Await.failure(inFlight)).isInstanceOf(RuntimeClosedException.class)
          .hasMessageContaining("left before it finished");
      assertThat(b.boundFunctions()).isEmpty();
      assertThatThrownBy(() -> RemoteFn.of(vertx, "quick", String.class, String.class).invoke("y"))
          .isInstanceOf(UnknownFunctionException.class);
      Await.result(b.close()); // idempotent
    } finally {
      hold.countDown();
      other.close();
    }
  }

  @Test
  void close_letsCallsInFlightFinishWithinTheDrainTimeout() {
    Cumulus other = Cumulus.create();
    CountDownLatch hold = new CountDownLatch(1);
    other.register(FnSpec.of("held", (String s) -> {
      try {
        hold.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return s + "!";
    }).inputType(String.class).build());
    EventBusBinding b = Await.result(EventBusBinding.bind(vertx, other, Duration.ofSeconds(60)));
    try {
      Future<String> inFlight = RemoteFn.of(vertx, "held", String.class, String.class).request("x");
      await().atMost(Duration.ofSeconds(30)).until(() -> other.function("held").stats().inFlight() == 1);

      Future<Void> closing = b.close();
      await().atMost(Duration.ofSeconds(30)).until(() -> b.boundFunctions().isEmpty());
      assertThat(closing.isComplete()).isFalse();
      hold.countDown();

      assertThat(Await.result(inFlight)).isEqualTo("x!");
      Await.result(closing);
    } finally {
      hold.countDown();
      other.close();
    }
  }

  // ---------------------------------------------------------------------------------------------

  private Object request(String function, Object body) {
    Message<Object> reply = Await.result(vertx.eventBus().request(EventBusBinding.address(function), body));
    return reply.body();
  }

  private ReplyException replyFailure(String function, Object body) {
    return replyFailure(function, body, new DeliveryOptions());
  }

  private ReplyException replyFailure(String function, Object body, DeliveryOptions options) {
    Throwable t = Await.failure(vertx.eventBus().request(EventBusBinding.address(function), body, options));
    assertThat(t).isInstanceOf(ReplyException.class);
    Json.assertNoLeak(t.getMessage());
    return (ReplyException) t;
  }

  private String awaitGate(String s) {
    try {
      if (!gate.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the test never opened the gate");
      }
    } catch (InterruptedException e) {
      throw new IllegalStateException("interrupted", e);
    }
    return s;
  }
}
