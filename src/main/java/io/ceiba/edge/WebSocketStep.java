package io.ceiba.edge;

import io.ceiba.cluster.Peers;
import io.ceiba.error.ErrorCode;
import io.ceiba.registry.Backend;
import io.ceiba.registry.HttpService;
import io.vertx.core.AsyncResult;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import java.util.Map;

/**
 * The forward step of an admitted WebSocket upgrade: connect to a backend first (a refused connection is retried
 * once elsewhere, as nothing was sent), with the same upstream headers as a request (the client's {@code Host}, no
 * {@code Origin} it did not send), then accept the client's upgrade and relay frames both ways, keeping text,
 * binary, ping and close as they are. The exchange ends at the {@code 101}; the frames that follow are a tunnel.
 */
final class WebSocketStep {

  private final Peers peers;
  private final HealthView health;
  private final WebSocketClient client;
  private final ExchangeEnd end;

  WebSocketStep(Peers peers, HealthView health, WebSocketClient client, ExchangeEnd end) {
    this.peers = peers;
    this.health = health;
    this.client = client;
    this.end = end;
  }

  void start(Exchange ex) {
    ex.balancer = ex.route.balancer();
    int index = ex.relayed ? ex.backendIndex : ex.balancer.select(health.webSocketCapable, -1, b -> reachable(ex, b));
    if (index < 0) {
      if (ex.service.allBackends().stream().allMatch(Backend::h2c)) {
        // WebSocket over HTTP/2 (RFC 8441) is not relayed: an h2c-only service cannot take an HTTP/1.1 upgrade
        end.reply(ex, 501, "WebSocket upgrade to a service served only over h2c");
      } else {
        end.fail(ex, ErrorCode.NO_HEALTHY_BACKEND, "no healthy backend for " + ex.service.name());
      }
      return;
    }
    to(ex, index);
  }

  /** Not through a node that left the view or is still starting; a relayed upgrade is not relayed on. */
  private boolean reachable(Exchange ex, Backend backend) {
    return peers.reachable(backend.node(), backend.host(), ex.relayed);
  }

  private void to(Exchange ex, int index) {
    Backend backend = ex.balancer.backend(index);
    ex.backend = backend;
    ex.backendIndex = index;
    ex.balancer.acquire(index);
    HttpService service = ex.service;
    ex.viaPeer = !ex.relayed && peers.relays(backend.node(), backend.host());
    Peers.Edge peer = ex.viaPeer ? peers.edgeOf(backend.node()) : null;
    if (ex.viaPeer && peer == null) {
      end.fail(ex, ErrorCode.BAD_GATEWAY, "node " + backend.node() + " is not in the cluster view");
      return;
    }
    WebSocketConnectOptions options = ForwardStep.aim(new WebSocketConnectOptions(), backend, peer, ex.route.tls())
        .setURI(ex.target())
        .setConnectTimeout(service.timeouts().connect().toMillis())
        // the client's Origin is copied with the other headers; without one the client would make one up, and with
        // this off it would drop the client's too
        .setAllowOriginHeader(ex.request.headers().contains(HttpHeaders.ORIGIN));
    MultiMap headers = UpstreamHeaders.of(ex, MultiMap.caseInsensitiveMultiMap(), peers, peer);
    for (Map.Entry<String, String> header : headers) {
      String name = header.getKey();
      // the client's handshake keys are its own; the WebSocket client negotiates with the backend afresh
      if (!name.regionMatches(true, 0, "sec-websocket-", 0, 14)) {
        options.addHeader(name, header.getValue());
      }
    }
    String protocols = ex.request.getHeader("sec-websocket-protocol");
    if (protocols != null) {
      for (String p : protocols.split(",")) {
        options.addSubProtocol(p.trim());
      }
    }
    ex.upstreamStart = System.nanoTime();
    client.connect(options).onComplete(ar -> connected(ex, ar));
  }

  private void connected(Exchange ex, AsyncResult<WebSocket> ar) {
    if (ex.done) {
      // the client went while this connected
      if (ar.succeeded()) {
        ar.result().close();
      }
      return;
    }
    if (ar.failed()) {
      boolean refusedUpgrade = ar.cause() instanceof UpgradeRejectedException;
      if (!refusedUpgrade) {
        health.suspect(ex.service.name(), ex.backend.node(), ex.backend.url(), String.valueOf(ar.cause().getMessage()));
      }
      ex.balancer.release(ex.backendIndex);
      int failed = ex.backendIndex;
      ex.backend = null;
      ex.backendIndex = -1;
      if (!refusedUpgrade && ex.attempt == 0) {
        int next = ex.balancer.select(health.webSocketCapable, failed, b -> reachable(ex, b));
        if (next >= 0) {
          ex.attempt++;
          to(ex, next);
          return;
        }
      }
      if (ex.relayed && !refusedUpgrade) {
        ex.response.putHeader(ProxyHeaders.X_CEIBA_RELAY_FAILED, ForwardStep.RELAY_CONNECT);
      }
      end.fail(ex, ErrorCode.BAD_GATEWAY, refusedUpgrade ? "the backend refused the WebSocket upgrade"
          : "cannot connect to a backend of " + ex.service.name());
      return;
    }
    WebSocket upstream = ar.result();
    ex.request.toWebSocket().onComplete(accepted -> {
      if (accepted.failed()) {
        upstream.close();
        ex.held = false;
        end.finish(ex, 400, "upgrade not accepted: " + accepted.cause().getMessage());
        return;
      }
      ServerWebSocket downstream = accepted.result();
      ex.held = false; // the connection is the WebSocket's now
      end.finish(ex, 101, null);
      relay(downstream, upstream);
      relay(upstream, downstream);
    });
  }

  private static void relay(WebSocketBase from, WebSocketBase to) {
    from.frameHandler(frame -> {
      if (!to.isClosed()) {
        to.writeFrame(frame);
        if (to.writeQueueFull()) {
          from.pause();
          to.drainHandler(v -> from.resume());
        }
      }
    });
    from.closeHandler(v -> {
      if (!to.isClosed()) {
        to.close(from.closeStatusCode() == null ? (short) 1000 : from.closeStatusCode(), from.closeReason());
      }
    });
    from.exceptionHandler(e -> to.close());
  }
}
