package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.RawHttp;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TestPostgres;
import io.ceiba.testkit.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Routes and route classes on three clustered nodes sharing Postgres and Redis (issue 21): which route takes a
 * request (precedence, normalised paths, traversal attempts), a keyed service whose {@code write} class is limited
 * apart from its {@code read} class for the same key, and an {@code auth} class limited per client IP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RoutesClusterIT {

  private final Vertx vertx = Vertx.vertx();
  private final List<CeibaNode> nodes = new ArrayList<>();
  private final List<TestNodes.Spec> specs = new ArrayList<>();
  private TestRedis redis;
  private Origin origin;
  private Origin legacy;
  private ControlClient control;
  private String key;
  private String keyProject;
  private String adminKey;
  private String mixedKey;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    redis = TestRedis.start();
    origin = Origin.start(vertx, "origin");
    legacy = Origin.start(vertx, "legacy");
    String registry = """
        version: 1
        http:
          api:
            hosts: [api.test]
            backends: [{ url: "%s" }]
            access: { policy: api-key }
            routes:
              - { path: /health, class: public, access: { policy: public } }
              - path: /auth/login
                methods: [POST]
                class: auth
                access: { policy: public }
                rate_limit: { per_ip: "3/1h" }
              - { path: /v1/admin/, class: admin, access: { policy: plan, plans: [admin] } }
              - { path: /v1/, methods: [GET, HEAD], class: read }
              - { path: /v1/, methods: [POST, PUT, PATCH, DELETE], class: write }
              - { path: "/v1/users/{id}", methods: [GET], class: read, name: user }
              - { path: /legacy/, class: read, backends: [{ url: "%s" }] }
              - { path: /v1/cached/, methods: [GET], class: read, cache: { ttl: 1m } }
              - { path: /secure/, class: public, access: { policy: public }, middlewares: [https-redirect] }
        """.formatted(origin.url(), legacy.url());
    TestNodes.startCluster(dir, 3, registry, "roles: [edge, auth, usage, health, control]\n"
        + "postgres: { url: \"" + TestPostgres.newDatabase() + "\" }\n"
        + "redis: { url: \"" + redis.url() + "\" }\n", specs, nodes);
    control = new ControlClient(vertx, specs.get(0).controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node1 ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
    // per class: reads 100 a minute, writes 4 an hour (nothing refills while the test runs)
    control.create("/v1/plans", """
        {"name": "pro", "rate_limit": {"read": {"requests": 100, "per": "1m"}, "write": {"requests": 4, "per": "1h"}},
         "services": ["api"]}""").await(10, TimeUnit.SECONDS);
    control.create("/v1/plans", "{\"name\": \"admin\"}").await(10, TimeUnit.SECONDS);
    ControlClient.KeyedProject acme = control.newProjectWithKey("acme").await(10, TimeUnit.SECONDS);
    control.create("/v1/projects/" + acme.id() + "/subscriptions", "{\"plan\": \"pro\"}").await(10, TimeUnit.SECONDS);
    key = acme.key();
    keyProject = acme.id();
    ControlClient.KeyedProject ops = control.newProjectWithKey("ops").await(10, TimeUnit.SECONDS);
    control.create("/v1/projects/" + ops.id() + "/subscriptions", "{\"plan\": \"admin\"}").await(10, TimeUnit.SECONDS);
    adminKey = ops.key();
    // a plan-wide limit of 3 an hour beside a looser write class: the tighter one speaks
    control.create("/v1/plans", """
        {"name": "mixed", "rate_limit": {"requests": 3, "per": "1h", "write": {"requests": 10, "per": "1h"}}, "services": ["api"]}""")
        .await(10, TimeUnit.SECONDS);
    ControlClient.KeyedProject mixed = control.newProjectWithKey("mixed").await(10, TimeUnit.SECONDS);
    control.create("/v1/projects/" + mixed.id() + "/subscriptions", "{\"plan\": \"mixed\"}").await(10, TimeUnit.SECONDS);
    mixedKey = mixed.key();
  }

  @AfterAll
  void stop() throws Exception {
    nodes.forEach(TestNodes::stopQuietly);
    origin.close();
    legacy.close();
    redis.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** One request as sent, byte for byte (no client normalises its path), from {@code from}. */
  private RawHttp.Reply send(int node, String from, String method, String target, String apiKey) throws Exception {
    String request = method + " " + target + " HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n"
        + (apiKey == null ? "" : "X-API-Key: " + apiKey + "\r\n")
        + (method.equals("POST") ? "Content-Length: 0\r\n" : "") + "\r\n";
    return RawHttp.send(from, specs.get(node - 1).edgePort(), request, Duration.ofSeconds(10));
  }

  private RawHttp.Reply send(int node, String method, String target, String apiKey) throws Exception {
    return send(node, "127.0.0.1", method, target, apiKey);
  }

  private static JsonObject body(RawHttp.Reply reply) {
    String text = reply.text();
    return new JsonObject(text.substring(text.indexOf("\r\n\r\n") + 4));
  }

  /** {@code <status> <what answered>}: the origin and the path it got, or the error code. */
  private static String outcome(RawHttp.Reply reply) {
    JsonObject body = body(reply);
    return reply.status() + " " + (body.containsKey("error") ? body.getJsonObject("error").getString("code")
        : body.getString("origin") + " " + body.getString("uri"));
  }

  @Test
  @Order(1)
  void should_route_by_the_normalised_path_on_every_node_so_traversal_skips_no_rule() throws Exception {
    for (int node = 1; node <= 3; node++) {
      assertThat(outcome(send(node, "GET", "/health", null))).isEqualTo("200 origin /health");
      assertThat(outcome(send(node, "GET", "/v1/users/7?x=1", key))).isEqualTo("200 origin /v1/users/7?x=1");
      assertThat(outcome(send(node, "GET", "/v1/users/7", null))).isEqualTo("401 missing_key");
      assertThat(outcome(send(node, "GET", "//legacy//page", null))).isEqualTo("401 missing_key");
      assertThat(outcome(send(node, "GET", "//legacy//page", key))).isEqualTo("200 legacy /legacy/page");
      assertThat(outcome(send(node, "GET", "/nothing", key))).isEqualTo("404 no_route");
      assertThat(outcome(send(node, "DELETE", "/health", null))).isEqualTo("200 origin /health");
      // a public route's path does not lead past the admin rule, however it is written
      for (String traversal : List.of("/health/../v1/admin/keys", "/health/%2e%2e/v1/admin/keys", "/health/.%2E/v1//admin/keys",
          "/v1/users/../admin/./keys", "/%76%31/admin/keys")) {
        assertThat(outcome(send(node, "GET", traversal, null))).as(traversal).isEqualTo("401 missing_key");
        assertThat(outcome(send(node, "GET", traversal, key))).as(traversal).isEqualTo("403 plan_required");
        assertThat(outcome(send(node, "GET", traversal, adminKey))).as(traversal).isEqualTo("200 origin /v1/admin/keys");
      }
      // what a backend could read as another path than the edge did is refused
      for (String refused : List.of("/health/..%2Fv1/admin/keys", "/health/..%5cv1/admin", "/../v1/admin/keys", "/v1/%zz")) {
        assertThat(outcome(send(node, "GET", refused, null))).as(refused).isEqualTo("400 invalid_path");
      }
    }
    String metrics = control.get("/metrics").await(5, TimeUnit.SECONDS).bodyAsString();
    assertThat(metrics).contains("ceiba_edge_route_requests_total{class=\"admin\",code=\"403\",node=\"node1\",route=\"/v1/admin/\",service=\"api\"}");
    assertThat(metrics).contains("ceiba_edge_route_requests_total{class=\"read\",code=\"200\",node=\"node1\",route=\"user\",service=\"api\"}");
  }

  @Test
  @Order(2)
  void should_limit_writes_apart_from_reads_for_the_same_key() throws Exception {
    int writes = 0;
    RawHttp.Reply refused = null;
    for (int i = 0; i < 9; i++) {
      RawHttp.Reply r = send(1 + i % 3, "POST", "/v1/things", key);
      if (r.status() == 200) {
        writes++;
        assertThat(r.header("ratelimit-limit")).isEqualTo("4");
      } else {
        assertThat(outcome(r)).isEqualTo("429 rate_limited");
        refused = r;
      }
    }
    assertThat(writes).as("4 writes an hour, counted across three nodes").isBetween(3, 4);
    assertThat(refused).isNotNull();
    assertThat(refused.header("retry-after")).isNotNull();
    // the same key still reads, under the read class's own counter
    for (int node = 1; node <= 3; node++) {
      RawHttp.Reply read = send(node, "GET", "/v1/things", key);
      assertThat(outcome(read)).isEqualTo("200 origin /v1/things");
      assertThat(read.header("ratelimit-limit")).isEqualTo("100");
      assertThat(Long.parseLong(read.header("ratelimit-remaining"))).isBetween(1L, 99L);
    }
    JsonObject write = verify("POST", "/v1/things");
    assertThat(write.getString("class")).isEqualTo("write");
    assertThat(write.getString("route")).isEqualTo("DELETE,PATCH,POST,PUT /v1/");
    assertThat(write.getBoolean("allowed")).isFalse();
    assertThat(write.getString("code")).isEqualTo("rate_limited");
    JsonObject read = verify("GET", "/v1/users/../things");
    assertThat(read.getString("class")).isEqualTo("read");
    assertThat(read.getBoolean("allowed")).isTrue();
    var noRoute = control.send(HttpMethod.POST, "/v1/verify",
        new JsonObject().put("key", key).put("service", "api").put("path", "/elsewhere").encode(), "application/json")
        .await(10, TimeUnit.SECONDS);
    assertThat(noRoute.statusCode()).isEqualTo(404);
    assertThat(noRoute.bodyAsString()).contains("no_route");

    // usage per route class: the refused writes are there as 429s, and the classes add up to the service's total
    int admittedWrites = writes;
    Eventually.until(vertx, Duration.ofSeconds(30), "usage by route class adds up to usage by service", () -> control
        .json("/v1/projects/" + keyProject + "/usage?by=route_class").compose(byClass -> control
            .json("/v1/projects/" + keyProject + "/usage").map(byService -> {
              long writeRequests = sum(byClass, "write", "requests");
              long writeLimited = sum(byClass, "write", "limited");
              return "route_class".equals(byClass.getString("by")) && writeRequests >= 9 && writeLimited >= 9 - admittedWrites
                  && writeRequests - writeLimited <= 4 && sum(byClass, "read", "requests") >= 3
                  && byClass.getLong("total").equals(byService.getLong("total"));
            }))).await(40, TimeUnit.SECONDS);
    var badBy = control.get("/v1/projects/" + keyProject + "/usage?by=route").await(10, TimeUnit.SECONDS);
    assertThat(badBy.statusCode()).isEqualTo(400);
  }

  private static long sum(JsonObject usage, String routeClass, String field) {
    return usage.getJsonArray("rows").stream().map(JsonObject.class::cast)
        .filter(r -> routeClass.equals(r.getString("route_class"))).mapToLong(r -> r.getLong(field)).sum();
  }

  private JsonObject verify(String method, String path) throws Exception {
    var r = control.send(HttpMethod.POST, "/v1/verify",
        new JsonObject().put("key", key).put("service", "api").put("method", method).put("path", path).encode(), "application/json")
        .await(10, TimeUnit.SECONDS);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject();
  }

  @Test
  @Order(3)
  void should_limit_an_auth_class_of_a_keyed_service_per_client_ip() throws Exception {
    int allowed = 0;
    for (int i = 0; i < 7; i++) {
      RawHttp.Reply r = send(1 + i % 3, "127.0.0.2", "POST", "/auth/login", null);
      if (r.status() == 200) {
        allowed++;
        assertThat(r.header("ratelimit-limit")).isEqualTo("3");
      } else {
        assertThat(outcome(r)).isEqualTo("429 rate_limited");
      }
    }
    assertThat(allowed).as("3 an hour from one address, across three nodes").isBetween(2, 3);
    // another address has its own counter; keyed classes of the same service are not touched
    assertThat(outcome(send(1, "127.0.0.3", "POST", "/auth/login", null))).isEqualTo("200 origin /auth/login");
    assertThat(outcome(send(2, "127.0.0.2", "GET", "/v1/users/8", key))).isEqualTo("200 origin /v1/users/8");
  }

  @Test
  @Order(4)
  void should_apply_a_routes_cache_and_middlewares_and_a_plans_wide_limit_beside_its_class_limit() throws Exception {
    RawHttp.Reply first = send(1, "GET", "/v1/cached/a", key);
    assertThat(outcome(first)).isEqualTo("200 origin /v1/cached/a");
    assertThat(first.header("x-ceiba-cache")).isEqualTo("miss");
    RawHttp.Reply second = send(1, "GET", "/v1/cached/a", key);
    assertThat(second.header("x-ceiba-cache")).isEqualTo("hit");
    assertThat(body(second).getInteger("n")).isEqualTo(body(first).getInteger("n"));
    assertThat(send(1, "GET", "/v1/things", key).header("x-ceiba-cache")).isNull(); // the service has no cache
    RawHttp.Reply redirected = send(2, "GET", "/secure/x?y=1", null);
    assertThat(redirected.status()).isEqualTo(308);
    assertThat(redirected.header("location")).isEqualTo("https://api.test/secure/x?y=1");

    List<String> outcomes = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      RawHttp.Reply r = send(1 + i % 3, "POST", "/v1/orders", mixedKey);
      outcomes.add(r.status() + " " + r.header("ratelimit-limit"));
    }
    assertThat(outcomes).as("3 an hour plan-wide, though writes may have 10").startsWith("200 3", "200 3").endsWith("429 3");
    assertThat(outcomes.stream().filter(o -> o.startsWith("200")).count()).isBetween(2L, 3L);
    // reads take from the same plan-wide counter: spent too
    assertThat(outcome(send(2, "GET", "/v1/things", mixedKey))).isEqualTo("429 rate_limited");
  }
}
