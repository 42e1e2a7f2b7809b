package io.ceiba.testkit;

import io.ceiba.store.pg.EmbeddedPostgresServer;
import io.ceiba.store.pg.PostgresUrl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

/**
 * A real PostgreSQL of one test class's own (unlike the shared {@link TestPostgres}), on a free port chosen once:
 * the test stops it to play an outage and starts it again on the same data and port, as a database server comes back.
 */
public final class StoppablePostgres implements AutoCloseable {

  private final Path dir;
  private final int port;
  private EmbeddedPostgresServer server;

  private StoppablePostgres(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /** Starts a new server with its data under {@code dir}. Blocking: call it from the test thread. */
  public static StoppablePostgres start(Path dir) {
    StoppablePostgres postgres = new StoppablePostgres(dir, Ports.free());
    postgres.startAgain();
    return postgres;
  }

  /** Starts (again) on the same port and data. Blocking. */
  public synchronized void startAgain() {
    if (server == null) {
      try {
        server = EmbeddedPostgresServer.start(dir, port);
      } catch (IOException e) {
        throw new UncheckedIOException("test postgres did not start on " + port, e);
      }
    }
  }

  /** Stops the server (fast shutdown: clients see their connections closed). Blocking. */
  public synchronized void stop() {
    if (server != null) {
      try {
        server.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } finally {
        server = null;
      }
    }
  }

  /** For the {@code postgres.url} of a node config. */
  public String url() {
    return "postgres://postgres@127.0.0.1:" + port + "/postgres";
  }

  /**
   * The first column of the first row of {@code sql} as a number, queried off the event loop (a connection of its
   * own each time, so it works across restarts); fails while the server is down.
   */
  public Future<Long> count(Vertx vertx, String sql, Object... params) {
    PostgresUrl url = PostgresUrl.parse(url());
    return vertx.executeBlocking(() -> {
      try (Connection c = DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password());
          PreparedStatement statement = c.prepareStatement(sql)) {
        for (int i = 0; i < params.length; i++) {
          statement.setObject(i + 1, params[i]);
        }
        try (ResultSet rows = statement.executeQuery()) {
          rows.next();
          return rows.getLong(1);
        }
      }
    }, false);
  }

  @Override
  public void close() {
    stop();
  }
}
