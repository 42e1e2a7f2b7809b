package io.ceiba.backup;

import io.ceiba.cli.VersionInfo;
import io.ceiba.store.pg.PostgresUrl;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

/**
 * Writes a consistent snapshot of Ceiba's tables: one repeatable-read, read-only transaction copies every table
 * ({@code COPY ... TO STDOUT}, rows in key order) to a file of its own, then {@code manifest.json} records the time,
 * the schema version, each table's row count and SHA-256. Works the same on the embedded PostgreSQL (whose
 * binaries carry no {@code pg_dump}) and on an external one, needing only a connection. Atomic: everything is
 * written under a hidden directory, synced, and renamed into place last; a crash leaves no half backup that looks
 * whole. Blocking.
 */
public final class BackupWriter {

  public static final String MANIFEST = "manifest.json";
  static final int FORMAT = 1;
  private static final DateTimeFormatter NAME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private BackupWriter() {
  }

  /** Writes a backup into a new directory under {@code parent} and returns it. */
  public static Path write(PostgresUrl url, Path parent, String nodeId) throws IOException, SQLException {
    Instant at = Instant.now();
    String name = "ceiba-backup-" + NAME.format(at);
    Files.createDirectories(parent);
    Path partial = Files.createTempDirectory(parent, "." + name + ".partial-");
    try (Connection db = connect(url)) {
      db.setAutoCommit(false);
      try (Statement s = db.createStatement()) {
        s.execute("set transaction isolation level repeatable read, read only");
      }
      JsonObject tables = new JsonObject();
      CopyManager copy = new CopyManager(db.unwrap(BaseConnection.class));
      for (BackupTables.Table table : BackupTables.ALL) {
        Path file = partial.resolve(table.name() + ".copy");
        MessageDigest sha = sha256();
        long rows;
        try (OutputStream out = new DigestOutputStream(Files.newOutputStream(file), sha)) {
          rows = copy.copyOut("copy (select * from " + table.name() + " order by " + table.orderBy() + ") to stdout", out);
        }
        sync(file);
        tables.put(table.name(), new JsonObject().put("file", file.getFileName().toString()).put("rows", rows)
            .put("sha256", HexFormat.of().formatHex(sha.digest())));
      }
      JsonObject manifest = new JsonObject()
          .put("format", FORMAT)
          .put("created_at", at.toString())
          .put("node", nodeId)
          .put("ceiba_version", VersionInfo.version())
          .put("schema_version", schemaVersion(db))
          .put("tables", tables);
      db.commit();
      Path manifestFile = partial.resolve(MANIFEST);
      Files.writeString(manifestFile, manifest.encodePrettily());
      sync(manifestFile);
      Path done = parent.resolve(name);
      for (int n = 2; Files.exists(done); n++) {
        done = parent.resolve(name + "-" + n); // two backups within one second
      }
      Files.move(partial, done, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      sync(parent);
      return done;
    } catch (IOException | SQLException | RuntimeException e) {
      deleteQuietly(partial);
      throw e;
    }
  }

  static Connection connect(PostgresUrl url) throws SQLException {
    return DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password());
  }

  static int schemaVersion(Connection db) throws SQLException {
    try (Statement s = db.createStatement();
         var rows = s.executeQuery("select coalesce(max(version::int), 0) from flyway_schema_history where success")) {
      rows.next();
      return rows.getInt(1);
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** fsync of a file or directory: the rename that publishes the backup must not overtake its content. */
  static void sync(Path path) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: a hidden partial directory is ignored by restore
    }
  }
}
