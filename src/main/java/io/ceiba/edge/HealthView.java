package io.ceiba.edge;

import io.ceiba.bus.Addresses;
import io.ceiba.edge.lb.BackendHealth;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One edge instance's view of backend health: what the node's health verticle reported down, and what this
 * node's edges saw refuse a connection (passive check). Mutable, owned by the instance's event loop, and kept
 * across registry versions: a new {@link EdgeSnapshot} does not forget which backends are out.
 */
final class HealthView implements BackendHealth {

  private static final Logger LOG = LoggerFactory.getLogger(HealthView.class);
  /** A backend that refused a connection is skipped this long by every edge instance of the node (passive check). */
  static final long LOCAL_EJECTION_NANOS = 10_000_000_000L;

  private final EventBus bus;
  private final DeliveryOptions local = new DeliveryOptions().setLocalOnly(true);
  /** Backends reported down by the health verticle, as {@link BackendHealth#key}. */
  private final Set<String> down = new HashSet<>();
  /** Backends this node saw refuse a connection, with the time they may be tried again. */
  private final Map<String, Long> ejectedUntil = new HashMap<>();

  /** The WebSocket view: an upgrade goes to an HTTP/1.1 (or TLS) backend that is up, never to an h2c one. */
  final BackendHealth webSocketCapable = (service, node, url) -> !url.startsWith("h2c:") && isUp(service, node, url);

  HealthView(EventBus bus) {
    this.bus = bus;
  }

  /** A transition published by the health verticle: {@code {service, node, url, up}}. */
  void onHealth(JsonObject change) {
    String key = keyOf(change);
    if (change.getBoolean("up", true)) {
      down.remove(key);
      ejectedUntil.remove(key);
    } else {
      down.add(key);
    }
  }

  /** Another edge instance of the node ejected a backend. */
  void onEjected(JsonObject ejected) {
    ejectedUntil.put(keyOf(ejected), System.nanoTime() + LOCAL_EJECTION_NANOS);
  }

  private static String keyOf(JsonObject backend) {
    return BackendHealth.key(backend.getString("service"), backend.getString("node"), backend.getString("url"));
  }

  @Override
  public boolean isUp(String service, String node, String url) {
    if (down.isEmpty() && ejectedUntil.isEmpty()) {
      return true;
    }
    String key = BackendHealth.key(service, node, url);
    if (down.contains(key)) {
      return false;
    }
    Long until = ejectedUntil.get(key);
    if (until == null) {
      return true;
    }
    if (System.nanoTime() - until >= 0) {
      ejectedUntil.remove(key);
      return true;
    }
    return false;
  }

  /** A backend refused a connection: every edge instance of the node skips it for a while, and the health verticle hears of it. */
  void suspect(String service, String node, String url, String reason) {
    JsonObject backend = new JsonObject().put("service", service).put("node", node).put("url", url);
    // every edge instance of the node skips it, even for services without active checks
    bus.publish(Addresses.EDGE_EJECTED, backend, local);
    ejectedUntil.put(BackendHealth.key(service, node, url), System.nanoTime() + LOCAL_EJECTION_NANOS);
    bus.send(Addresses.HEALTH_SUSPECT, backend.copy().put("reason", reason), local);
    LOG.warn("backend {}{} of {} refused a connection ({}); taken out", url, node == null ? "" : " on " + node, service, reason);
  }
}
