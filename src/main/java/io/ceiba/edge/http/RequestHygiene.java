package io.ceiba.edge.http;

import io.ceiba.error.ErrorCode;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import java.util.List;

/**
 * The first step of every request and WebSocket handshake, before routing: refuses heads an origin could read
 * otherwise than the edge does (framing, {@code Connection} naming framing headers, duplicate {@code Host},
 * targets other than a path or an http(s) URL), bounds the work a head can ask for, and settles the authority,
 * the origin-form target and the client's address. Work is linear in the size of the head, which the HTTP
 * decoder already bounds ({@code edge.max_header_size}).
 */
public final class RequestHygiene {

  /** Header lines per request; Apache's default is 100, browsers send 10–30. */
  public static final int MAX_HEADER_FIELDS = 256;

  private final TrustedProxies trusted;

  public RequestHygiene(TrustedProxies trusted) {
    this.trusted = trusted;
  }

  /** The outcome: exactly one of {@code head} and {@code refusal} is set. */
  public record Verdict(RequestHead head, Refusal refusal) {
    static Verdict refuse(ErrorCode code, String message) {
      return new Verdict(null, new Refusal(code, message));
    }
  }

  public Verdict inspect(MultiMap headers, HttpMethod method, String uri, HttpVersion version, SocketAddress peer, boolean ssl) {
    return inspect(headers, method, uri, version, peer, ssl, null);
  }

  /**
   * @param pseudoAuthority an HTTP/2 request's {@code :authority} (the Host of HTTP/2, RFC 9113 §8.3.1), used when it
   *                        carries no {@code Host} field; null for HTTP/1.x
   */
  public Verdict inspect(MultiMap headers, HttpMethod method, String uri, HttpVersion version, SocketAddress peer, boolean ssl,
      HostAndPort pseudoAuthority) {
    int fields = 0;
    for (var header : headers) {
      if (++fields > MAX_HEADER_FIELDS) {
        return Verdict.refuse(ErrorCode.HEADERS_TOO_LARGE, "more than " + MAX_HEADER_FIELDS + " header fields");
      }
      // the decoder lets an empty name through (": x"), which an origin's parser may read as anything
      if (!HeaderNames.isToken(header.getKey()) || !HeaderNames.isFieldValue(header.getValue())) {
        return Verdict.refuse(ErrorCode.BAD_REQUEST, "malformed header field");
      }
    }
    String framing = MessageFraming.problem(headers, version);
    if (framing != null) {
      return Verdict.refuse(ErrorCode.BAD_REQUEST, framing);
    }
    ConnectionTokens connection = ConnectionTokens.of(headers);
    if (connection.problem() != null) {
      return Verdict.refuse(ErrorCode.BAD_REQUEST, connection.problem());
    }
    List<String> hosts = headers.getAll(HttpHeaders.HOST);
    if (hosts.size() > 1) {
      return Verdict.refuse(ErrorCode.BAD_REQUEST, "more than one Host header"); // RFC 9112 §3.2
    }
    RequestTarget target = RequestTarget.of(method, uri);
    if (target == null) {
      return Verdict.refuse(ErrorCode.BAD_REQUEST, RequestTarget.problem(method, uri));
    }
    // an absolute-form target's authority wins over Host (RFC 9112 §3.2.2)
    String hostHeader = target.authority() != null ? target.authority() : !hosts.isEmpty() ? hosts.get(0).trim()
        : pseudoAuthority == null ? null : pseudoAuthority.host() + (pseudoAuthority.port() >= 0 ? ":" + pseudoAuthority.port() : "");
    if (hostHeader == null || hostHeader.isEmpty()) {
      return Verdict.refuse(ErrorCode.BAD_REQUEST, "missing Host header");
    }
    HostAndPort authority = HostAndPort.parseAuthority(hostHeader, -1);
    if (authority == null || authority.host().isEmpty()) {
      return Verdict.refuse(ErrorCode.BAD_REQUEST, "invalid Host header");
    }
    Forwarding forwarding = ForwardedHeaders.resolve(headers, peer, ssl, hostHeader, trusted);
    return new Verdict(new RequestHead(authority, hostHeader, target.originForm(), connection, forwarding), null);
  }
}
