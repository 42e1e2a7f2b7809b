package io.ceiba.backup;

import io.ceiba.config.NodeConfig;
import io.ceiba.store.pg.EmbeddedPostgresServer;
import io.ceiba.store.pg.PostgresUrl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The database of a node config, for the backup and restore commands: an external PostgreSQL by its URL; the
 * embedded one through the running node's server (its port is in {@code postmaster.pid}) or, when the node is
 * stopped, a server started for the command's duration. Blocking.
 */
final class NodeDatabase implements AutoCloseable {

  private final PostgresUrl url;
  private final EmbeddedPostgresServer startedHere;

  private NodeDatabase(PostgresUrl url, EmbeddedPostgresServer startedHere) {
    this.url = url;
    this.startedHere = startedHere;
  }

  static NodeDatabase of(NodeConfig config) throws IOException {
    if (!config.postgres().embedded()) {
      return new NodeDatabase(PostgresUrl.parse(config.postgres().url()), null);
    }
    Path pidFile = config.dataDir().resolve("postgres/postmaster.pid");
    if (Files.isRegularFile(pidFile)) {
      List<String> lines = Files.readAllLines(pidFile);
      long pid = lines.isEmpty() ? -1 : parse(lines.get(0));
      if (lines.size() > 3 && pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        // the node runs: use its server
        return new NodeDatabase(PostgresUrl.local((int) parse(lines.get(3)), "postgres", "postgres"), null);
      }
    }
    EmbeddedPostgresServer server = EmbeddedPostgresServer.start(config.dataDir(), 0);
    return new NodeDatabase(server.url(), server);
  }

  private static long parse(String line) {
    try {
      return Long.parseLong(line.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  PostgresUrl url() {
    return url;
  }

  @Override
  public void close() throws IOException {
    if (startedHere != null) {
      startedHere.close();
    }
  }
}
