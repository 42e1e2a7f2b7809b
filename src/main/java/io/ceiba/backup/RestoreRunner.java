package io.ceiba.backup;

import io.ceiba.access.AccessPolicy;
import io.ceiba.access.ApiKeys;
import io.ceiba.access.KeyRecord;
import io.ceiba.access.Reason;
import io.ceiba.access.store.AccessStore;
import io.ceiba.registry.AccessSpec;
import io.ceiba.store.pg.Migrations;
import io.ceiba.store.pg.PostgresUrl;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

/**
 * Restores a backup into an empty database and proves it: the files match the manifest's checksums; the schema is
 * migrated to the backup's version, the rows are loaded in one transaction, and each table read back gives the
 * manifest's row count and checksum; revocations kept outside the backup ({@link RevocationLedger}) are replayed, so
 * no key revoked since the backup works again; the schema is then migrated to this jar's version; and a canary key,
 * when given, is checked through the access code path (lookup and policy). The result is the restore evidence, a
 * JSON report with {@code ok} and every check. Blocking.
 */
public final class RestoreRunner {

  public static final String EVIDENCE = "restore-evidence.json";

  /** The target database holds Ceiba data and {@code --force} was not given. */
  public static final class NotEmptyException extends Exception {
    NotEmptyException(String message) {
      super(message);
    }
  }

  private final JsonArray checks = new JsonArray();
  private boolean ok = true;

  private RestoreRunner() {
  }

  public static JsonObject restore(PostgresUrl url, Path backup, boolean force, List<Path> revocationFiles, String canaryKey)
      throws IOException, SQLException, NotEmptyException {
    return new RestoreRunner().run(url, backup, force, revocationFiles, canaryKey);
  }

  private JsonObject run(PostgresUrl url, Path backup, boolean force, List<Path> revocationFiles, String canaryKey)
      throws IOException, SQLException, NotEmptyException {
    JsonObject manifest = new JsonObject(Files.readString(backup.resolve(BackupWriter.MANIFEST)));
    if (manifest.getInteger("format", 0) != BackupWriter.FORMAT) {
      throw new IOException("unknown backup format " + manifest.getValue("format") + " in " + backup);
    }
    JsonObject tables = manifest.getJsonObject("tables");
    boolean intact = true;
    for (BackupTables.Table table : BackupTables.ALL) {
      JsonObject expected = tables.getJsonObject(table.name());
      if (expected == null) {
        continue;
      }
      Path file = backup.resolve(expected.getString("file"));
      String actual = fileSha256(file);
      boolean same = actual.equals(expected.getString("sha256"));
      intact &= same;
      check("file " + file.getFileName() + " matches the manifest", same, same ? expected.getString("sha256") : "sha256 " + actual);
    }
    if (!intact) {
      return evidence(manifest, backup);
    }
    int backupSchema = manifest.getInteger("schema_version");
    try (Connection db = BackupWriter.connect(url)) {
      prepareEmpty(db, force);
      Flyway.configure().dataSource(url.jdbcUrl(), url.user(), url.password()).locations("classpath:db/migration")
          .target(String.valueOf(backupSchema)).connectRetries(0).load().migrate();
      load(db, backup, tables);
      verify(db, tables);
      replayRevocations(db, revocationFiles);
    }
    int schema = Migrations.migrate(url);
    try (Connection db = BackupWriter.connect(url)) {
      int applied = BackupWriter.schemaVersion(db);
      check("schema migrated from the backup's version " + backupSchema + " to this jar's " + schema, applied == schema,
          "schema at " + applied);
    }
    if (canaryKey != null) {
      canary(url, canaryKey);
    }
    return evidence(manifest, backup);
  }

  private void prepareEmpty(Connection db, boolean force) throws SQLException, NotEmptyException {
    long rows = 0;
    try (Statement s = db.createStatement()) {
      for (BackupTables.Table table : BackupTables.ALL) {
        try (var exists = s.executeQuery("select to_regclass('public." + table.name() + "') is not null")) {
          exists.next();
          if (!exists.getBoolean(1)) {
            continue;
          }
        }
        try (var count = s.executeQuery("select count(*) from " + table.name())) {
          count.next();
          rows += count.getLong(1);
        }
      }
      if (rows > 0 && !force) {
        throw new NotEmptyException("the target database already holds " + rows + " rows of Ceiba data; restore into an empty "
            + "database, or give --force to replace them");
      }
      if (rows > 0) {
        s.execute("truncate " + String.join(", ", BackupTables.ALL.stream().map(BackupTables.Table::name).toList())
            + " restart identity cascade");
        check("existing data replaced (--force)", true, rows + " rows removed");
      }
    }
  }

  private void load(Connection db, Path backup, JsonObject tables) throws SQLException, IOException {
    db.setAutoCommit(false);
    try (Statement s = db.createStatement()) {
      // the migrations seed some rows (e.g. the rollup watermark): the backup's rows replace them
      s.execute("truncate " + String.join(", ", BackupTables.ALL.stream().map(BackupTables.Table::name).toList()) + " restart identity");
    }
    CopyManager copy = new CopyManager(db.unwrap(BaseConnection.class));
    for (BackupTables.Table table : BackupTables.ALL) {
      if (!tables.containsKey(table.name())) {
        // a backup of an older schema: the table came with a later migration and starts empty
        check("table " + table.name() + " not in this backup (older schema), left empty", true, null);
        continue;
      }
      try (InputStream in = Files.newInputStream(backup.resolve(tables.getJsonObject(table.name()).getString("file")))) {
        copy.copyIn("copy " + table.name() + " from stdin", in);
      }
    }
    try (Statement s = db.createStatement()) {
      for (String table : BackupTables.SERIAL_IDS) {
        s.execute("select setval(pg_get_serial_sequence('" + table + "', 'id'), coalesce((select max(id) from " + table + "), 0) + 1, false)");
      }
    }
    db.commit();
    db.setAutoCommit(true);
  }

  /** Reads every table back as the backup did: same rows, same bytes. */
  private void verify(Connection db, JsonObject tables) throws SQLException, IOException {
    CopyManager copy = new CopyManager(db.unwrap(BaseConnection.class));
    for (BackupTables.Table table : BackupTables.ALL) {
      JsonObject expected = tables.getJsonObject(table.name());
      if (expected == null) {
        continue;
      }
      MessageDigest sha = BackupWriter.sha256();
      long rows;
      try (OutputStream out = new DigestOutputStream(OutputStream.nullOutputStream(), sha)) {
        rows = copy.copyOut("copy (select * from " + table.name() + " order by " + table.orderBy() + ") to stdout", out);
      }
      String actual = HexFormat.of().formatHex(sha.digest());
      boolean same = rows == expected.getLong("rows") && actual.equals(expected.getString("sha256"));
      check("table " + table.name() + " restored: " + expected.getLong("rows") + " rows, checksum as in the manifest", same,
          rows + " rows, sha256 " + actual);
    }
  }

  private void replayRevocations(Connection db, List<Path> files) throws SQLException, IOException {
    int entries = 0;
    int applied = 0;
    try (PreparedStatement revoke = db.prepareStatement(
        "update api_keys set revoked_at = ? where hash = ? and (revoked_at is null or revoked_at > ?)")) {
      for (Path file : files) {
        if (!Files.isRegularFile(file)) {
          check("revocation ledger " + file + " read", false, "missing: keys revoked after the backup could work again; "
              + "give --revocations with a ledger of a surviving node, or --revocations none if there is none");
          continue;
        }
        for (RevocationLedger.Entry entry : RevocationLedger.read(file)) {
          entries++;
          Timestamp at = Timestamp.from(entry.at());
          revoke.setTimestamp(1, at);
          revoke.setBytes(2, ApiKeys.fromHex(entry.hash()));
          revoke.setTimestamp(3, at);
          applied += revoke.executeUpdate();
        }
      }
    }
    if (!files.isEmpty()) {
      check("revocations replayed from the ledger", true, applied + " keys revoked again of " + entries + " ledger entries");
    }
  }

  /** The canary key through the access code path: the store's lookup and the access policy, as the edge uses them. */
  private void canary(PostgresUrl url, String canaryKey) {
    Vertx vertx = Vertx.vertx();
    try {
      Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(1)).connectingTo(url.connectOptions()).using(vertx).build();
      KeyRecord record = new AccessStore(pool).lookup(ApiKeys.hash(canaryKey)).await(30, TimeUnit.SECONDS);
      if (record == null) {
        check("canary key " + ApiKeys.redact(canaryKey) + " verified through the access path", false, "no such key");
        return;
      }
      AccessPolicy.Verdict verdict = AccessPolicy.evaluate(record, "*", new AccessSpec(AccessSpec.Policy.API_KEY, List.of(),
          AccessSpec.OnUnavailable.FAIL_CLOSED), Instant.now());
      check("canary key " + ApiKeys.redact(canaryKey) + " verified through the access path", verdict.reason() == Reason.VALID_KEY,
          "decision " + verdict.reason().label() + ", project " + record.projectId());
    } catch (Exception e) {
      check("canary key verified through the access path", false, e.getMessage());
    } finally {
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // the verdict is in; a slow close changes nothing
      }
    }
  }

  private void check(String name, boolean passed, String detail) {
    ok &= passed;
    checks.add(new JsonObject().put("check", name).put("ok", passed).put("detail", detail));
  }

  private JsonObject evidence(JsonObject manifest, Path backup) {
    return new JsonObject()
        .put("ok", ok)
        .put("backup", backup.toAbsolutePath().toString())
        .put("backup_created_at", manifest.getString("created_at"))
        .put("restored_at", Instant.now().toString())
        .put("checks", checks);
  }

  private static String fileSha256(Path file) throws IOException {
    MessageDigest sha = BackupWriter.sha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(sha.digest());
  }
}
