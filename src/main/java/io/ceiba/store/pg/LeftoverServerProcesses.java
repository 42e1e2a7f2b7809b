package io.ceiba.store.pg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server processes (backends, checkpointer, WAL writer) a killed postmaster leaves behind. They notice its death
 * and exit by themselves, usually within milliseconds, but while one is still attached to the old shared memory a new
 * postmaster refuses the data directory ("pre-existing shared memory block is still in use") and a start waits out
 * its whole timeout. Found by their working directory, which every PostgreSQL process sets to its data directory
 * (Linux {@code /proc}; elsewhere none are found). Blocking: call on a worker.
 */
final class LeftoverServerProcesses {

  private static final Logger LOG = LoggerFactory.getLogger(LeftoverServerProcesses.class);
  private static final Duration KILL_WAIT = Duration.ofSeconds(5);

  private LeftoverServerProcesses() {
  }

  /**
   * Waits up to {@code grace} for the PostgreSQL processes still running in {@code pgData} to exit, then kills the
   * rest; returns how many there were. Only call once the directory's postmaster is known dead.
   */
  static int stop(Path pgData, Duration grace) throws IOException {
    Path dir = pgData.toRealPath();
    List<ProcessHandle> left = runningIn(dir);
    if (left.isEmpty()) {
      return 0;
    }
    LOG.warn("{} processes of the dead PostgreSQL under {} still run (pids {}); waiting up to {} ms for them to exit",
        left.size(), dir, left.stream().map(ProcessHandle::pid).toList(), grace.toMillis());
    if (!allExit(left, grace)) {
      List<ProcessHandle> stuck = left.stream().filter(ProcessHandle::isAlive).toList();
      LOG.warn("killing {} leftover PostgreSQL processes (pids {})", stuck.size(), stuck.stream().map(ProcessHandle::pid).toList());
      stuck.forEach(ProcessHandle::destroyForcibly);
      if (!allExit(stuck, KILL_WAIT)) {
        throw new IOException("PostgreSQL processes " + stuck.stream().map(ProcessHandle::pid).toList() + " still run in "
            + dir + " after SIGKILL");
      }
    }
    return left.size();
  }

  private static List<ProcessHandle> runningIn(Path dir) {
    long self = ProcessHandle.current().pid();
    return ProcessHandle.allProcesses()
        .filter(p -> p.pid() != self)
        .filter(p -> p.info().command().map(c -> c.endsWith("/postgres")).orElse(false))
        .filter(p -> workingDirectory(p).map(dir::equals).orElse(false))
        .toList();
  }

  private static Optional<Path> workingDirectory(ProcessHandle process) {
    try {
      return Optional.of(Files.readSymbolicLink(Path.of("/proc", Long.toString(process.pid()), "cwd")));
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return Optional.empty(); // gone meanwhile, not ours to read, or no /proc
    }
  }

  private static boolean allExit(List<ProcessHandle> processes, Duration within) {
    try {
      CompletableFuture.allOf(processes.stream().map(ProcessHandle::onExit).toArray(CompletableFuture[]::new))
          .get(within.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException | ExecutionException e) {
      return processes.stream().noneMatch(ProcessHandle::isAlive);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return processes.stream().noneMatch(ProcessHandle::isAlive);
    }
  }
}
