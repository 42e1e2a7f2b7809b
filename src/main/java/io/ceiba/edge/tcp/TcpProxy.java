package io.ceiba.edge.tcp;

import io.ceiba.cluster.Peers;
import io.ceiba.edge.lb.BackendHealth;
import io.ceiba.registry.Registry;
import io.ceiba.registry.TcpBackend;
import io.ceiba.registry.TcpHealthSpec;
import io.ceiba.registry.TcpService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP side of the edge: one listener per {@code tcp:} service on every edge node, each connection
 * piped to a healthy backend (this node's first, round-robin within a tier) with back-pressure both ways.
 * A backend on another node's loopback is reached through that node's edge ({@link TcpRelay}); this node's edge
 * accepts such relays for its own backends. A backend that refuses the connection is reported and the next one
 * is tried before any byte of the client is forwarded. When a {@code redis-primary} backend goes down (it was
 * demoted to a replica), the connections still open to it are closed: a client must not keep writing to a
 * replica. Owned by one edge verticle instance and touched only on its event loop; Vert.x spreads the
 * connections of a port over the instances listening on it.
 */
public final class TcpProxy {

  private static final Logger LOG = LoggerFactory.getLogger(TcpProxy.class);

  /** A listening port and the service behind it; the service is swapped on registry changes. */
  private static final class Listener {
    TcpService service;
    NetServer server;
    int next;
  }

  private final Vertx vertx;
  private final String host;
  private final String nodeId;
  private final Peers peers;
  private final BackendHealth health;
  private final Suspects suspects;
  private final NetClient client;
  private final HttpClient relays;
  private final Map<Integer, Listener> listeners = new HashMap<>();
  /** The registry's TCP services by name: relays name theirs. */
  private Map<String, TcpService> services = Map.of();
  /** Open piped connections by backend ({@link BackendHealth#key}): what a demoted primary's closing closes. */
  private final Map<String, Set<NetSocket>> open = new HashMap<>();

  /** Where a refused backend is reported (the edge's passive check). */
  @FunctionalInterface
  public interface Suspects {
    void suspect(String service, String node, String address, String reason);
  }

  public TcpProxy(Vertx vertx, String host, String nodeId, Peers peers, BackendHealth health, Suspects suspects) {
    this.vertx = vertx;
    this.host = host;
    this.nodeId = nodeId;
    this.peers = peers;
    this.health = health;
    this.suspects = suspects;
    this.client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(5000).setTcpNoDelay(true));
    this.relays = TcpRelay.client(vertx, 5000);
  }

  /** Opens listeners for new services, closes those of removed ones, and swaps the rest in place. */
  public Future<Void> apply(Registry registry) {
    services = Map.copyOf(registry.tcp());
    Map<Integer, TcpService> wanted = new HashMap<>();
    registry.tcp().values().forEach(s -> wanted.put(s.listen(), s));
    List<Future<?>> changes = new ArrayList<>();
    for (Integer port : List.copyOf(listeners.keySet())) {
      if (!wanted.containsKey(port)) {
        Listener gone = listeners.remove(port);
        changes.add(gone.server.close());
      }
    }
    for (TcpService service : wanted.values()) {
      Listener existing = listeners.get(service.listen());
      if (existing != null) {
        existing.service = service;
        continue;
      }
      Listener listener = new Listener();
      listener.service = service;
      listeners.put(service.listen(), listener);
      NetServer server = vertx.createNetServer(new NetServerOptions().setHost(host).setPort(service.listen()).setTcpNoDelay(true))
          .connectHandler(socket -> accept(listener, socket));
      changes.add(server.listen()
          .onSuccess(s -> {
            listener.server = s;
            LOG.info("tcp service {} listening on {}:{}", service.name(), host, s.actualPort());
          })
          .onFailure(e -> {
            listeners.remove(service.listen());
            LOG.error("tcp service {}: cannot listen on {}:{}: {}", service.name(), host, service.listen(), e.getMessage());
          }));
    }
    return Future.join(changes).mapEmpty();
  }

  public Future<Void> close() {
    List<Future<?>> closing = new ArrayList<>();
    listeners.values().forEach(l -> {
      if (l.server != null) {
        closing.add(l.server.close());
      }
    });
    listeners.clear();
    closing.add(client.close());
    closing.add(relays.close());
    return Future.join(closing).mapEmpty();
  }

  /**
   * A health transition of the node ({@code {service, node, url, up}}): a {@code redis-primary} backend that went
   * down was demoted, and the connections still open to it are closed.
   */
  public void onHealth(JsonObject change) {
    if (change.getBoolean("up", true)) {
      return;
    }
    TcpService service = services.get(change.getString("service"));
    if (service == null || service.health().kind() != TcpHealthSpec.Kind.REDIS_PRIMARY) {
      return;
    }
    Set<NetSocket> sockets = open.remove(BackendHealth.key(service.name(), change.getString("node"), change.getString("url")));
    if (sockets != null && !sockets.isEmpty()) {
      LOG.warn("tcp service {}: backend {} is no longer the primary; closing {} connection(s) to it", service.name(),
          change.getString("url"), sockets.size());
      List.copyOf(sockets).forEach(NetSocket::close);
    }
  }

  /**
   * A relay another node's edge asked for ({@link TcpRelay#isRelay}): connects to the named backend of this node,
   * then upgrades the request's connection and pipes it; a backend this node does not have or cannot reach is a
   * {@code 502} with {@code X-Ceiba-Relay-Failed}, and nothing was sent to any backend.
   */
  public void acceptRelay(HttpServerRequest request) {
    String serviceName = request.getHeader(Peers.SERVICE_HEADER);
    String address = request.getHeader(Peers.BACKEND_HEADER);
    TcpService service = serviceName == null ? null : services.get(serviceName);
    TcpBackend backend = service == null ? null : service.backends().stream()
        .filter(b -> nodeId.equals(b.node()) && b.address().equals(address)).findFirst().orElse(null);
    if (backend == null) {
      // the nodes' registries differ for a moment (a change still spreading)
      refuseRelay(request, "unknown-backend", "no tcp backend " + address + " of " + serviceName + " on " + nodeId);
      return;
    }
    client.connect(backend.port(), backend.host()).onComplete(ar -> {
      if (ar.failed()) {
        suspects.suspect(service.name(), backend.node(), backend.address(), String.valueOf(ar.cause().getMessage()));
        refuseRelay(request, "connect", "cannot connect to " + backend.address() + ": " + ar.cause().getMessage());
        return;
      }
      NetSocket upstream = ar.result();
      upstream.pause();
      request.toNetSocket().onComplete(tunnel -> {
        if (tunnel.failed()) {
          upstream.close();
          LOG.warn("tcp relay of {} to {}: upgrade failed: {}", service.name(), backend.address(), tunnel.cause().getMessage());
          return;
        }
        TcpRelay.withoutIdleTimeout(tunnel.result());
        pipe(BackendHealth.key(service.name(), backend.node(), backend.address()), tunnel.result(), upstream);
      });
    });
  }

  private static void refuseRelay(HttpServerRequest request, String why, String message) {
    // a refused backend was reported (and logged) as a suspect already; relayed health checks repeat it each interval
    if ("connect".equals(why)) {
      LOG.debug("tcp relay refused: {}", message);
    } else {
      LOG.warn("tcp relay refused: {}", message);
    }
    request.response().setStatusCode(502).putHeader("x-ceiba-relay-failed", why).putHeader("connection", "close")
        .end(message);
  }

  private void accept(Listener listener, NetSocket downstream) {
    downstream.pause();
    connect(listener, listener.service, downstream, -1, 0);
  }

  private void connect(Listener listener, TcpService service, NetSocket downstream, int exclude, int attempt) {
    int index = select(listener, service, exclude);
    if (index < 0) {
      LOG.warn("tcp service {}: no healthy backend, closing the client connection", service.name());
      downstream.close();
      return;
    }
    TcpBackend backend = service.backends().get(index);
    open(service, backend).onComplete(ar -> {
      if (ar.failed()) {
        suspects.suspect(service.name(), backend.node(), backend.address(), String.valueOf(ar.cause().getMessage()));
        if (attempt == 0) {
          connect(listener, service, downstream, index, 1);
        } else {
          downstream.close();
        }
        return;
      }
      pipe(BackendHealth.key(service.name(), backend.node(), backend.address()), downstream, ar.result());
    });
  }

  /** A connection to the backend itself, or through its node's edge when it listens on that node's loopback. */
  private Future<NetSocket> open(TcpService service, TcpBackend backend) {
    if (!peers.relays(backend.node(), backend.host())) {
      return client.connect(backend.port(), backend.host()).map(TcpProxy::paused);
    }
    Peers.Edge peer = peers.edgeOf(backend.node());
    if (peer == null) {
      return Future.failedFuture(new ConnectException("node " + backend.node() + " is not in the cluster view"));
    }
    return TcpRelay.open(relays, peers, peer, service.name(), backend.address()).map(TcpProxy::paused);
  }

  /** Nothing the backend sends first (a greeting) is lost before the pipe reads it. */
  private static NetSocket paused(NetSocket socket) {
    socket.pause();
    return socket;
  }

  /** Pipes both ways; either side closing closes the other. Kept under the backend's key while open. */
  private void pipe(String backendKey, NetSocket downstream, NetSocket upstream) {
    Set<NetSocket> sockets = open.computeIfAbsent(backendKey, k -> new HashSet<>());
    sockets.add(downstream);
    downstream.closeHandler(v -> {
      Set<NetSocket> still = open.get(backendKey);
      if (still != null) {
        still.remove(downstream);
        if (still.isEmpty()) {
          open.remove(backendKey);
        }
      }
      upstream.close();
    });
    upstream.closeHandler(v -> downstream.close());
    downstream.pipeTo(upstream).onComplete(v -> upstream.close());
    upstream.pipeTo(downstream).onComplete(v -> downstream.close());
  }

  /** Healthy backends on this node first, then elsewhere; round-robin within the tier. */
  private int select(Listener listener, TcpService service, int exclude) {
    List<TcpBackend> backends = service.backends();
    for (int tier = 0; tier < 2; tier++) {
      int count = 0;
      int[] candidates = new int[backends.size()];
      for (int i = 0; i < backends.size(); i++) {
        TcpBackend b = backends.get(i);
        boolean local = nodeId.equals(b.node());
        if (i != exclude && (tier == 0) == local && health.isUp(service.name(), b.node(), b.address())) {
          candidates[count++] = i;
        }
      }
      if (count > 0) {
        return candidates[Math.floorMod(listener.next++, count)];
      }
    }
    return -1;
  }
}
