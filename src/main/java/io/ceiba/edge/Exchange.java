package io.ceiba.edge;

import io.ceiba.access.Decision;
import io.ceiba.edge.cache.CacheFill;
import io.ceiba.edge.cache.EdgeCache;
import io.ceiba.edge.http.RequestHead;
import io.ceiba.edge.lb.ServiceBalancer;
import io.ceiba.registry.Backend;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Route;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

/**
 * One request on its way through the edge, from its head to its end in {@link ExchangeEnd}: an HTTP request, or a
 * WebSocket upgrade up to its {@code 101}. What the steps learn is written here for the next steps and the end.
 * Touched only on the event loop of the edge instance that received it.
 *
 * <p>It is also the response's close handler: a client that goes before the end is {@link ExchangeEnd#clientGone}.
 */
final class Exchange implements Handler<Void> {

  final HttpServerRequest request;
  final HttpServerResponse response;
  final long startNanos;
  /** The registry version this exchange started on, kept to its end, retries included. */
  final EdgeSnapshot snapshot;
  private final ExchangeEnd end;

  String requestId;
  /** The request id was made here, not taken from the client. */
  boolean requestIdIsOurs;
  /**
   * What {@link io.ceiba.edge.http.RequestHygiene} made of the head (authority, origin-form target, the client's
   * address, forwarding headers): what every later step uses. Null only for a head refused in {@link FramingStep}.
   */
  RequestHead head;
  /** The declared {@code Content-Length}, or -1 when none was sent. */
  long declaredLength = -1;
  boolean hasBody;
  /** The request is paused (its body, or an upgrade not yet accepted): it must flow again when the exchange ends early. */
  boolean held;
  /** A WebSocket upgrade: relayed as frames once the backend accepted it. */
  boolean upgrade;
  /** The client sent {@code Expect}; with {@code 100-continue} and a body it waits for {@link #continued}. */
  boolean expect;
  boolean expectContinue;
  /** {@code 100 Continue} was sent: the client sends its body. */
  boolean continued;
  /** The response has no length the client can see (HTTP/1.0 with a streamed body): the connection closes after it. */
  boolean closeAfter;
  /** Relayed here by another node's edge, for a backend on this node. */
  boolean relayed;
  /** A relayed health check of another node: not traffic, so not counted. */
  boolean probe;

  /**
   * Tells the client this connection ends after the response: {@code Connection: close} on HTTP/1.x. HTTP/2 has no
   * such header (a connection-specific field is malformed there, RFC 9113 §8.2.2); its stream simply ends.
   */
  void closeConnectionAfter() {
    if (request.version() != HttpVersion.HTTP_2) {
      response.putHeader(HttpHeaders.CONNECTION, "close");
    }
  }

  EdgeSnapshot.ServiceRoute route;
  /** The service, or for a service with routes the matched route's view of it ({@link Route#service()}). */
  HttpService service;
  /** The route of the service that took the request; null when the service has no routes (or for a relay). */
  Route matched;
  /** The normalised target that goes upstream, when the service has routes; else null (the head's target goes). */
  String target;

  /** The request target in origin-form as it goes upstream. */
  String target() {
    return target != null ? target : head.target();
  }
  /** The API key came in {@code Authorization: Bearer}, which is then not passed upstream. */
  boolean keyInAuthorization;
  Decision decision;

  /** Set when the service is cached and the request may be stored (a miss, or a refresh). */
  EdgeCache.Key cacheKey;
  /** The copy of the upstream answer being kept for the cache, dropped when it cannot be stored. */
  CacheFill fill;

  ServiceBalancer balancer;
  Backend backend;
  int backendIndex = -1;
  int attempt;
  /** Some of the request body went upstream: it cannot be sent again. */
  boolean bodySent;
  /** Sent through the backend's node's edge. */
  boolean viaPeer;
  /** The request upstream once a connection took it: reset when the exchange ends early. */
  HttpClientRequest upstream;
  long upstreamStart;

  long bytesIn;
  long bytesOut;
  boolean done;

  Exchange(HttpServerRequest request, long startNanos, EdgeSnapshot snapshot, ExchangeEnd end) {
    this.request = request;
    this.response = request.response();
    this.startNanos = startNanos;
    this.snapshot = snapshot;
    this.end = end;
  }

  /** The client's connection closed: whatever stage this exchange is at, it ends here. */
  @Override
  public void handle(Void closed) {
    end.clientGone(this);
  }
}
