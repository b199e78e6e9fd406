package dev.cumulus;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a public instance method as a function; {@link Cumulus#registerAll(Object)} registers every
 * such method of a bean. An element left at its default ({@code ""} for the name, {@code -1} for a
 * number) takes the {@link FnSpec} default:
 *
 * <pre>{@code
 * public class Greeter {
 *   @Serverless                                              // function "Greeter.greet"
 *   public String greet(String name) { return "Hello, " + name; }
 *
 *   @Serverless(name = "add", maxConcurrency = 8, timeoutMillis = 500)
 *   public int add(int a, int b) { return a + b; }          // invoked with new Object[] {1, 2}
 * }
 *
 * List<Fn<?, ?>> fns = cumulus.registerAll(new Greeter());
 * Object hello = cumulus.invoke("Greeter.greet", "Ada");     // "Hello, Ada"
 * Object three = cumulus.invoke("add", new Object[] {1, 2}); // 3
 * }</pre>
 *
 * <p>See {@link Cumulus#registerAll(Object)} for how names, inputs and exceptions are mapped.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Serverless {
  /**
   * The function's name. Empty (the default) means {@code <SimpleClassName>.<methodName>}, with the
   * parameter types appended, {@code Calc.add(int,int)}, when several annotated methods of the bean
   * share the method name.
   *
   * @return the name, or {@code ""} for the default
   */
  String name() default "";

  /**
   * The function's {@linkplain FnSpec.Builder#maxConcurrency(int) reserved concurrency}; {@code -1}
   * (the default) leaves it unreserved.
   *
   * @return at least 1, or -1 for unset
   */
  int maxConcurrency() default -1;

  /**
   * The function's {@linkplain FnSpec.Builder#queueCapacity(int) queue capacity}; {@code -1} (the
   * default) means {@value FnSpec#DEFAULT_QUEUE_CAPACITY}.
   *
   * @return zero or more, or -1 for unset
   */
  int queueCapacity() default -1;

  /**
   * The function's {@linkplain FnSpec.Builder#timeout(java.time.Duration) timeout} in milliseconds;
   * {@code -1} (the default) means 60 s.
   *
   * @return at least 1, or -1 for unset
   */
  long timeoutMillis() default -1;

  /**
   * How long idle warm instances are {@linkplain FnSpec.Builder#keepAlive(java.time.Duration) kept},
   * in milliseconds; {@code -1} (the default) means 30 s.
   *
   * @return at least 1, or -1 for unset
   */
  long keepAliveMillis() default -1;

  /**
   * The function's {@linkplain FnSpec.Builder#minInstances(int) provisioned instances}; {@code -1}
   * (the default) means 0.
   *
   * @return zero or more, or -1 for unset
   */
  int minInstances() default -1;
}
