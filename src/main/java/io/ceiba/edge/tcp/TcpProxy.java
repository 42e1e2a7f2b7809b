package io.ceiba.edge.tcp;

import io.ceiba.edge.lb.BackendHealth;
import io.ceiba.registry.Registry;
import io.ceiba.registry.TcpBackend;
import io.ceiba.registry.TcpService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP side of the edge: one listener per {@code tcp:} service on every edge node, each connection
 * piped to a healthy backend (this node's first, round-robin within a tier) with back-pressure both ways.
 * A backend that refuses the connection is reported and the next one is tried before any byte of the
 * client is forwarded. Owned by one edge verticle instance and touched only on its event loop; Vert.x
 * spreads the connections of a port over the instances listening on it.
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
  private final BackendHealth health;
  private final Suspects suspects;
  private final NetClient client;
  private final Map<Integer, Listener> listeners = new HashMap<>();

  /** Where a refused backend is reported (the edge's passive check). */
  @FunctionalInterface
  public interface Suspects {
    void suspect(String service, String node, String address, String reason);
  }

  public TcpProxy(Vertx vertx, String host, String nodeId, BackendHealth health, Suspects suspects) {
    this.vertx = vertx;
    this.host = host;
    this.nodeId = nodeId;
    this.health = health;
    this.suspects = suspects;
    this.client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(5000).setTcpNoDelay(true));
  }

  /** Opens listeners for new services, closes those of removed ones, and swaps the rest in place. */
  public Future<Void> apply(Registry registry) {
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
    return Future.join(closing).mapEmpty();
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
    client.connect(backend.port(), backend.host()).onComplete(ar -> {
      if (ar.failed()) {
        suspects.suspect(service.name(), backend.node(), backend.address(), String.valueOf(ar.cause().getMessage()));
        if (attempt == 0) {
          connect(listener, service, downstream, index, 1);
        } else {
          downstream.close();
        }
        return;
      }
      NetSocket upstream = ar.result();
      downstream.pipeTo(upstream).onComplete(v -> upstream.close());
      upstream.pipeTo(downstream).onComplete(v -> downstream.close());
    });
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
