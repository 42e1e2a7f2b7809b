package io.ceiba.edge;

import io.ceiba.access.CallerHeaders;
import io.ceiba.access.Decision;
import io.ceiba.access.Reason;
import io.ceiba.cluster.Peers;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/**
 * The headers an exchange carries upstream, the same for a request and a WebSocket upgrade: the client's end-to-end
 * headers without its key, without the ones the edge sets itself and without underscore spellings of the edge's own
 * ({@link ProxyHeaders#copyRequest}); exactly one {@code Host} and the forwarding headers as
 * {@code edge.trusted_proxies} allows ({@link io.ceiba.edge.http.Forwarding}); who is calling (as the access step decided), and the relay's
 * own headers when it goes through a peer's edge.
 */
final class UpstreamHeaders {

  private UpstreamHeaders() {
  }

  /**
   * @param peer the edge the request is relayed through, or null when it goes to the backend itself
   */
  static MultiMap of(Exchange ex, MultiMap into, Peers peers, Peers.Edge peer) {
    HttpServerRequest request = ex.request;
    if (ex.relayed) {
      ProxyHeaders.copyRelayed(request.headers(), into);
    } else {
      ProxyHeaders.copyRequest(request.headers(), into, keyHeaders(ex.decision, ex.keyInAuthorization), ex.head);
      ProxyHeaders.setForwarded(into, ex.head, ex.requestId);
      if (ex.decision != null) {
        passAccess(into, ex.decision);
      }
    }
    if (ex.expect) {
      // the edge answered the expectation itself: the body comes after its 100 Continue, or not at all
      into.remove(HttpHeaders.EXPECT);
    }
    if (peer != null) {
      peers.markRelay(into, ex.service.name(), ex.backend.url());
    }
    return into;
  }

  /** The key never goes upstream: what the copy of a request's headers leaves out once access was decided. */
  private static ProxyHeaders.Drop keyHeaders(Decision d, boolean keyInAuthorization) {
    return d == null ? ProxyHeaders.Drop.NOTHING
        : keyInAuthorization ? ProxyHeaders.Drop.API_KEY_AND_AUTHORIZATION : ProxyHeaders.Drop.API_KEY;
  }

  /**
   * Who is calling goes upstream, in headers the backend can trust. The headers were copied with
   * {@link ProxyHeaders#copyRequest}, which drops every {@code X-Ceiba-*} a client sent: ours are added, not set.
   */
  private static void passAccess(MultiMap headers, Decision d) {
    CallerHeaders caller = d.caller();
    if (caller != null) {
      headers.add(ProxyHeaders.X_CEIBA_PROJECT, caller.project());
      headers.add(ProxyHeaders.X_CEIBA_KEY_ID, caller.keyId());
      if (caller.plan() != null) {
        headers.add(ProxyHeaders.X_CEIBA_PLAN, caller.plan());
      }
    } else if (d.reason() == Reason.FAIL_OPEN) {
      headers.add(ProxyHeaders.X_CEIBA_AUTH, "unverified");
    }
  }
}
