package io.ceiba.config;

import java.time.Duration;
import java.util.List;

/**
 * The public HTTP listener.
 *
 * @param advertise     how peers reach this edge, e.g. {@code http://10.0.0.5:8080}
 * @param maxHeaderSize largest request head (all header lines) accepted; {@code 431} beyond
 * @param idleTimeout   a client connection with no traffic for this long is closed
 * @param listener      head deadline and connection cap of the edge's listeners (plain and TLS share the cap)
 * @param accessLog     one log line per request (logger {@code ceiba.access})
 * @param tls           TLS termination, or null for plain HTTP only
 * @param trustedProxies peers whose {@code X-Forwarded-*}, {@code X-Real-IP} and {@code Forwarded} headers are believed
 *                      (and name the client for per-IP limits and the access log); from anyone else they are replaced.
 *                      Empty by default: every client is the far end of its own connection
 */
public record EdgeConfig(String host, int port, String advertise, int maxHeaderSize, Duration idleTimeout, ListenerLimits listener,
    boolean accessLog, TlsConfig tls, List<Cidr> trustedProxies) {

  public EdgeConfig {
    trustedProxies = List.copyOf(trustedProxies);
  }

  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
  public static final int DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
  public static final boolean DEFAULT_ACCESS_LOG = true;
  public static final ListenerLimits DEFAULT_LISTENER = new ListenerLimits(Duration.ofSeconds(10), 10_000);
}
