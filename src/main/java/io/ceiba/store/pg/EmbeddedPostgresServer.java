package io.ceiba.store.pg;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A PostgreSQL server run from the binaries shipped in the jar (zonky), with its data under
 * {@code <data_dir>/postgres} kept across restarts, listening on 127.0.0.1 only. Durable: the library's test
 * defaults (fsync off, asynchronous commit) are overridden, since this database holds keys, plans and usage.
 * A postmaster left behind by a crashed node is stopped first, and a watchdog stops this one if the JVM dies.
 * Every method blocks: call them through {@code executeBlocking}.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  static final String USER = "postgres";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  /**
   * What makes a commit survive an OS crash or power loss: WAL flushed to disk at commit ({@code fsync},
   * {@code synchronous_commit}) and whole pages logged after a checkpoint so a torn write can be repaired
   * ({@code full_page_writes}). The library passes {@code -F} (fsync off) and {@code synchronous_commit=off};
   * options given later on the command line win.
   */
  static final Map<String, String> DURABILITY = Map.of("fsync", "on", "synchronous_commit", "on", "full_page_writes", "on");

  private final EmbeddedPostgres postgres;
  private final int port;
  private final Process watchdog;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres, int port, Process watchdog) {
    this.postgres = postgres;
    this.port = port;
    this.watchdog = watchdog;
  }

  /**
   * @param port 0 picks a free port
   */
  public static EmbeddedPostgresServer start(Path dataDir, int port) throws IOException {
    return start(dataDir, port, Map.of());
  }

  /**
   * @param port         0 picks a free port
   * @param serverConfig further settings ({@code -c name=value}), e.g. {@code ssl}, {@code ssl_cert_file}, {@code hba_file}
   */
  public static EmbeddedPostgresServer start(Path dataDir, int port, Map<String, String> serverConfig) throws IOException {
    Path pgData = dataDir.resolve("postgres");
    Files.createDirectories(pgData);
    OrphanPostmaster.stopIfOrphaned(pgData);
    int chosen = port == 0 ? freePort() : port;
    EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
        .setDataDirectory(pgData)
        .setCleanDataDirectory(false)
        .setPort(chosen)
        .setServerConfig("listen_addresses", "127.0.0.1")
        .setServerConfig("unix_socket_directories", "")
        .setPGStartupWait(START_TIMEOUT);
    DURABILITY.forEach(builder::setServerConfig);
    serverConfig.forEach(builder::setServerConfig);
    EmbeddedPostgres pg = builder.start();
    long postmaster = OrphanPostmaster.readPid(pgData.resolve(OrphanPostmaster.PID_FILE));
    return new EmbeddedPostgresServer(pg, chosen, postmaster > 0 ? PostmasterWatchdog.watch(postmaster) : null);
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
    return PostgresUrl.local(port, USER, USER);
  }

  @Override
  public void close() throws IOException {
    postgres.close();
    if (watchdog != null) {
      watchdog.destroy(); // it would end within a second by itself, once the postmaster is gone
    }
  }
}
