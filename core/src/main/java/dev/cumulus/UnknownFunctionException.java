package dev.cumulus;

import java.util.List;

/**
 * No function of that name is registered. The message lists the registered names closest to the one
 * asked for, so a typo is found at a glance.
 */
public final class UnknownFunctionException extends CumulusException {
  private static final long serialVersionUID = 1L;

  /** Registered names close to the one asked for, closest first. */
  @SuppressWarnings("serial") // always a List.copyOf list, which is serializable
  private final List<String> nearNames;

  /**
   * Creates the exception.
   *
   * @param functionName the name that was asked for
   * @param nearNames registered names close to it, closest first (may be empty)
   */
  public UnknownFunctionException(String functionName, List<String> nearNames) {
    super(functionName, message(functionName, nearNames), null);
    this.nearNames = List.copyOf(nearNames);
  }

  /**
   * Creates the exception with a message of its own, for a function that is not registered under
   * that name any more (a handle kept after {@code unregister}, say).
   *
   * @param functionName the function's name
   * @param message what happened to it
   */
  public UnknownFunctionException(String functionName, String message) {
    super(functionName, message, null);
    this.nearNames = List.of();
  }

  /**
   * Returns the registered names closest to the one asked for, closest first.
   *
   * @return the near names, possibly empty
   */
  public List<String> nearNames() {
    return nearNames;
  }

  private static String message(String name, List<String> near) {
    if (near.isEmpty()) {
      return "no function named " + shown(name) + " is registered";
    }
    return "no function named " + shown(name) + " is registered; did you mean "
        + String.join(" or ", near.stream().map(n -> "'" + n + "'").toList()) + "?";
  }

  /**
   * The name as the message shows it: a name can arrive from outside (an HTTP path), so one longer
   * than any function name (128 characters) is cut, saying how long it was; {@link #functionName()}
   * keeps it whole.
   */
  private static String shown(String name) {
    return name.length() <= SHOWN ? "'" + name + "'"
        : "'" + name.substring(0, SHOWN) + "...' (" + name.length() + " characters)";
  }

  private static final int SHOWN = 128;
}
