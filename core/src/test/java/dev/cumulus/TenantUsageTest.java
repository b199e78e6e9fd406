package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** Usage and bills per tenant: {@link Usage#byTenant()}, a {@link Bill} per tenant. */
class TenantUsageTest {
  private static final PriceModel PER_REQUEST_AND_GB_S =
      PriceModel.perRequestAndGbSeconds(new BigDecimal("0.20"), new BigDecimal("0.0000166667"), 1024);

  @Test
  void usageByTenant_hasEachTenantsLinePerFunction_andCallsWithoutATenantInNone() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, Integer> f = c.register(FnSpec.of("f", String::length).build());
      Fn<String, Integer> g = c.register(FnSpec.of("g", String::length).build());
      for (int i = 0; i < 3; i++) {
        f.invoke("x", CallOptions.tenant("acme"));
      }
      g.invoke("xy", CallOptions.tenant("acme"));
      g.invokeAsync("xyz", CallOptions.tenant("acme")).join();
      assertThat(c.invoke("f", "q", CallOptions.tenant("globex"))).isEqualTo(1);
      assertThat(c.invokeAsync("f", "q", CallOptions.tenant("globex")).join()).isEqualTo(1);
      f.invoke("no tenant");
      f.invoke("none either", CallOptions.none());

      Usage usage = c.usage();
      assertThat(usage.byTenant()).containsOnlyKeys("acme", "globex");
      Usage acme = usage.byTenant().get("acme");
      assertThat(acme.functions()).extracting(FunctionStats::name).containsExactly("f", "g");
      assertThat(acme.functions()).extracting(FunctionStats::invocations).containsExactly(3L, 2L);
      assertThat(acme.functions()).extracting(FunctionStats::successes).containsExactly(3L, 2L);
      assertThat(acme.invocations()).isEqualTo(5);
      assertThat(acme.byTenant()).isEmpty();
      assertThat(usage.byTenant().get("globex").functions()).singleElement()
          .satisfies(s -> assertThat(s.invocations()).isEqualTo(2));
      // The functions' own lines have every call, tenant or not.
      assertThat(f.stats().invocations()).isEqualTo(7);
      assertThat(usage.toString()).contains("By tenant", "acme", "globex");
    }
  }

  @Test
  void aBillPerTenant_pricesThatTenantsInvocations() {
    try (Cumulus c = Cumulus.create()) {
      Fn<Integer, Integer> f = c.register(FnSpec.of("spin", (Integer ms) -> {
        TestFunctions.spinCpu(ms);
        return ms;
      }).build());
      for (int i = 0; i < 4; i++) {
        f.invoke(2, CallOptions.tenant("acme"));
      }
      f.invoke(2, CallOptions.tenant("globex"));
      Usage usage = c.usage();
      Bill acme = usage.byTenant().get("acme").bill(PER_REQUEST_AND_GB_S);
      Bill globex = usage.byTenant().get("globex").bill(PER_REQUEST_AND_GB_S);
      assertThat(acme.lines()).singleElement().satisfies(l -> {
        assertThat(l.function()).isEqualTo("spin");
        assertThat(l.requests()).isEqualTo(4);
      });
      assertThat(globex.lines()).singleElement().satisfies(l -> assertThat(l.requests()).isEqualTo(1));
      // Every call was made for a tenant: the tenants' bills add up to the function's.
      Bill all = usage.bill(PER_REQUEST_AND_GB_S);
      assertThat(acme.total().add(globex.total())).isEqualByComparingTo(all.total());
      FunctionStats acmeLine = usage.byTenant().get("acme").functions().get(0);
      assertThat(acmeLine.billedMillis()).isGreaterThanOrEqualTo(4 * 2);
      if (c.meteringMode() == MeteringMode.EXACT) {
        // Each invocation's own CPU, billed per invocation as the function's line bills it.
        assertThat(acmeLine.billedCpuMillis() + usage.byTenant().get("globex").functions().get(0).billedCpuMillis())
            .isEqualTo(f.stats().billedCpuMillis());
        assertThat(acmeLine.cpuTime()).isGreaterThanOrEqualTo(Duration.ofMillis(4 * 2 * 9 / 10));
        Bill cpu = usage.byTenant().get("acme").bill(PriceModel.cloudflareWorkers());
        assertThat(cpu.lines().get(0).usage()).isEqualByComparingTo(BigDecimal.valueOf(acmeLine.billedCpuMillis()));
      }
    }
  }

  @Test
  void outcomes_areCountedForTheirTenant() {
    try (Cumulus c = Cumulus.builder().clock(new ManualClock()).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<String, String> f = c.register(FnSpec.of("moody", (String s) -> {
        if (s.equals("fail")) {
          throw new IllegalStateException("no");
        }
        if (s.equals("wait")) {
          TestFunctions.await(gate);
        }
        return s;
      }).maxConcurrency(1).queueCapacity(0).build());
      assertThatThrownBy(() -> f.invoke("fail", CallOptions.tenant("t"))).isInstanceOf(FunctionFailedException.class);
      var waiting = f.invokeAsync("wait", CallOptions.tenant("t"));
      org.awaitility.Awaitility.await().until(() -> f.stats().inFlight() == 1);
      assertThatThrownBy(() -> f.invoke("x", CallOptions.tenant("t"))).isInstanceOf(ThrottledException.class);
      gate.countDown();
      assertThat(waiting.join()).isEqualTo("wait");
      FunctionStats t = c.usage().byTenant().get("t").functions().get(0);
      assertThat(t.invocations()).isEqualTo(3);
      assertThat(t.failures()).isEqualTo(1);
      assertThat(t.throttles()).isEqualTo(1);
      assertThat(t.successes()).isEqualTo(1);
      assertThat(t.coldStarts()).isLessThanOrEqualTo(1);
      assertThat(t.completed()).isEqualTo(t.invocations());
    }
  }

  @Test
  void aTimedOutCall_isCountedForItsTenant() {
    ManualClock clock = new ManualClock();
    try (Cumulus c = Cumulus.builder().clock(clock).build()) {
      CountDownLatch gate = new CountDownLatch(1);
      Fn<String, String> f = c.register(FnSpec.of("slow", (String s) -> {
        TestFunctions.await(gate);
        return s;
      }).timeout(Duration.ofSeconds(1)).build());
      var call = f.invokeAsync("x", CallOptions.tenant("t"));
      org.awaitility.Awaitility.await().until(() -> f.stats().inFlight() == 1);
      clock.advance(Duration.ofSeconds(2));
      assertThatThrownBy(call::join).hasCauseInstanceOf(FunctionTimeoutException.class);
      gate.countDown();
      assertThat(c.usage().byTenant().get("t").functions().get(0).timeouts()).isEqualTo(1);
    }
  }

  @Test
  void tenantsBeyondMaxTenants_areAccountedTogetherAsOther() {
    try (Cumulus c = Cumulus.builder().maxTenants(2).build()) {
      Fn<String, Integer> f = c.register(FnSpec.of("f", String::length).build());
      for (String tenant : new String[] {"a", "b", "c", "d", "a", "d"}) {
        f.invoke("x", CallOptions.tenant(tenant));
      }
      Map<String, Usage> byTenant = c.usage().byTenant();
      assertThat(byTenant).containsOnlyKeys("a", "b", "other");
      assertThat(byTenant.get("a").invocations()).isEqualTo(2);
      assertThat(byTenant.get("b").invocations()).isEqualTo(1);
      assertThat(byTenant.get("other").invocations()).isEqualTo(3); // c once, d twice
      assertThat(c.engine().tenantsFoldedCalls()).isEqualTo(3);
    }
  }

  @Test
  void anUnregisteredFunction_keepsItsTenantsLines() {
    try (Cumulus c = Cumulus.create()) {
      Fn<String, Integer> f = c.register(FnSpec.of("f", String::length).build());
      f.invoke("x", CallOptions.tenant("acme"));
      c.unregister("f");
      org.awaitility.Awaitility.await().until(() -> c.usage().byTenant().get("acme").functions().size() == 1);
      Fn<String, Integer> again = c.register(FnSpec.of("f", String::length).build());
      again.invoke("y", CallOptions.tenant("acme"));
      org.awaitility.Awaitility.await().untilAsserted(() -> assertThat(c.usage().byTenant().get("acme").functions())
          .singleElement().satisfies(s -> assertThat(s.invocations()).isEqualTo(2)));
    }
  }
}
