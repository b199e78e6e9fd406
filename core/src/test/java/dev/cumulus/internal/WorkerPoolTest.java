package dev.cumulus.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cumulus.Cumulus;
import dev.cumulus.FnSpec;
import dev.cumulus.RuntimeClosedException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** The function's side of close: what it accepted is settled, whatever moment close picks. */
class WorkerPoolTest {
  /**
   * A call admitted just before close gave up on its function, and queued just after close's pass
   * over the queue, used to be withdrawn by the enqueue and then left alone by {@code abandonQueued}
   * (which withdrew it again, failed, and took it for someone else's): its caller waited forever.
   * {@code ReviewRegressionTest#callsRacingClose_allComplete_noneIsStranded} caught it about once in
   * 20 runs; here the window is held open: the function is abandoned first, then called.
   */
  @Test
  void aCallQueuedAfterCloseGaveUpOnTheFunction_isSettled_notStranded() {
    try (Cumulus cumulus = Cumulus.builder().drainTimeout(Duration.ofMillis(100)).build()) {
      Deployment f = (Deployment) (Object) cumulus.register(FnSpec.of("late", (Integer i) -> i).build());
      assertThat(f.invoke(1)).isEqualTo(1);
      f.abandonAll(); // what close does at its drain deadline, before this call reaches the queue

      CompletableFuture<Object> late = f.invokeAsync(2);

      assertThat(late).failsWithin(Duration.ofSeconds(30))
          .withThrowableOfType(ExecutionException.class).withCauseInstanceOf(RuntimeClosedException.class);
      assertThat(f.stats().queued()).isZero();
      assertThat(f.stats().rejected()).isEqualTo(1);
      assertThat(f.stats().invocations()).isEqualTo(f.stats().completed());
    }
  }
}
