package dev.cumulus;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A dead-letter sink that keeps what it gets, for tests. */
final class Letters implements DeadLetterSink {
  final List<DeadLetter> received = new CopyOnWriteArrayList<>();

  @Override
  public void accept(DeadLetter letter) {
    received.add(letter);
  }

  int size() {
    return received.size();
  }

  DeadLetter only() {
    if (received.size() != 1) {
      throw new AssertionError("expected one dead letter but got " + received);
    }
    return received.get(0);
  }
}
