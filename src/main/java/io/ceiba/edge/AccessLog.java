package io.ceiba.edge;

import io.ceiba.access.Decision;
import io.ceiba.edge.accesslog.AccessFields;
import io.ceiba.edge.accesslog.AccessLine;
import io.ceiba.edge.accesslog.AccessLogWriter;
import io.ceiba.edge.accesslog.LineBuffer;
import io.ceiba.edge.accesslog.LoggerFields;
import io.ceiba.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.ZoneId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per exchange on logger {@code ceiba.access}: {@code key=value} pairs in text, the same as fields of their
 * own in JSON ({@code CEIBA_LOG_FORMAT=json}), so a decision can be explained afterwards and log tools need no parsing.
 *
 * <p>The shipped logback configs give that logger no appender: the event loop formats the line itself into this
 * instance's batch, and hands the batch to the node's {@link AccessLogWriter} when it reaches {@link #HAND_OFF_BYTES}
 * or {@link #HAND_OFF_DELAY_MS} after its first line; the writer's thread writes batches to stdout in large writes.
 * A full writer queue drops the batch, counted in {@code ceiba_access_log_dropped_total{reason="queue_full"}}. A logback
 * config that does send {@code ceiba.access} somewhere (appenders of its own, or additivity to the root's) gets one
 * event per line, with the same fields, as before ({@link LoggerFields}).
 */
final class AccessLog {

  static final String LOGGER = "ceiba.access";
  private static final Logger ACCESS = LoggerFactory.getLogger(LOGGER);
  /** A batch this large goes at once: a few dozen lines per hand-over, a few writes per second per instance at most. */
  static final int HAND_OFF_BYTES = 32 * 1024;
  /** A batch goes at the latest this long after its first line: how late a line may show on a quiet node. */
  static final long HAND_OFF_DELAY_MS = 10;

  private final String nodeId;
  private final Vertx vertx;
  private final AccessLogWriter writer;
  private final Counter dropped;
  private final AccessLine line = new AccessLine(AccessLine.Format.fromEnvironment(), ZoneId.systemDefault());
  private final LineBuffer batch = new LineBuffer(HAND_OFF_BYTES + 4096);
  private int batchLines;
  private boolean handOffArmed;

  AccessLog(String nodeId, Vertx vertx, AccessLogWriter writer, MeterRegistry meters) {
    this.nodeId = nodeId;
    this.vertx = vertx;
    this.writer = writer;
    this.dropped = Counter.builder(MetricNames.ACCESS_LOG_DROPPED).tag("reason", "queue_full")
        .description("Access-log lines dropped: the writer's queue was full, or the output failed").register(meters);
  }

  void write(Exchange ex, String service, int status, String error, long nowNanos) {
    if (!ACCESS.isInfoEnabled()) {
      return;
    }
    if (throughLogback()) {
      LoggerFields fields = new LoggerFields();
      fill(fields, ex, service, status, error, nowNanos);
      fields.log(ACCESS);
      return;
    }
    fill(line.begin(), ex, service, status, error, nowNanos);
    line.end(System.currentTimeMillis(), batch);
    batchLines++;
    if (batch.length() >= HAND_OFF_BYTES) {
      handOff();
    } else if (!handOffArmed) {
      handOffArmed = true;
      vertx.setTimer(HAND_OFF_DELAY_MS, id -> {
        handOffArmed = false;
        handOff();
      });
    }
  }

  /** Hands the batch under way to the writer, and completes once it (and everything before it) is written. */
  Future<Void> flush() {
    handOff();
    // completed on the writer's thread: back to this instance's context for what follows
    return Future.fromCompletionStage(writer.drained(), vertx.getOrCreateContext());
  }

  private void handOff() {
    if (batchLines == 0) {
      return;
    }
    if (writer.offer(batch.array(), batch.length(), batchLines)) {
      batch.takeArray();
    } else {
      dropped.increment(batchLines);
      batch.reset();
    }
    batchLines = 0;
  }

  /**
   * Whether logback's config sends {@code ceiba.access} events anywhere: appenders on the logger, or additivity (the
   * root's appenders). The shipped configs do neither (the edge writes the lines); a test's or an operator's may.
   */
  private static boolean throughLogback() {
    return !(ACCESS instanceof ch.qos.logback.classic.Logger logger) || logger.isAdditive() || logger.iteratorForAppenders().hasNext();
  }

  private void fill(AccessFields f, Exchange ex, String service, int status, String error, long nowNanos) {
    f.field("request_id", ex.requestId);
    f.field("node", nodeId);
    // the client as the framing step found it (a trusted proxy's forwarded address); the peer for a refused head
    f.field("client", ex.head != null ? ex.head.forwarding().clientIp()
        : ex.request.remoteAddress() == null ? "-" : ex.request.remoteAddress().hostAddress());
    f.field("method", ex.request.method().name());
    f.field("path", ex.request.path());
    f.field("host", ex.head == null ? "-" : ex.head.authority().host());
    f.field("service", service);
    if (ex.matched != null) {
      f.field("route", ex.matched.name());
      f.field("class", ex.matched.className());
    }
    f.field("backend", ex.backend == null ? "-" : ex.backend.url());
    f.field("status", status);
    f.field("bytes_in", ex.bytesIn);
    f.field("bytes_out", ex.bytesOut);
    f.field("ms", (nowNanos - ex.startNanos) / 1_000_000);
    if (ex.upstreamStart != 0) {
      f.field("upstream_ms", (nowNanos - ex.upstreamStart) / 1_000_000);
    }
    if (ex.upgrade) {
      f.flag("websocket");
    }
    Decision d = ex.decision;
    if (d != null) {
      f.field("auth", d.reason().label());
      if (d.key() != null) {
        f.field("project", d.key().projectId());
        f.field("key", d.key().keyId());
        f.field("plan", d.plan() == null ? "-" : d.plan().name());
      }
      if (d.stale()) {
        f.flag("stale");
      }
    }
    if (ex.backend != null && ex.backend.node() != null) {
      // a backend is its node plus its URL: 127.0.0.1:9000 on two hosts are two backends
      f.field("backend_node", ex.backend.node());
    }
    if (ex.relayed) {
      f.flag("relayed");
    } else if (ex.viaPeer && ex.backend != null) {
      f.field("via", ex.backend.node());
    }
    if (error != null) {
      f.field("error", error);
    }
  }
}
