package dev.cumulus.internal.wrap;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** How functions made from methods are named, and how messages name methods. */
final class MethodNames {
  private MethodNames() {}

  /** The simple name of {@code type}, or of its nearest named superclass if it is anonymous. */
  static String simpleName(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (!c.getSimpleName().isEmpty()) {
        return c.getSimpleName();
      }
    }
    return "Object";
  }

  /** {@code (int,String[])}: simple names, no spaces, as overloaded function names use them. */
  static String parameterList(Class<?>[] types) {
    return Arrays.stream(types).map(Class::getSimpleName).collect(Collectors.joining(",", "(", ")"));
  }

  /** {@code (int,java.lang.String)}: full names, to tell signatures apart. */
  static String parameterListOfNames(Class<?>[] types) {
    return Arrays.stream(types).map(Class::getName).collect(Collectors.joining(",", "(", ")"));
  }

  /** {@code com.example.Greeter.greet(String)}: how messages name a method. */
  static String describe(Method m) {
    Class<?> c = m.getDeclaringClass();
    String owner = c.getCanonicalName() != null ? c.getCanonicalName() : c.getName();
    return owner + "." + m.getName() + parameterList(m.getParameterTypes());
  }

  /** The names of {@code functions}, for messages. */
  static String names(List<? extends MethodFunction> functions) {
    return functions.stream().map(MethodFunction::name).collect(Collectors.joining(", "));
  }
}
