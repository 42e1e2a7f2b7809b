package io.ceiba.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Scheduled backups, made by nodes with role {@code control}, one node at a time across the cluster.
 *
 * @param dir          where backups go; null (the default) turns scheduled backups off
 * @param interval     how often the cluster takes one
 * @param keep         backups kept in {@code dir}; older ones are deleted after a successful backup
 * @param restoreCheck after each backup, restore it into a throwaway embedded PostgreSQL and keep the evidence
 */
public record BackupConfig(Path dir, Duration interval, int keep, boolean restoreCheck) {

  public static final Duration DEFAULT_INTERVAL = Duration.ofHours(6);
  public static final int DEFAULT_KEEP = 14;
  public static final boolean DEFAULT_RESTORE_CHECK = true;
  public static final BackupConfig OFF = new BackupConfig(null, DEFAULT_INTERVAL, DEFAULT_KEEP, DEFAULT_RESTORE_CHECK);

  public boolean enabled() {
    return dir != null;
  }
}
