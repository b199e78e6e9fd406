package dev.cumulus;

import org.jspecify.annotations.Nullable;

/**
 * The input given to a function is {@code null} where the function takes a value, or is not of the
 * function's {@linkplain FnSpec.Builder#inputType(Class) input type}. Nothing was run and the call
 * is not counted as an invocation.
 */
public final class InvalidInputException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception for an input of the wrong type, or a {@code null} input.
   *
   * @param functionName the function that was called
   * @param expected the type the function takes
   * @param actual the type that was given, or {@code null} for a {@code null} input
   */
  public InvalidInputException(String functionName, Class<?> expected, @Nullable Class<?> actual) {
    super(functionName, message(functionName, expected, actual), null);
  }

  /**
   * Creates the exception with a message of its own.
   *
   * @param functionName the function that was called
   * @param message what is wrong with the input
   */
  public InvalidInputException(String functionName, String message) {
    super(functionName, message, null);
  }

  private static String message(String name, Class<?> expected, @Nullable Class<?> actual) {
    if (actual == null) {
      return expected == Object.class
          ? "function '" + name + "' does not accept a null input (no inputType was declared, so it takes"
              + " any object but null; declare one with FnSpec.Builder.inputType(Class) to have inputs"
              + " checked by type)"
          : "function '" + name + "' does not accept a null input (it takes " + expected.getTypeName() + ")";
    }
    if (expected == Void.class) {
      return "function '" + name + "' takes no input: invoke it with null (it was given a "
          + actual.getTypeName() + ")";
    }
    return "function '" + name + "' expects an input of type " + expected.getTypeName()
        + " but got " + actual.getTypeName();
  }
}
