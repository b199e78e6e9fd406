package dev.cumulus.internal;

import dev.cumulus.InvalidInputException;
import org.jspecify.annotations.Nullable;

/**
 * A handler that checks more of its input than its declared input type says (the arity and element
 * types of an {@code Object[]} of arguments). A {@link Deployment} asks it before admission, so an
 * invalid call fails with {@link InvalidInputException}, runs nothing and is not counted.
 */
interface InputCheck {
  /**
   * Checks an input that already is of the function's declared input type.
   *
   * @param functionName the function called, for the message
   * @param input the input
   * @return the exception to fail the call with, or {@code null} if the input is valid
   */
  @Nullable InvalidInputException check(String functionName, @Nullable Object input);
}
