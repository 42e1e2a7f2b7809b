package io.ceiba.edge;

import io.ceiba.cluster.Peers;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;

/** Header rules of a reverse proxy: hop-by-hop headers stay on their hop (RFC 9110 7.6.1). */
final class ProxyHeaders {

  static final CharSequence X_REQUEST_ID = HttpHeaders.createOptimized("x-request-id");
  static final CharSequence X_CEIBA_NODE = HttpHeaders.createOptimized("x-ceiba-node");
  static final CharSequence X_CEIBA_CACHE = HttpHeaders.createOptimized("x-ceiba-cache");
  static final CharSequence X_FORWARDED_FOR = HttpHeaders.createOptimized("x-forwarded-for");
  static final CharSequence X_FORWARDED_PROTO = HttpHeaders.createOptimized("x-forwarded-proto");
  static final CharSequence X_FORWARDED_HOST = HttpHeaders.createOptimized("x-forwarded-host");
  static final CharSequence X_API_KEY = HttpHeaders.createOptimized("x-api-key");
  static final CharSequence X_CEIBA_PROJECT = HttpHeaders.createOptimized("x-ceiba-project");
  static final CharSequence X_CEIBA_PLAN = HttpHeaders.createOptimized("x-ceiba-plan");
  static final CharSequence X_CEIBA_KEY_ID = HttpHeaders.createOptimized("x-ceiba-key-id");
  static final CharSequence X_CEIBA_AUTH = HttpHeaders.createOptimized("x-ceiba-auth");
  /** On a relay's 502: the backend refused the connection, so the relaying edge may try another one. */
  static final CharSequence X_CEIBA_RELAY_FAILED = HttpHeaders.createOptimized("x-ceiba-relay-failed");
  static final CharSequence RATELIMIT_LIMIT = HttpHeaders.createOptimized("ratelimit-limit");
  static final CharSequence RATELIMIT_REMAINING = HttpHeaders.createOptimized("ratelimit-remaining");
  static final CharSequence RATELIMIT_RESET = HttpHeaders.createOptimized("ratelimit-reset");
  static final CharSequence RETRY_AFTER = HttpHeaders.createOptimized("retry-after");

  private ProxyHeaders() {
  }

  /** Case-insensitive without allocating: this runs for every header of every request and response. */
  static boolean isHopByHop(String name) {
    return switch (name.length()) {
      case 2 -> name.equalsIgnoreCase("te");
      case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
      case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
      case 16 -> name.equalsIgnoreCase("proxy-connection");
      case 17 -> name.equalsIgnoreCase("transfer-encoding");
      case 18 -> name.equalsIgnoreCase("proxy-authenticate");
      case 19 -> name.equalsIgnoreCase("proxy-authorization");
      default -> false;
    };
  }

  /** {@code X-Ceiba-*} headers are Ceiba's own: one arriving from outside could forge a project or a node. */
  static boolean isCeibaHeader(String name) {
    return name.length() > 8 && name.regionMatches(true, 0, "x-ceiba-", 0, 8);
  }

  /** Headers a copy leaves out besides the hop-by-hop and {@code X-Ceiba-*} ones, because the edge answers for them. */
  enum Drop {
    NOTHING,
    /** A keyed request's key: it never goes upstream. */
    API_KEY,
    /** A key sent as {@code Authorization: Bearer}, and any {@code X-API-Key} beside it. */
    API_KEY_AND_AUTHORIZATION,
    /** An upstream answer's {@code RateLimit-*}: the edge reports the limit it counted. */
    RATE_LIMIT;

    /** Runs for every header copied. */
    boolean matches(String name) {
      return switch (this) {
        case NOTHING -> false;
        case API_KEY -> is(name, X_API_KEY);
        case API_KEY_AND_AUTHORIZATION -> is(name, X_API_KEY) || is(name, HttpHeaders.AUTHORIZATION);
        case RATE_LIMIT -> is(name, RATELIMIT_LIMIT) || is(name, RATELIMIT_REMAINING) || is(name, RATELIMIT_RESET);
      };
    }

    /** Case-insensitive without allocating; most names differ in length and fail at once. */
    private static boolean is(String name, CharSequence header) {
      return name.length() == header.length() && AsciiString.contentEqualsIgnoreCase(name, header);
    }
  }

  /**
   * Copies end-to-end headers from {@code from} to {@code to}: hop-by-hop ones, any named in
   * {@code Connection} and {@code X-Ceiba-*} ones are dropped.
   */
  static void copyEndToEnd(MultiMap from, MultiMap to) {
    copyEndToEnd(from, to, Drop.NOTHING);
  }

  /** As {@link #copyEndToEnd(MultiMap, MultiMap)}, leaving out what {@code drop} names as well. */
  static void copyEndToEnd(MultiMap from, MultiMap to, Drop drop) {
    String connection = from.get(HttpHeaders.CONNECTION);
    if (connection != null && namesNoHeader(connection)) {
      connection = null; // the usual "keep-alive" / "close": nothing beyond the hop-by-hop set to drop
    }
    for (var entry : from) {
      String name = entry.getKey();
      if (isHopByHop(name) || isCeibaHeader(name) || drop.matches(name) || (connection != null && listed(connection, name))) {
        continue;
      }
      to.add(name, entry.getValue());
    }
  }

  /**
   * Copies a request relayed by a peer edge: as {@link #copyEndToEnd}, but the {@code X-Ceiba-*} identity headers
   * the peer set (project, plan, key id, auth) pass on, and only the relay's own headers stay here.
   */
  static void copyRelayed(MultiMap from, MultiMap to) {
    for (var entry : from) {
      String name = entry.getKey();
      if (isHopByHop(name) || (isCeibaHeader(name) && isRelayHeader(name))) {
        continue;
      }
      to.add(name, entry.getValue());
    }
  }

  private static boolean isRelayHeader(String name) {
    return AsciiString.contentEqualsIgnoreCase(name, Peers.PEER_HEADER) || AsciiString.contentEqualsIgnoreCase(name, Peers.SERVICE_HEADER)
        || AsciiString.contentEqualsIgnoreCase(name, Peers.BACKEND_HEADER) || AsciiString.contentEqualsIgnoreCase(name, Peers.PROBE_HEADER)
        || AsciiString.contentEqualsIgnoreCase(name, X_CEIBA_NODE);
  }

  /** A {@code Content-Length} value, or -1 when it is not a non-negative number. */
  static long contentLength(String value) {
    try {
      return Math.max(-1, Long.parseLong(value.trim()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static boolean namesNoHeader(String connection) {
    return connection.equalsIgnoreCase("keep-alive") || connection.equalsIgnoreCase("close") || connection.equalsIgnoreCase("upgrade");
  }

  private static boolean listed(String connectionHeader, String name) {
    for (String token : connectionHeader.split(",")) {
      if (token.trim().equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /** Sets {@code X-Forwarded-For/Proto/Host} (appending to a client-sent For) and {@code X-Request-Id}. */
  static void setForwarded(MultiMap headers, SocketAddress client, boolean ssl, HostAndPort authority, String requestId) {
    String clientIp = client == null ? "" : client.hostAddress();
    String priorFor = headers.get(X_FORWARDED_FOR);
    headers.set(X_FORWARDED_FOR, priorFor == null ? clientIp : priorFor + ", " + clientIp);
    headers.set(X_FORWARDED_PROTO, ssl ? "https" : "http");
    headers.set(X_FORWARDED_HOST, authority.toString());
    headers.set(X_REQUEST_ID, requestId);
  }

  /** An HTTP/1.1 upgrade request, e.g. to WebSocket: {@code Connection: upgrade} plus {@code Upgrade}. */
  static boolean isUpgrade(MultiMap headers) {
    String connection = headers.get(HttpHeaders.CONNECTION);
    return connection != null && headers.contains(HttpHeaders.UPGRADE) && listed(connection, "upgrade");
  }
}
