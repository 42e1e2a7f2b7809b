package io.ceiba.store.pg;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A PostgreSQL server run from the binaries shipped in the jar (zonky), with its data under
 * {@code <data_dir>/postgres} kept across restarts, listening on 127.0.0.1 only. Every method blocks:
 * call them through {@code executeBlocking}.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  static final String USER = "postgres";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final EmbeddedPostgres postgres;
  private final int port;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres, int port) {
    this.postgres = postgres;
    this.port = port;
  }

  /**
   * @param port 0 picks a free port
   */
  public static EmbeddedPostgresServer start(Path dataDir, int port) throws IOException {
    Path pgData = dataDir.resolve("postgres");
    Files.createDirectories(pgData);
    int chosen = port == 0 ? freePort() : port;
    EmbeddedPostgres pg = EmbeddedPostgres.builder()
        .setDataDirectory(pgData)
        .setCleanDataDirectory(false)
        .setPort(chosen)
        .setServerConfig("listen_addresses", "127.0.0.1")
        .setServerConfig("unix_socket_directories", "")
        .setPGStartupWait(START_TIMEOUT)
        .start();
    return new EmbeddedPostgresServer(pg, chosen);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  public int port() {
    return port;
  }

  public PostgresUrl url() {
    return new PostgresUrl("127.0.0.1", port, USER, USER, "", "disable");
  }

  @Override
  public void close() throws IOException {
    postgres.close();
  }
}
