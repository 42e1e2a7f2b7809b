package io.ceiba.config;

import io.ceiba.usage.journal.FsyncPolicy;
import java.time.Duration;

/**
 * The {@code usage:} section: how the usage role buffers events and writes them to Postgres.
 *
 * @param flushInterval the buffer is written at least this often, even when it holds fewer than {@code batchSize}
 * @param batchSize     events per insert; a full batch is written at once
 * @param bufferSize    events held in memory at most; beyond that they go to the on-disk journal
 * @param retention     raw events older than this are deleted once rolled up into hourly rows
 * @param journalFsync  when the journal forces appended events to disk
 * @param spoolInterval how long an edge's event waits in memory at most before the node's spool writes it to disk
 *                      (the group-commit window: what a crash of the JVM can lose)
 * @param spoolFsync    whether the spool also forces each group to the device (power loss), see docs/usage.md
 * @param journalMaxBytes bound on disk of each usage journal (the spool, the usage role's journal); what happens when
 *                      one is full is in docs/usage.md
 */
public record UsageConfig(Duration flushInterval, int batchSize, int bufferSize, Duration retention, FsyncPolicy journalFsync,
    Duration spoolInterval, FsyncPolicy spoolFsync, long journalMaxBytes) {

  public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(1);
  /**
   * Each insert costs the client a fixed part (a bind of 11 arrays, its buffer, a round trip) besides its rows:
   * UsageBench measured 1.66 µs of client CPU per event in batches of 500, 1.13 in batches of 1000, 0.84 in 2000.
   */
  public static final int DEFAULT_BATCH_SIZE = 2000;
  public static final int DEFAULT_BUFFER_SIZE = 10_000;
  public static final Duration DEFAULT_RETENTION = Duration.ofDays(7);
  public static final FsyncPolicy DEFAULT_JOURNAL_FSYNC = FsyncPolicy.EVERY_BATCH;
  public static final Duration DEFAULT_SPOOL_INTERVAL = Duration.ofMillis(2);
  public static final Duration MAX_SPOOL_INTERVAL = Duration.ofMillis(10);
  /** Page cache only: survives a crash of the JVM (kill -9, OOM kill), not of the machine. */
  public static final FsyncPolicy DEFAULT_SPOOL_FSYNC = FsyncPolicy.NONE;
  /** Bounds of {@code batch_size}; one insert carries the batch as 11 array parameters, whatever its size. */
  public static final int MAX_BATCH_SIZE = 10_000;
  public static final int MAX_BUFFER_SIZE = 1_000_000;
  /** Some 4 million events (a spooled event takes 200-300 bytes on disk), per journal. */
  public static final long DEFAULT_JOURNAL_MAX_BYTES = 1L << 30;
  public static final long MIN_JOURNAL_MAX_BYTES = 1L << 20;

  public static UsageConfig defaults() {
    return new UsageConfig(DEFAULT_FLUSH_INTERVAL, DEFAULT_BATCH_SIZE, DEFAULT_BUFFER_SIZE, DEFAULT_RETENTION, DEFAULT_JOURNAL_FSYNC,
        DEFAULT_SPOOL_INTERVAL, DEFAULT_SPOOL_FSYNC, DEFAULT_JOURNAL_MAX_BYTES);
  }

  /** The wire form of a fsync policy in the node config: {@code every-batch} or {@code none}. */
  public static String fsyncName(FsyncPolicy policy) {
    return policy.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
