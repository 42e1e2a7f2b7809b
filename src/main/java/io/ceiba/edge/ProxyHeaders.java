package io.ceiba.edge;

import io.ceiba.cluster.Peers;
import io.ceiba.edge.http.ConnectionTokens;
import io.ceiba.edge.http.HeaderNames;
import io.ceiba.edge.http.RequestHead;
import io.ceiba.edge.http.RequestHygiene;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;

/** Header rules of a reverse proxy: hop-by-hop headers stay on their hop (RFC 9110 7.6.1). */
final class ProxyHeaders {

  static final CharSequence X_REQUEST_ID = HttpHeaders.createOptimized("x-request-id");
  static final CharSequence X_CEIBA_NODE = HttpHeaders.createOptimized("x-ceiba-node");
  static final CharSequence X_CEIBA_CACHE = HttpHeaders.createOptimized("x-ceiba-cache");
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
  /** A charged request's credit balance after the charge. */
  static final CharSequence CREDITS_REMAINING = HttpHeaders.createOptimized("x-credits-remaining");
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
    /** An upstream answer's {@code RateLimit-*} and {@code X-Credits-Remaining}: the edge reports what it counted. */
    RATE_LIMIT;

    /** Runs for every header copied. */
    boolean matches(String name) {
      return switch (this) {
        case NOTHING -> false;
        case API_KEY -> is(name, X_API_KEY);
        case API_KEY_AND_AUTHORIZATION -> is(name, X_API_KEY) || is(name, HttpHeaders.AUTHORIZATION);
        case RATE_LIMIT -> is(name, RATELIMIT_LIMIT) || is(name, RATELIMIT_REMAINING) || is(name, RATELIMIT_RESET)
            || is(name, CREDITS_REMAINING);
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
    // parsed once per message: a check per header is then a few comparisons, not a new split of Connection
    ConnectionTokens connection = ConnectionTokens.of(from);
    for (var entry : from) {
      String name = entry.getKey();
      if (isHopByHop(name) || isCeibaHeader(name) || drop.matches(name) || connection.names(name)) {
        continue;
      }
      to.add(name, entry.getValue());
    }
  }

  /**
   * Copies a client's request headers for its origin: as {@link #copyEndToEnd}, with {@code Connection} as
   * {@link RequestHygiene} parsed it, and also without the headers the edge sets itself — {@code Host},
   * {@code X-Forwarded-*}, {@code X-Real-IP}, {@code Forwarded}, {@code X-Request-Id} — nor any underscore
   * spelling of a header the edge owns ({@code X_Ceiba_Project}: CGI-style origins read it as
   * {@code X-Ceiba-Project}). {@link #setForwarded} then adds the edge's own.
   */
  static void copyRequest(MultiMap from, MultiMap to, Drop drop, RequestHead head) {
    ConnectionTokens connection = head.connection();
    for (var entry : from) {
      String name = entry.getKey();
      if (isHopByHop(name) || isCeibaHeader(name) || drop.matches(name) || isSetByEdge(name)
          || HeaderNames.isEdgeOwnedAlias(name) || connection.names(name)) {
        continue;
      }
      to.add(name, entry.getValue());
    }
  }

  /** Headers {@link #setForwarded} writes: a client's copies never pass as they are. */
  private static boolean isSetByEdge(String name) {
    return switch (name.length()) {
      case 4 -> name.equalsIgnoreCase("host");
      case 9 -> name.equalsIgnoreCase("x-real-ip") || name.equalsIgnoreCase("forwarded");
      case 12 -> name.equalsIgnoreCase("x-request-id");
      default -> name.length() > 12 && name.regionMatches(true, 0, "x-forwarded-", 0, 12);
    };
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

  /**
   * Sets what the edge says about a request: the one {@code Host} (the client's, or its absolute-form target's
   * authority), the forwarding headers (see {@link Forwarding}) and {@code X-Request-Id}.
   */
  static void setForwarded(MultiMap headers, RequestHead head, String requestId) {
    headers.set(HttpHeaders.HOST, head.hostHeader());
    head.forwarding().writeTo(headers);
    headers.set(X_REQUEST_ID, requestId);
  }

  /** An HTTP/1.1 upgrade request, e.g. to WebSocket: {@code Connection: upgrade} plus {@code Upgrade}. */
  static boolean isUpgrade(MultiMap headers) {
    return headers.contains(HttpHeaders.UPGRADE) && ConnectionTokens.of(headers).upgrade();
  }
}
