package dev.cumulus.build;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.reflect.AnnotatedArrayType;
import java.lang.reflect.AnnotatedParameterizedType;
import java.lang.reflect.AnnotatedType;
import java.lang.reflect.AnnotatedTypeVariable;
import java.lang.reflect.AnnotatedWildcardType;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The public API of a jar as text, one line per type and one indented line per member, sorted: what
 * users compile against. A type is in it if it is public (and so are the types enclosing it) in an
 * exported package (the module's unqualified exports; without a module descriptor, every package but
 * {@code *.internal*}); a member if it is public, or protected in a class that can be extended.
 *
 * <p>Generic signatures and JSpecify {@code @Nullable} are part of each line, since changing either
 * breaks a caller's compile or an IDE's null analysis. Left out on purpose: parameter names (not
 * part of the contract), the permitted subtypes of a sealed type (adding an event type is an
 * addition), and the canonical constructor of records (records such as {@code FunctionStats} gain
 * components as Cumulus learns to measure more; users read them and do not build them).
 */
final class ApiSignature {
  private static final String NULLABLE = "org.jspecify.annotations.Nullable";

  private ApiSignature() {}

  /** Type line to its member lines, in the order of the types' names; members sorted. */
  static Map<String, Set<String>> of(Path jar, ClassLoader loader) throws IOException {
    Set<String> packages = exportedPackages(jar);
    Map<String, Set<String>> api = new LinkedHashMap<>();
    for (String className : classNames(jar)) {
      String pkg = className.contains(".") ? className.substring(0, className.lastIndexOf('.')) : "";
      if (!packages.contains(pkg)) {
        continue;
      }
      Class<?> type;
      try {
        type = Class.forName(className, false, loader);
      } catch (ClassNotFoundException | LinkageError e) {
        throw new IllegalStateException("cannot load " + className + " from " + jar, e);
      }
      if (!visible(type)) {
        continue;
      }
      api.put(typeLine(type), members(type));
    }
    return api;
  }

  /** The text form: type lines, each followed by its members indented by two spaces. */
  static String render(Map<String, Set<String>> api) {
    StringBuilder out = new StringBuilder();
    api.forEach((type, members) -> {
      out.append(type).append('\n');
      members.forEach(m -> out.append("  ").append(m).append('\n'));
    });
    return out.toString();
  }

  /** Reads {@link #render}'s text form back. */
  static Map<String, Set<String>> parse(List<String> lines) {
    Map<String, Set<String>> api = new LinkedHashMap<>();
    Set<String> current = null;
    for (String line : lines) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("  ")) {
        if (current == null) {
          throw new IllegalArgumentException("a member before any type: " + line);
        }
        current.add(line.strip());
      } else {
        current = new TreeSet<>();
        api.put(line.strip(), current);
      }
    }
    return api;
  }

  private static Set<String> exportedPackages(Path jar) throws IOException {
    Optional<ModuleReference> module = ModuleFinder.of(jar).findAll().stream().findFirst();
    Set<String> all = new TreeSet<>();
    for (String name : classNames(jar)) {
      all.add(name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : "");
    }
    if (module.isPresent() && !module.get().descriptor().isAutomatic()) {
      return module.get().descriptor().exports().stream()
          .filter(e -> !e.isQualified())
          .map(ModuleDescriptor.Exports::source)
          .collect(Collectors.toCollection(TreeSet::new));
    }
    all.removeIf(p -> p.contains(".internal"));
    return all;
  }

  private static List<String> classNames(Path jar) throws IOException {
    if (Files.isDirectory(jar)) {
      try (Stream<Path> files = Files.walk(jar)) {
        return files.map(f -> jar.relativize(f).toString().replace('\\', '/'))
            .filter(ApiSignature::isClassFile)
            .map(ApiSignature::className)
            .sorted()
            .toList();
      }
    }
    try (JarFile file = new JarFile(jar.toFile())) {
      return file.stream()
          .map(e -> e.getName())
          .filter(n -> isClassFile(n) && !n.startsWith("META-INF/"))
          .map(ApiSignature::className)
          .sorted()
          .toList();
    }
  }

  private static boolean isClassFile(String path) {
    return path.endsWith(".class") && !path.endsWith("module-info.class") && !path.endsWith("package-info.class");
  }

  private static String className(String path) {
    return path.substring(0, path.length() - ".class".length()).replace('/', '.');
  }

  private static boolean visible(Class<?> type) {
    if (type.isAnonymousClass() || type.isLocalClass() || type.isSynthetic()) {
      return false;
    }
    for (Class<?> t = type; t != null; t = t.getEnclosingClass()) {
      int m = t.getModifiers();
      boolean nestedProtected = t.getEnclosingClass() != null && Modifier.isProtected(m);
      if (!Modifier.isPublic(m) && !nestedProtected) {
        return false;
      }
    }
    return true;
  }

  private static String typeLine(Class<?> type) {
    StringBuilder line = new StringBuilder();
    int m = type.getModifiers();
    line.append(Modifier.isProtected(m) ? "protected " : "public ");
    if (type.getEnclosingClass() != null && Modifier.isStatic(m) && !type.isInterface() && !type.isEnum()
        && !type.isRecord()) {
      line.append("static ");
    }
    if (type.isSealed()) {
      line.append("sealed ");
    }
    if (Modifier.isAbstract(m) && !type.isInterface()) {
      line.append("abstract ");
    }
    if (Modifier.isFinal(m) && !type.isEnum() && !type.isRecord()) {
      line.append("final ");
    }
    line.append(type.isAnnotation() ? "@interface"
        : type.isInterface() ? "interface"
        : type.isEnum() ? "enum"
        : type.isRecord() ? "record"
        : "class");
    line.append(' ').append(type.getName().replace('$', '.')).append(typeParameters(type.getTypeParameters()).strip());
    AnnotatedType superclass = type.getAnnotatedSuperclass();
    if (superclass != null && !type.isEnum() && !type.isRecord() && superclass.getType() != Object.class) {
      line.append(" extends ").append(render(superclass));
    }
    List<String> interfaces = new ArrayList<>();
    for (AnnotatedType i : type.getAnnotatedInterfaces()) {
      if (!(type.isAnnotation() && i.getType() == Annotation.class)) {
        interfaces.add(render(i));
      }
    }
    if (!interfaces.isEmpty()) {
      line.append(type.isInterface() ? " extends " : " implements ").append(String.join(", ", interfaces));
    }
    return line.toString();
  }

  private static Set<String> members(Class<?> type) {
    boolean extensible = !Modifier.isFinal(type.getModifiers()) && !type.isSealed() && !type.isEnum()
        && !type.isRecord() && Arrays.stream(type.getDeclaredConstructors())
            .anyMatch(c -> Modifier.isPublic(c.getModifiers()) || Modifier.isProtected(c.getModifiers()));
    Set<String> members = new TreeSet<>();
    for (Field f : type.getDeclaredFields()) {
      if (f.isSynthetic() || !exposed(f.getModifiers(), extensible)) {
        continue;
      }
      members.add(modifiers(f.getModifiers(), false) + "field " + render(f.getAnnotatedType()) + " " + f.getName());
    }
    for (Constructor<?> c : type.getDeclaredConstructors()) {
      if (c.isSynthetic() || !exposed(c.getModifiers(), extensible) || isCanonical(type, c)) {
        continue;
      }
      members.add(modifiers(c.getModifiers(), false) + "constructor " + typeParameters(c.getTypeParameters())
          + type.getSimpleName() + parameters(c) + exceptions(c));
    }
    for (Method method : type.getDeclaredMethods()) {
      if (method.isSynthetic() || method.isBridge() || !exposed(method.getModifiers(), extensible)
          || overridesObject(method)) {
        continue;
      }
      String defaultValue = type.isAnnotation() && method.getDefaultValue() != null ? " default" : "";
      members.add(modifiers(method.getModifiers(), method.isDefault()) + "method "
          + typeParameters(method.getTypeParameters()) + render(method.getAnnotatedReturnType()) + " "
          + method.getName() + parameters(method) + exceptions(method) + defaultValue);
    }
    return members;
  }

  /** toString, equals, hashCode: every type has them, so declaring or dropping one changes no API. */
  private static boolean overridesObject(Method m) {
    try {
      Object.class.getMethod(m.getName(), m.getParameterTypes());
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  private static boolean exposed(int modifiers, boolean extensible) {
    return Modifier.isPublic(modifiers) || (extensible && Modifier.isProtected(modifiers));
  }

  private static boolean isCanonical(Class<?> type, Constructor<?> c) {
    if (!type.isRecord()) {
      return false;
    }
    RecordComponent[] components = type.getRecordComponents();
    return Arrays.equals(c.getParameterTypes(),
        Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new));
  }

  private static String modifiers(int m, boolean isDefault) {
    StringBuilder s = new StringBuilder(Modifier.isProtected(m) ? "protected " : "");
    if (Modifier.isStatic(m)) {
      s.append("static ");
    }
    if (isDefault) {
      s.append("default ");
    }
    if (Modifier.isAbstract(m)) {
      s.append("abstract ");
    }
    if (Modifier.isFinal(m)) {
      s.append("final ");
    }
    return s.toString();
  }

  private static String parameters(Executable e) {
    AnnotatedType[] types = e.getAnnotatedParameterTypes();
    List<String> rendered = new ArrayList<>();
    for (int i = 0; i < types.length; i++) {
      String t = render(types[i]);
      if (e.isVarArgs() && i == types.length - 1 && t.endsWith("[]")) {
        t = t.substring(0, t.length() - 2) + "...";
      }
      rendered.add(t);
    }
    return "(" + String.join(", ", rendered) + ")";
  }

  private static String exceptions(Executable e) {
    Type[] thrown = e.getGenericExceptionTypes();
    if (thrown.length == 0) {
      return "";
    }
    return " throws " + Arrays.stream(thrown).map(Type::getTypeName).sorted().collect(Collectors.joining(", "));
  }

  private static String typeParameters(TypeVariable<?>[] variables) {
    if (variables.length == 0) {
      return "";
    }
    List<String> rendered = new ArrayList<>();
    for (TypeVariable<?> v : variables) {
      List<String> bounds = new ArrayList<>();
      for (AnnotatedType bound : v.getAnnotatedBounds()) {
        if (bound.getType() != Object.class || nullable(bound)) {
          bounds.add(render(bound));
        }
      }
      rendered.add(v.getName() + (bounds.isEmpty() ? "" : " extends " + String.join(" & ", bounds)));
    }
    return "<" + String.join(", ", rendered) + "> ";
  }

  private static boolean nullable(AnnotatedType type) {
    for (Annotation a : type.getDeclaredAnnotations()) {
      if (a.annotationType().getName().equals(NULLABLE)) {
        return true;
      }
    }
    return false;
  }

  /** A type as written in source, fully qualified, with {@code @Nullable} where it is. */
  static String render(AnnotatedType type) {
    String prefix = nullable(type) ? "@Nullable " : "";
    if (type instanceof AnnotatedArrayType array) {
      return render(array.getAnnotatedGenericComponentType()) + (prefix.isEmpty() ? "" : " " + prefix.strip() + " ") + "[]";
    }
    if (type instanceof AnnotatedWildcardType wildcard) {
      AnnotatedType[] upper = wildcard.getAnnotatedUpperBounds();
      AnnotatedType[] lower = wildcard.getAnnotatedLowerBounds();
      if (lower.length > 0) {
        return prefix + "? super " + render(lower[0]);
      }
      if (upper.length > 0 && (upper[0].getType() != Object.class || nullable(upper[0]))) {
        return prefix + "? extends " + render(upper[0]);
      }
      return prefix + "?";
    }
    if (type instanceof AnnotatedTypeVariable variable) {
      return prefix + ((TypeVariable<?>) variable.getType()).getName();
    }
    if (type instanceof AnnotatedParameterizedType parameterized) {
      Class<?> raw = (Class<?>) ((ParameterizedType) parameterized.getType()).getRawType();
      String args = Arrays.stream(parameterized.getAnnotatedActualTypeArguments())
          .map(ApiSignature::render)
          .collect(Collectors.joining(", "));
      return prefix + raw.getName().replace('$', '.') + "<" + args + ">";
    }
    Type t = type.getType();
    String name = t instanceof Class<?> c ? c.getName().replace('$', '.') : t.getTypeName();
    return prefix + name;
  }
}
