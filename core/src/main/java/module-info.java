/**
 * Cumulus core: an embeddable serverless-style function runtime. The API is package
 * {@code dev.cumulus}, and {@code dev.cumulus.trigger} for triggers; everything under
 * {@code dev.cumulus.internal} is implementation.
 *
 * <p>Exact CPU metering starts virtual threads on Cumulus's own carriers through the JDK's internal
 * virtual-thread builder, which needs {@code --add-opens java.base/java.lang=dev.cumulus.core} on
 * the module path ({@code =ALL-UNNAMED} on the class path).
 */
module dev.cumulus.core {
  requires transitive micrometer.core;
  requires com.github.benmanes.caffeine;
  requires com.fasterxml.jackson.core;
  requires java.management;
  requires jdk.management;
  // Nullness annotations in the API: readable by users' compilers and IDEs, not needed at run time.
  requires static transitive org.jspecify;

  exports dev.cumulus;
  exports dev.cumulus.trigger;
}
