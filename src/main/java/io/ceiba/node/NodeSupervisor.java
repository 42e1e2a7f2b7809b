package io.ceiba.node;

import io.ceiba.access.auth.AuthVerticle;
import io.ceiba.acme.AcmeVerticle;
import io.ceiba.backup.BackupVerticle;
import io.ceiba.bus.Addresses;
import io.ceiba.cluster.ClusterPublishes;
import io.ceiba.cluster.MembershipVerticle;
import io.ceiba.config.Role;
import io.ceiba.control.ControlVerticle;
import io.ceiba.demo.DemoOriginVerticle;
import io.ceiba.edge.EdgeVerticle;
import io.ceiba.health.HealthVerticle;
import io.ceiba.registry.RegistryVerticle;
import io.ceiba.tls.CertificateWatcher;
import io.ceiba.usage.UsageVerticle;
import io.vertx.core.Deployable;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Role supervisor: deploys the node's verticles in dependency order (registry, membership and the control
 * server first, the edge last) and stops them in reverse order, so a node stops taking traffic before
 * the parts it depends on go away. Not a verticle itself on purpose: Vert.x undeploys a verticle's
 * children before its {@code stop()} runs, in no particular order, which is exactly what we must control.
 */
final class NodeSupervisor {

  private static final Logger LOG = LoggerFactory.getLogger(NodeSupervisor.class);
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setLocalOnly(true);
  /** The first steps of every plan, which touch no database: they deploy while the embedded PostgreSQL starts. */
  private static final Set<String> WITHOUT_DATABASE = Set.of("registry", "membership", "publishes");

  private final Vertx vertx;
  private final NodeContext node;
  /** Deployments, most recent first: the stop order. */
  private final Deque<Deployed> deployed = new ArrayDeque<>();

  private record Deployed(String name, String id) {
  }

  private record Step(String name, Supplier<? extends Deployable> verticle, int instances) {
  }

  NodeSupervisor(Vertx vertx, NodeContext node) {
    this.vertx = vertx;
    this.node = node;
  }

  /**
   * Deploys the plan; the steps before {@code control} need no database and deploy while it starts, the others once
   * {@code database} completed (a failed database fails the start).
   */
  Future<Void> start(Future<Void> database) {
    // ready only once every role runs: the control server answers before the edge listens
    java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();
    node.readiness().register("roles", promise -> promise.complete(started.get()
        ? Status.OK(new JsonObject().put("roles", rolesText()))
        : Status.KO(new JsonObject().put("reason", "roles still starting"))));
    Future<Void> chain = Future.succeededFuture();
    boolean waited = false;
    for (Step step : plan()) {
      if (!waited && !WITHOUT_DATABASE.contains(step.name())) {
        chain = chain.compose(v -> database);
        waited = true;
      }
      chain = chain.compose(v -> deploy(step));
    }
    return chain.onSuccess(v -> {
      started.set(true);
      // the edge listens now: peers may relay to it
      vertx.eventBus().publish(Addresses.NODE_SERVING, node.nodeId(), LOCAL);
    });
  }

  private String rolesText() {
    return node.config().roles().toString();
  }

  private List<Step> plan() {
    List<Step> steps = new ArrayList<>();
    steps.add(new Step("registry", () -> new RegistryVerticle(node), 1));
    steps.add(new Step("membership", () -> new MembershipVerticle(node), 1));
    // cluster-wide messages (revocations) that no node misses for good; before the control API that publishes them
    steps.add(new Step("publishes", () -> new ClusterPublishes(node), 1));
    // the control server runs on every node (/health, /ready, /metrics); its /v1 API only with role control
    steps.add(new Step("control", () -> new ControlVerticle(node), 1));
    // role verticles: health before edge, so the edge starts with a health view; edge last (it takes traffic)
    if (node.config().has(Role.CONTROL) && node.config().backup().enabled() && node.postgres() != null) {
      steps.add(new Step("backup", () -> new BackupVerticle(node), 1));
    }
    if (node.config().acme().enabled() && node.config().has(Role.CONTROL) && node.postgres() != null) {
      steps.add(new Step("acme", () -> new AcmeVerticle(node), 1));
    }
    if (node.config().demoOrigin().enabled()) {
      // before health and edge: the quick start's backend is up when they first look at it
      steps.add(new Step("demo-origin", () -> new DemoOriginVerticle(node.config().demoOrigin(), node.nodeId()), 1));
    }
    if (node.config().has(Role.HEALTH)) {
      // one checker per node: more instances would only check every backend more often
      steps.add(new Step("health", () -> new HealthVerticle(node), 1));
    }
    if (node.config().has(Role.AUTH)) {
      steps.add(new Step("auth", () -> new AuthVerticle(node), node.config().instancesOf(Role.AUTH)));
    }
    if (node.config().has(Role.USAGE)) {
      // one per node (the node config refuses instances.usage other than 1): a single writer owns the usage journal; before the edge, so
      // stopping (in reverse) lets the edge drain first and usage then flushes what the last requests recorded
      steps.add(new Step("usage", () -> new UsageVerticle(node), 1));
    }
    if (node.config().has(Role.EDGE) && !node.config().has(Role.USAGE) && !node.config().cluster().enabled()) {
      LOG.warn("node {}: no usage role and no cluster, so keyed requests are served but their usage is not recorded",
          node.nodeId());
    }
    if (node.config().has(Role.EDGE) && node.config().edge().tls() != null) {
      // before the edge: its TLS listener starts with the checked certificates this one owns and reloads
      steps.add(new Step("certificates", () -> new CertificateWatcher(node), 1));
    }
    if (node.config().has(Role.EDGE)) {
      steps.add(new Step("edge", () -> new EdgeVerticle(node), node.config().instancesOf(Role.EDGE)));
    }
    return steps;
  }

  private Future<Void> deploy(Step step) {
    return vertx.deployVerticle(step.verticle(), new DeploymentOptions().setInstances(step.instances()))
        .onSuccess(id -> deployed.push(new Deployed(step.name(), id)))
        .onFailure(e -> LOG.error("node {}: {} failed to start: {}", node.nodeId(), step.name(), e.getMessage()))
        .mapEmpty();
  }

  /**
   * Drains, then stops: readiness turns 503, peers hear we leave (they stop relaying to us) and the edge answers with
   * {@code Connection: close} while it keeps serving for {@code shutdown.drain_delay}, so that load balancers and peers
   * are gone before a listener closes; then verticles stop in reverse start order (the edge first).
   */
  Future<Void> stop() {
    vertx.eventBus().publish(Addresses.NODE_DRAINING, node.nodeId(), LOCAL);
    long delay = node.config().shutdown().drainDelay().toMillis();
    if (delay > 0) {
      LOG.info("node {} draining: unready and out of the peers' views, still serving for {} ms", node.nodeId(), delay);
    }
    // a future of no context (not vertx.timer's): the stop chain must not deliver on an event loop, since the last
    // step of the node's stop closes them all
    Future<Void> chain = delay > 0 ? Future.future(p -> vertx.setTimer(delay, t -> p.complete())) : Future.succeededFuture();
    while (!deployed.isEmpty()) {
      Deployed d = deployed.pop();
      chain = chain.compose(v -> vertx.undeploy(d.id())
          .recover(e -> {
            LOG.warn("node {}: stopping {} failed: {}", node.nodeId(), d.name(), e.getMessage());
            return Future.succeededFuture();
          }));
    }
    return chain;
  }
}
