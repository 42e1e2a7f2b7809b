package io.ceiba.usage.journal;

import java.util.List;

/**
 * Records read from the journal but not yet committed.
 *
 * @param payloads the records' payloads in append order (the arrays are not copied; do not modify them)
 * @param end      pass to {@link UsageJournal#commit} once every payload is handled
 */
public record Batch(List<byte[]> payloads, Position end) {

  public Batch {
    payloads = List.copyOf(payloads);
  }

  public boolean isEmpty() {
    return payloads.isEmpty();
  }
}
