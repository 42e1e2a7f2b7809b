package io.ceiba.control;

import io.ceiba.bus.Addresses;
import io.ceiba.error.CeibaException;
import io.ceiba.error.ErrorCode;
import io.ceiba.error.ErrorResponses;
import io.ceiba.node.NodeContext;
import io.ceiba.registry.Registry;
import io.ceiba.registry.RegistryParser;
import io.ceiba.registry.RegistrySummary;
import io.ceiba.yaml.InvalidDocumentException;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@code /v1} admin API: bearer-token protected, JSON in and out, errors with codes. */
final class AdminApi {

  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
  /** Largest accepted request body; a registry is a few KB. */
  static final long MAX_BODY_BYTES = 1024 * 1024;
  /** How long {@code PUT /v1/registry} waits for each node's answer. */
  static final long APPLY_TIMEOUT_MS = 5000;
  /** How long /v1/cluster waits for a peer's health view: a peer killed a moment ago must not hold the answer up. */
  static final long HEALTH_VIEW_WAIT_MS = 500;
  /** How long {@code POST /v1/acme/renew} waits for the orders (each may take the CA up to 90 s). */
  static final long ACME_RENEW_TIMEOUT_MS = 120_000;
  private static final String BODY = "ceiba.body";
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setLocalOnly(true).setSendTimeout(2000);

  private final Vertx vertx;
  private final NodeContext node;
  private final byte[] token;

  AdminApi(Vertx vertx, NodeContext node) {
    this.vertx = vertx;
    this.node = node;
    this.token = node.adminToken().getBytes(StandardCharsets.UTF_8);
  }

  Router router() {
    Router router = Router.router(vertx);
    router.get("/openapi.json").handler(new OpenApiDocument(vertx)::handle);
    router.route().handler(this::authenticate);
    router.route().handler(this::readBody);
    router.get("/cluster").handler(ctx -> respond(ctx, cluster()));
    router.get("/cluster/status").handler(ctx -> respond(ctx, NodeStatus.gather(vertx, node.nodeId())));
    router.get("/registry").handler(ctx -> respond(ctx, currentRegistry().map(AdminApi::registryJson)));
    router.put("/registry").handler(ctx -> respond(ctx, parse(ctx).compose(this::distribute)));
    router.post("/registry/rollback").handler(ctx -> respond(ctx, rollback(ctx.get(BODY))));
    router.post("/registry/validate").handler(ctx -> respond(ctx, parse(ctx).map(r -> new JsonObject()
        .put("valid", true).put("version", r.version()).put("summary", RegistrySummary.describe(r)))));
    new RegistryHistoryApi(node).mount(router);
    new AccessApi(vertx, node).mount(router, ctx -> ctx.get(BODY));
    new UsageApi(node).mount(router, ctx -> ctx.get(BODY));
    new CertificateApi(vertx, node).mount(router, ctx -> ctx.get(BODY));
    router.post("/acme/renew").handler(ctx -> respond(ctx, renewAcme()));
    router.route().failureHandler(this::fail);
    return router;
  }

  private void authenticate(RoutingContext ctx) {
    String header = ctx.request().getHeader("authorization");
    byte[] presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
        ? header.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
    // constant-time: the comparison must not tell how much of a guess was right
    if (!MessageDigest.isEqual(presented, token)) {
      ctx.response().putHeader("www-authenticate", "Bearer");
      ErrorResponses.send(ctx.response(), ErrorCode.UNAUTHORIZED,
          header == null ? "missing bearer token" : "wrong bearer token", null);
      return;
    }
    ctx.next();
  }

  /**
   * Buffers the request body up to {@link #MAX_BODY_BYTES} whatever its content type: operators send
   * registries with {@code curl --data-binary}, which labels them as a form, and a form decoder would
   * choke on them.
   */
  private void readBody(RoutingContext ctx) {
    String length = ctx.request().getHeader("content-length");
    if (length != null && length.matches("\\d{1,18}") && Long.parseLong(length) > MAX_BODY_BYTES) {
      tooLarge(ctx);
      return;
    }
    Buffer body = Buffer.buffer();
    ctx.request().handler(chunk -> {
      if (body.length() + chunk.length() > MAX_BODY_BYTES) {
        ctx.request().handler(null);
        tooLarge(ctx);
      } else {
        body.appendBuffer(chunk);
      }
    });
    ctx.request().endHandler(v -> {
      if (!ctx.response().ended()) {
        ctx.put(BODY, body.toString(StandardCharsets.UTF_8));
        ctx.next();
      }
    });
    ctx.request().exceptionHandler(e -> ctx.fail(400, e));
  }

  private static void tooLarge(RoutingContext ctx) {
    ctx.response().putHeader("connection", "close");
    ErrorResponses.send(ctx.response(), ErrorCode.BODY_TOO_LARGE, "request body larger than " + MAX_BODY_BYTES + " bytes", null);
  }

  private void respond(RoutingContext ctx, Future<JsonObject> result) {
    ApiReplies.send(ctx, 200, result, e -> e);
  }

  private void fail(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (failure instanceof CeibaException e) {
      ErrorResponses.send(ctx.response(), e, null);
    } else if (failure == null && ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      ErrorResponses.send(ctx.response(), ErrorCode.INVALID_REQUEST, "request refused (" + ctx.statusCode() + ")", null);
    } else {
      LOG.error("admin API {} {} failed", ctx.request().method(), ctx.request().path(), failure);
      ErrorResponses.send(ctx.response(), ErrorCode.INTERNAL, "internal error", null);
    }
  }

  /**
   * This node's membership view (nodes the cluster manager dropped are not in it), each node with its own view of
   * backend health, asked over the cluster for at most {@link #HEALTH_VIEW_WAIT_MS}: a node that died a moment ago
   * and is not dropped yet shows {@code backends_error} rather than holding the answer up.
   */
  private Future<JsonObject> cluster() {
    DeliveryOptions ask = new DeliveryOptions().setSendTimeout(HEALTH_VIEW_WAIT_MS);
    return vertx.eventBus().<JsonArray>request(Addresses.CLUSTER_VIEW, null, LOCAL).compose(reply -> {
      List<Future<JsonObject>> nodes = new ArrayList<>();
      for (Object o : reply.body()) {
        JsonObject info = (JsonObject) o;
        boolean checks = info.getJsonArray("roles", new JsonArray()).contains("health");
        Future<JsonObject> withHealth = !checks ? Future.succeededFuture(info) : vertx.eventBus()
            .<JsonObject>request(Addresses.healthView(info.getString("id")), null, ask)
            .map(view -> info.put("backends", view.body().getJsonArray("backends")))
            .otherwise(e -> info.put("backends_error", e.getMessage()));
        // the certificates its TLS listener serves; a node without one does not answer (nothing to show)
        boolean edge = info.getJsonArray("roles", new JsonArray()).contains("edge");
        nodes.add(!edge ? withHealth : withHealth.compose(i -> vertx.eventBus()
            .<JsonArray>request(Addresses.tlsServed(i.getString("id")), null, ask)
            .map(served -> i.put("certificates", served.body()))
            .otherwise(i)));
      }
      return Future.join(nodes).map(all -> {
        JsonArray out = new JsonArray();
        nodes.forEach(f -> out.add(f.result()));
        return new JsonObject().put("self", node.nodeId()).put("nodes", out);
      });
    });
  }

  /** Orders every ACME certificate again now, under the cluster's ACME lock; the outcome per certificate. */
  private Future<JsonObject> renewAcme() {
    DeliveryOptions wait = new DeliveryOptions().setLocalOnly(true).setSendTimeout(ACME_RENEW_TIMEOUT_MS);
    return vertx.eventBus().<JsonObject>request(Addresses.ACME_RENEW, new JsonObject().put("force", true), wait)
        .map(reply -> reply.body())
        .recover(e -> Future.failedFuture(e instanceof io.vertx.core.eventbus.ReplyException r
            ? switch (r.failureType()) {
              case NO_HANDLERS -> new CeibaException(ErrorCode.NOT_FOUND,
                  "no ACME on this node: it needs acme.directory, role control and a database");
              case TIMEOUT -> new CeibaException(ErrorCode.UNAVAILABLE, "the renewal did not finish within "
                  + ACME_RENEW_TIMEOUT_MS / 1000 + " s; it goes on, see the node's log");
              default -> new CeibaException(r.failureCode() == 409 ? ErrorCode.CONFLICT : ErrorCode.UNAVAILABLE,
                  r.getMessage());
            }
            : e));
  }

  private Future<Registry> currentRegistry() {
    return vertx.eventBus().<Registry>request(Addresses.REGISTRY_CURRENT, null, LOCAL).map(reply -> reply.body());
  }

  private static JsonObject registryJson(Registry registry) {
    return new JsonObject()
        .put("version", registry.version())
        .put("sha256", registry.sha256())
        .put("http", new JsonArray(List.copyOf(registry.http().keySet())))
        .put("tcp", new JsonArray(List.copyOf(registry.tcp().keySet())))
        .put("yaml", registry.text());
  }

  /** Parses the body (YAML, or JSON which is YAML too) off the event loop. */
  private Future<Registry> parse(RoutingContext ctx) {
    String text = ctx.get(BODY);
    if (text == null || text.isBlank()) {
      return Future.failedFuture(new CeibaException(ErrorCode.INVALID_REGISTRY, "request body is empty; send the registry YAML"));
    }
    return vertx.executeBlocking(() -> {
      try {
        return RegistryParser.parse("request body", text, RegistryParser.folderOf(node.config().registry().file()));
      } catch (InvalidDocumentException e) {
        throw new CeibaException(ErrorCode.INVALID_REGISTRY, "registry is invalid (" + e.problems().size() + " problems)",
            new JsonObject().put("problems", ErrorResponses.problems(e.problems())));
      }
    });
  }

  /**
   * Keeps the registry in {@code registry_history}; best effort, because distributing a registry must not
   * depend on the database being up.
   */
  private Future<Boolean> record(Registry registry) {
    if (node.postgres() == null) {
      return Future.succeededFuture(false);
    }
    return node.postgres().pool()
        .preparedQuery("insert into registry_history (version, sha256, body, applied_by) values ($1, $2, $3, $4) "
            + "on conflict (version) do nothing")
        .execute(Tuple.of(registry.version(), registry.sha256(), registry.text(), node.nodeId()))
        .map(rows -> true)
        .otherwise(e -> {
          LOG.warn("registry version {} not recorded: {}", registry.version(), e.getMessage());
          return false;
        });
  }

  /**
   * Distributes an earlier registry from {@code registry_history} as a new version (current + 1), so every node takes
   * it like any newer registry. Body: nothing for the newest recorded version below the current one, or
   * {@code {"to": VERSION}}.
   */
  private Future<JsonObject> rollback(String body) {
    if (node.postgres() == null) {
      return Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, "this node keeps no registry history (no database)"));
    }
    Long to;
    try {
      to = body == null || body.isBlank() ? null : RegistryRollback.target(body);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new CeibaException(ErrorCode.BAD_REQUEST, e.getMessage()));
    }
    return currentRegistry().compose(current -> {
      String query = to != null ? "select version, body from registry_history where version = $1"
          : "select version, body from registry_history where version < $1 order by version desc limit 1";
      return node.postgres().pool().preparedQuery(query).execute(io.vertx.sqlclient.Tuple.of(to != null ? to : current.version()))
          .compose(rows -> {
            if (!rows.iterator().hasNext()) {
              return Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, to != null
                  ? "registry version " + to + " is not in registry_history (only versions distributed with PUT /v1/registry are)"
                  : "no registry below version " + current.version() + " in registry_history"));
            }
            var row = rows.iterator().next();
            long from = row.getLong("version");
            long next = current.version() + 1;
            return vertx.executeBlocking(() -> RegistryParser.parse("registry_history version " + from,
                    RegistryRollback.withVersion(row.getString("body"), next), RegistryParser.folderOf(node.config().registry().file())))
                .compose(this::distribute)
                .map(result -> result.put("rolled_back_to", from));
          });
    });
  }

  /** Sends the registry to every node in the view and reports each node's outcome. */
  private Future<JsonObject> distribute(Registry registry) {
    return currentRegistry().compose(current -> {
      if (registry.version() <= current.version() && !registry.sha256().equals(current.sha256())) {
        return Future.failedFuture(new CeibaException(ErrorCode.STALE_VERSION, "version " + registry.version()
            + " is not higher than the applied version " + current.version()));
      }
      return record(registry);
    }).compose(stored -> vertx.eventBus().<JsonArray>request(Addresses.CLUSTER_VIEW, null, LOCAL).map(view -> {
      if (!stored) {
        LOG.warn("registry version {} is distributed but not recorded in registry_history", registry.version());
      }
      return view;
    })).compose(view -> {
      List<Future<JsonObject>> answers = new ArrayList<>();
      JsonObject message = new JsonObject().put("text", registry.text()).put("from", node.nodeId());
      DeliveryOptions options = new DeliveryOptions().setSendTimeout(APPLY_TIMEOUT_MS);
      for (Object o : view.body()) {
        String nodeId = ((JsonObject) o).getString("id");
        answers.add(vertx.eventBus().<JsonObject>request(Addresses.registryApply(nodeId), message, options)
            .map(reply -> reply.body())
            .otherwise(e -> new JsonObject().put("node", nodeId).put("result", "unreachable").put("message", e.getMessage())));
      }
      return Future.join(answers).map(all -> {
        JsonObject nodes = new JsonObject();
        boolean complete = true;
        for (Future<JsonObject> f : answers) {
          JsonObject r = f.result();
          nodes.put(r.getString("node"), r);
          String result = r.getString("result");
          complete &= "applied".equals(result) || "unchanged".equals(result);
        }
        LOG.info("registry version {} distributed from {}: {}", registry.version(), node.nodeId(), nodes.encode());
        return new JsonObject().put("version", registry.version()).put("complete", complete).put("nodes", nodes);
      });
    });
  }
}
