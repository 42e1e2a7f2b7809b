package io.ceiba.edge;

import io.ceiba.cluster.Peers;
import io.ceiba.error.ErrorCode;
import io.ceiba.edge.lb.ServiceBalancer;
import io.ceiba.registry.RequestPaths;
import io.ceiba.registry.Route;
import io.ceiba.registry.Routes;
import io.vertx.core.MultiMap;

/**
 * Finds the exchange's service in its snapshot: by the authority the framing step settled (an absolute-form
 * target's, else the one {@code Host}), or, for a request another node's edge relays to a
 * backend on this node, by the service and backend the relay names.
 */
final class RouteStep {

  private final String nodeId;
  private final ExchangeEnd end;

  RouteStep(String nodeId, ExchangeEnd end) {
    this.nodeId = nodeId;
    this.end = end;
  }

  /** @return false when the exchange was ended here (no service for its host) */
  boolean byHost(Exchange ex) {
    String host = ex.head.authority().host(); // never empty: the framing step refused such a head
    EdgeSnapshot.ServiceRoute route = ex.snapshot.byHost(host);
    if (route == null) {
      end.fail(ex, ErrorCode.UNKNOWN_HOST, "no service for host " + RouteTable.hostOnly(host));
      return false;
    }
    ex.route = route;
    ex.service = route.service();
    return true;
  }

  /**
   * For a service with routes: the route that takes the request, by its normalised path, method and headers. A path
   * that cannot be normalised safely is refused ({@code 400 invalid_path}), one that no route takes gets
   * {@code 404 no_route}. The exchange goes on as the route's view of the service, with the normalised target.
   *
   * @return false when the exchange was ended here
   */
  boolean byPath(Exchange ex) {
    Routes routes = ex.service.routes();
    if (routes.isEmpty()) {
      return true;
    }
    RequestPaths.Normalised path = RequestPaths.normalise(ex.head.target());
    if (path.refused()) {
      end.fail(ex, ErrorCode.INVALID_PATH, "request path refused: " + path.problem());
      return false;
    }
    MultiMap headers = ex.request.headers();
    Route matched = routes.match(path.path(), ex.request.method().name(), headers::get);
    if (matched == null) {
      end.fail(ex, ErrorCode.NO_ROUTE, "no route of " + ex.service.name() + " takes " + ex.request.method().name() + " " + path.path());
      return false;
    }
    ex.matched = matched;
    ex.service = matched.service();
    ex.route = ex.route.of(matched);
    ex.target = path.target();
    return true;
  }

  /**
   * A relayed request: another node's edge authorized, counted and chose already. It goes to exactly the named
   * backend, with the identity headers it carries, and is neither retried here nor recorded again.
   *
   * @return false when the exchange was ended here (this node does not have the named backend)
   */
  boolean relayed(Exchange ex) {
    MultiMap headers = ex.request.headers();
    ex.relayed = true;
    ex.probe = headers.contains(Peers.PROBE_HEADER);
    EdgeSnapshot.ServiceRoute route = ex.snapshot.byName(headers.get(Peers.SERVICE_HEADER));
    String url = headers.get(Peers.BACKEND_HEADER);
    ServiceBalancer balancer = route == null || url == null ? null : route.balancerWith(url, nodeId);
    int index = balancer == null ? -1 : balancer.indexOf(url, nodeId);
    if (index < 0) {
      // the nodes' registries differ for a moment (a change still spreading): nothing reached a backend
      ex.response.putHeader(ProxyHeaders.X_CEIBA_RELAY_FAILED, "unknown-backend");
      end.fail(ex, ErrorCode.BAD_GATEWAY, "no backend " + url + " of " + headers.get(Peers.SERVICE_HEADER) + " on " + nodeId);
      return false;
    }
    ex.route = route;
    ex.service = route.service();
    ex.balancer = balancer;
    ex.backendIndex = index;
    ex.attempt = 1;
    return true;
  }
}
