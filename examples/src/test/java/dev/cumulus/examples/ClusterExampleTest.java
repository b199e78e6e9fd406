package dev.cumulus.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ClusterExampleTest {
  private static final Pattern CALL = Pattern.compile("(?m)^  call +(\\d+)  fingerprint\\(\"order-\\d+\\.csv\"\\) = "
      + "[0-9a-f]{16}  ran on node ([AB]) \\(pid (\\d+)\\)");

  @Test
  void run_callsTheFunctionOnNodeB_fromNodeA_thenSharesTheCalls_andStopsNodeB() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    int status = ClusterExample.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));

    String out = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(out);
    assertThat(status).isZero();
    List<String[]> calls = CALL.matcher(out).results().map(m -> new String[] {m.group(1), m.group(2), m.group(3)})
        .toList();
    assertThat(calls).hasSizeGreaterThanOrEqualTo(ClusterExample.CALLS_ON_B + ClusterExample.CALLS_ON_BOTH);
    // The first calls: node B only, another process than this one.
    long self = ProcessHandle.current().pid();
    for (String[] call : calls.subList(0, ClusterExample.CALLS_ON_B)) {
      assertThat(call[1]).isEqualTo("B");
      assertThat(Long.parseLong(call[2])).isNotEqualTo(self);
    }
    // Then both nodes: A is this JVM.
    List<String[]> shared = calls.subList(ClusterExample.CALLS_ON_B, calls.size());
    assertThat(shared).anySatisfy(c -> assertThat(c[1]).isEqualTo("B"));
    assertThat(shared).anySatisfy(c -> {
      assertThat(c[1]).isEqualTo("A");
      assertThat(Long.parseLong(c[2])).isEqualTo(self);
    });
    // Each node metered what it ran, and node B is gone.
    long onB = calls.stream().filter(c -> c[1].equals("B")).count();
    long onA = calls.size() - onB;
    assertThat(out).containsPattern("\\[node B\\] fingerprint +" + onB + " +" + onB + " +0 ")
        .containsPattern("(?m)^fingerprint +" + onA + " +" + onA + " +0 ")
        .contains("node B exited with status 0");
    Matcher ready = Pattern.compile("node B: pid (\\d+), in the cluster").matcher(out);
    assertThat(ready.find()).isTrue();
    assertThat(ProcessHandle.of(Long.parseLong(ready.group(1))).filter(ProcessHandle::isAlive)).isEmpty();
  }
}
