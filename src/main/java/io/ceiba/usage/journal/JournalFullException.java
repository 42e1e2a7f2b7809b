package io.ceiba.usage.journal;

import java.nio.file.Path;

/** An append refused because it would take the journal past its bound on disk; nothing of it was written. */
public final class JournalFullException extends IllegalStateException {

  public JournalFullException(Path dir, long diskBytes, long appendBytes, long maxBytes) {
    super("usage journal " + dir + " is full: " + diskBytes + " bytes on disk + " + appendBytes + " to append > bound "
        + maxBytes + " (usage.journal_max_bytes)");
  }
}
