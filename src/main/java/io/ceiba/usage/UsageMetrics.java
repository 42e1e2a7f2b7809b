package io.ceiba.usage;

/** Micrometer names of the usage meters; Prometheus renders them as in SPEC section 7 ({@code ceiba_usage_*}). */
public final class UsageMetrics {

  public static final String BUFFER_DEPTH = "ceiba.usage.buffer.depth";
  public static final String JOURNAL_PENDING = "ceiba.usage.journal.pending";
  public static final String EVENTS_WRITTEN = "ceiba.usage.events.written";
  public static final String EVENTS_DUPLICATE = "ceiba.usage.events.duplicate";
  public static final String EVENTS_JOURNALED = "ceiba.usage.events.journaled";
  public static final String EVENTS_DROPPED = "ceiba.usage.events.dropped";
  public static final String DEAD_LETTERS = "ceiba.usage.dead.letters";
  public static final String JOURNAL_CORRUPT = "ceiba.usage.journal.corrupt";
  public static final String SPOOL_PENDING = "ceiba.usage.spool.pending";
  public static final String SPOOL_REPLAYED = "ceiba.usage.spool.replayed";
  public static final String SPOOL_LOST = "ceiba.usage.spool.lost";
  public static final String SPOOL_UNJOURNALED = "ceiba.usage.spool.unjournaled";
  public static final String SPOOL_CORRUPT = "ceiba.usage.spool.corrupt";
  public static final String SPOOL_ACKNOWLEDGED = "ceiba.usage.spool.acknowledged";
  /** Events neither the spool's disk (full, failing) nor its memory bound could take. */
  public static final String SPOOL_DROPPED = "ceiba.usage.spool.dropped";
  /** Bytes on disk of a usage journal, tag {@code journal=spool|usage}; and its bound. */
  public static final String JOURNAL_BYTES = "ceiba.usage.journal.bytes";
  public static final String JOURNAL_MAX_BYTES = "ceiba.usage.journal.max.bytes";
  public static final String JOURNAL_TAG = "journal";
  /** A timer: {@code ceiba_usage_flush_seconds_count}, {@code _sum}, {@code _max}. */
  public static final String FLUSH = "ceiba.usage.flush";

  private UsageMetrics() {
  }
}
