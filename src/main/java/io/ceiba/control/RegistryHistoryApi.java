package io.ceiba.control;

import io.ceiba.error.CeibaException;
import io.ceiba.error.ErrorCode;
import io.ceiba.node.NodeContext;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/**
 * {@code GET /v1/registry/history} (the versions recorded in {@code registry_history}, newest first, with their YAML:
 * what the console diffs; {@code ?limit=} 1-{@value #MAX_LISTED}, default {@value #DEFAULT_LISTED}) and {@code GET /v1/registry/history/{version}} (one of them with its YAML): what {@code ceiba admin registry
 * diff} and a rollback choose from. Only versions distributed with {@code PUT /v1/registry} are recorded.
 */
final class RegistryHistoryApi {

  /** At most this many versions are listed. */
  static final int MAX_LISTED = 1000;
  static final int DEFAULT_LISTED = 20;

  private final NodeContext node;

  RegistryHistoryApi(NodeContext node) {
    this.node = node;
  }

  void mount(Router router) {
    router.get("/registry/history").handler(ctx -> respond(ctx, ApiReplies.call(() -> list(ctx.queryParams().get("limit")))));
    router.get("/registry/history/:version").handler(ctx -> respond(ctx, ApiReplies.call(() -> one(ctx.pathParam("version")))));
  }

  private Future<JsonObject> list(String limitParam) {
    int limit = DEFAULT_LISTED;
    if (limitParam != null) {
      if (!limitParam.matches("[1-9][0-9]{0,3}") || Integer.parseInt(limitParam) > MAX_LISTED) {
        throw JsonInput.invalidField("limit", "must be a number from 1 to " + MAX_LISTED + ", got '" + JsonInput.clip(limitParam) + "'");
      }
      limit = Integer.parseInt(limitParam);
    }
    requireDatabase();
    return node.postgres().pool()
        .preparedQuery("select version, sha256, applied_by, created_at, body from registry_history order by version desc limit $1")
        .execute(Tuple.of(limit))
        .map(rows -> {
          JsonArray versions = new JsonArray();
          rows.forEach(row -> versions.add(describe(row).put("yaml", row.getString("body"))));
          return new JsonObject().put("versions", versions);
        });
  }

  private Future<JsonObject> one(String raw) {
    if (raw == null || !raw.matches("[1-9][0-9]{0,17}")) {
      throw JsonInput.invalidField("version", "must be a positive whole number, got '" + JsonInput.clip(raw) + "'");
    }
    requireDatabase();
    long version = Long.parseLong(raw);
    return node.postgres().pool()
        .preparedQuery("select version, sha256, applied_by, created_at, body from registry_history where version = $1")
        .execute(Tuple.of(version))
        .map(rows -> {
          if (!rows.iterator().hasNext()) {
            throw new CeibaException(ErrorCode.NOT_FOUND, "registry version " + version
                + " is not in registry_history (only versions distributed with PUT /v1/registry are)");
          }
          Row row = rows.iterator().next();
          return describe(row).put("yaml", row.getString("body"));
        });
  }

  private void requireDatabase() {
    if (node.postgres() == null) {
      throw new CeibaException(ErrorCode.NOT_FOUND, "this node keeps no registry history (no database)");
    }
  }

  private static JsonObject describe(Row row) {
    return new JsonObject().put("version", row.getLong("version")).put("sha256", row.getString("sha256"))
        .put("applied_by", row.getString("applied_by"))
        .put("created_at", row.getOffsetDateTime("created_at").toInstant().toString());
  }

  private static void respond(RoutingContext ctx, Future<JsonObject> result) {
    // a database that does not answer is a 503: the read can be repeated
    ApiReplies.send(ctx, 200, result, e -> e instanceof CeibaException ? e
        : new CeibaException(ErrorCode.UNAVAILABLE, "database unavailable, try again: " + e.getMessage()));
  }
}
