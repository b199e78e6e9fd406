package dev.cumulus;

/** {@link DeadLetterSink#logging()}: one {@code WARNING} per letter through {@link System.Logger}. */
final class LoggingSink implements DeadLetterSink {
  static final LoggingSink INSTANCE = new LoggingSink();
  private static final System.Logger LOG = System.getLogger("dev.cumulus.events");
  private static final int MAX_INPUT_CHARS = 1_000;

  private LoggingSink() {}

  @Override
  public void accept(DeadLetter letter) {
    String message = describe(letter);
    Throwable error = letter.error();
    if (error == null) {
      LOG.log(System.Logger.Level.WARNING, message);
    } else {
      LOG.log(System.Logger.Level.WARNING, message, error);
    }
  }

  /** The letter in one line: the function, event, reason, attempts, instants, error and input. */
  static String describe(DeadLetter l) {
    Throwable error = l.error();
    return "event " + l.eventId() + " of function '" + l.function() + "' dead-lettered (" + l.reason()
        + ") after " + l.attempts() + (l.attempts() == 1 ? " attempt" : " attempts")
        + " (first " + l.firstAttempt() + ", last " + l.lastAttempt() + ")"
        + (error == null ? "" : ": " + error)
        + "; input: " + cut(JsonLinesSink.safeToString(l.input()));
  }

  private static String cut(String s) {
    return s.length() <= MAX_INPUT_CHARS ? s
        : s.substring(0, MAX_INPUT_CHARS) + "… (" + (s.length() - MAX_INPUT_CHARS) + " more characters)";
  }

  @Override
  public String toString() {
    return "DeadLetterSink.logging()";
  }
}
