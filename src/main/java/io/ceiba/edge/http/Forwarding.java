package io.ceiba.edge.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.SocketAddress;
import java.util.List;

/**
 * Who the client of a request is, and the forwarding headers its origin gets.
 *
 * @param client       the client's address: the connection's far end, or from a trusted proxy the address its
 *                     headers name; what per-IP limits count and the access log shows
 * @param forwardedFor {@code X-Forwarded-For} upstream: the connection's peer, after a trusted proxy's list
 * @param proto        {@code X-Forwarded-Proto} upstream
 * @param host         {@code X-Forwarded-Host} upstream
 * @param realIp       a trusted proxy's {@code X-Real-IP} lines, passed on; empty otherwise
 * @param forwarded    a trusted proxy's {@code Forwarded} lines, passed on; empty otherwise
 */
public record Forwarding(SocketAddress client, String forwardedFor, String proto, String host, List<String> realIp,
    List<String> forwarded) {

  static final CharSequence X_FORWARDED_FOR = HttpHeaders.createOptimized("x-forwarded-for");
  static final CharSequence X_FORWARDED_PROTO = HttpHeaders.createOptimized("x-forwarded-proto");
  static final CharSequence X_FORWARDED_HOST = HttpHeaders.createOptimized("x-forwarded-host");
  static final CharSequence X_REAL_IP = HttpHeaders.createOptimized("x-real-ip");
  static final CharSequence FORWARDED = HttpHeaders.createOptimized("forwarded");

  /** The client's address as text, {@code -} when unknown. */
  public String clientIp() {
    return client == null ? "-" : client.hostAddress();
  }

  /** Sets the forwarding headers on an upstream request whose copy left every client-sent one out. */
  public void writeTo(MultiMap headers) {
    headers.set(X_FORWARDED_FOR, forwardedFor);
    headers.set(X_FORWARDED_PROTO, proto);
    headers.set(X_FORWARDED_HOST, host);
    for (String value : realIp) {
      headers.add(X_REAL_IP, value);
    }
    for (String value : forwarded) {
      headers.add(FORWARDED, value);
    }
  }
}
