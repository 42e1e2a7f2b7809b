package io.ceiba.store.pg;

import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tiny shell process, child of the JVM, that stops the embedded postmaster when the JVM is gone. The postmaster is
 * started through {@code pg_ctl}, so it is nobody's child and would outlive a JVM killed with -9, holding the data
 * directory and its port. The watchdog sees its parent change (it is re-parented when the JVM dies) and sends the
 * postmaster SIGINT (fast shutdown); it ends by itself when the postmaster stops first. It polls once a second:
 * a crashed node's PostgreSQL is gone about a second later. {@link OrphanPostmaster} covers a watchdog killed too.
 */
final class PostmasterWatchdog {

  private static final Logger LOG = LoggerFactory.getLogger(PostmasterWatchdog.class);

  // $1 = JVM pid, $2 = postmaster pid. 'read' is a builtin: one fork a second (sleep), nothing else.
  private static final String SCRIPT = """
      parent() { while read -r key value; do [ "$key" = "PPid:" ] && { echo "$value"; return; }; done < /proc/$$/status; }
      while [ "$(parent)" = "$1" ] && kill -0 "$2" 2>/dev/null; do sleep 1; done
      if [ "$(parent)" != "$1" ] && kill -0 "$2" 2>/dev/null; then kill -INT "$2"; fi
      """;

  private PostmasterWatchdog() {
  }

  /** Starts the watchdog for {@code postmasterPid}; a failure to start it is logged, not fatal. */
  static Process watch(long postmasterPid) {
    long jvm = ProcessHandle.current().pid();
    try {
      return new ProcessBuilder("/bin/sh", "-c", SCRIPT, "ceiba-pg-watchdog", Long.toString(jvm), Long.toString(postmasterPid))
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
    } catch (IOException e) {
      LOG.warn("no watchdog for the embedded PostgreSQL (pid {}): after a crash of this JVM the next start stops it instead: {}",
          postmasterPid, e.getMessage());
      return null;
    }
  }
}
