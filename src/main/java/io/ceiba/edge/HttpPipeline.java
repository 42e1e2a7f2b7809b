package io.ceiba.edge;

import io.ceiba.cluster.Peers;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The order of the steps every request goes through, WebSocket upgrades included: framing, route, middlewares,
 * access, then cache and forward (or the WebSocket relay); every step that answers ends the exchange in
 * {@link ExchangeEnd}. Plain method calls: only the access decision (a key lookup) and upstream I/O are waited for.
 */
final class HttpPipeline implements AccessStep.Next {

  /** Set once the node drains: how long a connection may take to finish its last exchange. */
  private Duration drainGrace;
  /** The registry version new exchanges start on; an exchange keeps its own to its end. */
  private EdgeSnapshot snapshot = EdgeSnapshot.EMPTY;
  private final Peers peers;
  private final FramingStep framing;
  private final RouteStep route;
  private final AcmeChallengeStep acme;
  private final MiddlewareStep middlewares;
  private final AccessStep access;
  private final CacheStep cache;
  private final ForwardStep forward;
  private final WebSocketStep webSocket;

  HttpPipeline(Peers peers, FramingStep framing, RouteStep route, AcmeChallengeStep acme, MiddlewareStep middlewares,
      AccessStep access, CacheStep cache, ForwardStep forward, WebSocketStep webSocket) {
    this.peers = peers;
    this.framing = framing;
    this.route = route;
    this.acme = acme;
    this.middlewares = middlewares;
    this.access = access;
    this.cache = cache;
    this.forward = forward;
    this.webSocket = webSocket;
  }

  /** A registry version was applied: exchanges from now on start on it. */
  void use(EdgeSnapshot next) {
    snapshot = next;
  }

  /**
   * The node stops: from now on every answer says {@code Connection: close} and its connection closes after it
   * (a WebSocket upgrade keeps its connection), so keep-alive clients reconnect elsewhere instead of meeting a
   * closed socket when the listener goes.
   */
  void drain(Duration grace) {
    drainGrace = grace;
  }

  /** The listeners' request handler. */
  void handle(HttpServerRequest request) {
    if (drainGrace != null && !isUpgrade(request)) {
      lastOnItsConnection(request, drainGrace);
    }
    Exchange ex = framing.open(request, snapshot);
    if (ex == null || !framing.check(ex)) {
      return;
    }
    if (peers.isRelay(request.headers())) {
      if (route.relayed(ex)) {
        framing.holdBody(ex);
        if (ex.upgrade) {
          webSocket.start(ex);
        } else {
          forward.to(ex, ex.backendIndex);
        }
      }
      return;
    }
    if (!route.byHost(ex) || acme.answered(ex) || !route.byPath(ex) || !framing.fits(ex) || !middlewares.apply(ex)) {
      return;
    }
    framing.holdBody(ex);
    access.decide(ex, this);
  }

  private static boolean isUpgrade(HttpServerRequest request) {
    return request.headers().contains(HttpHeaders.UPGRADE);
  }

  /**
   * {@code Connection: close} on the answer, whatever step writes it, and the connection shut down: Vert.x closes it
   * once this response is complete (at the latest after {@code grace}) and reads no request after this one.
   */
  private static void lastOnItsConnection(HttpServerRequest request, Duration grace) {
    HttpServerResponse response = request.response();
    if (request.version() != HttpVersion.HTTP_2) {
      // HTTP/2 says it with the GOAWAY the shutdown sends; a Connection field is malformed there
      response.headersEndHandler(v -> response.headers().set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE));
    }
    request.connection().shutdown(grace.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The listeners' handler of requests the HTTP codec refused. */
  void invalid(HttpServerRequest request) {
    framing.invalid(request, snapshot);
  }

  @Override
  public void admitted(Exchange ex) {
    framing.admitted(ex);
    if (ex.upgrade) {
      webSocket.start(ex);
    } else if (!cache.served(ex)) {
      forward.start(ex);
    }
  }
}
