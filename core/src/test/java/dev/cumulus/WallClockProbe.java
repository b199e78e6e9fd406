package dev.cumulus;

/** Run by {@link WallClockFallbackTest} in a JVM started without the add-opens option. */
public final class WallClockProbe {
  private WallClockProbe() {}

  public static void main(String[] args) {
    try (Cumulus first = Cumulus.create(); Cumulus second = Cumulus.create()) {
      Fn<String, Integer> words = first.register(FnSpec.of("words", (String s) -> {
        TestFunctions.burn(20);
        FnContext.current().addBytesProcessed(s.length()); // found on the JDK's scheduler too
        return s.split(" ").length;
      }).build());
      System.out.println("result=" + words.invoke("a b c"));
      Receipt<Integer> r = words.invokeMetered("d e");
      System.out.println("receipt result=" + r.result() + " bytes=" + r.bytesProcessed() + " cpu=" + r.cpuTime()
          + " billedCpu=" + r.billedCpuMillis() + " billed=" + (r.billedMillis() >= 1 ? "yes" : "no"));
      FunctionStats s = words.stats();
      System.out.println("mode=" + first.meteringMode() + " second=" + second.meteringMode()
          + " cpu=" + s.cpuTime() + " allocated=" + s.allocatedBytes() + " wall=" + s.wallTime());
    }
    try {
      Cumulus.builder().meteringMode(MeteringMode.EXACT).build().close();
      System.out.println("exact accepted");
    } catch (IllegalStateException e) {
      System.out.println("exact refused: " + e.getMessage());
    }
  }
}
