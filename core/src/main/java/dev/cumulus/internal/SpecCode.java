package dev.cumulus.internal;

import dev.cumulus.FnSpec;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The one way the engine reaches the code a {@link FnSpec} carries (which the public API does not
 * expose): implemented in {@code dev.cumulus}, handed to the {@link Engine} when a runtime is built.
 */
public interface SpecCode {
  /**
   * Returns what creates an instance of the function.
   *
   * @param spec the spec
   * @return its init
   */
  Supplier<?> init(FnSpec<?, ?> spec);

  /**
   * Returns the function's code, given an instance and an input.
   *
   * @param spec the spec
   * @return its handler
   */
  BiFunction<Object, Object, Object> handler(FnSpec<?, ?> spec);

  /**
   * Returns the code of a stateless function that takes its input alone, which the engine calls
   * directly instead of through {@link #handler}: one frame less under every parked invocation.
   *
   * @param spec the spec
   * @return the code, or null when only {@link #handler} runs it
   */
  @Nullable Function<@Nullable Object, @Nullable Object> function(FnSpec<?, ?> spec);

  /**
   * Returns the check its inputs pass before admission, beyond their type, if it has one.
   *
   * @param spec the spec
   * @return the check (it throws {@link IllegalArgumentException} to refuse an input), or null
   */
  @Nullable Consumer<Object> inputCheck(FnSpec<?, ?> spec);
}
