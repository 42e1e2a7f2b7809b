package io.ceiba.store.pg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts a dead embedded postmaster again with {@code pg_ctl restart}, which takes the command line the server last
 * ran with from {@code postmaster.opts} (binaries, port, settings) and, with {@code -w}, returns once the server
 * accepts connections, or fails at once when the new postmaster dies while starting (a kill, a refusal), instead of
 * polling out a timeout. As root it runs under {@code unshare -U} like the library's first start, since PostgreSQL
 * refuses to run as root. Blocking: call on a worker.
 */
final class PostmasterRestart {

  /** Crash recovery replays the WAL since the last checkpoint: seconds for this database. */
  static final Duration READY_WITHIN = Duration.ofSeconds(60);

  private PostmasterRestart() {
  }

  /** Restarts the server of {@code pgData}; its output goes to {@code log}. Returns the new postmaster's pid. */
  static long run(Path pgData, Path log) throws IOException {
    Path opts = pgData.resolve("postmaster.opts");
    if (!Files.isRegularFile(opts)) {
      throw new IOException(opts + " is missing: PostgreSQL never ran here, nothing to restart");
    }
    Path pgCtl = postgresBinary(Files.readString(opts)).resolveSibling("pg_ctl");
    List<String> command = new ArrayList<>();
    if (runningAsRoot()) {
      command.addAll(List.of("unshare", "-U"));
    }
    command.addAll(List.of(pgCtl.toString(), "-D", pgData.toString(), "-w", "-t", Long.toString(READY_WITHIN.toSeconds()),
        "-m", "fast", "restart"));
    Process pgCtlRun = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
    try {
      if (!pgCtlRun.waitFor(READY_WITHIN.toSeconds() + 10, TimeUnit.SECONDS)) {
        pgCtlRun.destroyForcibly();
        throw new IOException("pg_ctl restart did not finish within " + (READY_WITHIN.toSeconds() + 10) + " s; see " + log);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while PostgreSQL restarted", e);
    }
    if (pgCtlRun.exitValue() != 0) {
      throw new IOException("pg_ctl restart failed (exit " + pgCtlRun.exitValue() + "); PostgreSQL's messages are in " + log
          + " and " + pgData.resolve("log"));
    }
    return OrphanPostmaster.readPid(pgData.resolve(OrphanPostmaster.PID_FILE));
  }

  /** The first word of {@code postmaster.opts}: the postgres binary, quoted by PostgreSQL. */
  static Path postgresBinary(String opts) throws IOException {
    String line = opts.strip();
    String first = line.startsWith("\"") ? line.substring(1, Math.max(1, line.indexOf('"', 1))) : line.split("\\s+", 2)[0];
    if (first.isEmpty() || !first.endsWith("postgres")) {
      throw new IOException("postmaster.opts does not start with the postgres binary: " + line);
    }
    return Path.of(first);
  }

  /** The effective uid from {@code /proc/self/status}; false where there is none to read. */
  private static boolean runningAsRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          String[] ids = line.substring(4).trim().split("\\s+");
          return ids.length > 1 && "0".equals(ids[1]);
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }
}
