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
   * Only wall-clock durations are measured: {@link FunctionStats#cpuTime()} and
   * {@link FunctionStats#allocatedBytes()} stay zero, never a made-up figure, and the mode is
   * reported wherever usage is. Asked for explicitly, functions still run on Cumulus's carriers
   * (only the clock reads are left out). As the fallback when the JVM option is missing, they run on
   * the JDK's default virtual-thread scheduler, where Cumulus cannot see a worker block: it then
   * starts a worker for every waiting invocation, up to the limit, rather than about one per carrier
   * for CPU-bound work, so expect more instances and cold starts.
   */
  WALL_CLOCK_ONLY
}
