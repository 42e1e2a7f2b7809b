package io.ceiba.edge;

import io.ceiba.cluster.Peers;
import io.ceiba.error.ErrorCode;
import io.ceiba.registry.Backend;
import io.ceiba.registry.HttpService;
import io.vertx.core.AsyncResult;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.net.ConnectException;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * Sends an admitted request to a backend of its snapshot's balancer (directly, or through the edge of the backend's
 * node, when that node is in the view and serving), streams the body up, and hands the response head to
 * {@link StreamStep}. Nothing reached the backend when a connection is refused: the backend is taken out and an
 * idempotent request is tried once on another. When a connection breaks after the request went out but before any
 * byte of an answer came (its node was killed, or it closed a keep-alive connection just then), the client has seen
 * nothing yet: an idempotent request without a body is tried once on another backend, anything else is answered
 * {@code 502 upstream_connection_broken}. Nothing is tried again once the response started. An exchange relayed here
 * by a peer's edge is not tried again here: its 502 says with {@code X-Ceiba-Relay-Failed} ({@code connect} or
 * {@code broken}) that nothing was answered, and the relaying edge, which decides for its client, tries another backend.
 */
final class ForwardStep {

  /** {@code X-Ceiba-Relay-Failed} on a relayed exchange's 502: the backend refused the connection. */
  static final String RELAY_CONNECT = "connect";
  /** {@code X-Ceiba-Relay-Failed} on a relayed exchange's 502: the backend's connection broke before it answered. */
  static final String RELAY_BROKEN = "broken";
  private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
      HttpMethod.PUT, HttpMethod.DELETE);

  private final Peers peers;
  private final HealthView health;
  private final ExchangeEnd end;
  private final StreamStep stream;

  ForwardStep(Peers peers, HealthView health, ExchangeEnd end, StreamStep stream) {
    this.peers = peers;
    this.health = health;
    this.end = end;
    this.stream = stream;
  }

  /** Picks a healthy backend and sends the request there. */
  void start(Exchange ex) {
    ex.balancer = ex.route.balancer();
    int index = ex.balancer.select(health, -1, b -> reachable(ex, b));
    if (index < 0) {
      end.fail(ex, ErrorCode.NO_HEALTHY_BACKEND, "no healthy backend for " + ex.service.name());
      return;
    }
    to(ex, index);
  }

  private boolean reachable(Exchange ex, Backend backend) {
    return peers.reachable(backend.node(), backend.host(), ex.relayed);
  }

  /** Sends the request to the backend at {@code index} of the exchange's balancer. */
  void to(Exchange ex, int index) {
    Backend backend = ex.balancer.backend(index);
    ex.backendIndex = index;
    ex.backend = backend;
    ex.balancer.acquire(index);
    HttpServerRequest request = ex.request;
    HttpService service = ex.service;
    Peers.Edge peer = null;
    ex.viaPeer = !ex.relayed && peers.relays(backend.node(), backend.host());
    if (ex.viaPeer) {
      peer = peers.edgeOf(backend.node());
      if (peer == null) {
        connectFailed(ex, new ConnectException("node " + backend.node() + " is not in the cluster view"));
        return;
      }
    }
    RequestOptions options = aim(new RequestOptions(), backend, peer, ex.route.tls())
        .setMethod(request.method())
        .setURI(ex.target()) // origin-form, whatever form the client sent
        .setIdleTimeout(service.timeouts().upstream().toMillis());
    // to a peer's edge it is HTTP/1.1, whatever the backend behind it speaks
    boolean h2c = peer == null && backend.h2c();
    ex.upstreamStart = System.nanoTime();
    HttpClient client = ex.route.clients().of(h2c);
    Peers.Edge via = peer;
    client.request(options).onComplete(ar -> connected(ex, ar, h2c, via));
  }

  /**
   * Points a request at the backend itself (verified as the service's {@code tls} says when it is https), or at the
   * edge of its node when {@code peer} relays it (that node verifies the backend).
   */
  static <T extends RequestOptions> T aim(T options, Backend backend, Peers.Edge peer, UpstreamTlsOptions tls) {
    if (peer != null) {
      return peer.aim(options);
    }
    if (backend.tls()) {
      return tls.aim(options, backend.host(), backend.port());
    }
    options.setHost(backend.host()).setPort(backend.port()).setSsl(false);
    return options;
  }

  private void connected(Exchange ex, AsyncResult<HttpClientRequest> ar, boolean h2c, Peers.Edge peer) {
    if (ex.done) {
      // the client went while this connected: nothing was sent, the request is dropped (its reset is expected:
      // without a handler Vert.x would log it as an error)
      if (ar.succeeded()) {
        ar.result().exceptionHandler(e -> { }).reset();
      }
      return;
    }
    if (ar.failed()) {
      connectFailed(ex, ar.cause());
      return;
    }
    HttpClientRequest upstream = ar.result();
    ex.upstream = upstream;
    // written straight into the request's own map: headers given with the options would be copied into it again
    MultiMap headers = UpstreamHeaders.of(ex, upstream.headers(), peers, peer);
    if (h2c) {
      // HTTP/2 names the target in :authority; a Host header beside it is redundant (RFC 9113 8.3.1)
      headers.remove(HttpHeaders.HOST);
      upstream.authority(ex.head.authority());
    }
    send(ex, upstream);
  }

  /** Nothing reached the backend: eject it and, for idempotent methods, try another one once. */
  void connectFailed(Exchange ex, Throwable cause) {
    if (ex.done) {
      return;
    }
    ex.balancer.release(ex.backendIndex);
    Backend failed = ex.backend;
    int failedIndex = ex.backendIndex;
    ex.backend = null;
    ex.backendIndex = -1;
    ex.upstream = null;
    health.suspect(ex.service.name(), failed.node(), failed.url(), describe(cause));
    if (retried(ex, failedIndex)) {
      return;
    }
    if (ex.relayed) {
      // nothing reached the backend: the relaying edge may try another one
      ex.response.putHeader(ProxyHeaders.X_CEIBA_RELAY_FAILED, RELAY_CONNECT);
    }
    if (tlsRefused(cause)) {
      end.fail(ex, ErrorCode.UPSTREAM_TLS_FAILED, "TLS to a backend of " + ex.service.name()
          + " failed: its certificate was refused or the handshake broke off");
      return;
    }
    end.fail(ex, ErrorCode.BAD_GATEWAY, "cannot connect to a backend of " + ex.service.name());
  }

  /** Whether the connection failed in its TLS handshake (a refused certificate, most often). */
  static boolean tlsRefused(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException) {
        return true;
      }
    }
    return false;
  }

  /**
   * Sends an exchange whose backend failed to another one, once, if it is idempotent and its body (if any) was not
   * consumed yet: RFC 9110 9.2.2 lets a client repeat such a request whether or not the first one reached the backend.
   */
  private boolean retried(Exchange ex, int failedIndex) {
    if (ex.attempt > 0 || !IDEMPOTENT.contains(ex.request.method()) || (ex.hasBody && ex.bodySent)) {
      return false;
    }
    int next = ex.balancer.select(health, failedIndex, b -> reachable(ex, b));
    if (next < 0) {
      return false;
    }
    ex.attempt++;
    to(ex, next);
    return true;
  }

  /**
   * The backend's connection broke after the request went out and before the response head came: the client has
   * received nothing, so the exchange may still go elsewhere; the backend is not taken out (a keep-alive connection
   * closed by the backend while we sent on it breaks the same way).
   */
  private void connectionBroke(Exchange ex, Throwable cause) {
    ex.balancer.release(ex.backendIndex);
    int failedIndex = ex.backendIndex;
    String where = ex.viaPeer ? "relay through " + ex.backend.node() : ex.backend.url();
    ex.backend = null;
    ex.backendIndex = -1;
    ex.upstream = null;
    if (retried(ex, failedIndex)) {
      return;
    }
    if (ex.relayed) {
      // nothing was answered: the relaying edge, which decides retries for its client, may send it elsewhere
      ex.response.putHeader(ProxyHeaders.X_CEIBA_RELAY_FAILED, RELAY_BROKEN);
    }
    end.fail(ex, ErrorCode.UPSTREAM_CONNECTION_BROKEN, "the connection to a backend of " + ex.service.name() + " (" + where
        + ") broke before it answered: " + describe(cause));
  }

  private static String describe(Throwable cause) {
    return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
  }

  private void send(Exchange ex, HttpClientRequest upstream) {
    HttpServerRequest request = ex.request;
    upstream.response().onComplete(ar -> headReceived(ex, ar));
    upstream.exceptionHandler(e -> { }); // reported through response()
    if (!ex.hasBody) {
      upstream.end();
      return;
    }
    if (ex.declaredLength < 0) {
      upstream.setChunked(true);
    }
    long max = ex.service.maxBodyBytes();
    ex.bodySent = true;
    request.handler(chunk -> {
      ex.bytesIn += chunk.length();
      if (ex.bytesIn > max) {
        request.handler(null);
        ex.closeConnectionAfter();
        end.fail(ex, ErrorCode.BODY_TOO_LARGE, "request body larger than " + max + " bytes");
        upstream.reset();
        return;
      }
      upstream.write(chunk);
      if (upstream.writeQueueFull()) {
        request.pause();
        upstream.drainHandler(v -> request.resume());
      }
    });
    request.endHandler(v -> {
      if (!ex.done) {
        upstream.end();
      }
    });
    request.exceptionHandler(e -> end.bodyBrokeOff(ex));
    request.resume();
  }

  private void headReceived(Exchange ex, AsyncResult<HttpClientResponse> ar) {
    if (ex.done) {
      if (ar.succeeded()) {
        ar.result().request().reset();
      }
      return;
    }
    if (ar.failed()) {
      upstreamFailed(ex, ar.cause());
      return;
    }
    HttpClientResponse upstream = ar.result();
    String relayFailed = ex.viaPeer && upstream.statusCode() == 502 ? upstream.headers().get(ProxyHeaders.X_CEIBA_RELAY_FAILED) : null;
    if (relayFailed != null) {
      upstream.body();
      if (RELAY_BROKEN.equals(relayFailed)) {
        // the backend's node lost its connection to it before any answer: the same as that happening here
        connectionBroke(ex, new IOException("relayed through " + ex.backend.node()
            + ": the backend's connection broke before it answered"));
      } else {
        // the backend's node could not connect to it: the same as failing to connect here
        connectFailed(ex, new ConnectException("relayed through " + ex.backend.node() + ": backend refused the connection"));
      }
      return;
    }
    stream.respond(ex, upstream);
  }

  private void upstreamFailed(Exchange ex, Throwable cause) {
    if (cause instanceof TimeoutException || (cause.getMessage() != null && cause.getMessage().contains("timeout"))) {
      end.fail(ex, ErrorCode.UPSTREAM_TIMEOUT, ex.service.name() + " did not answer within "
          + ex.service.timeouts().upstream().toMillis() + " ms");
    } else if (cause instanceof ConnectException) {
      connectFailed(ex, cause);
    } else {
      connectionBroke(ex, cause);
    }
  }
}
