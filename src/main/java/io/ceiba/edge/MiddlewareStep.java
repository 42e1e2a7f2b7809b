package io.ceiba.edge;

import io.ceiba.registry.HttpService;
import io.ceiba.registry.Middleware;
import io.vertx.core.http.HttpHeaders;

/** The service's middlewares: {@code strip-www} and {@code https-redirect} answer {@code 308} (it keeps method and body), upgrades included. */
final class MiddlewareStep {

  private final ExchangeEnd end;

  MiddlewareStep(ExchangeEnd end) {
    this.end = end;
  }

  /** @return false when the exchange was answered here */
  boolean apply(Exchange ex) {
    HttpService service = ex.service;
    if (service.middlewares().isEmpty()) {
      return true;
    }
    String host = RouteTable.hostOnly(ex.head.authority().host());
    String path = ex.target(); // origin-form: an absolute-form target's authority is not repeated
    boolean https = ex.request.isSSL();
    boolean stripWww = service.middlewares().contains(Middleware.STRIP_WWW) && host.startsWith("www.");
    String target = null;
    if (stripWww) {
      target = (https ? "https://" : "http://") + host.substring(4) + path;
    }
    if (service.middlewares().contains(Middleware.HTTPS_REDIRECT) && !https) {
      target = "https://" + (stripWww ? host.substring(4) : host) + path;
    }
    if (target == null) {
      return true;
    }
    ex.response.putHeader(HttpHeaders.LOCATION, target);
    end.reply(ex, 308, null);
    return false;
  }
}
