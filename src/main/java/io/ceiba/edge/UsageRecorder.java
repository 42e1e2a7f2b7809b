package io.ceiba.edge;

import io.ceiba.access.Decision;
import io.ceiba.access.WallClock;
import io.ceiba.bus.Addresses;
import io.ceiba.usage.UsageEvent;
import io.ceiba.usage.UsageSpool;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One usage event per keyed exchange, made on the edge instance's event loop and handed over without waiting for
 * anything: to the node's crash-safe {@link UsageSpool} when there is one (written to disk within the group-commit
 * window, then sent on to a usage role until acknowledged), else collected and sent in batches to this node's usage
 * verticle by reference or to another node's as JSON.
 */
final class UsageRecorder {

  private static final Logger LOG = LoggerFactory.getLogger(UsageRecorder.class);
  /**
   * Events per hand-off at most: to this node's usage verticle (by reference), and to another node's (as JSON, so a
   * cluster message stays small).
   */
  static final int BATCH_LOCAL = 2048;
  static final int BATCH_REMOTE = 256;
  /**
   * Each hand-off wakes the usage verticle's event loop, which on this VM costs tens of µs: at 20 ms the edge's share
   * of usage recording was a fifth of it (perf, access-bench PROFILE=1); at 100 ms and 256 events the send was still
   * 0.25 µs per keyed request at 9 300 req/s. 250 ms holds a quarter of the usage buffer's own default interval.
   */
  static final long FLUSH_MS = 250;

  private final Vertx vertx;
  private final String nodeId;
  private final boolean local;
  /** No usage role here and no cluster to find one in: nobody could record usage, so none is made. */
  private final boolean recorded;
  private final DeliveryOptions delivery;
  /** The node's spool, or null: then events are batched here. */
  private final UsageSpool spool;
  private List<UsageEvent> batch = new ArrayList<>();

  UsageRecorder(Vertx vertx, String nodeId, boolean local, boolean clustered, UsageSpool spool) {
    this.vertx = vertx;
    this.nodeId = nodeId;
    this.local = local;
    this.recorded = local || clustered;
    this.delivery = new DeliveryOptions().setLocalOnly(local);
    this.spool = spool;
  }

  /** Ships what was collected every {@link #FLUSH_MS} (without a spool). */
  void start() {
    if (spool == null) {
      vertx.setPeriodic(FLUSH_MS, t -> flush(false));
    }
  }

  /**
   * Records a keyed exchange. Its id is ours: a client-chosen {@code X-Request-Id} could repeat and would then be
   * counted once. Its plan is the one the request was admitted and counted under (none when refused): quota counters
   * are rebuilt from it, and its cost (the credits charged) is what credit balances are rebuilt from.
   */
  void record(Exchange ex, Decision d, int status, long nowNanos) {
    if (!recorded || d == null || d.key() == null) {
      return;
    }
    String countedUnder = d.allowed() && d.plan() != null ? d.plan().name() : null;
    UsageEvent event = new UsageEvent(ex.requestIdIsOurs ? ex.requestId : RequestIds.next(), WallClock.now(),
        d.key().projectId(), d.key().keyId(), countedUnder, ex.service.name(), status,
        (nowNanos - ex.startNanos) / 1_000_000, ex.bytesIn, ex.bytesOut, nodeId, d.credits() == null ? 0 : d.credits().charged(),
        ex.matched == null ? null : ex.matched.className());
    if (spool != null) {
      spool.record(event);
      return;
    }
    batch.add(event);
    if (batch.size() >= (local ? BATCH_LOCAL : BATCH_REMOTE)) {
      flush(false);
    }
  }

  /**
   * Ships the collected events. {@code acknowledged}: wait until the usage verticle has them (at stop, before it
   * stops too).
   */
  Future<Void> flush(boolean acknowledged) {
    if (spool != null) {
      return acknowledged ? spool.flush() : Future.succeededFuture();
    }
    if (batch.isEmpty()) {
      return Future.succeededFuture();
    }
    List<UsageEvent> events = batch;
    batch = new ArrayList<>();
    Object body;
    if (local) {
      body = new UsageEvent.Batch(events);
    } else {
      JsonArray array = new JsonArray();
      events.forEach(e -> array.add(e.toJson()));
      body = array;
    }
    if (!acknowledged) {
      vertx.eventBus().send(Addresses.USAGE_RECORD, body, delivery);
      return Future.succeededFuture();
    }
    return vertx.eventBus().request(Addresses.USAGE_RECORD, body, new DeliveryOptions(delivery).setSendTimeout(2000))
        .onFailure(e -> LOG.warn("{} usage events not handed over at stop: {}", events.size(), e.getMessage()))
        .mapEmpty();
  }
}
