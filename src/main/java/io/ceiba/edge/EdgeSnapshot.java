package io.ceiba.edge;

import io.ceiba.edge.cache.EdgeCache;
import io.ceiba.edge.lb.ServiceBalancer;
import io.ceiba.registry.Backend;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Registry;
import java.util.HashMap;
import java.util.Map;

/**
 * What one registry version means to one edge instance: the route table and, per HTTP service, its balancer,
 * upstream clients and cache scope. Built whole when a registry is applied and swapped as one reference; an
 * exchange keeps the snapshot it started with to its end, retries included, so it never mixes two versions.
 * The maps never change; a balancer's counters (round-robin position, requests in flight) are the owning event
 * loop's. Backend health is not here ({@link HealthView}): it outlives registry versions.
 */
final class EdgeSnapshot {

  static final EdgeSnapshot EMPTY = new EdgeSnapshot(RouteTable.EMPTY, Map.of());

  /** Everything needed to send a request to one service under this registry version. */
  record ServiceRoute(HttpService service, ServiceBalancer balancer, UpstreamClients.Pair clients, EdgeCache.Scope cacheScope,
      UpstreamTlsOptions tls) {
  }

  private final RouteTable routes;
  private final Map<String, ServiceRoute> services;

  private EdgeSnapshot(RouteTable routes, Map<String, ServiceRoute> services) {
    this.routes = routes;
    this.services = services;
  }

  /**
   * @param cacheScopes the node cache's scopes for this registry ({@link EdgeCache#apply})
   */
  static EdgeSnapshot build(Registry registry, String nodeId, UpstreamClients clients, Map<String, EdgeCache.Scope> cacheScopes) {
    Map<String, ServiceRoute> services = new HashMap<>();
    for (HttpService service : registry.http().values()) {
      boolean anyH2c = service.allBackends().stream().anyMatch(Backend::h2c);
      services.put(service.name(), new ServiceRoute(service, new ServiceBalancer(service, nodeId),
          clients.pair(service.timeouts().connect().toMillis(), anyH2c), cacheScopes.get(service.name()),
          UpstreamTlsOptions.of(service.upstreamTls())));
    }
    return new EdgeSnapshot(RouteTable.build(registry), Map.copyOf(services));
  }

  /** The service routed for a {@code Host} (port and case ignored), or null. */
  ServiceRoute byHost(String authority) {
    HttpService service = routes.lookup(authority);
    return service == null ? null : services.get(service.name());
  }

  /** The service of this name (a relay names it), or null. */
  ServiceRoute byName(String name) {
    return name == null ? null : services.get(name);
  }
}
