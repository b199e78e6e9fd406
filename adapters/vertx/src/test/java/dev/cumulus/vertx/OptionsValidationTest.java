package dev.cumulus.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cumulus.Cumulus;
import dev.cumulus.MeteringMode;
import dev.cumulus.PriceModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every option of the gateway, the binding and the remote handle: bad values and their messages. */
@ExtendWith(VertxExtension.class)
class OptionsValidationTest {
  private final Cumulus cumulus = Cumulus.create();

  @AfterEach
  void close() {
    cumulus.close();
  }

  @Test
  void gateway_rejectsBadValues_namingTheOption(Vertx vertx) {
    CumulusGateway g = CumulusGateway.create(vertx, cumulus);
    assertThatThrownBy(() -> g.bearerToken("short")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bearerToken must be at least 16 visible ASCII characters without spaces, but was 5 characters");
    assertThatThrownBy(() -> g.bearerToken("with a space inside it")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("with others among them").hasMessageNotContaining("inside");
    assertThatThrownBy(() -> g.bodyLimit(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bodyLimit must be between 0 and 2147483639 bytes but was -1");
    assertThatThrownBy(() -> g.host(" ")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("host must not be blank but was ' '");
    assertThatThrownBy(() -> g.bodyTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bodyTimeout must be at least 1 ms but was PT0S");
    assertThatThrownBy(() -> g.listen(70_000)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("port must be between 0 and 65535 but was 70000");
    assertThatThrownBy(() -> g.bearerToken(null)).isInstanceOf(NullPointerException.class).hasMessage("token");
    assertThatThrownBy(() -> CumulusGateway.create(null, cumulus)).isInstanceOf(NullPointerException.class)
        .hasMessage("vertx");
  }

  @Test
  void gateway_optionSetTwice_orAfterTheRoutesAreBuilt_isIllegalState(Vertx vertx) {
    CumulusGateway g = CumulusGateway.create(vertx, cumulus).bodyLimit(10);
    assertThatThrownBy(() -> g.bodyLimit(20)).isInstanceOf(IllegalStateException.class)
        .hasMessage("bodyLimit was already set");
    g.router();
    assertThatThrownBy(() -> g.host("0.0.0.0")).isInstanceOf(IllegalStateException.class)
        .hasMessage("host cannot be set once the routes are built (router() or listen() was called)");
    assertThat(g.router()).isSameAs(g.router());
    assertThat(g.toString()).contains("bodyLimit=10").contains("bearerToken=none");
  }

  @Test
  void gateway_priceModel_mustPriceTheRuntimesMeteringMode(Vertx vertx) {
    try (Cumulus wallClock = Cumulus.builder().meteringMode(MeteringMode.WALL_CLOCK_ONLY).build()) {
      CumulusGateway g = CumulusGateway.create(vertx, wallClock);
      assertThatThrownBy(() -> g.priceModel(PriceModel.cloudflareWorkers()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("priceModel '0.30 per 1M requests + 0.02 per 1M CPU-ms' cannot price this"
              + " runtime, which meters WALL_CLOCK_ONLY: ");
      g.priceModel(PriceModel.awsLambdaX86(512));
      assertThatThrownBy(() -> g.priceModel(PriceModel.awsLambdaX86(128))).isInstanceOf(IllegalStateException.class)
          .hasMessage("priceModel was already set");
    }
    assertThatThrownBy(() -> CumulusGateway.create(vertx, cumulus).priceModel(null))
        .isInstanceOf(NullPointerException.class).hasMessage("model");
  }

  @Test
  void binding_andRemoteFn_rejectBadValues(Vertx vertx) {
    assertThatThrownBy(() -> EventBusBinding.bind(vertx, cumulus, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("drainTimeout must not be negative but was PT-1S");
    assertThatThrownBy(() -> RemoteFn.of(vertx, " ", String.class, String.class))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("name must not be blank but was ' '");
    RemoteFn<String, String> fn = RemoteFn.of(vertx, "f", String.class, String.class);
    assertThatThrownBy(() -> fn.withTimeout(Duration.ofNanos(5))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeout must be at least 1 ms but was PT0.000000005S");
    assertThat(fn.timeout()).isEqualTo(RemoteFn.DEFAULT_TIMEOUT).isEqualTo(Duration.ofSeconds(65));
    assertThat(fn.withTimeout(Duration.ofSeconds(2)).timeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(fn.toString()).isEqualTo("RemoteFn[f at cumulus.fn.f, timeout PT1M5S]");
  }
}
