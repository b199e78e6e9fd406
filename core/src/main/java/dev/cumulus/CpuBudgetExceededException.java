package dev.cumulus;

import dev.cumulus.internal.DurationText;
import java.time.Duration;

/**
 * The invocation used more CPU time than its function's {@linkplain FnSpec.Builder#cpuBudget(Duration)
 * CPU budget}: it was interrupted and failed. The in-process form of a platform's CPU limit. Counted
 * in {@link FunctionStats#failures()}.
 */
public final class CpuBudgetExceededException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /** The CPU budget that was exceeded. */
  private final Duration budget;
  /** The CPU time used when the invocation was stopped. */
  private final Duration used;

  /**
   * Creates the exception.
   *
   * @param functionName the function whose invocation ran over budget
   * @param budget the budget
   * @param used the CPU time the invocation had used when it was stopped
   */
  public CpuBudgetExceededException(String functionName, Duration budget, Duration used) {
    super(functionName, "function '" + functionName + "' used " + DurationText.of(used) + " of CPU,"
        + " over its budget of " + DurationText.of(budget), null, false);
    this.budget = budget;
    this.used = used;
  }

  /** {@return the budget that was exceeded} */
  public Duration budget() {
    return budget;
  }

  /** {@return the CPU time used when the invocation was stopped} */
  public Duration used() {
    return used;
  }
}
