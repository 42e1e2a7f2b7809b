package io.ceiba.control;

import io.ceiba.bus.Addresses;
import io.ceiba.config.ControlConfig;
import io.ceiba.config.Role;
import io.ceiba.error.ErrorCode;
import io.ceiba.error.ErrorResponses;
import io.ceiba.listener.ListenerGuard;
import io.ceiba.node.NodeContext;
import io.ceiba.tls.StoredCertificates;
import io.ceiba.observability.MetricsListener;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control server of a node: {@code /health}, {@code /ready} and {@code /metrics} on every node, the
 * {@code /v1} admin API where the node has the {@code control} role. Runs on {@code control.host:port}, with the
 * same idle timeout, request-head deadline and connection cap as the edge has (its own values, {@code control.*}).
 */
public final class ControlVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(ControlVerticle.class);

  static final long READINESS_METRICS_MS = 5000;

  private final NodeContext node;
  private boolean draining;
  private HttpServer server;
  private HttpServer metricsServer;

  public ControlVerticle(NodeContext node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    vertx.eventBus().localConsumer(Addresses.NODE_DRAINING, msg -> draining = true);
    node.liveness().register("node", promise -> promise.complete(Status.OK()));
    node.readiness().register("draining", promise -> context.runOnContext(v -> promise.tryComplete(draining
        ? Status.KO(new JsonObject().put("reason", "node is stopping")) : Status.OK())));

    Router router = Router.router(vertx);
    Handler<RoutingContext> health = HealthCheckHandler.createWithHealthChecks(node.liveness());
    router.get("/health").handler(health);
    Readiness readiness = new Readiness(node);
    router.get("/ready").handler(readiness::handle);
    // the metrics stay current without anyone polling /ready
    vertx.setPeriodic(READINESS_METRICS_MS, t -> readiness.evaluate());
    // build, readiness and traffic of this node, for the console of any control node
    NodeStatus.serve(vertx, node, readiness);
    Handler<RoutingContext> metrics = PrometheusScrapingHandler.create(node.meters());
    router.get("/metrics").handler(metrics);
    if (node.postgres() != null) {
      // edges without a database get the cluster's stored certificates (keys sealed) from nodes with one
      new StoredCertificates(node.postgres().pool()).serve(vertx);
    }
    if (node.config().has(Role.CONTROL)) {
      router.route("/v1/*").subRouter(new AdminApi(vertx, node).router());
      ConsoleRoutes.mount(router);
    }
    router.route().last().handler(ctx -> ErrorResponses.send(ctx.response(), ErrorCode.NOT_FOUND,
        "no such route: " + ctx.request().method() + " " + ctx.request().path(), null));
    router.errorHandler(500, ctx -> {
      LOG.error("control API {} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure());
      ErrorResponses.send(ctx.response(), ErrorCode.INTERNAL, "internal error", null);
    });

    ControlConfig config = node.config().control();
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.host())
        .setPort(config.port())
        .setMaxHeaderSize(16 * 1024)
        .setIdleTimeout((int) Math.min(config.idleTimeout().toMillis(), Integer.MAX_VALUE))
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
        // HTTP/1.1 only: with h2c on, Vert.x sees a connection only after its first bytes, so a silent one is neither
        // counted against max_connections nor given the head deadline
        .setHttp2ClearTextEnabled(false);
    ListenerGuard guard = ListenerGuard.of(vertx, node.meters(), "control", config.listener());
    return vertx.createHttpServer(options).connectionHandler(guard::admit).requestHandler(router).listen().onSuccess(s -> {
      server = s;
      LOG.info("control server listening on {}:{}{}", config.host(), s.actualPort(),
          node.config().has(Role.CONTROL) ? " (admin API /v1, console " + ConsoleRoutes.PATH + ")" : "");
    }).compose(s -> MetricsListener.listen(vertx, node.config().control(), metrics, health, readiness::handle))
        .onSuccess(s -> metricsServer = s);
  }

  @Override
  public Future<?> stop() {
    Future<Void> metricsClosed = metricsServer == null ? Future.succeededFuture() : metricsServer.close();
    return server == null ? metricsClosed : Future.join(metricsClosed, server.close());
  }
}
