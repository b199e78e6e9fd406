package dev.cumulus.internal;

import java.io.Console;
import java.io.PrintStream;
import org.jspecify.annotations.Nullable;

/**
 * A progress line for a long-running console task: rewritten in place ({@code \r}) on a terminal,
 * one plain line per update anywhere else (a log file, a CI console, a test's stream).
 */
public final class ProgressLine {
  private final @Nullable PrintStream out;
  private final boolean inPlace;
  private int lastLength;
  private boolean open;

  private ProgressLine(@Nullable PrintStream out, boolean inPlace) {
    this.out = out;
    this.inPlace = inPlace;
  }

  /** Progress on {@link System#out}, in place when it is a terminal. @return the line */
  public static ProgressLine console() {
    return new ProgressLine(System.out, isTerminal());
  }

  /** Progress as plain lines on {@code out}. @param out where to print @return the line */
  public static ProgressLine to(PrintStream out) {
    return new ProgressLine(out, false);
  }

  /** No progress at all. @return a line that prints nothing */
  public static ProgressLine off() {
    return new ProgressLine(null, false);
  }

  /** Whether {@link #update} prints anything. @return true unless off */
  public boolean enabled() {
    return out != null;
  }

  /** Shows {@code text} as the current progress. @param text one line, no line break */
  public void update(String text) {
    PrintStream o = out;
    if (o == null) {
      return;
    }
    if (inPlace) {
      int pad = Math.max(0, lastLength - text.length());
      o.print("\r" + text + " ".repeat(pad));
      lastLength = text.length();
      open = true;
    } else {
      o.println(text);
    }
    o.flush();
  }

  /** Ends the line in place, so that what is printed next starts on a line of its own. */
  public void finish() {
    PrintStream o = out;
    if (o != null && open) {
      o.println();
      o.flush();
      open = false;
    }
  }

  /**
   * Whether standard output is an interactive terminal. Before JDK 22 {@link System#console()} is
   * null unless it is; from JDK 22 on it is never null and {@code Console.isTerminal()} says.
   */
  static boolean isTerminal() {
    Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      return (boolean) Console.class.getMethod("isTerminal").invoke(console);
    } catch (NoSuchMethodException e) {
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }
}
