package io.ceiba.usage;

import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * An ERROR line about usage events that were dropped, at most once per {@link #INTERVAL_NANOS} with the count since the
 * last line: a full journal refuses events at the request rate, and a line per refused group would bury the log. The
 * first loss is logged at once. Owned by one thread (the spool's writer, or the usage verticle's event loop).
 */
final class LossLog {

  static final long INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final Logger log;
  private final String what;
  private long unreported;
  private long lastLineNanos;
  private boolean logged;

  /** @param what the sentence's start, e.g. {@code "usage spool /data/usage-spool"} */
  LossLog(Logger log, String what) {
    this.log = log;
    this.what = what;
  }

  void dropped(long events, String reason, long nowNanos) {
    unreported += events;
    if (!logged || nowNanos - lastLineNanos >= INTERVAL_NANOS) {
      log.error("{}: {} usage events dropped{}: {}", what, unreported, logged ? " in the last minute" : "", reason);
      logged = true;
      lastLineNanos = nowNanos;
      unreported = 0;
    }
  }
}
