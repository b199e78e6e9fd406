package dev.cumulus;

import dev.cumulus.internal.DurationText;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Argument and state checks that name what was wrong, in the style of Caffeine's builder. A
 * {@link Duration} among the arguments is shown as people write it ({@code 200 ms}), not in ISO-8601.
 */
final class Checks {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:$()\\[\\],-]{0,127}");

  private Checks() {}

  static void requireArgument(boolean ok, String template, @Nullable Object... args) {
    if (!ok) {
      throw new IllegalArgumentException(String.format(template, readable(args)));
    }
  }

  static void requireState(boolean ok, String template, @Nullable Object... args) {
    if (!ok) {
      throw new IllegalStateException(String.format(template, readable(args)));
    }
  }

  private static @Nullable Object[] readable(@Nullable Object[] args) {
    @Nullable Object[] shown = args.clone();
    for (int i = 0; i < shown.length; i++) {
      if (shown[i] instanceof Duration d) {
        shown[i] = DurationText.of(d);
      }
    }
    return shown;
  }

  /** Durations are kept in nanoseconds: about 292 years at most. */
  static final Duration MAX_DURATION = Duration.ofNanos(Long.MAX_VALUE);

  /** A positive duration; names the option in the message. */
  static Duration positive(String option, Duration value) {
    Objects.requireNonNull(value, option);
    requireArgument(!value.isNegative() && !value.isZero(),
        "%s must be positive but was %s", option, value);
    return notTooLong(option, value);
  }

  /** A duration that fits in nanoseconds; names the option in the message. */
  static Duration notTooLong(String option, Duration value) {
    requireArgument(value.compareTo(MAX_DURATION) <= 0,
        "%s must be at most %s but was %s", option, MAX_DURATION, value);
    return value;
  }

  /**
   * A tenant's name: 1 to 128 characters, not blank, without control characters (it becomes a meter
   * tag and travels in an HTTP header).
   */
  static String tenant(String option, String tenant) {
    Objects.requireNonNull(tenant, option);
    requireArgument(!tenant.isEmpty() && tenant.length() <= 128 && !tenant.isBlank()
            && tenant.chars().noneMatch(Character::isISOControl),
        "%s must be 1 to 128 characters, not blank and without control characters, but was '%s'",
        option, tenant.chars().anyMatch(Character::isISOControl) ? tenant.replaceAll("\\p{Cntrl}", "?") : tenant);
    return tenant;
  }

  /** A function name: 1 to 128 characters, usable in a URL path segment and an event-bus address. */
  static String functionName(String name) {
    Objects.requireNonNull(name, "name");
    requireArgument(!name.isBlank(), "function name must not be blank but was '%s'", name);
    requireArgument(NAME.matcher(name).matches(),
        "function name must be 1 to 128 characters of letters, digits and . _ : $ ( ) [ ] , -"
            + " starting with a letter or digit, but was '%s'", name);
    return name;
  }
}
