package io.ceiba.testkit;

import io.ceiba.store.pg.EmbeddedPostgresServer;
import io.ceiba.store.pg.PostgresUrl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * One real PostgreSQL per test JVM (the binaries Maven ships), started on first use and stopped when
 * the JVM exits; each test gets a database of its own so tests never see each other's rows.
 */
public final class TestPostgres {

  private static EmbeddedPostgresServer server;

  private TestPostgres() {
  }

  private static synchronized EmbeddedPostgresServer server() {
    if (server == null) {
      try {
        Path dir = Path.of("target", "test-postgres").toAbsolutePath();
        deleteRecursively(dir);
        server = EmbeddedPostgresServer.start(dir, 0);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          try {
            server.close();
          } catch (IOException e) {
            // the JVM is going away; nothing left to tell
          }
        }, "test-postgres-stop"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return server;
  }

  /** Creates an empty database and returns its {@code postgres://} URL. */
  public static String newDatabase() {
    PostgresUrl admin = server().url();
    String name = "t_" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = DriverManager.getConnection(admin.jdbcUrl(), admin.user(), admin.password());
        Statement s = c.createStatement()) {
      s.execute("create database " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create a test database: " + e.getMessage(), e);
    }
    return "postgres://" + admin.user() + "@127.0.0.1:" + admin.port() + "/" + name;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> paths = Files.walk(dir)) {
        for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }
}
