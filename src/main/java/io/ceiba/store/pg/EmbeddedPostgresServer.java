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

  /**
   * PostgreSQL's own log, kept by its logging collector in {@code <data_dir>/postgres/log}: one file a weekday,
   * overwritten a week later, so it stays bounded. Before the collector runs (and when a start fails) the server
   * writes to {@link #STARTUP_LOG} instead.
   */
  static final Map<String, String> LOGGING = Map.of("logging_collector", "on", "log_directory", "log",
      "log_filename", "postgresql-%a.log", "log_rotation_age", "1d", "log_rotation_size", "0",
      "log_truncate_on_rotation", "on");
  /** Beside the data directory (initdb wants that one empty): initdb's, pg_ctl's and a failed start's messages. */
  static final String STARTUP_LOG = "postgres-startup.log";
  /** How long a dead postmaster's backends get to notice and exit before they are killed. */
  static final Duration LEFTOVER_GRACE = Duration.ofSeconds(2);

  private final EmbeddedPostgres postgres;
  private final Path dataDir;
  private final int port;
  private final long postmasterPid;
  private final Process watchdog;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres, Path dataDir, int port, long postmasterPid, Process watchdog) {
    this.postgres = postgres;
    this.dataDir = dataDir;
    this.port = port;
    this.postmasterPid = postmasterPid;
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
    LOGGING.forEach(builder::setServerConfig);
    ProcessBuilder.Redirect startupLog = ProcessBuilder.Redirect.appendTo(dataDir.resolve(STARTUP_LOG).toFile());
    builder.setOutputRedirector(startupLog).setErrorRedirector(startupLog);
    serverConfig.forEach(builder::setServerConfig);
    EmbeddedPostgres pg = builder.start();
    long postmaster = OrphanPostmaster.readPid(pgData.resolve(OrphanPostmaster.PID_FILE));
    return new EmbeddedPostgresServer(pg, dataDir, chosen, postmaster, postmaster > 0 ? PostmasterWatchdog.watch(postmaster) : null);
  }

  /** A port free on the loopback interface now, for a server started on it right after. */
  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  public int port() {
    return port;
  }

  /** The postmaster's pid, or 0 when its pid file could not be read. */
  long postmasterPid() {
    return postmasterPid;
  }

  /** Whether the postmaster still runs (true when its pid is unknown: nothing to tell). */
  boolean alive() {
    return postmasterPid <= 0 || ProcessHandle.of(postmasterPid).map(ProcessHandle::isAlive).orElse(false);
  }

  /**
   * This server with its postmaster started again after it died (killed, OOM-killed, crashed): the dead one's
   * leftover processes are waited for (or killed), then {@code pg_ctl restart} starts it with the same settings and
   * waits until it accepts connections. The library's handle and its lock on the data directory stay as they are,
   * so {@link #close()} stops whichever postmaster runs.
   */
  EmbeddedPostgresServer restarted() throws IOException {
    if (watchdog != null) {
      watchdog.destroy();
    }
    Path pgData = dataDir.resolve("postgres");
    LeftoverServerProcesses.stop(pgData, LEFTOVER_GRACE);
    long pid = PostmasterRestart.run(pgData, dataDir.resolve(STARTUP_LOG));
    return new EmbeddedPostgresServer(postgres, dataDir, port, pid, pid > 0 ? PostmasterWatchdog.watch(pid) : null);
  }

  public PostgresUrl url() {
    return url(port);
  }

  /** The address of the embedded server on {@code port}, known before it runs. */
  static PostgresUrl url(int port) {
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
