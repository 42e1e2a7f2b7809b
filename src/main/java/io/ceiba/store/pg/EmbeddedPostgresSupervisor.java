package io.ceiba.store.pg;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the node's embedded PostgreSQL running: checks once a second (on a worker) that its postmaster lives, and
 * when it died (killed, crashed, OOM-killed) starts it again on the same port and data directory, so the pool's
 * connections come back by themselves. The node keeps serving meanwhile, as through any PostgreSQL outage: usage
 * goes to the journal, keys come from the edge cache. A start that fails is tried again at the next check.
 */
final class EmbeddedPostgresSupervisor {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgresSupervisor.class);
  static final long CHECK_MS = 1000;

  private final Vertx vertx;
  /** The check under way (or the last one): close waits for it, so a restart never outlives the node. */
  private volatile Future<Void> checking = Future.succeededFuture();
  private volatile EmbeddedPostgresServer server;
  private volatile boolean closed;
  private long timer = -1;
  private long diedAtNanos;

  EmbeddedPostgresSupervisor(Vertx vertx, EmbeddedPostgresServer server) {
    this.vertx = vertx;
    this.server = server;
  }

  void start() {
    timer = vertx.setPeriodic(CHECK_MS, t -> check());
  }

  /** Runs on the timer's context, one tick after another, so checks never overlap: the next starts only once this one is done. */
  private void check() {
    if (closed || !checking.isComplete()) {
      return;
    }
    checking = vertx.executeBlocking(() -> {
      EmbeddedPostgresServer current = server;
      if (current.alive() || closed) {
        return null;
      }
      if (diedAtNanos == 0) {
        diedAtNanos = System.nanoTime();
        LOG.error("embedded PostgreSQL (postmaster pid {}) is gone; starting it again on port {}", current.postmasterPid(),
            current.port());
      }
      try {
        server = current.restarted();
        LOG.warn("embedded PostgreSQL running again on port {} (pid {}), {} ms after it was found gone", current.port(),
            server.postmasterPid(), (System.nanoTime() - diedAtNanos) / 1_000_000);
        diedAtNanos = 0;
      } catch (Exception e) {
        LOG.warn("embedded PostgreSQL did not start yet ({}); trying again in {} ms", e.getMessage(), CHECK_MS);
      }
      return null;
    }, false);
  }

  EmbeddedPostgresServer server() {
    return server;
  }

  /** Stops checking, waits for a check under way, and stops the server (whichever postmaster runs now). */
  Future<Void> close() {
    closed = true;
    vertx.cancelTimer(timer);
    return checking.transform(ar -> vertx.executeBlocking(() -> {
      server.close();
      return null;
    }));
  }
}
