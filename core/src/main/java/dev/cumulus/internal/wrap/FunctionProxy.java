package dev.cumulus.internal.wrap;

import dev.cumulus.Fn;
import dev.cumulus.FunctionFailedException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The invocation handler behind {@code Cumulus.proxy(iface, target)}: every abstract method of the
 * interface is a function that calls the target's implementation; a call on the proxy is an
 * invocation of that function. Default methods run on the caller's thread (their calls to abstract
 * methods go through the proxy again); {@code equals}, {@code hashCode} and {@code toString} are the
 * proxy's own (identity, and a description), never functions.
 */
public final class FunctionProxy implements InvocationHandler {
  private final Class<?> iface;
  private final Object target;
  private final Map<Method, Binding> bindings;
  private final Map<Method, MethodHandle> defaults = new ConcurrentHashMap<>();

  private static final @Nullable Object[] NO_ARGS = {};
  /** Marks a default method run through {@link InvocationHandler#invokeDefault}. */
  private static final MethodHandle VIA_INVOKE_DEFAULT = MethodHandles.constant(Object.class, "invokeDefault");

  /** One function method of the interface, bound to its registered function. */
  private record Binding(Fn<@Nullable Object, @Nullable Object> fn, int arity, boolean async, Class<?>[] declared) {
    /** The input of one call; the proxy passes {@code args} null exactly when there are none. */
    @Nullable Object input(@Nullable Object @Nullable [] args) {
      if (arity == 0 || args == null) {
        return null;
      }
      return arity == 1 ? args[0] : args; // several: a fresh array per call, made by the proxy class
    }

    /** Whether the method declares {@code t} (a checked or unchecked exception in its throws clause). */
    boolean declares(Throwable t) {
      for (Class<?> type : declared) {
        if (type.isInstance(t)) {
          return true;
        }
      }
      return false;
    }
  }

  private FunctionProxy(Class<?> iface, Object target, Map<Method, Binding> bindings) {
    this.iface = iface;
    this.target = target;
    this.bindings = bindings;
  }

  /**
   * Describes the functions of a proxy of {@code iface} over {@code target}; nothing registered.
   *
   * @param iface the interface
   * @param target its implementation
   * @param registered the function registered under a name, or null: to report a second proxy of the
   *     same interface clearly
   * @return one function per abstract method of the interface, in a stable order
   * @throws IllegalArgumentException if {@code iface} is not an interface that a proxy can
   *     implement, has no abstract method, or {@code target} does not implement it
   * @throws IllegalStateException if a function of one of the names is registered already
   */
  public static List<MethodFunction> plan(Class<?> iface, Object target,
      Function<String, @Nullable Fn<?, ?>> registered) {
    if (!iface.isInterface() || iface.isAnnotation()) {
      throw new IllegalArgumentException("proxy needs an interface but " + iface.getName() + " is "
          + (iface.isAnnotation() ? "an annotation type" : iface.isEnum() ? "an enum"
              : iface.isRecord() ? "a record" : iface.isArray() ? "an array type"
              : iface.isPrimitive() ? "a primitive type" : "a class")
          + "; extract an interface of the methods to make functions of");
    }
    if (iface.isSealed()) {
      throw new IllegalArgumentException("proxy cannot implement " + iface.getName()
          + ": it is a sealed interface");
    }
    if (!iface.isInstance(target)) {
      throw new IllegalArgumentException("the target, a " + target.getClass().getName()
          + ", does not implement " + iface.getName());
    }
    List<Method> methods = functionMethods(iface);
    if (methods.isEmpty()) {
      throw new IllegalArgumentException("interface " + iface.getName() + " has no abstract method"
          + " to make a function of");
    }
    Map<String, Long> perName = new HashMap<>();
    for (Method m : methods) {
      perName.merge(m.getName(), 1L, Long::sum);
    }
    String prefix = MethodNames.simpleName(iface);
    Map<String, Method> byName = new HashMap<>();
    List<MethodFunction> functions = new ArrayList<>();
    for (Method m : methods) {
      String name = prefix + "." + m.getName()
          + (perName.getOrDefault(m.getName(), 0L) > 1 ? MethodNames.parameterList(m.getParameterTypes()) : "");
      Method clash = byName.put(name, m);
      if (clash != null) {
        throw new IllegalArgumentException("methods " + MethodNames.describe(clash) + " and "
            + MethodNames.describe(m) + " would both be function '" + name + "' (their parameter types"
            + " have the same simple names)");
      }
      functions.add(MethodFunction.of(name, m, target, iface, isAsync(m), b -> {}));
    }
    for (MethodFunction f : functions) {
      Fn<?, ?> existing = registered.apply(f.name());
      if (existing == null) {
        continue;
      }
      MethodFunction mf = MethodFunction.behind(existing.spec());
      if (mf != null && mf.iface() == iface) {
        throw new IllegalStateException("proxy(" + iface.getSimpleName() + ") was already called on"
            + " this runtime: its functions (" + MethodNames.names(functions) + ") are registered; reuse"
            + " the proxy it returned, or unregister those functions first");
      }
      throw new IllegalStateException("proxy(" + iface.getSimpleName() + ") cannot register function '"
          + f.name() + "' for method " + MethodNames.describe(f.method()) + ": a function of that name is"
          + " already registered");
    }
    return functions;
  }

  /**
   * Creates the proxy over registered functions.
   *
   * @param iface the interface
   * @param target its implementation (for {@code toString} only: calls go to the functions)
   * @param planned the functions from {@link #plan}
   * @param registered the registered functions, in the same order
   * @param <T> the interface type
   * @return the proxy
   */
  @SuppressWarnings("unchecked")
  public static <T> T create(Class<T> iface, Object target, List<MethodFunction> planned,
      List<? extends Fn<?, ?>> registered) {
    Map<Method, Binding> bindings = new HashMap<>();
    for (int i = 0; i < planned.size(); i++) {
      Method m = planned.get(i).method();
      Binding b = new Binding((Fn<@Nullable Object, @Nullable Object>) registered.get(i), m.getParameterCount(),
          isAsync(m), m.getExceptionTypes());
      // Every Method object the proxy class may pass for this signature (inherited duplicates too).
      for (Method candidate : iface.getMethods()) {
        if (sameSignature(candidate, m)) {
          bindings.put(candidate, b);
        }
      }
    }
    ClassLoader loader = iface.getClassLoader() != null ? iface.getClassLoader()
        : FunctionProxy.class.getClassLoader();
    return (T) Proxy.newProxyInstance(loader, new Class<?>[] {iface},
        new FunctionProxy(iface, target, Map.copyOf(bindings)));
  }

  /** The abstract methods of {@code iface} and its superinterfaces, one per signature. */
  private static List<Method> functionMethods(Class<?> iface) {
    Map<String, Method> bySignature = new LinkedHashMap<>();
    for (Method m : iface.getMethods()) {
      if (!Modifier.isAbstract(m.getModifiers()) || isObjectMethod(m)) {
        continue;
      }
      String key = m.getName() + MethodNames.parameterListOfNames(m.getParameterTypes());
      Method seen = bySignature.get(key);
      // Same signature from two superinterfaces: keep the most specific return type.
      if (seen == null || seen.getReturnType().isAssignableFrom(m.getReturnType())) {
        bySignature.put(key, m);
      }
    }
    List<Method> methods = new ArrayList<>(bySignature.values());
    methods.sort(Comparator.comparing(Method::getName)
        .thenComparing(m -> MethodNames.parameterListOfNames(m.getParameterTypes())));
    return methods;
  }

  private static boolean isObjectMethod(Method m) {
    try {
      Object.class.getMethod(m.getName(), m.getParameterTypes());
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  private static boolean sameSignature(Method a, Method b) {
    return a.getName().equals(b.getName())
        && java.util.Arrays.equals(a.getParameterTypes(), b.getParameterTypes());
  }

  /** Methods declared to return a future are called with invokeAsync. */
  private static boolean isAsync(Method m) {
    Class<?> r = m.getReturnType();
    return r == CompletableFuture.class || r == CompletionStage.class || r == Future.class;
  }

  @Override
  public @Nullable Object invoke(Object proxy, Method method, @Nullable Object @Nullable [] args)
      throws Throwable {
    Binding b = bindings.get(method);
    if (b == null) {
      return local(proxy, method, args);
    }
    @Nullable Object input = b.input(args);
    if (b.async) {
      CompletableFuture<@Nullable Object> result = b.fn.invokeAsync(input);
      return b.declared.length == 0 ? result : new DeclaredFailures(result, b);
    }
    try {
      return b.fn.invoke(input);
    } catch (FunctionFailedException e) {
      Throwable cause = e.getCause();
      if (cause != null && b.declares(cause)) {
        throw cause;
      }
      throw e;
    }
  }

  private @Nullable Object local(Object proxy, Method method, @Nullable Object @Nullable [] args)
      throws Throwable {
    if (method.getDeclaringClass() == Object.class) {
      return switch (method.getName()) {
        case "equals" -> args != null && proxy == args[0];
        case "hashCode" -> System.identityHashCode(proxy);
        case "toString" -> toString();
        default -> throw new IllegalStateException("unexpected Object method " + method);
      };
    }
    if (method.isDefault()) {
      MethodHandle special = defaults.computeIfAbsent(method, FunctionProxy::defaultMethodHandle);
      if (special == VIA_INVOKE_DEFAULT) {
        return InvocationHandler.invokeDefault(proxy, method, args);
      }
      @Nullable Object[] actual = args == null ? NO_ARGS : args; // a local: invokeExact takes static types
      return (Object) special.invokeExact(proxy, actual);
    }
    throw new IllegalStateException("no function for " + MethodNames.describe(method) + " in the proxy of "
        + iface.getName());
  }

  /**
   * A handle that runs the interface's own body of default method {@code m} on a proxy:
   * {@code (Object proxy, Object[] args) -> Object}. It needs the interface's package open to
   * Cumulus (every package on the class path is); otherwise {@link #VIA_INVOKE_DEFAULT}, and
   * {@link InvocationHandler#invokeDefault} is used, which works for a public interface.
   */
  private static MethodHandle defaultMethodHandle(Method m) {
    Class<?> declaring = m.getDeclaringClass();
    try {
      FunctionProxy.class.getModule().addReads(declaring.getModule());
      MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(declaring, MethodHandles.lookup());
      return lookup.unreflectSpecial(m, declaring)
          .asSpreader(Object[].class, m.getParameterCount())
          .asType(MethodType.methodType(Object.class, Object.class, Object[].class));
    } catch (IllegalAccessException | SecurityException e) {
      return VIA_INVOKE_DEFAULT;
    }
  }

  @Override
  public String toString() {
    return "Cumulus proxy of " + iface.getName() + " over " + target;
  }

  /**
   * The future an async proxy method returns when the method declares exceptions: a failure whose
   * cause the method declares arrives as that cause. Cancelling it cancels the invocation (which
   * never runs if it has not started).
   */
  private static final class DeclaredFailures extends CompletableFuture<@Nullable Object> {
    private final CompletableFuture<@Nullable Object> invocation;

    DeclaredFailures(CompletableFuture<@Nullable Object> invocation, Binding binding) {
      this.invocation = invocation;
      invocation.whenComplete((v, e) -> {
        if (e == null) {
          complete(v);
        } else if (e instanceof FunctionFailedException f && f.getCause() != null
            && binding.declares(f.getCause())) {
          completeExceptionally(f.getCause());
        } else {
          completeExceptionally(e);
        }
      });
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      invocation.cancel(mayInterruptIfRunning);
      return super.cancel(mayInterruptIfRunning);
    }
  }
}
