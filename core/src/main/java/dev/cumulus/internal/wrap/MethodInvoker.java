package dev.cumulus.internal.wrap;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import org.jspecify.annotations.Nullable;

/**
 * Calls one method of one object with the input of an invocation: nothing ({@code null}) for a
 * method without parameters, the argument itself for one parameter, an {@code Object[]} of the
 * arguments for several.
 *
 * <p>The method is resolved once into a {@link MethodHandle} bound to its target and adapted to
 * {@code (Object) -> Object} (spreading the array, unboxing arguments, boxing the result), so a call
 * is one {@code invokeExact}: no {@link Method#invoke} argument array, access check or
 * {@code InvocationTargetException} per call. What the method throws, checked or not, comes out as
 * is. {@code MethodInvokerBenchmark} in {@code jmh-benchmarks} measures this against reflection and
 * {@code LambdaMetafactory}.
 */
public final class MethodInvoker {
  private static final MethodType GENERIC = MethodType.methodType(Object.class, Object.class);

  private final Method method;
  private final MethodHandle handle;

  private MethodInvoker(Method method, MethodHandle handle) {
    this.method = method;
    this.handle = handle;
  }

  /**
   * Resolves {@code method} on {@code target}. Calls dispatch virtually, so a method of an interface
   * or a superclass runs the target's own implementation.
   *
   * @param method a public instance method of {@code target}'s class or of one of its supertypes
   * @param target the object to call it on
   * @return the invoker
   * @throws IllegalArgumentException if the method is static, or Cumulus may not call it (its class
   *     is not public and its package is not open to Cumulus)
   */
  public static MethodInvoker of(Method method, Object target) {
    if (Modifier.isStatic(method.getModifiers())) {
      throw new IllegalArgumentException("method " + MethodNames.describe(method) + " is static");
    }
    if (!method.getDeclaringClass().isInstance(target)) {
      throw new IllegalArgumentException("method " + MethodNames.describe(method) + " cannot be called on a "
          + target.getClass().getName());
    }
    MethodHandle mh = unreflect(method).bindTo(target);
    int arity = method.getParameterCount();
    if (arity == 0) {
      mh = MethodHandles.dropArguments(mh, 0, Object.class);
    } else if (arity > 1) {
      mh = mh.asSpreader(Object[].class, arity);
    }
    return new MethodInvoker(method, mh.asType(GENERIC));
  }

  /**
   * A handle on {@code method} without access checks on each call: through the public lookup when
   * the method and its class are public and exported, otherwise by making it accessible (allowed
   * when its package is open to Cumulus, as every package on the class path is).
   */
  static MethodHandle unreflect(Method method) {
    Class<?> declaring = method.getDeclaringClass();
    // On the module path, Cumulus reads the caller's module so that the handle may refer to it.
    MethodInvoker.class.getModule().addReads(declaring.getModule());
    try {
      return MethodHandles.publicLookup().unreflect(method);
    } catch (IllegalAccessException notPublic) {
      try {
        if (method.trySetAccessible()) {
          return MethodHandles.lookup().unreflect(method);
        }
      } catch (IllegalAccessException | SecurityException e) {
        // fall through to the explanation below
      }
      throw new IllegalArgumentException("Cumulus cannot call " + MethodNames.describe(method) + ": make "
          + declaring.getName() + " public (in an exported package), or open its package to module "
          + "dev.cumulus.core");
    }
  }

  /** Returns the method this invoker calls. @return the method */
  public Method method() {
    return method;
  }

  /**
   * Calls the method.
   *
   * @param input {@code null} (no parameters), the argument (one), or an {@code Object[]} of the
   *     arguments (several), already checked against the parameter types
   * @return what the method returned, boxed; {@code null} for a {@code void} method
   */
  public @Nullable Object call(@Nullable Object input) {
    try {
      return (Object) handle.invokeExact(input);
    } catch (Throwable t) {
      throw MethodInvoker.<RuntimeException>sneaky(t);
    }
  }

  @Override
  public String toString() {
    return "MethodInvoker[" + MethodNames.describe(method) + "]";
  }

  /** Throws {@code t} as it is, checked or not, without wrapping it. */
  @SuppressWarnings("unchecked")
  static <T extends Throwable> T sneaky(Throwable t) throws T {
    throw (T) t;
  }
}
