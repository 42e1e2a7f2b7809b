package io.ceiba.access.store;

import io.ceiba.access.ApiKeys;
import io.ceiba.access.KeyRecord;
import io.ceiba.access.Plan;
import io.ceiba.access.QuotaPeriod;
import io.ceiba.error.CeibaException;
import io.ceiba.error.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.DatabaseException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Postgres, the source of truth for plans, projects, subscriptions and keys. Every change runs in one
 * transaction together with its {@code audit_log} row, and reports which projects and keys it touched
 * so caches can drop exactly those.
 */
public final class AccessStore {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String PLAN_COLUMNS = "name, rate_requests, rate_per_ms, rate_burst, quota_requests, quota_per, services, class_limits, credits";

  private final Pool pool;

  public AccessStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * What a change touched: the projects whose keys' entitlements changed and the hashes of those keys
   * (hex), for cache invalidation; {@code newKeys} when the hashes are of keys just created.
   */
  public record Change<T>(T result, List<String> projects, List<String> keyHashes, boolean newKeys) {

    Change(T result, List<String> projects, List<String> keyHashes) {
      this(result, projects, keyHashes, false);
    }
  }

  /** Who made a change, for the audit trail. */
  public record Actor(String name, String node) {

    String label() {
      return name + "@" + node;
    }
  }

  // --- plans -------------------------------------------------------------------------------------

  public Future<Plan> createPlan(Plan plan, Actor actor) {
    return pool.withTransaction(conn -> conn
        .preparedQuery("insert into plans (" + PLAN_COLUMNS + ") values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)")
        .execute(planTuple(plan))
        .compose(rows -> audit(conn, actor, "create", "plan", plan.name(), plan.toJson()))
        .map(plan))
        .recover(e -> Future.failedFuture(translate(e, "plan '" + plan.name() + "' already exists", null)));
  }

  public Future<List<Plan>> plans() {
    return pool.query("select " + PLAN_COLUMNS + " from plans order by name").execute()
        .map(rows -> {
          List<Plan> out = new ArrayList<>();
          rows.forEach(row -> out.add(plan(row)));
          return out;
        });
  }

  /** Replaces a plan's limits and services; every key of a subscribed project is affected. */
  public Future<Change<Plan>> updatePlan(Plan plan, Actor actor) {
    return pool.withTransaction(conn -> conn
        .preparedQuery("update plans set rate_requests = $2, rate_per_ms = $3, rate_burst = $4, quota_requests = $5, "
            + "quota_per = $6, services = $7, class_limits = $8::jsonb, credits = $9::jsonb, updated_at = now() where name = $1")
        .execute(planTuple(plan))
        .compose(rows -> rows.rowCount() == 0
            ? Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, "no plan '" + plan.name() + "'"))
            : audit(conn, actor, "update", "plan", plan.name(), plan.toJson()))
        .compose(v -> affected(conn, "select distinct project_id from subscriptions where plan_name = $1", plan.name()))
        .map(touched -> new Change<>(plan, touched.projects(), touched.keyHashes())))
        .recover(e -> Future.failedFuture(translate(e, null, null)));
  }

  // --- projects and subscriptions ---------------------------------------------------------------

  public Future<JsonObject> createProject(String name, Actor actor) {
    String id = newId("prj_");
    return pool.withTransaction(conn -> conn
        .preparedQuery("insert into projects (id, name) values ($1, $2) returning created_at")
        .execute(Tuple.of(id, name))
        .compose(rows -> audit(conn, actor, "create", "project", id, new JsonObject().put("name", name))
            .map(new JsonObject().put("id", id).put("name", name).put("created_at", time(rows.iterator().next(), "created_at")))))
        .recover(e -> Future.failedFuture(translate(e, "a project named '" + name + "' already exists", null)));
  }

  /** Every project by name, with its count of active keys and the plans it is subscribed to now. */
  public Future<JsonArray> projects() {
    return pool.query("select p.id, p.name, p.created_at, (select count(*) from api_keys k where k.project_id = p.id "
            + "and k.revoked_at is null) as active_keys, array(select s.plan_name from subscriptions s where s.project_id = p.id "
            + "and s.active_from <= now() and (s.active_until is null or s.active_until > now()) order by s.plan_name) as plans "
            + "from projects p order by p.name").execute()
        .map(rows -> {
          JsonArray out = new JsonArray();
          rows.forEach(row -> out.add(new JsonObject().put("id", row.getString("id")).put("name", row.getString("name"))
              .put("created_at", time(row, "created_at")).put("active_keys", row.getLong("active_keys"))
              .put("plans", new JsonArray(List.of(row.getArrayOfStrings("plans"))))));
          return out;
        });
  }

  public Future<JsonObject> project(String id) {
    return pool.preparedQuery("select id, name, created_at, (select count(*) from api_keys k where k.project_id = p.id "
            + "and k.revoked_at is null) as active_keys from projects p where id = $1").execute(Tuple.of(id))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, "no project '" + id + "'"));
          }
          Row row = rows.iterator().next();
          JsonObject project = new JsonObject().put("id", row.getString("id")).put("name", row.getString("name"))
              .put("created_at", time(row, "created_at")).put("active_keys", row.getLong("active_keys"));
          return pool.preparedQuery("select id, plan_name, active_from, active_until from subscriptions where project_id = $1 "
                  + "order by active_from").execute(Tuple.of(id))
              .map(subs -> {
                JsonArray list = new JsonArray();
                subs.forEach(s -> list.add(subscriptionJson(s, id)));
                return project.put("subscriptions", list);
              });
        });
  }

  public Future<Change<JsonObject>> subscribe(String projectId, String planName, Instant from, Instant until, Actor actor) {
    String id = newId("sub_");
    return pool.withTransaction(conn -> requireProject(conn, projectId)
        .compose(v -> conn.preparedQuery("select 1 from plans where name = $1").execute(Tuple.of(planName)))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, "no plan '" + planName + "'"))
            : conn.preparedQuery("insert into subscriptions (id, project_id, plan_name, active_from, active_until) "
                + "values ($1, $2, $3, coalesce($4, now()), $5) returning id, plan_name, active_from, active_until")
                .execute(Tuple.of(id, projectId, planName, offset(from), offset(until))))
        .compose(rows -> {
          JsonObject sub = subscriptionJson(rows.iterator().next(), projectId);
          return audit(conn, actor, "create", "subscription", id, sub)
              .compose(v -> affected(conn, "select $1::text", projectId))
              .map(touched -> new Change<>(sub, touched.projects(), touched.keyHashes()));
        }))
        .recover(e -> Future.failedFuture(translate(e, null, "active_until must be after active_from")));
  }

  // --- keys ----------------------------------------------------------------------------------------

  /** Creates a key; the result holds the secret, which exists nowhere else afterwards. */
  public Future<Change<JsonObject>> createKey(String projectId, String name, Instant expiresAt, Actor actor) {
    String id = newId("key_");
    ApiKeys.NewKey key = ApiKeys.generate();
    return pool.withTransaction(conn -> requireProject(conn, projectId)
        .compose(v -> conn.preparedQuery("insert into api_keys (id, project_id, name, prefix, hash, expires_at) "
            + "values ($1, $2, $3, $4, $5, $6) returning created_at")
            .execute(Tuple.of(id, projectId, name, key.prefix(), Buffer.buffer(key.hash()), offset(expiresAt))))
        .compose(rows -> {
          JsonObject described = new JsonObject().put("id", id).put("project", projectId).put("name", name)
              .put("prefix", key.prefix()).put("expires_at", expiresAt == null ? null : expiresAt.toString())
              .put("created_at", time(rows.iterator().next(), "created_at"));
          return audit(conn, actor, "create", "api_key", id, described.copy())
              // only the new key's own (negative) cache entries go; the project's other keys are unchanged
              .map(v -> new Change<>(described.put("key", key.secret()), List.<String>of(), List.of(ApiKeys.hex(key.hash())), true));
        }))
        .recover(e -> Future.failedFuture(translate(e, null, null)));
  }

  public Future<JsonArray> keys(String projectId) {
    return pool.withConnection(conn -> requireProject(conn, projectId)
        .compose(v -> conn.preparedQuery("select id, name, prefix, created_at, expires_at, revoked_at from api_keys "
            + "where project_id = $1 order by created_at, id").execute(Tuple.of(projectId))))
        .map(rows -> {
          JsonArray out = new JsonArray();
          rows.forEach(r -> out.add(new JsonObject().put("id", r.getString("id")).put("name", r.getString("name"))
              .put("prefix", r.getString("prefix")).put("created_at", time(r, "created_at"))
              .put("expires_at", time(r, "expires_at")).put("revoked_at", time(r, "revoked_at"))));
          return out;
        });
  }

  /** Revokes a key; revoking a revoked key changes nothing and is not an error. */
  public Future<Change<Boolean>> revokeKey(String keyId, Actor actor) {
    return pool.withTransaction(conn -> conn
        .preparedQuery("update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 "
            + "returning project_id, hash")
        .execute(Tuple.of(keyId))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, "no key '" + keyId + "'"));
          }
          Row row = rows.iterator().next();
          String project = row.getString("project_id");
          String hash = ApiKeys.hex(row.getBuffer("hash").getBytes());
          return audit(conn, actor, "revoke", "api_key", keyId, new JsonObject().put("project", project))
              // only this key's cache entries: the project's other keys keep theirs (and their stale copies)
              .map(v -> new Change<>(true, List.<String>of(), List.of(hash)));
        }));
  }

  /** The key with this hash and its project's current and future subscriptions; null when unknown. */
  public Future<KeyRecord> lookup(byte[] hash) {
    return pool.preparedQuery("select k.id, k.project_id, p.name, k.expires_at, k.revoked_at, k.hash from api_keys k "
            + "join projects p on p.id = k.project_id where k.hash = $1")
        .execute(Tuple.of(Buffer.buffer(hash)))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(null);
          }
          Row key = rows.iterator().next();
          // the index found it; the stored hash is still compared in constant time before it counts
          if (!MessageDigest.isEqual(hash, key.getBuffer("hash").getBytes())) {
            return Future.succeededFuture(null);
          }
          String projectId = key.getString("project_id");
          return pool.preparedQuery("select s.active_from, s.active_until, " + prefixed("pl.") + " from subscriptions s "
                  + "join plans pl on pl.name = s.plan_name where s.project_id = $1 "
                  + "and (s.active_until is null or s.active_until > now())")
              .execute(Tuple.of(projectId))
              .map(subs -> {
                List<KeyRecord.Subscription> list = new ArrayList<>();
                subs.forEach(s -> list.add(new KeyRecord.Subscription(plan(s), instant(s, "active_from"), instant(s, "active_until"))));
                return new KeyRecord(key.getString("id"), projectId, key.getString("name"), instant(key, "expires_at"),
                    instant(key, "revoked_at"), list);
              });
        });
  }

  // --- helpers -------------------------------------------------------------------------------------

  private record Touched(List<String> projects, List<String> keyHashes) {
  }

  /** Projects selected by {@code projectQuery} (one text parameter) and the hashes of all their keys. */
  private static Future<Touched> affected(SqlConnection conn, String projectQuery, String param) {
    return conn.preparedQuery("select k.project_id, k.hash from api_keys k where k.project_id in (" + projectQuery + ")")
        .execute(Tuple.of(param))
        .compose(keys -> conn.preparedQuery(projectQuery).execute(Tuple.of(param)).map(projects -> {
          List<String> projectIds = new ArrayList<>();
          projects.forEach(r -> projectIds.add(r.getString(0)));
          List<String> hashes = new ArrayList<>();
          keys.forEach(r -> hashes.add(ApiKeys.hex(r.getBuffer("hash").getBytes())));
          return new Touched(projectIds, hashes);
        }));
  }

  // --- credits -----------------------------------------------------------------------------------

  /**
   * A top-up and the plan it went to.
   *
   * @param at when it was stored (the database's clock): it counts in the credit period holding this instant
   */
  public record TopUp(long id, String projectId, Plan plan, long amount, Instant at) {

    public JsonObject toJson() {
      return new JsonObject().put("id", id).put("project", projectId).put("plan", plan.name()).put("amount", amount)
          .put("at", at.toString());
    }
  }

  /**
   * Adds {@code amount} credits to {@code projectId}'s balance under {@code planName}, or, when that is null, under the
   * one plan with credits the project subscribes to now; audited in the same transaction.
   */
  public Future<TopUp> topUp(String projectId, String planName, long amount, Actor actor) {
    return pool.withTransaction(conn -> requireProject(conn, projectId)
        .compose(v -> conn.preparedQuery("select " + prefixed("p.") + " from plans p join subscriptions s on s.plan_name = p.name "
                + "where s.project_id = $1 and s.active_from <= now() and (s.active_until is null or s.active_until > now()) "
                + "and p.credits is not null and ($2::text is null or p.name = $2) order by p.name").execute(Tuple.of(projectId, planName)))
        .compose(rows -> {
          List<Plan> plans = new ArrayList<>();
          rows.forEach(row -> plans.add(plan(row)));
          if (plans.isEmpty()) {
            return Future.failedFuture(new CeibaException(ErrorCode.INVALID_REQUEST, "project '" + projectId
                + "' has no active subscription to " + (planName == null ? "a plan with credits" : "plan '" + planName + "' with credits")));
          }
          if (plans.size() > 1) {
            return Future.failedFuture(new CeibaException(ErrorCode.INVALID_REQUEST, "project '" + projectId
                + "' subscribes to several plans with credits (" + String.join(", ", plans.stream().map(Plan::name).toList())
                + "): name one in 'plan'"));
          }
          Plan plan = plans.get(0);
          return conn.preparedQuery("insert into credit_topups (project_id, plan_name, amount) values ($1, $2, $3) returning id, at")
              .execute(Tuple.of(projectId, plan.name(), amount))
              .compose(inserted -> {
                Row row = inserted.iterator().next();
                TopUp topUp = new TopUp(row.getLong("id"), projectId, plan, amount, instant(row, "at"));
                return audit(conn, actor, "top-up", "credits", projectId, topUp.toJson()).map(topUp);
              });
        }));
  }

  private static Future<Void> requireProject(SqlConnection conn, String projectId) {
    return conn.preparedQuery("select 1 from projects where id = $1").execute(Tuple.of(projectId))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, "no project '" + projectId + "'"))
            : Future.succeededFuture());
  }

  private static Future<Void> audit(SqlConnection conn, Actor actor, String action, String entity, String id, JsonObject detail) {
    return conn.preparedQuery("insert into audit_log (actor, action, entity, entity_id, detail) values ($1, $2, $3, $4, $5::jsonb)")
        .execute(Tuple.of(actor.label(), action, entity, id, detail.encode()))
        .mapEmpty();
  }

  private static Tuple planTuple(Plan plan) {
    Plan.RateLimit rate = plan.rateLimit();
    Plan.Quota quota = plan.quota();
    return Tuple.from(Arrays.asList(plan.name(),
        rate == null ? null : (int) rate.requests(), rate == null ? null : rate.per().toMillis(),
        rate == null ? null : (int) rate.burst(),
        quota == null ? null : quota.requests(), quota == null ? null : quota.per().wireName(),
        plan.services() == null ? null : plan.services().toArray(String[]::new), classLimitsJson(plan),
        plan.credits() == null ? null : plan.credits().toJson().encode()));
  }

  /** A plan's limits per route class as stored: {@code {"read": {"requests": 10, "per_ms": 1000, "burst": 10}}}. */
  private static String classLimitsJson(Plan plan) {
    if (plan.classLimits().isEmpty()) {
      return null;
    }
    JsonObject json = new JsonObject();
    plan.classLimits().forEach((c, l) -> json.put(c, new JsonObject().put("requests", l.requests()).put("per_ms", l.per().toMillis())
        .put("burst", l.burst())));
    return json.encode();
  }

  private static Map<String, Plan.RateLimit> classLimits(Row row) {
    Object stored = row.getValue("class_limits");
    if (stored == null) {
      return Map.of();
    }
    JsonObject json = stored instanceof JsonObject o ? o : new JsonObject(stored.toString());
    Map<String, Plan.RateLimit> out = new HashMap<>();
    for (String c : json.fieldNames()) {
      JsonObject l = json.getJsonObject(c);
      out.put(c, new Plan.RateLimit(l.getLong("requests"), Duration.ofMillis(l.getLong("per_ms")), l.getLong("burst")));
    }
    return out;
  }

  private static String prefixed(String alias) {
    StringBuilder sb = new StringBuilder();
    for (String column : PLAN_COLUMNS.split(", ")) {
      sb.append(sb.length() == 0 ? "" : ", ").append(alias).append(column);
    }
    return sb.toString();
  }

  private static Plan plan(Row row) {
    Integer rateRequests = row.getInteger("rate_requests");
    Long quotaRequests = row.getLong("quota_requests");
    String[] services = row.getArrayOfStrings("services");
    return new Plan(row.getString("name"),
        rateRequests == null ? null : new Plan.RateLimit(rateRequests, Duration.ofMillis(row.getLong("rate_per_ms")), row.getInteger("rate_burst")),
        quotaRequests == null ? null : new Plan.Quota(quotaRequests, QuotaPeriod.byName(row.getString("quota_per")).orElseThrow()),
        services == null ? null : List.of(services), classLimits(row), credits(row));
  }

  private static Plan.Credits credits(Row row) {
    Object stored = row.getValue("credits");
    return stored == null ? null : Plan.Credits.fromJson(stored instanceof JsonObject o ? o : new JsonObject(stored.toString()));
  }

  private static JsonObject subscriptionJson(Row row, String projectId) {
    return new JsonObject().put("id", row.getString("id")).put("project", projectId).put("plan", row.getString("plan_name"))
        .put("active_from", time(row, "active_from")).put("active_until", time(row, "active_until"));
  }

  private static Instant instant(Row row, String column) {
    OffsetDateTime t = row.getOffsetDateTime(column);
    return t == null ? null : t.toInstant();
  }

  private static String time(Row row, String column) {
    Instant t = instant(row, column);
    return t == null ? null : t.toString();
  }

  private static OffsetDateTime offset(Instant t) {
    return t == null ? null : t.atOffset(ZoneOffset.UTC);
  }

  private static String newId(String prefix) {
    byte[] bytes = new byte[9];
    RANDOM.nextBytes(bytes);
    return prefix + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes).replace('-', 'x').replace('_', 'y');
  }

  /** Constraint violations become 409/400 with a message; anything else is passed on. */
  private static Throwable translate(Throwable e, String duplicate, String checkFailed) {
    if (e instanceof DatabaseException db) {
      String state = db.getSqlState();
      if ("23505".equals(state) && duplicate != null) {
        return new CeibaException(ErrorCode.CONFLICT, duplicate);
      }
      if ("23514".equals(state) && checkFailed != null) {
        return new CeibaException(ErrorCode.INVALID_REQUEST, checkFailed);
      }
    }
    return e;
  }
}
