package io.ceiba.control;

import io.ceiba.config.Role;
import io.ceiba.node.NodeContext;
import io.ceiba.observability.MetricNames;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.CheckResult;
import io.vertx.ext.web.RoutingContext;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code /ready}: whether this node can serve traffic, which is what a load balancer asks. Every check of the
 * node runs and is listed; only the <em>required</em> ones decide the status. An edge serves from its caches
 * with each service's posture while PostgreSQL is down, so for a node with the edge role PostgreSQL is required
 * only until the node was first ready (a fresh node waits for its schema); after that its outage shows in the
 * body and in {@code ceiba_dependency_up}, and does not take every edge of the fleet out of rotation at once.
 * A node without the edge role (control, auth, usage) cannot do its work without PostgreSQL: required always.
 * Owned by the control verticle's context.
 */
final class Readiness {

  /** Checks without which no node serves: stopping, roles still starting, no registry yet, not in the cluster. */
  private static final Set<String> ALWAYS_REQUIRED = Set.of("draining", "roles", "registry", "cluster");
  static final String POSTGRES = "postgres";

  private final NodeContext node;
  private final boolean edge;
  private boolean wasReady;
  private final AtomicInteger ready = new AtomicInteger();
  private final Map<String, AtomicInteger> dependencyUp = new HashMap<>();

  Readiness(NodeContext node) {
    this.node = node;
    this.edge = node.config().has(Role.EDGE);
    Gauge.builder(MetricNames.READY, ready, AtomicInteger::get)
        .description("1 when /ready answers 200: this node can serve traffic").register(node.meters());
  }

  /** Runs every check and decides; also refreshes the metrics. */
  Future<JsonObject> evaluate() {
    return node.readiness().checkStatus().map(this::decide);
  }

  void handle(RoutingContext ctx) {
    evaluate().onComplete(ar -> {
      JsonObject body = ar.succeeded() ? ar.result()
          : new JsonObject().put("status", "DOWN").put("outcome", "DOWN").put("reason", "checks failed: " + ar.cause().getMessage());
      ctx.response().setStatusCode("UP".equals(body.getString("status")) ? 200 : 503)
          .putHeader("content-type", "application/json;charset=UTF-8")
          .putHeader("cache-control", "no-store")
          .end(body.encode());
    });
  }

  private JsonObject decide(CheckResult result) {
    JsonObject body = result.toJson();
    JsonArray checks = body.getJsonArray("checks", new JsonArray());
    boolean up = true;
    boolean allUp = true;
    JsonArray degraded = new JsonArray();
    for (Object o : checks) {
      JsonObject check = (JsonObject) o;
      String id = check.getString("id");
      boolean checkUp = "UP".equals(check.getString("status"));
      boolean required = required(id);
      check.put("required", required);
      allUp &= checkUp;
      if (!checkUp) {
        if (required) {
          up = false;
        } else {
          degraded.add(id);
        }
      }
      if (!ALWAYS_REQUIRED.contains(id)) {
        dependencyUp.computeIfAbsent(id, this::dependencyGauge).set(checkUp && !degradedData(check) ? 1 : 0);
      }
    }
    if (up && allUp) {
      wasReady = true;
    }
    ready.set(up ? 1 : 0);
    String status = up ? "UP" : "DOWN";
    body.put("status", status).put("outcome", status);
    if (!degraded.isEmpty()) {
      body.put("degraded", degraded);
    }
    return body;
  }

  private boolean required(String id) {
    if (ALWAYS_REQUIRED.contains(id)) {
      return true;
    }
    return POSTGRES.equals(id) && (!edge || !wasReady);
  }

  /** Redis and usage say "degraded" in their data while they still answer UP. */
  private static boolean degradedData(JsonObject check) {
    JsonObject data = check.getJsonObject("data");
    return data != null && Boolean.TRUE.equals(data.getValue("degraded"));
  }

  private AtomicInteger dependencyGauge(String id) {
    AtomicInteger value = new AtomicInteger();
    Gauge.builder(MetricNames.DEPENDENCY_UP, value, AtomicInteger::get).tag(MetricNames.TAG_DEPENDENCY, id)
        .description("1 when the dependency answers and is not degraded, as /ready last saw it").register(node.meters());
    return value;
  }
}
