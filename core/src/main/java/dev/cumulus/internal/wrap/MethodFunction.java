package dev.cumulus.internal.wrap;

import dev.cumulus.FnSpec;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A function whose code is an existing method of an existing object: an {@code @Serverless} method
 * of a bean ({@link Beans}) or a method of an interface implementation ({@link FunctionProxy}).
 *
 * <p>Its input is what {@link MethodInvoker} takes: nothing, the single argument, or an
 * {@code Object[]} of several; the spec's {@linkplain FnSpec.Builder#inputCheck input check} checks
 * the arity and element types of such an array before admission. A method that returns a future (a
 * proxy method declared to return one) is waited for on the function's virtual thread, so the
 * invocation lasts, and is limited, timed out and metered, until the future completes; its value is
 * the invocation's result.
 *
 * <p>It is made of the public API alone: its spec is an ordinary {@link FnSpec} whose function is
 * {@link #apply}.
 */
public final class MethodFunction implements Function<@Nullable Object, @Nullable Object> {
  /** The function behind each spec made here, to recognise a registered one (keys held weakly). */
  private static final Map<FnSpec<?, ?>, MethodFunction> BY_SPEC = Collections.synchronizedMap(new WeakHashMap<>());

  private final String name;
  private final Object target;
  private final @Nullable Class<?> iface;
  private final MethodInvoker invoker;
  private final Class<?>[] parameterTypes;
  private final boolean awaitsFuture;
  private final FnSpec<@Nullable Object, @Nullable Object> spec;

  private MethodFunction(String name, Method method, Object target, @Nullable Class<?> iface,
      boolean awaitsFuture, Consumer<FnSpec.Builder<@Nullable Object, @Nullable Object>> options) {
    this.name = name;
    this.target = target;
    this.iface = iface;
    this.invoker = MethodInvoker.of(method, target);
    this.parameterTypes = method.getParameterTypes();
    this.awaitsFuture = awaitsFuture;
    FnSpec.Builder<@Nullable Object, @Nullable Object> builder = FnSpec.<@Nullable Object, @Nullable Object>of(name, this)
        .inputType(objectClass(inputTypeOf(method)))
        .outputType(objectClass(awaitsFuture ? futureValueType(method) : method.getReturnType()));
    if (parameterTypes.length > 1) {
      builder.inputCheck(this::checkArguments);
    }
    options.accept(builder);
    this.spec = builder.build();
    BY_SPEC.put(spec, this);
  }

  /**
   * Describes a function over {@code method} of {@code target}.
   *
   * @param name the function's name
   * @param method the method to call
   * @param target the object to call it on
   * @param iface the interface it was made from by a proxy, or {@code null} for a bean's method
   * @param awaitsFuture whether the method returns a future to wait for
   * @param options sets the spec's options (limits, timeout, ...)
   * @return the function, not registered yet
   * @throws IllegalArgumentException if the name or an option is invalid, or the method cannot be
   *     called
   */
  static MethodFunction of(String name, Method method, Object target, @Nullable Class<?> iface,
      boolean awaitsFuture, Consumer<FnSpec.Builder<@Nullable Object, @Nullable Object>> options) {
    return new MethodFunction(name, method, target, iface, awaitsFuture, options);
  }

  /** The input type of a function over {@code method}: Void, the parameter's type, or Object[]. */
  static Class<?> inputTypeOf(Method method) {
    return switch (method.getParameterCount()) {
      case 0 -> Void.class;
      case 1 -> method.getParameterTypes()[0];
      default -> Object[].class;
    };
  }

  private static Class<?> futureValueType(Method method) {
    Type type = method.getGenericReturnType();
    if (type instanceof ParameterizedType p && p.getActualTypeArguments().length == 1
        && p.getActualTypeArguments()[0] instanceof Class<?> value) {
      return value;
    }
    return Object.class;
  }

  @SuppressWarnings("unchecked")
  private static Class<@Nullable Object> objectClass(Class<?> type) {
    return (Class<@Nullable Object>) type;
  }

  /** Returns the spec to register. @return the spec */
  public FnSpec<@Nullable Object, @Nullable Object> spec() {
    return spec;
  }

  /** Returns the function's name. @return the name */
  public String name() {
    return name;
  }

  /** Returns the method called. @return the method */
  public Method method() {
    return invoker.method();
  }

  /** Returns the object the method is called on. @return the bean or the proxy's target */
  Object target() {
    return target;
  }

  /** Returns the interface a proxy made this function from, or null for a bean's method. */
  @Nullable Class<?> iface() {
    return iface;
  }

  /**
   * The function a spec made by this class calls, or null for any other spec.
   *
   * @param spec a registered function's spec
   * @return its method function, or null
   */
  static @Nullable MethodFunction behind(FnSpec<?, ?> spec) {
    return BY_SPEC.get(spec);
  }

  /** Calls the method; the input was checked before admission. */
  @Override
  public @Nullable Object apply(@Nullable Object input) {
    Object result = invoker.call(input);
    return awaitsFuture && result != null ? await(result) : result;
  }

  /** The spec's input check of an {@code Object[]} of several arguments: arity and element types. */
  private void checkArguments(Object input) {
    if (!(input instanceof Object[] args)) {
      return; // the declared input type covers it
    }
    if (args.length != parameterTypes.length) {
      throw new IllegalArgumentException("function '" + name + "' takes " + parameterTypes.length
          + " arguments " + MethodNames.parameterList(parameterTypes) + " as an Object[] but got " + args.length);
    }
    for (int i = 0; i < args.length; i++) {
      Class<?> expected = parameterTypes[i];
      Object arg = args[i];
      if (arg == null) {
        if (expected.isPrimitive()) {
          throw new IllegalArgumentException("function '" + name + "' expects args[" + i + "] of type "
              + expected.getName() + " but got null");
        }
      } else if (!MethodType.methodType(expected).wrap().returnType().isInstance(arg)) {
        throw new IllegalArgumentException("function '" + name + "' expects args[" + i + "] of type "
            + expected.getTypeName() + " but got " + arg.getClass().getTypeName());
      }
    }
  }

  /**
   * Waits for the future a method returned and gives its value, or throws what it failed with. An
   * interrupt (the invocation timed out, or the runtime closed) cancels that future if it can be.
   */
  private static @Nullable Object await(Object result) {
    Future<?> future;
    if (result instanceof CompletionStage<?> stage) {
      // Not get() on it: a minimal stage (CompletableFuture.completedStage) refuses it.
      CompletableFuture<Object> bridge = new CompletableFuture<>();
      stage.whenComplete((v, e) -> {
        if (e != null) {
          bridge.completeExceptionally(e);
        } else {
          bridge.complete(v);
        }
      });
      future = bridge;
    } else if (result instanceof Future<?> f) {
      future = f;
    } else {
      return result;
    }
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw MethodInvoker.<RuntimeException>sneaky(unwrap(e.getCause()));
    } catch (InterruptedException e) {
      if (result instanceof Future<?> f) {
        try {
          f.cancel(true); // the work the invocation started ends with it
        } catch (UnsupportedOperationException minimalStage) {
          // nothing to cancel through
        }
      }
      throw MethodInvoker.<RuntimeException>sneaky(e);
    }
  }

  private static Throwable unwrap(@Nullable Throwable t) {
    Throwable cause = t;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause == null ? new IllegalStateException("the future failed without a cause") : cause;
  }

  @Override
  public String toString() {
    return "MethodFunction[" + name + " -> " + MethodNames.describe(invoker.method()) + "]";
  }
}
