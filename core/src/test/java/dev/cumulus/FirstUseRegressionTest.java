package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * What a first user of the runtime ran into by misusing it on purpose, one test per papercut, named
 * for the behaviour it holds the runtime to: clear messages that say what to do, and a closed runtime
 * or a wrong input that is said to be so before anything else.
 */
class FirstUseRegressionTest {

  // -----------------------------------------------------------------------------------------------
  // Messages

  @Test
  void durationsInMessages_readAsPeopleWriteThem() {
    assertThat(new FunctionTimeoutException("f", Duration.ofMillis(200)))
        .hasMessage("function 'f' timed out after 200 ms");
    assertThat(new CpuBudgetExceededException("f", Duration.ofMillis(10), Duration.ofNanos(10_196_000)))
        .hasMessage("function 'f' used 10.2 ms of CPU, over its budget of 10 ms");
    assertThatThrownBy(() -> FnSpec.of("f", (String s) -> s).timeout(Duration.ofSeconds(Long.MAX_VALUE)))
        .hasMessage("timeout must be at most 292 years but was 292,271,023,045 years");
    assertThatThrownBy(() -> Cumulus.builder().carrierKeepAlive(Duration.ofMillis(-1)))
        .hasMessage("carrierKeepAlive must be positive but was -1 ms");
    assertThat(FnSpec.of("f", (String s) -> s).timeout(Duration.ofMillis(2_500)).build().toString())
        .contains("timeout=2.5 s", "keepAlive=30 s");
  }
}
