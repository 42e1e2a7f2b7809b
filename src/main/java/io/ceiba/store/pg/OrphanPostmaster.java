package io.ceiba.store.pg;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded PostgreSQL left running by a node that died without stopping it (kill -9, OOM kill, power cut of
 * the JVM only): its postmaster still holds the data directory, so a new start would fail. Found through the
 * data directory's {@code postmaster.pid}; stopped only when no live node holds the directory's lock (a second node
 * pointed at the same directory must not lose its database). Blocking: call through {@code executeBlocking}.
 */
final class OrphanPostmaster {

  private static final Logger LOG = LoggerFactory.getLogger(OrphanPostmaster.class);
  /** The lock the embedded-PostgreSQL library takes on the data directory while a node uses it. */
  static final String LOCK_FILE = "epg-lock";
  static final String PID_FILE = "postmaster.pid";
  private static final long SMART_STOP_SECONDS = 15;
  private static final long KILL_WAIT_SECONDS = 5;

  private OrphanPostmaster() {
  }

  /** Stops a postmaster of {@code pgData} that no running node owns; returns its pid, or -1 when there was none. */
  static long stopIfOrphaned(Path pgData) throws IOException {
    Path pidFile = pgData.resolve(PID_FILE);
    if (!Files.isRegularFile(pidFile)) {
      return -1;
    }
    assertNoLiveOwner(pgData);
    long pid = readPid(pidFile);
    Optional<ProcessHandle> process = pid > 0 ? ProcessHandle.of(pid) : Optional.empty();
    if (process.isEmpty() || !process.get().isAlive()) {
      // PostgreSQL itself replaces a pid file whose process is gone, and recovers from its WAL
      LOG.info("embedded PostgreSQL under {} was not stopped cleanly (pid {} is gone); it recovers from its WAL", pgData, pid);
      LeftoverServerProcesses.stop(pgData, EmbeddedPostgresServer.LEFTOVER_GRACE);
      return -1;
    }
    String command = process.get().info().command().orElse("");
    if (!command.endsWith("postgres")) {
      // the pid was reused by something else: the file is stale and would make PostgreSQL refuse to start
      LOG.warn("{} names pid {} ({}), which is not PostgreSQL: removing the stale file", pidFile, pid, command);
      Files.deleteIfExists(pidFile);
      return -1;
    }
    LOG.warn("embedded PostgreSQL (pid {}) under {} outlived the node that started it: stopping it", pid, pgData);
    ProcessHandle postmaster = process.get();
    postmaster.destroy(); // SIGTERM: a smart shutdown, which ends at once since the dead node's connections are gone
    if (!waitForExit(postmaster, SMART_STOP_SECONDS)) {
      LOG.warn("PostgreSQL pid {} did not stop within {} s: killing it (it recovers from its WAL)", pid, SMART_STOP_SECONDS);
      postmaster.destroyForcibly();
      if (!waitForExit(postmaster, KILL_WAIT_SECONDS)) {
        throw new IOException("PostgreSQL pid " + pid + " still holds " + pgData + " and does not stop; stop it by hand (kill -9 " + pid + ")");
      }
    }
    return pid;
  }

  /** A node that is alive holds the library's lock on the directory; a dead one's lock went with its process. */
  private static void assertNoLiveOwner(Path pgData) throws IOException {
    Path lockFile = pgData.resolve(LOCK_FILE);
    if (!Files.exists(lockFile)) {
      return;
    }
    try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE);
         FileLock lock = channel.tryLock()) {
      if (lock == null) {
        throw new IOException(pgData + " is in use by another running node (its lock " + lockFile
            + " is held): give each node its own data_dir");
      }
    } catch (java.nio.channels.OverlappingFileLockException e) {
      throw new IOException(pgData + " is in use by another node in this process: give each node its own data_dir");
    }
  }

  /** The first line of a {@code postmaster.pid}: the postmaster's pid, or -1. */
  static long readPid(Path pidFile) throws IOException {
    List<String> lines = Files.readAllLines(pidFile);
    if (lines.isEmpty()) {
      return -1;
    }
    try {
      return Long.parseLong(lines.get(0).trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static boolean waitForExit(ProcessHandle process, long seconds) {
    try {
      process.onExit().get(seconds, TimeUnit.SECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return !process.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !process.isAlive();
    } catch (java.util.concurrent.ExecutionException e) {
      return !process.isAlive();
    }
  }
}
