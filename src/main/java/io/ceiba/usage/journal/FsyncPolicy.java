package io.ceiba.usage.journal;

/** When {@link UsageJournal#append} forces written records to the storage device. */
public enum FsyncPolicy {

  /**
   * The default: {@code FileChannel.force(false)} after every {@code append} call, so a batch that was appended
   * survives a power loss or kernel crash, not only a process crash.
   */
  EVERY_BATCH,

  /** Never force; the OS writes pages back when it likes. Only for tests and benchmarks. */
  NONE
}
