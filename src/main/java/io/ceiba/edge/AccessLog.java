package io.ceiba.edge;

import static net.logstash.logback.argument.StructuredArguments.kv;

import io.ceiba.access.Decision;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per exchange on logger {@code ceiba.access}: {@code key=value} pairs in text, the same as fields of their
 * own in JSON ({@code CEIBA_LOG_FORMAT=json}), so a decision can be explained afterwards and log tools need no parsing.
 * The logger's appender is asynchronous (logback config): the event loop only queues the event.
 */
final class AccessLog {

  private static final Logger ACCESS = LoggerFactory.getLogger("ceiba.access");
  /** {@code {} {} …} for n arguments: the line's pattern, made once per field count. */
  private static final String[] PATTERNS = new String[24];

  static {
    for (int n = 0; n < PATTERNS.length; n++) {
      PATTERNS[n] = String.join(" ", Collections.nCopies(n, "{}"));
    }
  }

  private final String nodeId;

  AccessLog(String nodeId) {
    this.nodeId = nodeId;
  }

  void write(Exchange ex, String service, int status, String error, long nowNanos) {
    List<Object> f = new ArrayList<>(20);
    f.add(kv("request_id", ex.requestId));
    f.add(kv("node", nodeId));
    // the client as the framing step found it (a trusted proxy's forwarded address); the peer for a refused head
    f.add(kv("client", ex.head != null ? ex.head.forwarding().clientIp()
        : ex.request.remoteAddress() == null ? "-" : ex.request.remoteAddress().hostAddress()));
    f.add(kv("method", ex.request.method().name()));
    f.add(kv("path", ex.request.path()));
    f.add(kv("host", ex.head == null ? "-" : ex.head.authority().host()));
    f.add(kv("service", service));
    if (ex.matched != null) {
      f.add(kv("route", ex.matched.name()));
      f.add(kv("class", ex.matched.className()));
    }
    f.add(kv("backend", ex.backend == null ? "-" : ex.backend.url()));
    f.add(kv("status", status));
    f.add(kv("bytes_in", ex.bytesIn));
    f.add(kv("bytes_out", ex.bytesOut));
    f.add(kv("ms", (nowNanos - ex.startNanos) / 1_000_000));
    if (ex.upstreamStart != 0) {
      f.add(kv("upstream_ms", (nowNanos - ex.upstreamStart) / 1_000_000));
    }
    if (ex.upgrade) {
      f.add(kv("websocket", true));
    }
    Decision d = ex.decision;
    if (d != null) {
      f.add(kv("auth", d.reason().label()));
      if (d.key() != null) {
        f.add(kv("project", d.key().projectId()));
        f.add(kv("key", d.key().keyId()));
        f.add(kv("plan", d.plan() == null ? "-" : d.plan().name()));
      }
      if (d.stale()) {
        f.add(kv("stale", true));
      }
    }
    if (ex.backend != null && ex.backend.node() != null) {
      // a backend is its node plus its URL: 127.0.0.1:9000 on two hosts are two backends
      f.add(kv("backend_node", ex.backend.node()));
    }
    if (ex.relayed) {
      f.add(kv("relayed", true));
    } else if (ex.viaPeer && ex.backend != null) {
      f.add(kv("via", ex.backend.node()));
    }
    if (error != null) {
      f.add(kv("error", error));
    }
    ACCESS.info(PATTERNS[f.size()], f.toArray());
  }
}
