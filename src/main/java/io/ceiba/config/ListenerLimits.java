package io.ceiba.config;

import java.time.Duration;

/**
 * What one HTTP listener (the edge's, the control server's) allows a client connection.
 *
 * @param headerTimeout  a request head must arrive whole within this long of its first byte, or the connection is
 *                       closed (a client sending a header byte a second never trips the idle timeout)
 * @param maxConnections open connections at most; one more is closed at once and counted
 */
public record ListenerLimits(Duration headerTimeout, int maxConnections) {

  public static final int MAX_CONNECTIONS_LIMIT = 1_000_000;
}
