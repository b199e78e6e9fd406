package dev.cumulus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class CumulusBuilderTest {
  @Test
  void create_usesDefaults() {
    try (Cumulus c = Cumulus.create()) {
      assertThat(c.functions()).isEmpty();
      assertThat(c.meteringMode()).isEqualTo(MeteringMode.EXACT); // tests run with the add-opens flag
      assertThat(c.toString()).contains("maxConcurrency=1000", "meteringMode=EXACT");
    }
  }

  @Test
  void build_startsNoThread() {
    try (Cumulus c = Cumulus.builder().build()) {
      assertThat(c.engine().liveCarriers()).isZero();
    }
  }

  @Test
  void badValues_nameOptionAndValue() {
    assertThatThrownBy(() -> Cumulus.builder().maxConcurrency(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxConcurrency must be positive but was 0");
    assertThatThrownBy(() -> Cumulus.builder().carrierThreads(-2))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("carrierThreads must be between 1 and 32767 but was -2");
    assertThatThrownBy(() -> Cumulus.builder().carrierKeepAlive(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("carrierKeepAlive must be positive but was 0 ms");
    assertThatThrownBy(() -> Cumulus.builder().drainTimeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("drainTimeout must not be negative but was -1 s");
    assertThatThrownBy(() -> Cumulus.builder().meteringMode(null))
        .isInstanceOf(NullPointerException.class).hasMessage("meteringMode");
    assertThatThrownBy(() -> Cumulus.builder().maxCallDepth(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxCallDepth must be positive but was 0");
  }

  @Test
  void optionSetTwice_isIllegalState() {
    assertThatThrownBy(() -> Cumulus.builder().maxConcurrency(5).maxConcurrency(6))
        .isInstanceOf(IllegalStateException.class).hasMessage("maxConcurrency was already set to 5");
    assertThatThrownBy(() -> Cumulus.builder().meteringMode(MeteringMode.EXACT).meteringMode(MeteringMode.WALL_CLOCK_ONLY))
        .isInstanceOf(IllegalStateException.class).hasMessage("meteringMode was already set to EXACT");
    assertThatThrownBy(() -> Cumulus.builder().maxCallDepth(3).maxCallDepth(4))
        .isInstanceOf(IllegalStateException.class).hasMessage("maxCallDepth was already set to 3");
  }

  @Test
  void wallClockOnly_canBeAskedFor() {
    try (Cumulus c = Cumulus.builder().meteringMode(MeteringMode.WALL_CLOCK_ONLY).build()) {
      assertThat(c.meteringMode()).isEqualTo(MeteringMode.WALL_CLOCK_ONLY);
      Fn<Long, Long> burn = c.register(FnSpec.of("burn", TestFunctions::burn).build());
      burn.invoke(20L);
      assertThat(burn.stats().cpuTime()).isZero();
      assertThat(burn.stats().allocatedBytes()).isZero();
      assertThat(burn.stats().wallTime()).isPositive();
    }
  }
}
