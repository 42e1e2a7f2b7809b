package io.ceiba.access;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The access part of the control API on one node: validation, codes, audit, secrets kept secret. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessApiIT {

  static {
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host,connection");
  }

  private final Vertx vertx = Vertx.vertx();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private CeibaNode node;
  private TestNodes.Spec spec;
  private ControlClient control;
  private Origin origin;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
    origin = Origin.start(vertx, "origin");
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n  api:\n    hosts: [api.test]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    access: { policy: plan, plans: [pro] }\n"
        + "  metered:\n    hosts: [metered.test]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    access: { policy: plan, plans: [daily] }\n");
    // no Redis: limits and quotas are counted on the node; the usage role is the ledger they start from
    spec = TestNodes.write(dir, "node1", null, null, registry, "roles: [edge, auth, usage, control]\n");
    startNode();
  }

  private void startNode() throws Exception {
    node = TestNodes.start(spec);
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
  }

  @AfterAll
  void stop() throws Exception {
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    TestNodes.stopQuietly(node);
    origin.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private HttpResponse<Buffer> send(HttpMethod method, String path, String body) throws Exception {
    return control.send(method, path, body, "application/json").await(10, TimeUnit.SECONDS);
  }

  private static String errorCode(HttpResponse<Buffer> r) {
    return r.bodyAsJsonObject().getJsonObject("error").getString("code");
  }

  @Test
  void should_validate_plans_and_report_conflicts_and_unknowns_with_codes() throws Exception {
    assertThat(errorCode(send(HttpMethod.POST, "/v1/plans", "{\"name\": \"x\",")) ).isEqualTo("malformed_json");
    assertThat(errorCode(send(HttpMethod.POST, "/v1/plans", "[1, 2]"))).isEqualTo("malformed_json");
    HttpResponse<Buffer> unknown = send(HttpMethod.POST, "/v1/plans", "{\"name\": \"x\", \"rate\": {}}");
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(errorCode(unknown)).isEqualTo("invalid_request");
    assertThat(unknown.bodyAsJsonObject().getJsonObject("error").getString("field")).isEqualTo("rate");
    HttpResponse<Buffer> wrongType = send(HttpMethod.POST, "/v1/plans", "{\"name\": \"x\", \"rate_limit\": {\"requests\": \"ten\", \"per\": \"1s\"}}");
    assertThat(wrongType.statusCode()).isEqualTo(400);
    assertThat(wrongType.bodyAsJsonObject().getJsonObject("error").getString("field")).isEqualTo("rate_limit.requests");
    assertThat(send(HttpMethod.POST, "/v1/plans", "{\"name\": \"x\", \"quota\": {\"requests\": 5, \"per\": \"year\"}}").statusCode())
        .isEqualTo(400);
    assertThat(send(HttpMethod.POST, "/v1/plans", "{\"name\": \"Bad Name\"}").statusCode()).isEqualTo(400);

    String plan = "{\"name\": \"basic\", \"rate_limit\": {\"requests\": 10, \"per\": \"1s\", \"burst\": 20},"
        + " \"quota\": {\"requests\": 100000, \"per\": \"month\"}, \"services\": [\"api\"]}";
    HttpResponse<Buffer> created = send(HttpMethod.POST, "/v1/plans", plan);
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(created.bodyAsJsonObject().getJsonObject("rate_limit").getLong("burst")).isEqualTo(20);
    HttpResponse<Buffer> duplicate = send(HttpMethod.POST, "/v1/plans", plan);
    assertThat(duplicate.statusCode()).isEqualTo(409);
    assertThat(errorCode(duplicate)).isEqualTo("conflict");

    HttpResponse<Buffer> updated = send(HttpMethod.PUT, "/v1/plans/basic", "{\"rate_limit\": {\"requests\": 50, \"per\": \"1s\"}}");
    assertThat(updated.statusCode()).isEqualTo(200);
    assertThat(updated.bodyAsJsonObject().getJsonObject("rate_limit").getLong("burst")).isEqualTo(50);
    assertThat(updated.bodyAsJsonObject().getValue("quota")).isNull();
    assertThat(send(HttpMethod.PUT, "/v1/plans/nosuch", "{}").statusCode()).isEqualTo(404);
    assertThat(send(HttpMethod.PUT, "/v1/plans/basic", "{\"name\": \"renamed\"}").statusCode()).isEqualTo(400);
    assertThat(send(HttpMethod.GET, "/v1/plans", null).bodyAsJsonObject().getJsonArray("plans").encode()).contains("\"basic\"");

    // limits per route class: stored, answered and replaced as given, the plan-wide limit optional beside them
    HttpResponse<Buffer> classes = send(HttpMethod.POST, "/v1/plans", "{\"name\": \"classy\", \"rate_limit\": "
        + "{\"read\": {\"requests\": 100, \"per\": \"1m\"}, \"write\": {\"requests\": 5, \"per\": \"1s\", \"burst\": 10}}}");
    assertThat(classes.statusCode()).as(classes.bodyAsString()).isEqualTo(201);
    JsonObject stored = send(HttpMethod.GET, "/v1/plans", null).bodyAsJsonObject().getJsonArray("plans").stream()
        .map(JsonObject.class::cast).filter(p -> p.getString("name").equals("classy")).findFirst().orElseThrow();
    assertThat(stored.getJsonObject("rate_limit").encode())
        .isEqualTo("{\"read\":{\"requests\":100,\"per\":\"1m\",\"burst\":100},\"write\":{\"requests\":5,\"per\":\"1s\",\"burst\":10}}");
    HttpResponse<Buffer> replaced = send(HttpMethod.PUT, "/v1/plans/classy",
        "{\"rate_limit\": {\"requests\": 1, \"per\": \"1s\", \"auth\": {\"requests\": 3, \"per\": \"1m\"}}}");
    assertThat(replaced.statusCode()).isEqualTo(200);
    assertThat(replaced.bodyAsJsonObject().getJsonObject("rate_limit").fieldNames()).containsExactlyInAnyOrder("requests", "per", "burst", "auth");
    for (String[] bad : new String[][] {
        {"{\"Read!\": {\"requests\": 1, \"per\": \"1s\"}}", "rate_limit.Read!"},
        {"{\"read\": 5}", "rate_limit.read"},
        {"{\"read\": {\"requests\": 1}}", "rate_limit.read.per"},
        {"{\"read\": {\"requests\": 1, \"per\": \"1s\", \"rate\": 2}}", "rate_limit.read.rate"}}) {
      HttpResponse<Buffer> refused = send(HttpMethod.POST, "/v1/plans", "{\"name\": \"bad\", \"rate_limit\": " + bad[0] + "}");
      assertThat(refused.statusCode()).as(bad[0]).isEqualTo(400);
      assertThat(refused.bodyAsJsonObject().getJsonObject("error").getString("field")).as(bad[0]).isEqualTo(bad[1]);
    }
  }

  @Test
  void should_manage_projects_subscriptions_and_keys_with_an_audit_row_per_change() throws Exception {
    send(HttpMethod.POST, "/v1/plans", "{\"name\": \"pro\", \"quota\": {\"requests\": 3, \"per\": \"day\"}}");
    HttpResponse<Buffer> project = send(HttpMethod.POST, "/v1/projects", "{\"name\": \"acme\"}");
    assertThat(project.statusCode()).isEqualTo(201);
    String id = project.bodyAsJsonObject().getString("id");
    assertThat(send(HttpMethod.POST, "/v1/projects", "{\"name\": \"acme\"}").statusCode()).isEqualTo(409);
    assertThat(send(HttpMethod.GET, "/v1/projects/prj_nosuch", null).statusCode()).isEqualTo(404);

    assertThat(errorCode(send(HttpMethod.POST, "/v1/projects/" + id + "/subscriptions", "{\"plan\": \"nosuch\"}"))).isEqualTo("not_found");
    assertThat(send(HttpMethod.POST, "/v1/projects/prj_nosuch/subscriptions", "{\"plan\": \"pro\"}").statusCode()).isEqualTo(404);
    assertThat(send(HttpMethod.POST, "/v1/projects/" + id + "/subscriptions",
        "{\"plan\": \"pro\", \"active_from\": \"2027-01-02T00:00:00Z\", \"active_until\": \"2027-01-01T00:00:00Z\"}").statusCode()).isEqualTo(400);
    assertThat(send(HttpMethod.POST, "/v1/projects/" + id + "/subscriptions", "{\"plan\": \"pro\"}").statusCode()).isEqualTo(201);
    assertThat(send(HttpMethod.GET, "/v1/projects/" + id, null).bodyAsJsonObject().getJsonArray("subscriptions")).hasSize(1);

    JsonObject key = send(HttpMethod.POST, "/v1/projects/" + id + "/keys", "{\"name\": \"ci\"}").bodyAsJsonObject();
    String secret = key.getString("key");
    assertThat(secret).startsWith("ck_").hasSizeGreaterThanOrEqualTo(3 + 32);
    assertThat(key.getString("prefix")).isEqualTo(secret.substring(0, 11));
    String listed = send(HttpMethod.GET, "/v1/projects/" + id + "/keys", null).bodyAsString();
    assertThat(listed).contains(key.getString("id")).doesNotContain(secret).doesNotContain("\"key\"");
    assertThat(send(HttpMethod.POST, "/v1/projects/" + id + "/keys", "{\"expires_at\": \"tomorrow\"}").statusCode()).isEqualTo(400);

    // the edge and verify agree: 3 a day
    JsonObject verify = send(HttpMethod.POST, "/v1/verify", "{\"key\": \"" + secret + "\", \"service\": \"api\"}").bodyAsJsonObject();
    assertThat(verify.getBoolean("allowed")).isTrue();
    assertThat(verify.getString("project")).isEqualTo(id);
    assertThat(verify.getLong("remaining")).isEqualTo(3);
    HttpClient http = HttpClient.newHttpClient();
    int ok = 0;
    for (int i = 0; i < 5; i++) {
      var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + spec.edgePort() + "/")).header("host", "api.test")
          .header("x-api-key", secret).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      ok += r.statusCode() == 200 ? 1 : 0;
    }
    assertThat(ok).isEqualTo(3);
    verify = send(HttpMethod.POST, "/v1/verify", "{\"key\": \"" + secret + "\", \"service\": \"api\"}").bodyAsJsonObject();
    assertThat(verify.getString("code")).isEqualTo("quota_exceeded");
    assertThat(send(HttpMethod.POST, "/v1/verify", "{\"key\": \"x\", \"service\": \"nosuch\"}").statusCode()).isEqualTo(404);

    assertThat(send(HttpMethod.DELETE, "/v1/keys/" + key.getString("id"), null).statusCode()).isEqualTo(204);
    assertThat(send(HttpMethod.DELETE, "/v1/keys/" + key.getString("id"), null).statusCode()).isEqualTo(204);
    assertThat(send(HttpMethod.DELETE, "/v1/keys/key_nosuch", null).statusCode()).isEqualTo(404);
    verify = send(HttpMethod.POST, "/v1/verify", "{\"key\": \"" + secret + "\", \"service\": \"api\"}").bodyAsJsonObject();
    assertThat(verify.getString("code")).isEqualTo("key_revoked");

    var url = node.context().postgres().url();
    try (var c = DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password());
        var s = c.createStatement();
        ResultSet rows = s.executeQuery("select action, entity, entity_id, actor, detail::text from audit_log where entity_id in ('"
            + id + "', '" + key.getString("id") + "') or entity = 'subscription' order by id")) {
      StringBuilder trail = new StringBuilder();
      while (rows.next()) {
        trail.append(rows.getString(1)).append(' ').append(rows.getString(2)).append(' ').append(rows.getString(4))
            .append(' ').append(rows.getString(5)).append('\n');
      }
      assertThat(trail.toString()).contains("create project", "create subscription", "create api_key", "revoke api_key")
          .contains("admin from 127.0.0.1").doesNotContain(secret);
      // what is stored for the key, read from the table: its SHA-256 and its public prefix, nothing else of it
      try (ResultSet row = s.executeQuery("select * from api_keys where id = '" + key.getString("id") + "'")) {
        assertThat(row.next()).isTrue();
        byte[] stored = row.getBytes("hash");
        assertThat(stored).isEqualTo(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        List<String> seen = new ArrayList<>(List.of(new String(stored, StandardCharsets.ISO_8859_1),
            HexFormat.of().formatHex(stored), Base64.getEncoder().encodeToString(stored)));
        for (int column = 1; column <= row.getMetaData().getColumnCount(); column++) {
          String name = row.getMetaData().getColumnName(column);
          if (name.equals("prefix")) {
            assertThat(row.getString(column)).isEqualTo(secret.substring(0, 11));
          } else if (row.getString(column) != null) {
            seen.add(row.getString(column));
          }
        }
        for (int at = 0; at + 8 <= secret.length(); at++) {
          String piece = secret.substring(at, at + 8);
          assertThat(seen).as("8 characters of the key from " + at).noneMatch(v -> v.contains(piece));
        }
      }
    }
    // nothing logged anywhere, at any level, carries the secret or the admin token
    assertThat(logs.list).isNotEmpty();
    assertThat(logs.list).noneMatch(e -> e.getFormattedMessage().contains(secret) || e.getFormattedMessage().contains(TestNodes.TOKEN));
  }

  @Test
  void should_refuse_a_missing_or_wrong_token_and_oversized_bodies() throws Exception {
    var noToken = vertx.createHttpClient().request(HttpMethod.GET, spec.controlPort(), "127.0.0.1", "/v1/plans")
        .compose(r -> r.send()).await(10, TimeUnit.SECONDS);
    assertThat(noToken.statusCode()).isEqualTo(401);
    ControlClient wrong = new ControlClient(vertx, spec.controlPort(), "not-the-token");
    HttpResponse<Buffer> refused = wrong.send(HttpMethod.POST, "/v1/projects", "{\"name\": \"x\"}").await(10, TimeUnit.SECONDS);
    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(refused.bodyAsString()).doesNotContain("not-the-token").doesNotContain(TestNodes.TOKEN);
    String huge = "{\"name\": \"" + "a".repeat(2 * 1024 * 1024) + "\"}";
    assertThat(send(HttpMethod.POST, "/v1/projects", huge).statusCode()).isEqualTo(413);
  }

  @Test
  void should_remember_the_quota_a_project_used_across_a_restart_without_redis() throws Exception {
    // issue 16 #12: 21 requests in the usage ledger, a restart, and /v1/verify said 1000 remaining again
    assertThat(send(HttpMethod.POST, "/v1/plans", "{\"name\": \"daily\", \"quota\": {\"requests\": 1000, \"per\": \"day\"}}")
        .statusCode()).isEqualTo(201);
    String project = send(HttpMethod.POST, "/v1/projects", "{\"name\": \"restarted\"}").bodyAsJsonObject().getString("id");
    assertThat(send(HttpMethod.POST, "/v1/projects/" + project + "/subscriptions", "{\"plan\": \"daily\"}").statusCode()).isEqualTo(201);
    String secret = send(HttpMethod.POST, "/v1/projects/" + project + "/keys", "{\"name\": \"k\"}").bodyAsJsonObject().getString("key");
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + spec.edgePort() + "/"))
        .header("host", "metered.test").header("x-api-key", secret).build();
    for (int i = 1; i <= 21; i++) {
      var r = http.send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("ratelimit-remaining")).contains(String.valueOf(1000 - i));
    }
    Eventually.until(vertx, Duration.ofSeconds(20), "21 requests in the usage ledger",
        () -> control.usageTotal(project).map(n -> n == 21)).await(30, TimeUnit.SECONDS);

    TestNodes.stopQuietly(node);
    control.close();
    startNode();

    String ask = "{\"key\": \"" + secret + "\", \"service\": \"metered\"}";
    JsonObject verify = send(HttpMethod.POST, "/v1/verify", ask).bodyAsJsonObject();
    assertThat(verify.getBoolean("allowed")).isTrue();
    assertThat(verify.getLong("remaining")).as("1000 - 21 used before the restart").isEqualTo(979);
    var next = http.send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(next.statusCode()).isEqualTo(200);
    assertThat(next.headers().firstValue("ratelimit-remaining")).contains("978");
  }
}
