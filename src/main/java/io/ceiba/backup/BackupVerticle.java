package io.ceiba.backup;

import io.ceiba.config.BackupConfig;
import io.ceiba.node.NodeContext;
import io.ceiba.observability.MetricNames;
import io.ceiba.store.pg.EmbeddedPostgresServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scheduled backups on nodes with role {@code control}: one per {@code backup.interval} for the whole cluster (a
 * cluster-wide lock picks the node, a cluster-wide map remembers when the last one was made), the oldest beyond
 * {@code backup.keep} deleted, and each new backup restored into a throwaway embedded PostgreSQL to prove it
 * restorable. {@code ceiba_backup_last_success_timestamp_seconds} and
 * {@code ceiba_restore_check_last_success_timestamp_seconds} let an alert fire when either goes stale. The work
 * itself runs on a worker thread.
 */
public final class BackupVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(BackupVerticle.class);
  static final String LOCK = "ceiba.backup";
  static final String MAP = "ceiba.backup";
  static final String LAST = "last_epoch_ms";
  /** How often a node looks whether the cluster is due a backup. */
  static final long TICK_MS = 10_000;

  private final NodeContext node;
  private final BackupConfig config;
  private final AtomicLong lastBackup = new AtomicLong();
  private final AtomicLong lastRestoreCheck = new AtomicLong();
  private Counter failures;
  private long timer = -1;
  private boolean running;

  public BackupVerticle(NodeContext node) {
    this.node = node;
    this.config = node.config().backup();
  }

  @Override
  public Future<?> start() {
    var meters = node.meters();
    Gauge.builder(MetricNames.BACKUP_LAST_SUCCESS, lastBackup, AtomicLong::get)
        .description("Unix time of the last backup this node made (0: none yet)").register(meters);
    Gauge.builder(MetricNames.RESTORE_CHECK_LAST_SUCCESS, lastRestoreCheck, AtomicLong::get)
        .description("Unix time of the last backup this node proved restorable (0: none yet)").register(meters);
    failures = Counter.builder(MetricNames.BACKUP_FAILURES).description("Scheduled backups or restore checks that failed")
        .register(meters);
    timer = vertx.setPeriodic(Math.min(TICK_MS, config.interval().toMillis()), t -> tick());
    LOG.info("scheduled backups every {} into {} (keep {}, restore check {})", config.interval(), config.dir(), config.keep(),
        config.restoreCheck() ? "on" : "off");
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return Future.succeededFuture();
  }

  private void tick() {
    if (running) {
      return;
    }
    running = true;
    vertx.sharedData().getLockWithTimeout(LOCK, 100)
        .compose(lock -> dueAndRun().eventually(() -> {
          lock.release();
          return Future.succeededFuture();
        }))
        .onComplete(ar -> running = false);
  }

  /** Under the lock: takes a backup when the cluster's last one is older than the interval. */
  private Future<Void> dueAndRun() {
    return vertx.sharedData().<String, Long>getAsyncMap(MAP)
        .compose(map -> map.get(LAST).compose(last -> {
          long now = System.currentTimeMillis();
          if (last != null && now - last < config.interval().toMillis()) {
            return Future.succeededFuture();
          }
          return vertx.executeBlocking(this::backupAndCheck, false)
              .compose(done -> map.put(LAST, now))
              .onFailure(e -> {
                failures.increment();
                LOG.error("scheduled backup into {} failed: {}", config.dir(), e.getMessage());
              });
        }));
  }

  /** Blocking: backup, retention, restore check. */
  private Void backupAndCheck() throws Exception {
    Path backup = Backups.backup(node.config(), config.dir());
    lastBackup.set(Instant.now().getEpochSecond());
    LOG.info("backup written to {}", backup);
    prune();
    if (config.restoreCheck()) {
      restoreCheck(backup);
    }
    return null;
  }

  private void prune() throws IOException {
    List<Path> backups;
    try (Stream<Path> all = Files.list(config.dir())) {
      backups = all.filter(p -> p.getFileName().toString().startsWith("ceiba-backup-") && Files.isDirectory(p))
          .sorted(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed()).toList();
    }
    for (Path old : backups.subList(Math.min(config.keep(), backups.size()), backups.size())) {
      deleteTree(old);
      LOG.info("backup {} deleted (keep {})", old, config.keep());
    }
  }

  /** Restores into a throwaway embedded PostgreSQL; the evidence is kept beside the backup's manifest. */
  private void restoreCheck(Path backup) throws Exception {
    Path scratch = Files.createTempDirectory("ceiba-restore-check-");
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(scratch, 0)) {
      Path ledger = node.config().dataDir().resolve(RevocationLedger.FILE);
      JsonObject evidence = RestoreRunner.restore(server.url(), backup, false,
          Files.isRegularFile(ledger) ? List.of(ledger) : List.of(), null);
      Files.writeString(backup.resolve(RestoreRunner.EVIDENCE), evidence.encodePrettily());
      if (!evidence.getBoolean("ok")) {
        throw new IllegalStateException("restore check of " + backup + " failed: see " + backup.resolve(RestoreRunner.EVIDENCE));
      }
      lastRestoreCheck.set(Instant.now().getEpochSecond());
      LOG.info("backup {} restored into a throwaway PostgreSQL: every check passed", backup.getFileName());
    } finally {
      deleteTree(scratch);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
