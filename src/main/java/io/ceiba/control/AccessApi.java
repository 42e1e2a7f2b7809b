package io.ceiba.control;

import io.ceiba.access.AccessGate;
import io.ceiba.access.Decision;
import io.ceiba.access.Plan;
import io.ceiba.access.QuotaPeriod;
import io.ceiba.access.auth.AuthVerticle;
import io.ceiba.access.store.AccessStore;
import io.ceiba.bus.Addresses;
import io.ceiba.cluster.ClusterPublishes;
import io.ceiba.error.CeibaException;
import io.ceiba.error.ErrorCode;
import io.ceiba.node.NodeContext;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Registry;
import io.ceiba.registry.RequestPaths;
import io.ceiba.registry.Route;
import io.ceiba.yaml.Durations;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.DatabaseException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access part of {@code /v1}: plans, projects, subscriptions, keys and {@code POST /v1/verify}.
 * Each change is one transaction with its audit row; once committed, the keys it touched are dropped
 * from the Redis key cache and every node's edge cache ({@link Addresses#ACCESS_CHANGED}), and again a
 * second later, which closes the window where a lookup that read the old row re-fills a cache.
 */
final class AccessApi {

  private static final Logger LOG = LoggerFactory.getLogger(AccessApi.class);
  static final long REANNOUNCE_MS = 1000;
  private static final Set<String> PLAN_FIELDS = Set.of("name", "rate_limit", "quota", "services", "credits");
  private static final Set<String> RATE_FIELDS = Set.of("requests", "per", "burst");
  /** Most credits a grant, a top-up or a class's cost may be: far from overflowing a Redis counter. */
  static final long MAX_CREDITS = 1_000_000_000_000L;

  private final Vertx vertx;
  private final NodeContext node;
  private final AccessStore store;
  private final AccessGate gate;

  AccessApi(Vertx vertx, NodeContext node) {
    this.vertx = vertx;
    this.node = node;
    this.store = new AccessStore(node.postgres().pool());
    this.gate = node.access();
  }

  void mount(Router router, Function<RoutingContext, String> body) {
    router.post("/plans").handler(ctx -> created(ctx, ApiReplies.call(() -> store.createPlan(plan(body.apply(ctx), null), actor(ctx)))
        .map(Plan::toJson)));
    router.get("/plans").handler(ctx -> ok(ctx, store.plans().map(plans -> {
      JsonArray out = new JsonArray();
      plans.forEach(p -> out.add(p.toJson()));
      return new JsonObject().put("plans", out);
    })));
    router.put("/plans/:name").handler(ctx -> ok(ctx, ApiReplies.call(() -> store.updatePlan(plan(body.apply(ctx), ctx.pathParam("name")), actor(ctx)))
        .map(this::announce).map(Plan::toJson)));
    router.post("/projects").handler(ctx -> created(ctx, ApiReplies.call(() -> {
      JsonInput in = JsonInput.parse(body.apply(ctx), Set.of("name"));
      return store.createProject(in.name("name"), actor(ctx));
    })));
    router.get("/projects").handler(ctx -> ok(ctx, store.projects().map(projects -> new JsonObject().put("projects", projects))));
    router.get("/projects/:id").handler(ctx -> ok(ctx, store.project(ctx.pathParam("id"))));
    router.post("/projects/:id/subscriptions").handler(ctx -> created(ctx, ApiReplies.call(() -> {
      JsonInput in = JsonInput.parse(body.apply(ctx), Set.of("plan", "active_from", "active_until"));
      return store.subscribe(ctx.pathParam("id"), in.name("plan"), in.instant("active_from"), in.instant("active_until"), actor(ctx));
    }).map(this::announce)));
    router.post("/projects/:id/keys").handler(ctx -> created(ctx, ApiReplies.call(() -> {
      JsonInput in = JsonInput.parse(body.apply(ctx), Set.of("name", "expires_at"));
      String name = in.has("name") ? in.string("name", true) : "default";
      if (name.isBlank() || name.length() > 128) {
        throw in.invalid("name", "must be 1-128 characters");
      }
      return store.createKey(ctx.pathParam("id"), name, in.instant("expires_at"), actor(ctx));
    }).map(this::announce)));
    router.get("/projects/:id/keys").handler(ctx -> ok(ctx, store.keys(ctx.pathParam("id")).map(keys -> new JsonObject().put("keys", keys))));
    router.delete("/keys/:id").handler(ctx -> ApiReplies.call(() -> store.revokeKey(ctx.pathParam("id"), actor(ctx)))
        .map(this::announceRevocation)
        .onSuccess(v -> ctx.response().setStatusCode(204).end())
        .onFailure(e -> ctx.fail(storeFailure(e))));
    router.post("/projects/:id/credits").handler(ctx -> created(ctx, ApiReplies.call(() -> {
      JsonInput in = JsonInput.parse(body.apply(ctx), Set.of("amount", "plan"));
      long amount = in.positiveLong("amount");
      if (amount > MAX_CREDITS) {
        throw in.invalid("amount", "must be at most " + MAX_CREDITS);
      }
      String plan = in.has("plan") ? in.name("plan") : null;
      return store.topUp(ctx.pathParam("id"), plan, amount, actor(ctx))
          .compose(topUp -> gate.topUp(topUp.projectId(), topUp.plan(), amount, topUp.at())
              .map(balance -> topUp.toJson().put("balance", balance)));
    })));
    router.post("/verify").handler(ctx -> ok(ctx, ApiReplies.call(() -> verify(body.apply(ctx)))));
  }

  // --- plans ---------------------------------------------------------------------------------------

  /** A plan from a request body; {@code pathName} is the name a PUT addresses (the body may repeat it). */
  private static Plan plan(String body, String pathName) {
    JsonInput in = JsonInput.parse(body, PLAN_FIELDS);
    String name = pathName != null && !in.has("name") ? pathName : in.name("name");
    if (pathName != null && !pathName.equals(name)) {
      throw in.invalid("name", "must match the plan in the path ('" + pathName + "'); plans cannot be renamed");
    }
    Plan.RateLimit rate = null;
    Map<String, Plan.RateLimit> classes = new TreeMap<>();
    JsonInput r = in.object("rate_limit", null);
    if (r != null) {
      // the plan-wide limit (requests, per, burst) and/or limits per route class: {"read": {...}, "write": {...}}
      for (String field : r.fields()) {
        if (!RATE_FIELDS.contains(field)) {
          if (!field.matches("[a-z0-9][a-z0-9_-]{0,31}")) {
            throw r.invalid(field, "neither requests, per, burst nor a route class (1-32 lower-case letters, digits, '-' or '_')");
          }
          JsonInput limit = r.object(field, RATE_FIELDS);
          if (limit == null) {
            throw r.invalid(field, "must be an object {requests, per, burst}");
          }
          classes.put(field, rateLimit(limit));
        }
      }
      if (r.has("requests") || r.has("per") || r.has("burst") || classes.isEmpty()) {
        rate = rateLimit(r);
      }
    }
    Plan.Quota quota = null;
    JsonInput q = in.object("quota", Set.of("requests", "per"));
    if (q != null) {
      long requests = q.positiveLong("requests");
      String per = q.string("per", true);
      QuotaPeriod period = QuotaPeriod.byName(per).orElseThrow(() -> q.invalid("per", "must be 'day' or 'month', got '" + per + "'"));
      quota = new Plan.Quota(requests, period);
    }
    return new Plan(name, rate, quota, in.strings("services"), classes, credits(in.object("credits", Set.of("amount", "refill", "costs"))));
  }

  /** {@code {amount, refill: day | month | none, costs: {<class>: n}}}, or null when absent. */
  private static Plan.Credits credits(JsonInput c) {
    if (c == null) {
      return null;
    }
    long amount = c.positiveLong("amount");
    if (amount > MAX_CREDITS) {
      throw c.invalid("amount", "must be at most " + MAX_CREDITS);
    }
    String refill = c.has("refill") ? c.string("refill", true) : "none";
    QuotaPeriod period = "none".equals(refill) ? null
        : QuotaPeriod.byName(refill).orElseThrow(() -> c.invalid("refill", "must be 'day', 'month' or 'none', got '" + refill + "'"));
    Map<String, Long> costs = new TreeMap<>();
    JsonInput k = c.object("costs", null);
    if (k != null) {
      for (String routeClass : k.fields()) {
        if (!routeClass.matches("[a-z0-9][a-z0-9_-]{0,31}")) {
          throw k.invalid(routeClass, "not a route class (1-32 lower-case letters, digits, '-' or '_')");
        }
        long cost = k.nonNegativeLong(routeClass);
        if (cost > Route.MAX_COST) {
          throw k.invalid(routeClass, "a cost is 0-" + Route.MAX_COST + " credits");
        }
        costs.put(routeClass, cost);
      }
    }
    return new Plan.Credits(amount, period, costs);
  }

  private static Plan.RateLimit rateLimit(JsonInput r) {
    long requests = r.positiveLong("requests");
    Duration per;
    try {
      per = Durations.parse(r.string("per", true));
    } catch (IllegalArgumentException e) {
      throw r.invalid("per", e.getMessage());
    }
    if (per.toMillis() < 1) {
      throw r.invalid("per", "must be at least 1ms");
    }
    long burst = r.has("burst") ? r.positiveLong("burst") : requests;
    if (requests > Integer.MAX_VALUE || burst > Integer.MAX_VALUE) {
      throw r.invalid("requests", "must be at most " + Integer.MAX_VALUE);
    }
    return new Plan.RateLimit(requests, per, burst);
  }

  // --- verify ------------------------------------------------------------------------------------

  /**
   * The decision the edge would make for a key, without counting it. For a service with routes, {@code method}
   * (default GET) and {@code path} name the request, and the answer is the matching route's ({@code route},
   * {@code class}); a path the edge refuses is {@code 400 invalid_path}, one no route takes {@code 404 no_route}.
   */
  private Future<JsonObject> verify(String body) {
    JsonInput in = JsonInput.parse(body, Set.of("key", "service", "method", "path"));
    String key = in.string("key", false);
    String serviceName = in.string("service", true);
    String method = in.has("method") ? in.string("method", true).toUpperCase(java.util.Locale.ROOT) : "GET";
    if (!method.matches("[A-Z][A-Z-]{0,19}")) {
      throw in.invalid("method", "not an HTTP method");
    }
    String path = in.string("path", false);
    if (path != null && (!path.startsWith("/") || path.length() > 8192)) {
      throw in.invalid("path", "must be a request path starting with '/' (at most 8192 characters)");
    }
    return vertx.eventBus().<Registry>request(Addresses.REGISTRY_CURRENT, null, new DeliveryOptions().setLocalOnly(true))
        .compose(reply -> {
          HttpService service = reply.body().http().get(serviceName);
          if (service == null) {
            return Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, "no http service '" + serviceName + "' in the registry"));
          }
          if (service.routes().isEmpty()) {
            return gate.verify(service, null, null, key).map(d -> describe(d, service, null));
          }
          if (path == null) {
            throw in.invalid("path", "required: service " + serviceName + " has routes; name the request's path (and method)");
          }
          RequestPaths.Normalised normal = RequestPaths.normalise(path);
          if (normal.refused()) {
            throw new CeibaException(ErrorCode.INVALID_PATH, "request path refused: " + normal.problem());
          }
          // no headers: a route that needs one is not chosen here
          Route route = service.routes().match(normal.path(), method, name -> null);
          if (route == null) {
            throw new CeibaException(ErrorCode.NO_ROUTE, "no route of " + serviceName + " takes " + method + " " + normal.path());
          }
          return gate.verify(route.service(), route.className(), route.cost(), key).map(d -> describe(d, route.service(), route));
        });
  }

  private static JsonObject describe(Decision d, HttpService service, Route route) {
    JsonObject out = new JsonObject()
        .put("allowed", d.allowed())
        .put("code", d.reason().label())
        .put("service", service.name());
    if (route != null) {
      out.put("route", route.name()).put("class", route.className());
    }
    out.put("policy", service.access().policy().yamlName())
        .put("project", d.key() == null ? null : d.key().projectId())
        .put("key_id", d.key() == null ? null : d.key().keyId())
        .put("plan", d.plan() == null ? null : d.plan().name());
    if (d.limits() != null) {
      out.put("limit", d.limits().limit()).put("remaining", d.limits().remaining())
          .put("reset", d.limits().resetAt().toString())
          .put("counting", d.limits().clusterWide() ? "cluster" : "node");
    } else {
      out.put("remaining", null).put("reset", null);
    }
    if (d.credits() != null) {
      out.put("credits", new JsonObject().put("balance", d.credits().remaining()).put("cost", d.credits().cost())
          .put("grant", d.credits().grant()).put("reset", d.credits().resetAt() == null ? null : d.credits().resetAt().toString())
          .put("counting", d.credits().clusterWide() ? "cluster" : "node"));
    }
    return out;
  }

  // --- plumbing ------------------------------------------------------------------------------------

  /** Drops what a committed change touched from the Redis key cache and every node's edge cache, twice. */
  private <T> T announce(AccessStore.Change<T> change) {
    return announce(change, new JsonObject());
  }

  /**
   * As {@link #announce(AccessStore.Change)}, and every node also writes the revocation to its ledger outside the
   * database ({@code RevocationLedger}), which a restore from an older backup replays.
   */
  private <T> T announceRevocation(AccessStore.Change<T> change) {
    return announce(change, new JsonObject().put("revoked", new JsonArray(change.keyHashes()))
        .put("revoked_at", java.time.Instant.now().toString()));
  }

  private <T> T announce(AccessStore.Change<T> change, JsonObject message) {
    // a revoked key is dropped from every edge cache; a new key only loses a "no such key" answer cached before it
    // existed; keys of a project whose plans changed turn stale (re-read at once, yet still usable while
    // authorization is down); Redis forgets all of them
    JsonArray hashes = new JsonArray(change.keyHashes());
    message.put("projects", new JsonArray(change.projects()));
    if (change.newKeys()) {
      message.put("unknown", hashes);
    } else if (change.projects().isEmpty()) {
      message.put("hashes", hashes);
    }
    Runnable once = () -> {
      dropFromRedis(change.keyHashes());
      ClusterPublishes.publish(vertx, Addresses.ACCESS_CHANGED, message);
    };
    once.run();
    vertx.setTimer(REANNOUNCE_MS, t -> once.run());
    return change.result();
  }

  private void dropFromRedis(List<String> hashes) {
    if (hashes.isEmpty() || !node.redis().available()) {
      return;
    }
    Request del = Request.cmd(Command.DEL);
    hashes.forEach(h -> del.arg(AuthVerticle.REDIS_KEY_PREFIX + h));
    node.redis().send(del).onFailure(e -> LOG.warn("could not drop {} cached keys from redis: {}", hashes.size(), e.getMessage()));
  }

  private static AccessStore.Actor actor(RoutingContext ctx) {
    var remote = ctx.request().remoteAddress();
    return new AccessStore.Actor("admin from " + (remote == null ? "?" : remote.hostAddress()), "");
  }

  private static void created(RoutingContext ctx, Future<JsonObject> result) {
    ApiReplies.send(ctx, 201, result, AccessApi::storeFailure);
  }

  private static void ok(RoutingContext ctx, Future<JsonObject> result) {
    ApiReplies.send(ctx, 200, result, AccessApi::storeFailure);
  }

  /** A database that does not answer is a 503, not a 500: the request can be repeated later. */
  private static Throwable storeFailure(Throwable e) {
    if (e instanceof CeibaException || e instanceof DatabaseException) {
      return e;
    }
    LOG.warn("access store unavailable: {}", e.getMessage());
    return new CeibaException(ErrorCode.UNAVAILABLE, "database unavailable, try again: " + e.getMessage());
  }
}
