package io.ceiba.usage.journal;

import java.util.Comparator;

/**
 * A place in the journal: just after the last record of a {@link Batch}. Opaque to callers, who only hand a
 * {@link Batch#end()} back to {@link UsageJournal#commit}.
 *
 * @param segment sequence number of the segment file
 * @param offset  byte offset within that segment, always at a record boundary
 */
public record Position(long segment, long offset) implements Comparable<Position> {

  private static final Comparator<Position> ORDER =
      Comparator.comparingLong(Position::segment).thenComparingLong(Position::offset);

  public Position {
    if (segment < 0 || offset < 0) {
      throw new IllegalArgumentException("negative position: " + segment + "/" + offset);
    }
  }

  @Override
  public int compareTo(Position other) {
    return ORDER.compare(this, other);
  }
}
