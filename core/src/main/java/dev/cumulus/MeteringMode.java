package dev.cumulus;

/**
 * How a runtime measures the compute its functions use.
 *
 * @see Cumulus.Builder#meteringMode(MeteringMode)
 */
public enum MeteringMode {
  /**
   * CPU time and allocated bytes are read on Cumulus's own carrier threads before and after every
   * mounted run of a function's virtual thread and charged to that function. Needs the JVM option
   * {@code --add-opens java.base/java.lang=ALL-UNNAMED} (or {@code =dev.cumulus.core} on the module
   * path).
   */
  EXACT,

  /**
   * Only wall-clock durations are measured; functions run on the JDK's default virtual-thread
   * scheduler and {@link FunctionStats#cpuTime()} and {@link FunctionStats#allocatedBytes()} stay
   * zero. Never a made-up CPU figure: the mode is reported wherever usage is.
   */
  WALL_CLOCK_ONLY
}
