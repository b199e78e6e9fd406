package dev.cumulus.internal.wrap;

import dev.cumulus.Fn;
import dev.cumulus.FnSpec;
import dev.cumulus.Serverless;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Finds the {@link Serverless} methods of a bean and describes one function per method, for
 * {@code Cumulus.registerAll}.
 *
 * <p>Rules: the functions are the public instance methods of the bean's class, declared or inherited
 * from a superclass, that carry the annotation, on the method itself or on the nearest superclass
 * method it overrides (so subclasses made by frameworks keep their functions); calls dispatch to the
 * bean's own implementation. An annotation on a static, non-public or abstract method is an error,
 * never silently ignored.
 */
public final class Beans {
  private Beans() {}

  /**
   * Describes the functions of {@code bean}: names chosen, options validated, nothing registered.
   *
   * @param bean the object whose annotated methods become functions
   * @param registered the function registered under a name, or null: to tell a bean registered twice
   *     from a plain name clash
   * @return one function per annotated method, sorted by name
   * @throws IllegalArgumentException if an annotation is misplaced or invalid, two methods would get
   *     the same name, or the bean has no annotated method
   * @throws IllegalStateException if a function of one of the names is registered already
   */
  public static List<MethodFunction> plan(Object bean, Function<String, @Nullable Fn<?, ?>> registered) {
    Class<?> type = bean.getClass();
    if (bean instanceof Class<?> c) {
      throw new IllegalArgumentException("registerAll takes an instance whose @Serverless methods"
          + " become functions, not a class (got " + c.getName() + "); @Serverless methods must not"
          + " be static");
    }
    rejectMisplacedAnnotations(type);
    Map<Method, Serverless> annotated = new LinkedHashMap<>();
    for (Method m : type.getMethods()) {
      if (Modifier.isStatic(m.getModifiers()) || m.isBridge() || m.isSynthetic()) {
        continue;
      }
      Serverless a = findAnnotation(m);
      if (a != null) {
        annotated.put(m, a);
      }
    }
    if (annotated.isEmpty()) {
      throw new IllegalArgumentException("class " + type.getName() + " has no method annotated"
          + " @Serverless (registerAll looks at the public instance methods of the bean's class and"
          + " its superclasses)");
    }
    Map<String, Long> perMethodName = annotated.keySet().stream()
        .collect(Collectors.groupingBy(Method::getName, Collectors.counting()));
    String prefix = MethodNames.simpleName(type);
    Map<String, Method> byName = new HashMap<>();
    List<MethodFunction> functions = new ArrayList<>();
    for (Map.Entry<Method, Serverless> e : annotated.entrySet()) {
      Method m = e.getKey();
      Serverless a = e.getValue();
      String name = !a.name().isEmpty() ? a.name()
          : perMethodName.getOrDefault(m.getName(), 0L) > 1 ? prefix + "." + m.getName() + MethodNames.parameterList(m.getParameterTypes())
          : prefix + "." + m.getName();
      Method clash = byName.put(name, m);
      if (clash != null) {
        throw new IllegalArgumentException("@Serverless methods " + MethodNames.describe(clash) + " and "
            + MethodNames.describe(m) + " would both be function '" + name + "'; give one of them its own"
            + " @Serverless(name = ...)");
      }
      try {
        functions.add(MethodFunction.of(name, m, bean, null, false, options(a)));
      } catch (IllegalArgumentException invalid) {
        throw new IllegalArgumentException("@Serverless method " + MethodNames.describe(m) + ": "
            + invalid.getMessage(), invalid);
      }
    }
    functions.sort(Comparator.comparing(MethodFunction::name));
    for (MethodFunction f : functions) {
      Fn<?, ?> existing = registered.apply(f.name());
      if (existing == null) {
        continue;
      }
      MethodFunction mf = MethodFunction.behind(existing.spec());
      if (mf != null && mf.target() == bean && mf.iface() == null) {
        throw new IllegalStateException("this " + type.getName() + " bean is already registered:"
            + " function '" + f.name() + "' of its method " + MethodNames.describe(f.method()) + " exists;"
            + " register a bean once, or unregister its functions first");
      }
      throw new IllegalStateException("cannot register @Serverless method " + MethodNames.describe(f.method())
          + " as function '" + f.name() + "': a function of that name is already registered"
          + (mf != null && mf.target().getClass() == type
              ? " (by another " + type.getSimpleName() + " bean); give the method its own"
                  + " @Serverless(name = ...)"
              : ""));
    }
    return functions;
  }

  private static void rejectMisplacedAnnotations(Class<?> type) {
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      rejectMisplaced(c.getDeclaredMethods());
      for (Class<?> i : c.getInterfaces()) {
        rejectMisplacedInInterface(i);
      }
    }
  }

  private static void rejectMisplacedInInterface(Class<?> iface) {
    rejectMisplaced(iface.getDeclaredMethods());
    for (Class<?> i : iface.getInterfaces()) {
      rejectMisplacedInInterface(i);
    }
  }

  private static void rejectMisplaced(Method[] methods) {
    for (Method m : methods) {
      if (!m.isAnnotationPresent(Serverless.class) || m.isBridge()) {
        continue;
      }
      int mod = m.getModifiers();
      String problem = Modifier.isStatic(mod) ? "is static; only instance methods of the bean can be"
          + " functions"
          : Modifier.isPrivate(mod) ? "is private; @Serverless methods must be public"
          : !Modifier.isPublic(mod) ? "is not public; @Serverless methods must be public"
          : Modifier.isAbstract(mod) ? "is abstract; annotate the method that implements it"
          : null;
      if (problem != null) {
        throw new IllegalArgumentException("@Serverless method " + MethodNames.describe(m) + " " + problem);
      }
    }
  }

  /** The annotation on {@code m}, or on the nearest superclass method it overrides. */
  private static @Nullable Serverless findAnnotation(Method m) {
    Serverless a = m.getAnnotation(Serverless.class);
    if (a != null) {
      return a;
    }
    for (Class<?> c = m.getDeclaringClass().getSuperclass(); c != null && c != Object.class;
        c = c.getSuperclass()) {
      try {
        Method overridden = c.getDeclaredMethod(m.getName(), m.getParameterTypes());
        a = overridden.getAnnotation(Serverless.class);
        if (a != null) {
          return a;
        }
      } catch (NoSuchMethodException e) {
        // not declared at this level; look further up
      }
    }
    return null;
  }

  private static Consumer<FnSpec.Builder<@Nullable Object, @Nullable Object>> options(Serverless a) {
    return b -> {
      if (a.maxConcurrency() != -1) {
        b.maxConcurrency(a.maxConcurrency());
      }
      if (a.queueCapacity() != -1) {
        b.queueCapacity(a.queueCapacity());
      }
      if (a.timeoutMillis() != -1) {
        b.timeout(Duration.ofMillis(a.timeoutMillis()));
      }
      if (a.keepAliveMillis() != -1) {
        b.keepAlive(Duration.ofMillis(a.keepAliveMillis()));
      }
      if (a.minInstances() != -1) {
        b.minInstances(a.minInstances());
      }
    };
  }
}
