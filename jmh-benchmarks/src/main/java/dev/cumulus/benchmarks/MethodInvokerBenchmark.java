package dev.cumulus.benchmarks;

import java.lang.invoke.CallSite;
import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How {@code Cumulus.registerAll} and {@code Cumulus.proxy} should call a bean's method on every
 * invocation: {@link Method#invoke} (reflection), a {@link MethodHandle} adapted once to a generic
 * {@code (Object) -> Object} shape, or a class spun by {@link LambdaMetafactory}; the baseline is a
 * hand-written lambda calling the method directly, i.e. what the user would write with
 * {@code FnSpec.of(name, bean::method)}. The production invoker ({@code dev.cumulus.internal.wrap.MethodInvoker})
 * is measured beside them.
 *
 * <p>Every strategy is a {@code Function<Object, Object>} taking the invocation's input (the argument,
 * or an {@code Object[]} of them), as the runtime's handler does. {@code arity} 1 calls
 * {@code long calc(long)}; 3 calls {@code long calc(String, int, long)} from an {@code Object[]}.
 * {@code callSite=monomorphic} calls one bean; {@code megamorphic} calls four beans of four classes in
 * turn from the same call site, as the runtime's worker does when many functions are registered.
 * Arguments are small boxed values from the wrapper caches, so no allocation is measured.
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar MethodInvokerBenchmark -f 1 -wi 2 -i 3}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@OperationsPerInvocation(MethodInvokerBenchmark.BEANS)
@Fork(value = 1, jvmArgsAppend = "--add-opens=java.base/java.lang=ALL-UNNAMED")
public class MethodInvokerBenchmark {
  /** Calls per operation: one per bean, so every figure is per call. */
  static final int BEANS = 4;

  /** Parameters of the called method: 1 ({@code calc(long)}) or 3 ({@code calc(String, int, long)}). */
  @Param({"1", "3"})
  public int arity;

  /** One bean class ({@code monomorphic}) or four ({@code megamorphic}) behind the call site. */
  @Param({"monomorphic", "megamorphic"})
  public String callSite;

  Function<Object, Object>[] direct;
  Function<Object, Object>[] reflection;
  Function<Object, Object>[] methodHandle;
  Function<Object, Object>[] lambdaMetafactory;
  Function<Object, Object>[] cumulus;
  Object[] inputs;

  /** The shape of every bean. */
  public interface Calc {
    /** One argument. @param x a value @return a result */
    long calc(long x);

    /** Three arguments. @param s a string @param i an int @param x a long @return a result */
    long calc(String s, int i, long x);
  }

  /** A bean. */
  public static final class A implements Calc {
    @Override
    public long calc(long x) {
      return x + 1;
    }

    @Override
    public long calc(String s, int i, long x) {
      return s.length() + i + x;
    }
  }

  /** A bean of another class. */
  public static final class B implements Calc {
    @Override
    public long calc(long x) {
      return x + 2;
    }

    @Override
    public long calc(String s, int i, long x) {
      return s.length() + i - x;
    }
  }

  /** A bean of a third class. */
  public static final class C implements Calc {
    @Override
    public long calc(long x) {
      return x - 1;
    }

    @Override
    public long calc(String s, int i, long x) {
      return s.length() - i + x;
    }
  }

  /** A bean of a fourth class. */
  public static final class D implements Calc {
    @Override
    public long calc(long x) {
      return x ^ 3;
    }

    @Override
    public long calc(String s, int i, long x) {
      return s.length() ^ i ^ x;
    }
  }

  /** Three arguments, for {@link LambdaMetafactory} (the JDK has no such functional interface). */
  @FunctionalInterface
  public interface Call3 {
    /** @param a first @param b second @param c third @return the result */
    Object apply(Object a, Object b, Object c);
  }

  @Setup
  @SuppressWarnings({"unchecked", "rawtypes"}) // generic arrays of Function
  public void setUp() throws Throwable {
    Calc[] beans = callSite.equals("monomorphic")
        ? new Calc[] {new A(), new A(), new A(), new A()}
        : new Calc[] {new A(), new B(), new C(), new D()};
    direct = new Function[BEANS];
    reflection = new Function[BEANS];
    methodHandle = new Function[BEANS];
    lambdaMetafactory = new Function[BEANS];
    cumulus = new Function[BEANS];
    inputs = new Object[BEANS];
    for (int i = 0; i < BEANS; i++) {
      Calc bean = beans[i];
      Method m = arity == 1
          ? bean.getClass().getMethod("calc", long.class)
          : bean.getClass().getMethod("calc", String.class, int.class, long.class);
      inputs[i] = arity == 1 ? (Object) Long.valueOf(i) : new Object[] {"ab", i, 3L};
      direct[i] = directOf(bean, arity);
      reflection[i] = reflectionOf(m, bean, arity);
      methodHandle[i] = methodHandleOf(m, bean, arity);
      lambdaMetafactory[i] = lambdaMetafactoryOf(m, bean, arity);
      cumulus[i] = dev.cumulus.internal.wrap.MethodInvoker.of(m, bean)::call;
      Object expected = direct[i].apply(inputs[i]);
      for (Function<Object, Object> f : new Function[] {reflection[i], methodHandle[i], lambdaMetafactory[i], cumulus[i]}) {
        if (!expected.equals(f.apply(inputs[i]))) {
          throw new AssertionError("strategies disagree for bean " + i);
        }
      }
    }
  }

  private static Function<Object, Object> directOf(Calc bean, int arity) {
    // Each bean class gets its own lambda class, as a method reference in user code would.
    if (arity == 1) {
      return switch (bean) {
        case A a -> x -> a.calc((Long) x);
        case B b -> x -> b.calc((Long) x);
        case C c -> x -> c.calc((Long) x);
        case D d -> x -> d.calc((Long) x);
        default -> throw new IllegalArgumentException();
      };
    }
    return switch (bean) {
      case A a -> x -> {
        Object[] v = (Object[]) x;
        return a.calc((String) v[0], (Integer) v[1], (Long) v[2]);
      };
      case B b -> x -> {
        Object[] v = (Object[]) x;
        return b.calc((String) v[0], (Integer) v[1], (Long) v[2]);
      };
      case C c -> x -> {
        Object[] v = (Object[]) x;
        return c.calc((String) v[0], (Integer) v[1], (Long) v[2]);
      };
      case D d -> x -> {
        Object[] v = (Object[]) x;
        return d.calc((String) v[0], (Integer) v[1], (Long) v[2]);
      };
      default -> throw new IllegalArgumentException();
    };
  }

  private static Function<Object, Object> reflectionOf(Method m, Object bean, int arity) {
    m.setAccessible(true); // skips the per-call caller check, as a framework would
    return arity == 1
        ? x -> {
          try {
            return m.invoke(bean, x);
          } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
          }
        }
        : x -> {
          try {
            return m.invoke(bean, (Object[]) x);
          } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
          }
        };
  }

  private static Function<Object, Object> methodHandleOf(Method m, Object bean, int arity) throws Throwable {
    MethodHandle mh = MethodHandles.publicLookup().unreflect(m).bindTo(bean);
    if (arity == 1) {
      MethodHandle generic = mh.asType(MethodType.methodType(Object.class, Object.class));
      return x -> {
        try {
          return (Object) generic.invokeExact(x);
        } catch (Throwable e) {
          throw new IllegalStateException(e);
        }
      };
    }
    MethodHandle spread = mh.asSpreader(Object[].class, arity)
        .asType(MethodType.methodType(Object.class, Object[].class));
    return x -> {
      try {
        return (Object) spread.invokeExact((Object[]) x);
      } catch (Throwable e) {
        throw new IllegalStateException(e);
      }
    };
  }

  @SuppressWarnings("unchecked")
  private static Function<Object, Object> lambdaMetafactoryOf(Method m, Object bean, int arity) throws Throwable {
    MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(bean.getClass(), MethodHandles.lookup());
    MethodHandle impl = lookup.unreflect(m);
    if (arity == 1) {
      CallSite site = LambdaMetafactory.metafactory(lookup, "apply",
          MethodType.methodType(Function.class, bean.getClass()),
          MethodType.methodType(Object.class, Object.class), impl,
          MethodType.methodType(Long.class, Long.class));
      return (Function<Object, Object>) site.getTarget().invoke(bean);
    }
    CallSite site = LambdaMetafactory.metafactory(lookup, "apply",
        MethodType.methodType(Call3.class, bean.getClass()),
        MethodType.methodType(Object.class, Object.class, Object.class, Object.class), impl,
        MethodType.methodType(Long.class, String.class, Integer.class, Long.class));
    Call3 call = (Call3) site.getTarget().invoke(bean);
    return x -> {
      Object[] v = (Object[]) x;
      return call.apply(v[0], v[1], v[2]);
    };
  }

  private static Object callAll(Function<Object, Object>[] strategy, Object[] inputs) {
    Object last = null;
    for (int i = 0; i < BEANS; i++) {
      last = strategy[i].apply(inputs[i]);
    }
    return last;
  }

  /** Baseline: a hand-written lambda per bean class. @return the last result */
  @Benchmark
  public Object baseline() {
    return callAll(direct, inputs);
  }

  /** {@link Method#invoke}, accessible. @return the last result */
  @Benchmark
  public Object reflection() {
    return callAll(reflection, inputs);
  }

  /** A bound {@link MethodHandle} adapted to {@code (Object)Object}, called with invokeExact. @return the last result */
  @Benchmark
  public Object methodHandle() {
    return callAll(methodHandle, inputs);
  }

  /** A {@link LambdaMetafactory} class per method. @return the last result */
  @Benchmark
  public Object lambdaMetafactory() {
    return callAll(lambdaMetafactory, inputs);
  }

  /** What {@code registerAll} and {@code proxy} use. @return the last result */
  @Benchmark
  public Object cumulusInvoker() {
    return callAll(cumulus, inputs);
  }
}
