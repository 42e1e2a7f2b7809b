package io.ceiba.edge;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.Locale;
import java.util.Set;

/** Header rules of a reverse proxy: hop-by-hop headers stay on their hop (RFC 9110 7.6.1). */
final class ProxyHeaders {

  static final CharSequence X_REQUEST_ID = HttpHeaders.createOptimized("x-request-id");
  static final CharSequence X_CEIBA_NODE = HttpHeaders.createOptimized("x-ceiba-node");
  static final CharSequence X_FORWARDED_FOR = HttpHeaders.createOptimized("x-forwarded-for");
  static final CharSequence X_FORWARDED_PROTO = HttpHeaders.createOptimized("x-forwarded-proto");
  static final CharSequence X_FORWARDED_HOST = HttpHeaders.createOptimized("x-forwarded-host");

  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
      "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization");

  private ProxyHeaders() {
  }

  static boolean isHopByHop(String name) {
    return HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT));
  }

  /**
   * Copies end-to-end headers from {@code from} to {@code to}: hop-by-hop ones and any named in
   * {@code Connection} are dropped.
   */
  static void copyEndToEnd(MultiMap from, MultiMap to) {
    String connection = from.get(HttpHeaders.CONNECTION);
    for (var entry : from) {
      String name = entry.getKey();
      if (isHopByHop(name) || (connection != null && listed(connection, name))) {
        continue;
      }
      to.add(name, entry.getValue());
    }
  }

  private static boolean listed(String connectionHeader, String name) {
    for (String token : connectionHeader.split(",")) {
      if (token.trim().equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /** An HTTP/1.1 upgrade request, e.g. to WebSocket: {@code Connection: upgrade} plus {@code Upgrade}. */
  static boolean isUpgrade(MultiMap headers) {
    String connection = headers.get(HttpHeaders.CONNECTION);
    return connection != null && headers.contains(HttpHeaders.UPGRADE) && listed(connection, "upgrade");
  }
}
