package io.ceiba.edge;

import io.ceiba.edge.cache.EdgeCache;
import io.ceiba.edge.lb.ServiceBalancer;
import io.ceiba.registry.Backend;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Registry;
import io.ceiba.registry.Route;
import java.util.HashMap;
import java.util.List;
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

  /**
   * Everything needed to send a request to one service under this registry version.
   *
   * @param byRoute by route index, what the requests of a route with backends or a cache of its own use (null: this)
   */
  record ServiceRoute(HttpService service, ServiceBalancer balancer, UpstreamClients.Pair clients, EdgeCache.Scope cacheScope,
      UpstreamTlsOptions tls, ServiceRoute[] byRoute) {

    /** What the requests of {@code route}, one of this service's routes, use. */
    ServiceRoute of(Route route) {
      ServiceRoute own = byRoute.length == 0 ? null : byRoute[route.index()];
      return own == null ? this : own;
    }

    /** The balancer (the service's, or a route's own) that has backend {@code url} on {@code nodeId}, or null. */
    ServiceBalancer balancerWith(String url, String nodeId) {
      if (balancer.indexOf(url, nodeId) >= 0) {
        return balancer;
      }
      for (ServiceRoute own : byRoute) {
        if (own != null && own.balancer != balancer && own.balancer.indexOf(url, nodeId) >= 0) {
          return own.balancer;
        }
      }
      return null;
    }
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
      ServiceRoute whole = route(service, new ServiceBalancer(service, nodeId), clients, cacheScopes.get(service.name()), null);
      List<Route> routes = service.routes().list();
      if (routes.stream().anyMatch(r -> r.ownBackends() || r.ownCache())) {
        ServiceRoute[] byRoute = new ServiceRoute[routes.size()];
        for (Route r : routes) {
          if (r.ownBackends() || r.ownCache()) {
            byRoute[r.index()] = route(r.service(), r.ownBackends() ? new ServiceBalancer(r.service(), nodeId) : whole.balancer(), clients,
                r.ownCache() ? cacheScopes.get(EdgeCache.routeScopeName(service, r)) : whole.cacheScope(), new ServiceRoute[0]);
          }
        }
        whole = new ServiceRoute(service, whole.balancer(), whole.clients(), whole.cacheScope(), whole.tls(), byRoute);
      }
      services.put(service.name(), whole);
    }
    return new EdgeSnapshot(RouteTable.build(registry), Map.copyOf(services));
  }

  private static ServiceRoute route(HttpService service, ServiceBalancer balancer, UpstreamClients clients, EdgeCache.Scope scope,
      ServiceRoute[] byRoute) {
    boolean anyH2c = service.allBackends().stream().anyMatch(Backend::h2c);
    return new ServiceRoute(service, balancer, clients.pair(service.timeouts().connect().toMillis(), anyH2c), scope,
        UpstreamTlsOptions.of(service.upstreamTls()), byRoute == null ? new ServiceRoute[0] : byRoute);
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
