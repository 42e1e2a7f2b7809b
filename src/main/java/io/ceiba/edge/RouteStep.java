package io.ceiba.edge;

import io.ceiba.cluster.Peers;
import io.ceiba.error.ErrorCode;
import io.ceiba.edge.lb.ServiceBalancer;
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
    ServiceBalancer balancer = route == null ? null : route.balancer();
    int index = balancer == null || url == null ? -1 : balancer.indexOf(url, nodeId);
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
