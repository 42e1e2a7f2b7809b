package io.ceiba.listener;

import io.ceiba.config.ListenerLimits;
import io.ceiba.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.VertxConnection;
import io.vertx.core.shareddata.Shareable;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards one HTTP listener of a node (the edge's, the control server's): at most {@code max_connections} open at
 * once — one over the cap is closed as soon as it is accepted and counted in
 * {@code ceiba_listener_connections_refused_total{listener}} — and every admitted connection gets the
 * {@link HeadDeadline request-head deadline} (expiries counted in {@code ceiba_listener_header_timeouts_total}).
 * Installed from the server's connection handler, before any request byte is read.
 *
 * <p>One guard per listener name and node, shared by the verticle instances that listen on it (Vert.x spreads a
 * port's connections over them), so it is thread-safe: the count is atomic, everything else per connection lives on
 * that connection's event loop.
 */
public final class ListenerGuard implements Shareable {

  private static final Logger LOG = LoggerFactory.getLogger(ListenerGuard.class);
  private static final String GUARDS = "ceiba.listener.guards";

  private final String listener;
  private final int maxConnections;
  private final long headerTimeoutNanos;
  private final AtomicInteger open = new AtomicInteger();
  private final Counter refused;
  private final Counter headerTimeouts;

  private ListenerGuard(String listener, ListenerLimits limits, MeterRegistry meters) {
    this.listener = listener;
    this.maxConnections = limits.maxConnections();
    this.headerTimeoutNanos = limits.headerTimeout().toNanos();
    Gauge.builder(MetricNames.LISTENER_CONNECTIONS, open, AtomicInteger::get).tag(MetricNames.TAG_LISTENER, listener)
        .description("Open client connections of the listener").register(meters);
    refused = Counter.builder(MetricNames.LISTENER_REFUSED).tag(MetricNames.TAG_LISTENER, listener)
        .description("Connections closed on accept because the listener was at max_connections").register(meters);
    headerTimeouts = Counter.builder(MetricNames.LISTENER_HEADER_TIMEOUTS).tag(MetricNames.TAG_LISTENER, listener)
        .description("Connections closed because a request head did not arrive within header_timeout").register(meters);
  }

  /** The node's guard of {@code listener}, made by whichever verticle instance asks first. */
  public static ListenerGuard of(Vertx vertx, MeterRegistry meters, String listener, ListenerLimits limits) {
    return vertx.sharedData().<String, ListenerGuard>getLocalMap(GUARDS)
        .computeIfAbsent(listener, name -> new ListenerGuard(name, limits, meters));
  }

  /**
   * For the server's connection handler: true when the connection is admitted (and now carries the head deadline),
   * false when it was over the cap and is being closed.
   */
  public boolean admit(HttpConnection connection) {
    if (!(connection instanceof VertxConnection vertxConnection)) {
      return true; // not a Netty-backed HTTP/1 connection (Vert.x internals changed): unguarded rather than broken
    }
    Channel channel = vertxConnection.channel();
    if (open.incrementAndGet() > maxConnections) {
      open.decrementAndGet();
      refused.increment();
      LOG.debug("{} listener at max_connections ({}): closing the connection from {}", listener, maxConnections,
          channel.remoteAddress());
      channel.close();
      return false;
    }
    channel.closeFuture().addListener(closed -> open.decrementAndGet());
    HeadDeadline.install(channel.pipeline(), headerTimeoutNanos, headerTimeouts::increment);
    return true;
  }

  /** Open connections now. */
  public int open() {
    return open.get();
  }
}
