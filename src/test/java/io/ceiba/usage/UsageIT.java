package io.ceiba.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.bus.Addresses;
import io.ceiba.node.CeibaNode;
import io.ceiba.store.pg.PostgresUrl;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.StoppablePostgres;
import io.ceiba.testkit.TestNodes;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * One node with roles usage and control on a Postgres of this test's own (so it can stop it), events sent over the
 * node's event bus as the edge sends them and through {@code POST /v1/usage/events}. Each test uses its own project
 * ids, so counts never mix; the last ones restart the node on the same data_dir.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class UsageIT {

  private static final String FAST = "usage: { flush_interval: 100ms, batch_size: 100, buffer_size: 1000 }\n";
  /** Nothing is written before the node stops (unless 10000 events arrive). */
  private static final String HOLDING = "usage: { flush_interval: 1h, batch_size: 10000, buffer_size: 10000 }\n";
  private static final Duration WAIT = Duration.ofSeconds(20);

  private final Vertx vertx = Vertx.vertx();
  private Path dir;
  private Path registry;
  private StoppablePostgres postgres;
  private Pool db;
  private CeibaNode node;
  private ControlClient control;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    this.dir = dir;
    postgres = StoppablePostgres.start(dir.resolve("pg"));
    registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(1));
    db = PgBuilder.pool().with(new PoolOptions().setMaxSize(2)).connectingTo(PostgresUrl.parse(postgres.url()).connectOptions()).using(vertx).build();
    startNode(FAST);
    Eventually.until(vertx, Duration.ofSeconds(60), "node ready (schema migrated)",
        () -> control.get("/ready").map(r -> r.statusCode() == 200)).await(70, TimeUnit.SECONDS);
  }

  @AfterAll
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    db.close().await(10, TimeUnit.SECONDS);
    postgres.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void startNode(String usageYaml) {
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registry, "roles: [usage, control]\n" + usageYaml
        + "postgres: { url: \"" + postgres.url() + "\", connect_timeout: 2s }\n");
    node = TestNodes.start(spec);
    if (control != null) {
      control.close();
    }
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
  }

  private void stopNode() throws Exception {
    node.stop().await(30, TimeUnit.SECONDS);
    node = null;
  }

  // --- helpers -----------------------------------------------------------------------------------

  private static JsonObject event(String project, String requestId, String service, int status, Instant time) {
    return new JsonObject().put("request_id", requestId).put("time", time.toString()).put("project", project)
        .put("key_id", "key-1").put("plan", "pro").put("service", service).put("status", status)
        .put("latency_ms", 12L).put("bytes_in", 100L).put("bytes_out", 2000L).put("node", "node1");
  }

  private static List<JsonObject> events(String project, int n) {
    List<JsonObject> out = new ArrayList<>();
    Instant now = Instant.now();
    for (int i = 0; i < n; i++) {
      out.add(event(project, project + "-" + i, "api", i % 10 == 0 ? 503 : 200, now));
    }
    return out;
  }

  /** As the edge does: fire and forget on the node's own bus. */
  private void send(List<?> bodies) {
    bodies.forEach(b -> node.vertx().eventBus().send(Addresses.USAGE_RECORD, b));
  }

  private Future<Long> count(String sql, Object... params) {
    return db.preparedQuery(sql).execute(Tuple.from(params)).map(rows -> rows.iterator().next().getLong(0));
  }

  private long countNow(String sql, Object... params) throws Exception {
    return count(sql, params).await(10, TimeUnit.SECONDS);
  }

  private void await(String what, Supplier<Future<Boolean>> check) throws Exception {
    Eventually.until(vertx, WAIT, what, check).await(WAIT.toSeconds() + 10, TimeUnit.SECONDS);
  }

  private void awaitRows(String project, long n) throws Exception {
    await(n + " rows of " + project, () -> count("select count(*) from usage_events where project_id = $1", project).map(c -> c == n));
  }

  private double counter(String name) {
    Counter c = node.context().meters().find(name).counter();
    return c == null ? 0 : c.count();
  }

  private double gauge(String name) {
    Gauge g = node.context().meters().find(name).gauge();
    return g == null ? 0 : g.value();
  }

  private JsonObject rollup() throws Exception {
    return node.vertx().eventBus().<JsonObject>request(Addresses.USAGE_ROLLUP, null).await(30, TimeUnit.SECONDS).body();
  }

  private JsonObject post(String path, String body, int expected) throws Exception {
    var response = control.send(HttpMethod.POST, path, body, "application/json").await(10, TimeUnit.SECONDS);
    assertThat(response.statusCode()).as(path + " -> " + response.bodyAsString()).isEqualTo(expected);
    return response.bodyAsJsonObject();
  }

  private JsonObject usage(String project, String query, int expected) throws Exception {
    var response = control.get("/v1/projects/" + project + "/usage?" + query).await(10, TimeUnit.SECONDS);
    assertThat(response.statusCode()).as(query + " -> " + response.bodyAsString()).isEqualTo(expected);
    return response.bodyAsJsonObject();
  }

  // --- tests -------------------------------------------------------------------------------------

  @Test
  @Order(1)
  void should_store_each_request_once_when_the_same_events_are_sent_twice() throws Exception {
    List<JsonObject> batch = events("p-once", 500);
    send(batch);
    awaitRows("p-once", 500);

    double duplicates = counter(UsageMetrics.EVENTS_DUPLICATE);
    send(batch);
    await("the replayed batch seen as duplicates", () -> Future.succeededFuture(counter(UsageMetrics.EVENTS_DUPLICATE) >= duplicates + 500));
    assertThat(countNow("select count(*) from usage_events where project_id = $1", "p-once")).isEqualTo(500);
    assertThat(counter(UsageMetrics.EVENTS_WRITTEN)).isGreaterThanOrEqualTo(500);
    String metrics = control.get("/metrics").await(10, TimeUnit.SECONDS).bodyAsString();
    assertThat(metrics).contains("ceiba_usage_buffer_depth", "ceiba_usage_events_written_total", "ceiba_usage_events_journaled_total",
        "ceiba_usage_dead_letters_total", "ceiba_usage_flush_seconds_count", "ceiba_usage_journal_corrupt_total");
  }

  @Test
  @Order(2)
  void should_dead_letter_poison_and_malformed_events_with_their_reason_and_write_the_rest() throws Exception {
    List<Object> bodies = new ArrayList<>(events("p-poison", 50));
    Instant now = Instant.now();
    bodies.add(event("p-poison", "poison-status", "api", 1000, now));
    bodies.add(event("p-poison", "poison-bytes", "api", 200, now).put("bytes_in", -5L));
    bodies.add(event("p-poison", "malformed-time", "api", 200, now).put("time", "yesterday"));
    bodies.add(event("p-poison", "x", "api", 200, now).put("request_id", (String) null));
    bodies.add("not an event");
    double deadBefore = counter(UsageMetrics.DEAD_LETTERS);
    send(bodies);

    awaitRows("p-poison", 50);
    await("5 dead letters", () -> count("select count(*) from usage_dead_letters").map(c -> c == 5));
    JsonObject reasons = new JsonObject();
    for (Row row : db.query("select coalesce(request_id, event) as id, reason from usage_dead_letters").execute().await(10, TimeUnit.SECONDS)) {
      reasons.put(row.getString("id"), row.getString("reason"));
    }
    assertThat(reasons.getString("poison-status")).contains("SQLSTATE 23514").contains("usage_events_status_check");
    assertThat(reasons.getString("poison-bytes")).contains("usage_events_bytes_in_check");
    assertThat(reasons.getString("malformed-time")).startsWith("malformed: time:");
    assertThat(reasons.getMap().values()).contains("malformed: request_id: is required", "malformed: the message body is not a JSON object");
    assertThat(counter(UsageMetrics.DEAD_LETTERS)).isEqualTo(deadBefore + 5);

    // the same poison again is one dead letter still
    long flushes = flushes();
    send(bodies.subList(50, 52));
    await("the poison written again", () -> Future.succeededFuture(flushes() > flushes && gauge(UsageMetrics.BUFFER_DEPTH) == 0));
    assertThat(countNow("select count(*) from usage_dead_letters")).isEqualTo(5);
  }

  private long flushes() {
    return node.context().meters().find(UsageMetrics.FLUSH).timer().count();
  }

  @Test
  @Order(3)
  void should_count_every_event_once_when_rollups_run_while_events_are_written() throws Exception {
    String project = post("/v1/projects", "{\"name\": \"busy\"}", 201).getString("id");
    int n = 3000;
    List<JsonObject> events = events(project, n);
    List<Future<JsonObject>> runs = new java.util.ArrayList<>();
    for (int i = 0; i < n; i += 100) {
      send(events.subList(i, i + 100));
      if (i % 500 == 0) {
        // the job races the inserts: its watermark must never pass a row still being written
        runs.add(node.vertx().eventBus().<JsonObject>request(Addresses.USAGE_ROLLUP, null).map(m -> m.body()));
      }
      Thread.sleep(5);
    }
    awaitRows(project, n);
    Future.join(runs).await(60, TimeUnit.SECONDS);
    rollup();
    assertThat(countNow("select coalesce(sum(requests), 0)::bigint from usage_rollups where project_id = $1", project)).isEqualTo(n);
    String range = "from=" + Instant.now().minus(2, ChronoUnit.HOURS) + "&granularity=hour";
    assertThat(usage(project, range, 200).getLong("total")).isEqualTo(n);
  }

  @Test
  @Order(3)
  void should_answer_exact_usage_from_raw_rows_and_rollups_alike() throws Exception {
    String project = post("/v1/projects", "{\"name\": \"acme\"}", 201).getString("id");
    Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS);
    JsonArray reported = new JsonArray();
    for (int i = 0; i < 30; i++) {
      Instant time = hour.minus(i < 20 ? 2 : 1, ChronoUnit.HOURS).plusSeconds(i);
      reported.add(event(project, "acme-" + i, i < 25 ? "api" : "web", i < 3 ? 503 : i < 6 ? 404 : 200, time));
    }
    String body = new JsonObject().put("events", reported).encode();
    assertThat(post("/v1/usage/events", body, 202)).isEqualTo(new JsonObject().put("accepted", 30).put("inserted", 30).put("duplicates", 0));
    assertThat(post("/v1/usage/events", body, 202).getInteger("duplicates")).isEqualTo(30);
    assertThat(countNow("select count(*) from usage_events where project_id = $1", project)).isEqualTo(30);

    String range = "from=" + hour.minus(3, ChronoUnit.HOURS) + "&to=" + hour + "&granularity=hour";
    JsonObject raw = usage(project, range, 200);
    assertThat(raw.getLong("total")).isEqualTo(30);
    assertThat(raw.getJsonArray("rows")).hasSize(3);
    JsonObject first = raw.getJsonArray("rows").getJsonObject(0);
    assertThat(first.getString("service")).isEqualTo("api");
    assertThat(first.getString("start")).isEqualTo(hour.minus(2, ChronoUnit.HOURS).toString());
    assertThat(first.getLong("requests")).isEqualTo(20);
    assertThat(first.getLong("errors")).as("5xx only").isEqualTo(3);
    assertThat(first.getLong("bytes_in")).isEqualTo(2000);
    assertThat(first.getLong("latency_ms_sum")).isEqualTo(240);

    JsonObject job = rollup();
    assertThat(job.getLong("rolled_up")).isGreaterThanOrEqualTo(30);
    assertThat(countNow("select count(*) from usage_events where project_id = $1 and seq > (select rolled_through from usage_rollup_state)", project)).isZero();
    assertThat(countNow("select sum(requests)::bigint from usage_rollups where project_id = $1", project)).isEqualTo(30);
    assertThat(usage(project, range, 200)).isEqualTo(raw);

    // a raw tail after the rollup adds to it; by day it is one row per service
    send(List.of(event(project, "acme-late", "api", 200, hour.minus(1, ChronoUnit.HOURS))));
    awaitRows(project, 31);
    assertThat(usage(project, range, 200).getLong("total")).isEqualTo(31);
    JsonObject daily = usage(project, "from=" + hour.minus(3, ChronoUnit.HOURS) + "&granularity=day", 200);
    assertThat(daily.getLong("total")).isEqualTo(31);
    assertThat(daily.getString("from")).endsWith("T00:00:00Z");

    usage(project, range.replace("granularity=hour", "granularity=minute"), 400);
    usage(project, "from=yesterday", 400);
    usage(project, "from=" + hour + "&to=" + hour.minus(1, ChronoUnit.HOURS), 400);
    usage("no-such-project", range, 404);
    JsonObject bad = new JsonObject().put("events", new JsonArray().add(event(project, "bad", "api", 1000, hour)));
    assertThat(post("/v1/usage/events", bad.encode(), 400).getJsonObject("error").getString("field")).isEqualTo("events[0].status");
    post("/v1/usage/events", "{\"events\": [{\"request_id\": \"x\", \"colour\": 1}]}", 400);
    post("/v1/usage/events", "{\"events\": [", 400);
  }

  @Test
  @Order(3)
  void should_count_the_requests_a_plan_admitted_since_a_time_from_rollups_and_the_raw_tail() throws Exception {
    String project = post("/v1/projects", "{\"name\": \"metered\"}", 201).getString("id");
    Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS);
    JsonArray reported = new JsonArray();
    for (int i = 0; i < 16; i++) {
      JsonObject e = event(project, "metered-" + i, "api", 200, hour.minus(i < 2 ? 3 : 1, ChronoUnit.HOURS).plusSeconds(i));
      reported.add(i >= 12 ? e.put("plan", null) : e.put("plan", i % 2 == 0 ? "pro" : "team")); // refused: counted under none
    }
    post("/v1/usage/events", new JsonObject().put("events", reported).encode(), 202);
    Instant since = hour.minus(2, ChronoUnit.HOURS);
    assertThat(quotaUsed(project, "pro", since)).as("raw rows only").isEqualTo(5);
    rollup();
    assertThat(quotaUsed(project, "pro", since)).as("rollups only").isEqualTo(5);
    assertThat(quotaUsed(project, "team", since)).isEqualTo(5);
    assertThat(quotaUsed(project, "pro", hour.minus(3, ChronoUnit.HOURS))).isEqualTo(6);
    send(List.of(event(project, "metered-late", "api", 200, hour.minus(1, ChronoUnit.HOURS))));
    awaitRows(project, 17);
    assertThat(quotaUsed(project, "pro", since)).as("rollups plus the raw tail").isEqualTo(6);
    assertThat(quotaUsed("nobody", "pro", since)).isZero();
  }

  @Test
  @Order(3)
  void should_sum_the_credits_a_plan_spent_since_a_time_from_rollups_and_the_raw_tail() throws Exception {
    Instant lastHour = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(1, ChronoUnit.HOURS);
    String project = post("/v1/projects", "{\"name\": \"spender\"}", 201).getString("id");
    // costs 1..5 under prepaid, one event without a cost, and a refused request (under no plan)
    JsonArray reported = new JsonArray(java.util.stream.IntStream.range(0, 6)
        .mapToObj(i -> event(project, "spent-" + i, "api", 200, lastHour.plusSeconds(i)).put("plan", "prepaid").put("cost", i == 0 ? null : i))
        .collect(java.util.stream.Collectors.toList()));
    reported.add(event(project, "spent-refused", "api", 402, lastHour).put("plan", null).put("cost", 0));
    post("/v1/usage/events", new JsonObject().put("events", reported).encode(), 202);
    awaitRows(project, 7);
    Instant since = lastHour.minus(1, ChronoUnit.HOURS);
    assertThat(credits(project, "prepaid", since).getLong("spent")).as("raw rows only").isEqualTo(15);
    rollup();
    assertThat(credits(project, "prepaid", since).getLong("spent")).as("rollups only").isEqualTo(15);
    send(List.of(event(project, "spent-late", "api", 200, lastHour).put("plan", "prepaid").put("cost", 7)));
    awaitRows(project, 8);
    JsonObject credits = credits(project, "prepaid", since);
    assertThat(credits.getLong("spent")).as("rollups plus the raw tail").isEqualTo(22);
    assertThat(credits.getLong("topped_up")).isZero();
    assertThat(quotaUsed(project, "prepaid", since)).as("requests are still counted as such").isEqualTo(7);
  }

  private JsonObject credits(String project, String plan, Instant from) throws Exception {
    JsonObject ask = new JsonObject().put("project", project).put("plan", plan).put("from", from.toString()).put("credits", true);
    return node.vertx().eventBus().<JsonObject>request(Addresses.USAGE_QUOTA_USED, ask).await(10, TimeUnit.SECONDS).body();
  }

  private long quotaUsed(String project, String plan, Instant from) throws Exception {
    JsonObject ask = new JsonObject().put("project", project).put("plan", plan).put("from", from.toString());
    return node.vertx().eventBus().<JsonObject>request(Addresses.USAGE_QUOTA_USED, ask).await(10, TimeUnit.SECONDS).body().getLong("used");
  }

  @Test
  @Order(4)
  void should_prune_old_raw_rows_once_rolled_up_and_still_count_them() throws Exception {
    String project = post("/v1/projects", "{\"name\": \"old-timer\"}", 201).getString("id");
    Instant old = Instant.now().minus(30, ChronoUnit.DAYS);
    JsonArray reported = new JsonArray();
    for (int i = 0; i < 10; i++) {
      reported.add(event(project, "old-" + i, "api", 200, old));
    }
    post("/v1/usage/events", new JsonObject().put("events", reported).encode(), 202);
    send(List.of(event(project, "new-0", "api", 200, Instant.now())));
    awaitRows(project, 11);

    JsonObject job = rollup();
    assertThat(job.getLong("pruned")).isGreaterThanOrEqualTo(10);
    assertThat(countNow("select count(*) from usage_events where project_id = $1", project)).as("only the recent row is kept").isEqualTo(1);
    JsonObject daily = usage(project, "from=" + Instant.now().minus(40, ChronoUnit.DAYS) + "&granularity=day", 200);
    assertThat(daily.getLong("total")).isEqualTo(11);
    assertThat(daily.getJsonArray("rows")).hasSize(2);
  }

  @Test
  @Order(5)
  void should_journal_while_postgres_is_down_and_write_everything_when_it_returns() throws Exception {
    double journaled = counter(UsageMetrics.EVENTS_JOURNALED);
    postgres.stop();
    try {
      List<JsonObject> all = events("p-outage", 300);
      for (int burst = 0; burst < 3; burst++) {
        send(all.subList(burst * 100, burst * 100 + 100));
        int upTo = (burst + 1) * 100;
        await(upTo + " events journaled", () -> Future.succeededFuture(counter(UsageMetrics.EVENTS_JOURNALED) >= journaled + upTo));
      }
      assertThat(gauge(UsageMetrics.JOURNAL_PENDING)).isGreaterThanOrEqualTo(300);
      JsonObject check = control.readyCheck("usage").await(10, TimeUnit.SECONDS);
      assertThat(check.getString("status")).isEqualTo("UP");
      assertThat(check.getJsonObject("data").getBoolean("degraded")).isTrue();
      assertThat(check.getJsonObject("data").getLong("journal_pending")).isGreaterThanOrEqualTo(300);
      assertThat(check.getJsonObject("data").getString("postgres_writes")).isEqualTo("failing");
    } finally {
      postgres.startAgain();
    }
    awaitRows("p-outage", 300);
    await("journal drained", () -> Future.succeededFuture(gauge(UsageMetrics.JOURNAL_PENDING) == 0));
  }

  @Test
  @Order(6)
  void should_journal_when_postgres_is_too_slow_and_store_each_event_once_when_it_catches_up() throws Exception {
    double journaled = counter(UsageMetrics.EVENTS_JOURNALED);
    // a lock makes every insert wait: the writes in flight time out, the buffer (1000) fills up and spills
    SqlConnection locker = db.getConnection().await(10, TimeUnit.SECONDS);
    Transaction tx = locker.begin().await(10, TimeUnit.SECONDS);
    try {
      locker.query("lock table usage_events in access exclusive mode").execute().await(10, TimeUnit.SECONDS);
      send(events("p-slow", 1500));
      await("the full buffer spilled", () -> Future.succeededFuture(counter(UsageMetrics.EVENTS_JOURNALED) >= journaled + 1000));
      await("writes timed out", () -> control.get("/ready").map(r -> r.bodyAsString().contains("\"postgres_writes\":\"failing\"")));
    } finally {
      tx.rollback().eventually(locker::close).await(10, TimeUnit.SECONDS);
    }
    awaitRows("p-slow", 1500);
    await("journal drained", () -> Future.succeededFuture(gauge(UsageMetrics.JOURNAL_PENDING) == 0));
    assertThat(counter(UsageMetrics.EVENTS_DUPLICATE)).as("timed-out inserts committed late, then replayed").isGreaterThan(0);
  }

  @Test
  @Order(7)
  void should_write_buffered_events_when_the_node_stops() throws Exception {
    stopNode();
    startNode(HOLDING);
    send(events("p-stop", 200));
    await("200 events buffered", () -> Future.succeededFuture(gauge(UsageMetrics.BUFFER_DEPTH) == 200));
    stopNode();
    assertThat(countNow("select count(*) from usage_events where project_id = $1", "p-stop")).isEqualTo(200);
  }

  @Test
  @Order(8)
  void should_replay_the_journal_after_a_restart_and_skip_a_corrupt_tail() throws Exception {
    startNode(HOLDING);
    send(events("p-restart", 150));
    await("150 events buffered", () -> Future.succeededFuture(gauge(UsageMetrics.BUFFER_DEPTH) == 150));
    postgres.stop();
    try {
      stopNode();
      Path journal = dir.resolve("data-node1").resolve(UsageVerticle.JOURNAL_DIR);
      Path segment;
      try (Stream<Path> files = Files.list(journal)) {
        segment = files.filter(f -> f.getFileName().toString().startsWith("segment-")).filter(UsageIT::nonEmpty)
            .max(Comparator.naturalOrder()).orElseThrow();
      }
      // a torn write: half a record header and some junk after the last good record
      Files.write(segment, new byte[] {(byte) 0xCE, 0x1B, (byte) 0xA0, 0x01, 0, 0, 0, 99, 1, 2, 3}, StandardOpenOption.APPEND);
    } finally {
      postgres.startAgain();
    }
    startNode(FAST);
    assertThat(counter(UsageMetrics.JOURNAL_CORRUPT)).isEqualTo(1);
    awaitRows("p-restart", 150);
    await("journal drained", () -> Future.succeededFuture(gauge(UsageMetrics.JOURNAL_PENDING) == 0));
    assertThat(control.get("/metrics").await(10, TimeUnit.SECONDS).bodyAsString()).containsPattern("ceiba_usage_journal_corrupt_total\\{[^}]*\\} 1\\.0");
  }

  private static boolean nonEmpty(Path file) {
    try {
      return Files.size(file) > 0;
    } catch (IOException e) {
      return false;
    }
  }
}
