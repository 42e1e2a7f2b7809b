package io.ceiba.observability;

import io.ceiba.config.ControlConfig;
import io.ceiba.error.ErrorCode;
import io.ceiba.error.ErrorResponses;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optional second listener of {@code control.metrics_port}: only {@code /metrics}, {@code /health} and
 * {@code /ready}, with the control listener's own handlers, so Prometheus and load balancers can reach a node
 * whose {@code /v1} admin API stays on a private interface.
 */
public final class MetricsListener {

  private static final Logger LOG = LoggerFactory.getLogger(MetricsListener.class);

  private MetricsListener() {
  }

  /** Listens when {@code metrics_port} is set; succeeds with null when it is not. */
  public static Future<HttpServer> listen(Vertx vertx, ControlConfig control, Handler<RoutingContext> metrics,
      Handler<RoutingContext> health, Handler<RoutingContext> ready) {
    if (control.metricsPort() == 0) {
      return Future.succeededFuture(null);
    }
    Router router = Router.router(vertx);
    router.get("/metrics").handler(metrics);
    router.get("/health").handler(health);
    router.get("/ready").handler(ready);
    router.route().last().handler(ctx -> ErrorResponses.send(ctx.response(), ErrorCode.NOT_FOUND,
        "this listener serves only /metrics, /health and /ready", null));
    HttpServerOptions options = new HttpServerOptions().setHost(control.metricsBindHost()).setPort(control.metricsPort())
        .setMaxHeaderSize(16 * 1024);
    return vertx.createHttpServer(options).requestHandler(router).listen()
        .onSuccess(s -> LOG.info("metrics listener on {}:{} (/metrics, /health, /ready)", control.metricsBindHost(), s.actualPort()));
  }
}
