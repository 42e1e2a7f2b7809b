package io.ceiba.usage;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.DatabaseException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * All usage SQL: idempotent batch inserts with dead-lettering, the rollup and retention job, and the usage query.
 * Stateless over the shared pool, so the usage verticle and the control API each make their own.
 */
public final class UsageStore {

  /** Key of the advisory lock that lets one node at a time run the rollup job. */
  static final long ROLLUP_LOCK = 0x0CE1BA_0005L;
  /** Held shared by every batch insert while it runs; see {@link #INSERT_NEW}. */
  static final long INSERT_FENCE = 0x0CE1BA_0006L;
  /** Rows moved or deleted per transaction of the rollup job, so no run holds a long transaction. */
  static final int JOB_CHUNK = 50_000;

  /**
   * The batch insert: one statement per batch whatever its size, the columns travelling as 12 arrays, so there is no
   * bind-parameter limit and no SQL text to build. It holds {@link #INSERT_FENCE} shared until it commits, taken before
   * any row (and so any sequence number) is made: the rollup job takes the fence exclusively to learn a sequence number
   * below which every insert has finished.
   *
   * <p>Written as a plain insert: almost every batch is new. {@code on conflict do nothing} would make every row a
   * speculative insertion (an extra index probe and WAL record each, ~20% more database CPU per row); a batch that
   * repeats a stored request id fails instead with a unique violation and is written again by {@link #INSERT_SKIPPING_KNOWN}.
   */
  private static final String INSERT_NEW = """
      with fence as (select pg_advisory_xact_lock_shared(%d))
      insert into usage_events (request_id, time, project_id, key_id, plan, service, status, latency_ms, bytes_in, bytes_out, node,
                                cost, route_class)
      select u.id, timestamptz 'epoch' + u.micros * interval '1 microsecond', u.project, u.key, u.plan, u.service, u.status,
             u.latency, u.bytes_in, u.bytes_out, u.node, u.cost, u.route_class
      from fence, unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
                         $8::bigint[], $9::bigint[], $10::bigint[], $11::text[], $12::bigint[], $13::text[])
                  as u(id, micros, project, key, plan, service, status, latency, bytes_in, bytes_out, node, cost, route_class)""".formatted(INSERT_FENCE);

  /** {@link #INSERT_NEW} for a batch with known request ids (a replay): those rows are skipped, so a replay is harmless. */
  private static final String INSERT_SKIPPING_KNOWN = INSERT_NEW + "\n      on conflict (request_id) do nothing";

  /** SQLSTATE unique_violation: in {@code usage_events} only its primary key, the request id, is unique. */
  private static final String UNIQUE_VIOLATION = "23505";

  private static final String INSERT_DEAD_LETTERS = """
      insert into usage_dead_letters (digest, request_id, node, event, reason)
      select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
      on conflict (digest) do nothing""";

  /**
   * Adds the raw rows between the watermark and {@code $1} (a sequence number) to their hours and moves the
   * watermark to {@code $1}, in one statement: a reader sees both or neither, so totals stay exact.
   */
  private static final String ROLLUP = """
      with state as (
        select rolled_through from usage_rollup_state for update
      ), moved as (
        select e.project_id, e.service, date_trunc('hour', e.time, 'UTC') as hour, count(*) as requests,
               count(*) filter (where e.status >= 500) as errors, sum(e.bytes_in) as bytes_in, sum(e.bytes_out) as bytes_out,
               sum(e.latency_ms) as latency_ms_sum
        from usage_events e, state where e.seq > state.rolled_through and e.seq <= $1
        group by 1, 2, 3
      ), upserted as (
        insert into usage_rollups as r (project_id, service, hour, requests, errors, bytes_in, bytes_out, latency_ms_sum)
        select project_id, service, hour, requests, errors, bytes_in, bytes_out, latency_ms_sum from moved
        on conflict (project_id, service, hour) do update set
          requests = r.requests + excluded.requests, errors = r.errors + excluded.errors,
          bytes_in = r.bytes_in + excluded.bytes_in, bytes_out = r.bytes_out + excluded.bytes_out,
          latency_ms_sum = r.latency_ms_sum + excluded.latency_ms_sum
        returning 1
      ), plan_upserted as (
        insert into usage_plan_rollups as p (project_id, plan, hour, requests, cost)
        select e.project_id, e.plan, date_trunc('hour', e.time, 'UTC'), count(*), sum(e.cost)
        from usage_events e, state where e.seq > state.rolled_through and e.seq <= $1 and e.plan is not null
        group by 1, 2, 3
        on conflict (project_id, plan, hour) do update set requests = p.requests + excluded.requests, cost = p.cost + excluded.cost
        returning 1
      ), class_upserted as (
        insert into usage_class_rollups as c (project_id, service, route_class, hour, requests, errors, limited, cost)
        select e.project_id, e.service, e.route_class, date_trunc('hour', e.time, 'UTC'), count(*),
               count(*) filter (where e.status >= 500), count(*) filter (where e.status = 429), sum(e.cost)
        from usage_events e, state where e.seq > state.rolled_through and e.seq <= $1 and e.route_class is not null
        group by 1, 2, 3, 4
        on conflict (project_id, service, route_class, hour) do update set requests = c.requests + excluded.requests,
          errors = c.errors + excluded.errors, limited = c.limited + excluded.limited, cost = c.cost + excluded.cost
        returning 1
      ), advanced as (
        update usage_rollup_state set rolled_through = greatest(rolled_through, $1) returning 1
      )
      select coalesce(sum(requests), 0)::bigint as n from moved""";

  /** Only rows already counted in a rollup (at or below the watermark) are ever deleted. */
  private static final String PRUNE = """
      with gone as (
        delete from usage_events where request_id in
          (select request_id from usage_events
           where time < $1 and seq <= (select rolled_through from usage_rollup_state) limit $2)
        returning 1
      )
      select count(*) as n from gone""";

  /** Requests admitted under a plan since a time (an hour boundary): rollups plus the raw rows above the watermark. */
  private static final String QUOTA_USED = """
      select (select coalesce(sum(requests), 0) from usage_plan_rollups where project_id = $1 and plan = $2 and hour >= $3)
           + (select count(*) from usage_events where seq > (select rolled_through from usage_rollup_state)
                and project_id = $1 and plan = $2 and time >= $3) as n""";

  /**
   * Credits an owner bought and spent in a credit period (from $3, a day or month start, or the epoch): the top-ups,
   * and the costs of its plan rollups plus the raw rows above the watermark.
   */
  private static final String CREDITS = """
      select (select coalesce(sum(amount), 0) from credit_topups where project_id = $1 and plan_name = $2 and at >= $3)::bigint
               as topped_up,
             ((select coalesce(sum(cost), 0) from usage_plan_rollups where project_id = $1 and plan = $2 and hour >= $3)
           + (select coalesce(sum(cost), 0) from usage_events where seq > (select rolled_through from usage_rollup_state)
                and project_id = $1 and plan = $2 and time >= $3))::bigint as spent""";

  private static final String PRUNE_DEAD_LETTERS = "delete from usage_dead_letters where received_at < $1";

  /**
   * Rollups of the range plus the raw rows above the watermark. One statement reads one snapshot, and the rollup
   * job adds to the rollups and moves the watermark in one statement, so no request is counted twice or missed.
   */
  private static final String USAGE = """
      select service, bucket, sum(requests)::bigint as requests, sum(errors)::bigint as errors,
             sum(bytes_in)::bigint as bytes_in, sum(bytes_out)::bigint as bytes_out, sum(latency_ms_sum)::bigint as latency_ms_sum
      from (
        select service, date_trunc($4, hour, 'UTC') as bucket, requests, errors, bytes_in, bytes_out, latency_ms_sum
          from usage_rollups where project_id = $1 and hour >= $2 and hour < $3
        union all
        select service, date_trunc($4, time, 'UTC'), 1, case when status >= 500 then 1 else 0 end, bytes_in, bytes_out, latency_ms
          from usage_events where seq > (select rolled_through from usage_rollup_state)
            and project_id = $1 and time >= $2 and time < $3
      ) t
      group by service, bucket
      order by bucket, service""";

  /** {@link #USAGE} per route class: requests of services with routes only (the others have no class). */
  private static final String USAGE_BY_CLASS = """
      select service, route_class, bucket, sum(requests)::bigint as requests, sum(errors)::bigint as errors,
             sum(limited)::bigint as limited, sum(cost)::bigint as cost
      from (
        select service, route_class, date_trunc($4, hour, 'UTC') as bucket, requests, errors, limited, cost
          from usage_class_rollups where project_id = $1 and hour >= $2 and hour < $3
        union all
        select service, route_class, date_trunc($4, time, 'UTC'), 1, case when status >= 500 then 1 else 0 end,
               case when status = 429 then 1 else 0 end, cost
          from usage_events where seq > (select rolled_through from usage_rollup_state)
            and project_id = $1 and time >= $2 and time < $3 and route_class is not null
      ) t
      group by service, route_class, bucket
      order by bucket, service, route_class""";

  private final Pool pool;

  public UsageStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * What a {@link #write} did.
   *
   * @param inserted     new rows in {@code usage_events}
   * @param duplicates   events whose request id was already stored
   * @param deadLettered new rows in {@code usage_dead_letters}
   */
  public record WriteResult(int inserted, int duplicates, int deadLettered) {
  }

  /**
   * Whether a failure is about the data (SQLSTATE class 22, data exception, or 23, integrity constraint violation):
   * the same rows would fail again, so they are isolated and dead-lettered. Everything else (connection, timeout,
   * 08, 53, 57, a missing table before migrations ran) is transient and retried.
   */
  public static boolean isDataError(Throwable failure) {
    if (failure instanceof DatabaseException e && e.getSqlState() != null) {
      return e.getSqlState().startsWith("22") || e.getSqlState().startsWith("23");
    }
    return false;
  }

  /**
   * Writes the events and dead letters. When the batch insert fails on the data, the events are inserted one by one
   * (bounded by the batch size) and those that fail on their data become dead letters with the database's reason.
   * Fails only with a transient error, after which the whole call may be repeated safely.
   */
  public Future<WriteResult> write(List<UsageEvent> events, List<DeadLetter> deadLetters, String nodeId) {
    return insert(events)
        .map(inserted -> new Isolated(inserted, List.<DeadLetter>of()))
        .recover(e -> isDataError(e) && events.size() > 1 ? oneByOne(events, nodeId)
            : isDataError(e) ? Future.succeededFuture(new Isolated(0, List.of(refused(events.get(0), e, nodeId))))
            : Future.failedFuture(e))
        .compose(isolated -> {
          List<DeadLetter> all = new ArrayList<>(deadLetters);
          all.addAll(isolated.refused());
          return insertDeadLetters(all).map(dead -> new WriteResult(isolated.inserted(),
              events.size() - isolated.inserted() - isolated.refused().size(), dead));
        });
  }

  private record Isolated(int inserted, List<DeadLetter> refused) {
  }

  private Future<Isolated> oneByOne(List<UsageEvent> events, String nodeId) {
    Future<Isolated> chain = Future.succeededFuture(new Isolated(0, List.of()));
    for (UsageEvent event : events) {
      chain = chain.compose(sofar -> insert(List.of(event))
          .map(n -> new Isolated(sofar.inserted() + n, sofar.refused()))
          .recover(e -> {
            if (!isDataError(e)) {
              return Future.failedFuture(e);
            }
            List<DeadLetter> refused = new ArrayList<>(sofar.refused());
            refused.add(refused(event, e, nodeId));
            return Future.succeededFuture(new Isolated(sofar.inserted(), refused));
          }));
    }
    return chain;
  }

  private static DeadLetter refused(UsageEvent event, Throwable e, String nodeId) {
    String reason = e instanceof DatabaseException d ? "refused by the database (SQLSTATE " + d.getSqlState() + "): " + d.getMessage()
        : String.valueOf(e.getMessage());
    return DeadLetter.of(event.requestId(), event.journalText(), reason, nodeId);
  }

  /** Inserts the events in one statement; returns how many were new. */
  public Future<Integer> insert(List<UsageEvent> events) {
    if (events.isEmpty()) {
      return Future.succeededFuture(0);
    }
    int n = events.size();
    String[] ids = new String[n];
    Long[] micros = new Long[n];
    String[] projects = new String[n];
    String[] keys = new String[n];
    String[] plans = new String[n];
    String[] services = new String[n];
    Integer[] statuses = new Integer[n];
    Long[] latencies = new Long[n];
    Long[] bytesIn = new Long[n];
    Long[] bytesOut = new Long[n];
    String[] nodes = new String[n];
    Long[] costs = new Long[n];
    String[] routeClasses = new String[n];
    for (int i = 0; i < n; i++) {
      UsageEvent e = events.get(i);
      ids[i] = e.requestId();
      micros[i] = e.time().getEpochSecond() * 1_000_000L + e.time().getNano() / 1000;
      projects[i] = e.project();
      keys[i] = e.keyId();
      plans[i] = e.plan();
      services[i] = e.service();
      statuses[i] = e.status();
      latencies[i] = e.latencyMs();
      bytesIn[i] = e.bytesIn();
      bytesOut[i] = e.bytesOut();
      nodes[i] = e.node();
      costs[i] = e.cost();
      routeClasses[i] = e.routeClass();
    }
    Tuple params = Tuple.tuple().addArrayOfString(ids).addArrayOfLong(micros).addArrayOfString(projects)
        .addArrayOfString(keys).addArrayOfString(plans).addArrayOfString(services).addArrayOfInteger(statuses)
        .addArrayOfLong(latencies).addArrayOfLong(bytesIn).addArrayOfLong(bytesOut).addArrayOfString(nodes).addArrayOfLong(costs)
        .addArrayOfString(routeClasses);
    return pool.preparedQuery(INSERT_NEW).execute(params)
        .recover(e -> e instanceof DatabaseException d && UNIQUE_VIOLATION.equals(d.getSqlState())
            ? pool.preparedQuery(INSERT_SKIPPING_KNOWN).execute(params) : Future.failedFuture(e))
        .map(rows -> rows.rowCount());
  }

  private Future<Integer> insertDeadLetters(List<DeadLetter> deadLetters) {
    if (deadLetters.isEmpty()) {
      return Future.succeededFuture(0);
    }
    int n = deadLetters.size();
    String[] digests = new String[n];
    String[] ids = new String[n];
    String[] nodes = new String[n];
    String[] events = new String[n];
    String[] reasons = new String[n];
    for (int i = 0; i < n; i++) {
      DeadLetter d = deadLetters.get(i);
      digests[i] = sha256(d.event());
      ids[i] = d.requestId();
      nodes[i] = d.node();
      events[i] = d.event();
      reasons[i] = d.reason();
    }
    Tuple params = Tuple.tuple().addArrayOfString(digests).addArrayOfString(ids).addArrayOfString(nodes)
        .addArrayOfString(events).addArrayOfString(reasons);
    return pool.preparedQuery(INSERT_DEAD_LETTERS).execute(params).map(rows -> rows.rowCount());
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /**
   * The rollup and retention job: moves every raw row not rolled up yet into its hourly rollup, then deletes rolled-up
   * rows older than {@code retention} and dead letters received before then. Each chunk is a transaction that first
   * takes {@link #ROLLUP_LOCK} with {@code pg_try_advisory_xact_lock}; when another node holds it, this run stops and
   * reports {@code skipped}.
   *
   * @return {@code {rolled_up, pruned, dead_letters_pruned, skipped}}
   */
  public Future<JsonObject> rollup(Duration retention) {
    OffsetDateTime cutoff = OffsetDateTime.ofInstant(Instant.now().minus(retention), ZoneOffset.UTC);
    JsonObject out = new JsonObject().put("rolled_up", 0L).put("pruned", 0L).put("dead_letters_pruned", 0L).put("skipped", false);
    return fence().compose(safe -> rollUpTo(out, safe))
        .compose(v -> out.getBoolean("skipped") ? Future.succeededFuture() : chunks(out, "pruned",
            conn -> conn.preparedQuery(PRUNE).execute(Tuple.of(cutoff, JOB_CHUNK)).map(UsageStore::count)))
        .compose(v -> out.getBoolean("skipped") ? Future.succeededFuture() : locked(
            conn -> conn.preparedQuery(PRUNE_DEAD_LETTERS).execute(Tuple.of(cutoff)).map(rows -> (long) rows.rowCount()))
            .map(n -> out.put("dead_letters_pruned", Math.max(0, n))))
        .map(v -> out);
  }

  /**
   * A sequence number below which every insert has committed or failed: taken while holding {@link #INSERT_FENCE}
   * exclusively (which waits for the inserts in flight and holds new ones back for that moment); any later insert
   * draws a higher number.
   */
  private Future<Long> fence() {
    return pool.withConnection(conn -> conn.preparedQuery("select pg_advisory_lock($1)").execute(Tuple.of(INSERT_FENCE))
        .compose(locked -> conn.query("select coalesce(max(seq), 0) as s from usage_events").execute()
            .map(rows -> rows.iterator().next().getLong("s"))
            .eventually(() -> conn.preparedQuery("select pg_advisory_unlock($1)").execute(Tuple.of(INSERT_FENCE)))));
  }

  /** Rolls up in chunks of at most {@link #JOB_CHUNK} sequence numbers until the watermark reaches {@code safe}. */
  private Future<Void> rollUpTo(JsonObject out, long safe) {
    long[] reached = {0};
    return locked(conn -> conn.query("select rolled_through from usage_rollup_state").execute().compose(rows -> {
      long watermark = rows.iterator().next().getLong("rolled_through");
      reached[0] = Math.min(safe, watermark + JOB_CHUNK);
      return watermark >= safe ? Future.succeededFuture(0L)
          : conn.preparedQuery(ROLLUP).execute(Tuple.of(reached[0])).map(UsageStore::count);
    })).compose(n -> {
      if (n < 0) {
        out.put("skipped", true);
        return Future.succeededFuture();
      }
      out.put("rolled_up", out.getLong("rolled_up") + n);
      return reached[0] >= safe ? Future.succeededFuture() : rollUpTo(out, safe);
    });
  }

  private static long count(io.vertx.sqlclient.RowSet<Row> rows) {
    return rows.iterator().next().getLong("n");
  }

  /** Repeats {@code chunk} under the lock until it handles fewer than {@link #JOB_CHUNK} rows, adding up into {@code field}. */
  private Future<Void> chunks(JsonObject out, String field, java.util.function.Function<SqlConnection, Future<Long>> chunk) {
    return locked(chunk).compose(n -> {
      if (n < 0) {
        out.put("skipped", true);
        return Future.succeededFuture();
      }
      out.put(field, out.getLong(field) + n);
      return n < JOB_CHUNK ? Future.succeededFuture() : chunks(out, field, chunk);
    });
  }

  /** Runs {@code work} in a transaction holding the rollup lock; -1 when another node holds it. */
  private Future<Long> locked(java.util.function.Function<SqlConnection, Future<Long>> work) {
    return pool.withTransaction(conn -> conn.preparedQuery("select pg_try_advisory_xact_lock($1) as locked")
        .execute(Tuple.of(ROLLUP_LOCK))
        .compose(rows -> rows.iterator().next().getBoolean("locked") ? work.apply(conn) : Future.succeededFuture(-1L)));
  }

  /**
   * How many requests {@code projectId} was admitted under {@code plan} since {@code from} (a quota period's start),
   * exact up to the events not written yet: what a quota counter Redis lost is rebuilt from.
   */
  public Future<Long> quotaUsed(String projectId, String plan, Instant from) {
    return pool.preparedQuery(QUOTA_USED).execute(Tuple.of(projectId, plan, OffsetDateTime.ofInstant(from, ZoneOffset.UTC)))
        .map(rows -> rows.iterator().next().getLong("n"));
  }

  /**
   * {@code {topped_up, spent}}: the credits {@code projectId} bought and spent under {@code plan} since {@code from} (a
   * credit period's start), exact up to the events not written yet: what a credit balance Redis lost is rebuilt from.
   */
  public Future<JsonObject> credits(String projectId, String plan, Instant from) {
    return pool.preparedQuery(CREDITS).execute(Tuple.of(projectId, plan, OffsetDateTime.ofInstant(from, ZoneOffset.UTC)))
        .map(rows -> {
          Row row = rows.iterator().next();
          return new JsonObject().put("topped_up", row.getLong("topped_up")).put("spent", row.getLong("spent"));
        });
  }

  public Future<Boolean> projectExists(String projectId) {
    return pool.preparedQuery("select 1 from projects where id = $1").execute(Tuple.of(projectId)).map(rows -> rows.size() > 0);
  }

  /**
   * Usage of a project per service and bucket, exact: rollups plus the raw rows not rolled up yet.
   *
   * @param from        inclusive, aligned to the granularity
   * @param to          exclusive, aligned to the granularity
   * @param granularity {@code hour} or {@code day} (UTC days)
   * @return rows {@code {service, start, requests, errors, bytes_in, bytes_out, latency_ms_sum}}, oldest first
   */
  public Future<JsonArray> usage(String projectId, Instant from, Instant to, String granularity) {
    return buckets(USAGE, projectId, from, to, granularity, row -> new JsonObject()
        .put("service", row.getString("service"))
        .put("start", row.getOffsetDateTime("bucket").toInstant().toString())
        .put("requests", row.getLong("requests"))
        .put("errors", row.getLong("errors"))
        .put("bytes_in", row.getLong("bytes_in"))
        .put("bytes_out", row.getLong("bytes_out"))
        .put("latency_ms_sum", row.getLong("latency_ms_sum")));
  }

  /**
   * Usage of a project per service, route class and bucket, exact as {@link #usage}; only requests that a route took
   * (services with routes) have a class.
   *
   * @return rows {@code {service, route_class, start, requests, errors, limited, cost}}: {@code limited} counts 429s
   */
  public Future<JsonArray> usageByClass(String projectId, Instant from, Instant to, String granularity) {
    return buckets(USAGE_BY_CLASS, projectId, from, to, granularity, row -> new JsonObject()
        .put("service", row.getString("service"))
        .put("route_class", row.getString("route_class"))
        .put("start", row.getOffsetDateTime("bucket").toInstant().toString())
        .put("requests", row.getLong("requests"))
        .put("errors", row.getLong("errors"))
        .put("limited", row.getLong("limited"))
        .put("cost", row.getLong("cost")));
  }

  /** Runs a usage query over {@code (project, from, to, granularity)} and maps each bucket's row. */
  private Future<JsonArray> buckets(String sql, String projectId, Instant from, Instant to, String granularity,
      java.util.function.Function<Row, JsonObject> bucket) {
    Tuple params = Tuple.of(projectId, OffsetDateTime.ofInstant(from, ZoneOffset.UTC), OffsetDateTime.ofInstant(to, ZoneOffset.UTC),
        granularity);
    return pool.preparedQuery(sql).execute(params).map(rows -> {
      JsonArray out = new JsonArray();
      rows.forEach(row -> out.add(bucket.apply(row)));
      return out;
    });
  }
}
