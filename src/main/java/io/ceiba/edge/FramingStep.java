package io.ceiba.edge;

import io.ceiba.edge.http.Refusal;
import io.ceiba.edge.http.RequestHygiene;
import io.ceiba.error.ErrorCode;
import io.netty.handler.codec.TooLongFrameException;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import java.util.HashSet;
import java.util.Set;

/**
 * The first step: what the bytes of a request say before it is routed. Opens the exchange (request id, the
 * headers every answer carries), has {@link RequestHygiene} inspect the head — framing, {@code Connection},
 * {@code Host}, target, the client's address — and refuses what it refuses (never serving what is pipelined
 * behind it), holds the body until a backend takes it, and answers {@code Expect: 100-continue} once the request
 * is admitted. Also ends the requests the HTTP codec refused outright.
 */
final class FramingStep {

  private final String nodeId;
  private final int maxHeaderSize;
  private final RequestHygiene hygiene;
  private final ExchangeEnd end;
  /** Connections that sent a request with ambiguous framing: closing, and nothing after it is served. */
  private final Set<HttpConnection> doomed = new HashSet<>();

  FramingStep(String nodeId, int maxHeaderSize, RequestHygiene hygiene, ExchangeEnd end) {
    this.nodeId = nodeId;
    this.maxHeaderSize = maxHeaderSize;
    this.hygiene = hygiene;
    this.end = end;
  }

  /** @return the new exchange, or null when the request came on a doomed connection and is not served at all */
  Exchange open(HttpServerRequest request, EdgeSnapshot snapshot) {
    if (!doomed.isEmpty() && doomed.contains(request.connection())) {
      // pipelined behind a request refused for its framing: its bytes cannot be trusted, nothing more is served
      return null;
    }
    Exchange ex = new Exchange(request, System.nanoTime(), snapshot, end);
    String requestId = RequestIds.fromClient(request.getHeader(ProxyHeaders.X_REQUEST_ID));
    if (requestId == null) {
      requestId = RequestIds.next();
      ex.requestIdIsOurs = true;
    }
    ex.requestId = requestId;
    ex.response.putHeader(ProxyHeaders.X_CEIBA_NODE, nodeId).putHeader(ProxyHeaders.X_REQUEST_ID, requestId);
    ex.response.closeHandler(ex);
    MultiMap headers = request.headers();
    ex.upgrade = headers.contains(HttpHeaders.UPGRADE) && request.canUpgradeToWebSocket();
    return ex;
  }

  /**
   * Inspects the head before anything else, WebSocket upgrades included: what {@link RequestHygiene} refuses
   * (ambiguous framing, {@code Connection} naming framing or routing headers, duplicate {@code Host}, targets the
   * edge does not route, too many fields) ends here; what it accepts is the exchange's {@link Exchange#head}.
   *
   * @return false when the exchange was ended here
   */
  boolean check(Exchange ex) {
    HttpServerRequest request = ex.request;
    RequestHygiene.Verdict verdict = hygiene.inspect(request.headers(), request.method(), request.uri(), request.version(),
        request.remoteAddress(), request.isSSL(), request.version() == HttpVersion.HTTP_2 ? request.authority() : null);
    if (verdict.refusal() != null) {
      refuse(ex, verdict.refusal());
      return false;
    }
    ex.head = verdict.head();
    // one Content-Length of plain digits at most, as the hygiene checked
    String length = request.headers().get(HttpHeaders.CONTENT_LENGTH);
    ex.declaredLength = length == null ? -1 : ProxyHeaders.contentLength(length);
    return true;
  }

  /**
   * Refuses a head and never uses its connection again, not even for requests already pipelined behind it: after a
   * head the edge would not forward, the bytes that follow cannot be trusted to start a request.
   */
  private void refuse(Exchange ex, Refusal refusal) {
    HttpConnection connection = ex.request.connection();
    doomed.add(connection);
    connection.closeHandler(v -> doomed.remove(connection));
    ex.closeConnectionAfter();
    end.fail(ex, refusal.code(), refusal.message());
    connection.close();
  }

  /** Refuses a declared body larger than the service takes, before any of it is read. */
  boolean fits(Exchange ex) {
    long max = ex.service.maxBodyBytes();
    if (ex.declaredLength > max) {
      ex.closeConnectionAfter();
      end.fail(ex, ErrorCode.BODY_TOO_LARGE, "request body larger than " + max + " bytes");
      return false;
    }
    return true;
  }

  /**
   * Holds the body (and an upgrade's connection) until access is decided and a backend connected, so a refused
   * connection can be retried and an upgrade accepted later.
   */
  void holdBody(Exchange ex) {
    HttpServerRequest request = ex.request;
    // HTTP/2 frames its body itself (no Transfer-Encoding): a stream not ended with its head has one
    ex.hasBody = ex.declaredLength >= 0 ? ex.declaredLength > 0
        : request.version() == HttpVersion.HTTP_2 ? !request.isEnded() : request.headers().contains(HttpHeaders.TRANSFER_ENCODING);
    String expect = request.getHeader(HttpHeaders.EXPECT);
    if (expect != null) {
      ex.expect = true;
      ex.expectContinue = ex.hasBody && expect.equalsIgnoreCase("100-continue") && request.version() != HttpVersion.HTTP_1_0;
    }
    if (ex.hasBody || ex.upgrade) {
      ex.held = true;
      request.pause();
    }
  }

  /** Admitted: a client waiting for {@code 100 Continue} gets it now and sends its body (held until a backend takes it). */
  void admitted(Exchange ex) {
    if (ex.expectContinue && !ex.continued) {
      ex.continued = true;
      ex.response.writeContinue();
    }
  }

  /** Requests the HTTP codec refused: head too large, bad request line, malformed headers. */
  void invalid(HttpServerRequest request, EdgeSnapshot snapshot) {
    Throwable cause = request.decoderResult().cause();
    ErrorCode code = ErrorCode.BAD_REQUEST;
    String message = "malformed request";
    if (cause instanceof TooLongFrameException) {
      boolean line = cause.getMessage() != null && cause.getMessage().contains("line");
      code = line ? ErrorCode.BAD_REQUEST : ErrorCode.HEADERS_TOO_LARGE;
      message = line ? "request line too long" : "request headers larger than " + maxHeaderSize + " bytes";
    }
    Exchange ex = new Exchange(request, System.nanoTime(), snapshot, end);
    ex.requestId = RequestIds.next();
    ex.requestIdIsOurs = true;
    ex.response.putHeader(ProxyHeaders.X_CEIBA_NODE, nodeId);
    ex.closeConnectionAfter();
    end.fail(ex, code, message).onComplete(ar -> request.connection().close());
  }
}
