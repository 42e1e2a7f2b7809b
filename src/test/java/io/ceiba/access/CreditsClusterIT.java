package io.ceiba.access;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TestPostgres;
import io.ceiba.testkit.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
 * Credits on three clustered nodes sharing Postgres and Redis (issue 21): requests consume exactly their cost (the
 * route's, the plan's for the class, else 1) whichever node takes them, concurrent load never spends more than the
 * balance, a top-up adds to it, and a Redis that restarts empty loses nothing (the balance is rebuilt from the costs
 * the usage events carry and the stored top-ups).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CreditsClusterIT {

  static {
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host,connection");
  }

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final List<CeibaNode> nodes = new ArrayList<>();
  private final List<TestNodes.Spec> specs = new ArrayList<>();
  private TestRedis redis;
  private Origin origin;
  private ControlClient control;
  /** The key of the first test's project, whose balance must come back after Redis restarts empty. */
  private String exactKey;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    redis = TestRedis.start();
    origin = Origin.start(vertx, "origin");
    String registry = """
        version: 1
        http:
          api:
            hosts: [api.test]
            backends: [{ url: "%s" }]
            access: { policy: api-key }
            routes:
              - { path: /health, class: public, access: { policy: public } }
              - { path: /v1/report, methods: [GET], class: read, cost: 10 }
              - { path: /v1/free, methods: [GET], class: read, cost: 0 }
              - { path: /v1/, methods: [GET, HEAD], class: read }
              - { path: /v1/, methods: [POST, PUT, PATCH, DELETE], class: write }
        """.formatted(origin.url());
    TestNodes.startCluster(dir, 3, registry, "roles: [edge, auth, usage, health, control]\n"
        + "postgres: { url: \"" + TestPostgres.newDatabase() + "\" }\n"
        + "redis: { url: \"" + redis.url() + "\" }\n", specs, nodes);
    control = new ControlClient(vertx, specs.get(0).controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node1 ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
    control.create("/v1/plans", """
        {"name": "prepaid", "credits": {"amount": 1000, "refill": "none", "costs": {"write": 5}}, "services": ["api"]}""")
        .await(10, TimeUnit.SECONDS);
    control.create("/v1/plans", "{\"name\": \"small\", \"credits\": {\"amount\": 60, \"refill\": \"month\"}, \"services\": [\"api\"]}")
        .await(10, TimeUnit.SECONDS);
    control.create("/v1/plans", """
        {"name": "daily", "rate_limit": {"requests": 1000, "per": "1s"},
         "credits": {"amount": 100, "refill": "day", "costs": {"write": 5}}, "services": ["api"]}""")
        .await(10, TimeUnit.SECONDS);
  }

  @AfterAll
  void stop() throws Exception {
    nodes.forEach(TestNodes::stopQuietly);
    origin.close();
    redis.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private ControlClient.KeyedProject subscribed(String name, String plan) throws Exception {
    ControlClient.KeyedProject p = control.newProjectWithKey(name).await(10, TimeUnit.SECONDS);
    control.create("/v1/projects/" + p.id() + "/subscriptions", "{\"plan\": \"" + plan + "\"}").await(10, TimeUnit.SECONDS);
    return p;
  }

  private HttpRequest request(int node, String method, String path, String key) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + specs.get(node - 1).edgePort() + path))
        .timeout(Duration.ofSeconds(10)).header("host", "api.test").header("x-api-key", key)
        .method(method, HttpRequest.BodyPublishers.noBody()).build();
  }

  private HttpResponse<String> call(int node, String method, String path, String key) throws Exception {
    return http.send(request(node, method, path, key), HttpResponse.BodyHandlers.ofString());
  }

  private static String code(HttpResponse<String> r) {
    return r.statusCode() == 200 ? "ok" : new JsonObject(r.body()).getJsonObject("error").getString("code");
  }

  private static long remaining(HttpResponse<String> r) {
    return Long.parseLong(r.headers().firstValue("x-credits-remaining").orElseThrow(() -> new AssertionError("no X-Credits-Remaining")));
  }

  /** {@code POST /v1/verify} through {@code node}'s control API: the answer, credits included. */
  private JsonObject verify(int node, String key, String method, String path) throws Exception {
    return verifying(node, key, method, path).await(10, TimeUnit.SECONDS);
  }

  private Future<JsonObject> verifying(int node, String key, String method, String path) {
    ControlClient c = new ControlClient(vertx, specs.get(node - 1).controlPort(), TestNodes.TOKEN);
    return c.send(HttpMethod.POST, "/v1/verify", new JsonObject().put("key", key).put("service", "api").put("method", method)
        .put("path", path).encode(), "application/json").map(r -> {
          assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
          return r.bodyAsJsonObject();
        });
  }

  /**
   * Waits until every node counts with Redis: a burst on this shared machine can make a Redis command time out, which
   * opens a node's Redis breaker for 5 s (credits are then refused with 503 rather than guessed).
   */
  private void awaitRedis() throws Exception {
    for (TestNodes.Spec spec : specs) {
      ControlClient c = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
      Eventually.until(vertx, Duration.ofSeconds(30), spec.nodeId() + " sees redis", () -> c.get("/metrics")
              .map(m -> m.bodyAsString().contains("ceiba_redis_up{node=\"" + spec.nodeId() + "\"} 1.0")))
          .await(35, TimeUnit.SECONDS);
    }
  }

  private JsonObject topUp(String project, String body, int expected) throws Exception {
    var r = control.send(HttpMethod.POST, "/v1/projects/" + project + "/credits", body, "application/json").await(10, TimeUnit.SECONDS);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(expected);
    return r.bodyAsJsonObject();
  }

  @Test
  @Order(1)
  void should_consume_exactly_the_cost_of_each_request_across_nodes() throws Exception {
    ControlClient.KeyedProject p = subscribed("exact", "prepaid");
    exactKey = p.key();
    for (int i = 0; i < 30; i++) {
      HttpResponse<String> r = call(1 + i % 3, "GET", "/v1/items/" + i, p.key());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(remaining(r)).isEqualTo(1000 - (i + 1));
    }
    for (int i = 0; i < 10; i++) { // the plan's cost for the write class
      assertThat(call(1 + i % 3, "POST", "/v1/items", p.key()).statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 3; i++) { // the route's own cost
      assertThat(call(1 + i % 3, "GET", "/v1/report", p.key()).statusCode()).isEqualTo(200);
    }
    HttpResponse<String> free = call(2, "GET", "/v1/free", p.key());
    assertThat(free.statusCode()).isEqualTo(200);
    long expected = 1000 - 30 - 10 * 5 - 3 * 10;
    assertThat(remaining(free)).as("30 x 1 + 10 x 5 + 3 x 10 + 1 x 0 spent").isEqualTo(expected);
    for (int node = 1; node <= 3; node++) {
      JsonObject credits = verify(node, p.key(), "POST", "/v1/items").getJsonObject("credits");
      assertThat(credits.getLong("balance")).isEqualTo(expected);
      assertThat(credits.getLong("cost")).isEqualTo(5);
      assertThat(credits.getLong("grant")).isEqualTo(1000);
      assertThat(credits.getString("reset")).isNull();
      assertThat(credits.getString("counting")).isEqualTo("cluster");
    }
    // a public route is not charged
    HttpResponse<String> health = call(3, "GET", "/health", p.key());
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.headers().firstValue("x-credits-remaining")).isEmpty();
    // the usage events carry the cost: the ledger a lost balance is rebuilt from
    Eventually.until(vertx, Duration.ofSeconds(20), "44 usage rows of exact written",
            () -> control.json("/v1/projects/" + p.id() + "/usage").map(u -> u.getLong("total") >= 44))
        .await(25, TimeUnit.SECONDS);
  }

  @Test
  @Order(2)
  void should_never_spend_below_zero_under_concurrent_load_and_take_top_ups() throws Exception {
    awaitRedis();
    ControlClient.KeyedProject p = subscribed("crowd", "small");
    List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      sent.add(http.sendAsync(request(1 + i % 3, "GET", "/v1/items", p.key()), HttpResponse.BodyHandlers.ofString()));
    }
    int admitted = 0;
    int unavailable = 0;
    for (CompletableFuture<HttpResponse<String>> f : sent) {
      HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
      if (r.statusCode() == 200) {
        admitted++;
      } else if (r.statusCode() == 503) {
        assertThat(code(r)).as("Redis timed out under the burst: refused, not guessed").isEqualTo("auth_unavailable");
        unavailable++;
      } else {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(402);
        assertThat(code(r)).isEqualTo("credits_exhausted");
        assertThat(remaining(r)).isZero();
      }
    }
    System.out.println("100 concurrent requests of cost 1 on a balance of 60 through 3 nodes: " + admitted + " admitted, "
        + unavailable + " refused while Redis did not answer");
    assertThat(admitted).as("admitted x cost <= grant").isLessThanOrEqualTo(60);
    awaitRedis();
    long balance = verify(2, p.key(), "GET", "/v1/items").getJsonObject("credits").getLong("balance");
    if (unavailable == 0) {
      assertThat(admitted).as("Redis counts exactly").isEqualTo(60);
      assertThat(balance).isZero();
      assertThat(verify(2, p.key(), "GET", "/v1/items").getString("code")).isEqualTo("credits_exhausted");
    } else {
      // a command that timed out may still have been run by Redis: charged, not admitted
      assertThat(balance).isLessThanOrEqualTo(60 - admitted);
    }

    // a top-up: stored, audited, added in Redis at once
    JsonObject topped = topUp(p.id(), "{\"amount\": 7}", 201);
    assertThat(topped.getLong("balance")).isEqualTo(balance + 7);
    assertThat(topped.getString("plan")).isEqualTo("small");
    int more = 0;
    for (int i = 0; i < balance + 9; i++) {
      HttpResponse<String> r = call(1 + i % 3, "GET", "/v1/items", p.key());
      if (r.statusCode() == 200) {
        more++;
      } else {
        assertThat(code(r)).isEqualTo("credits_exhausted");
      }
    }
    assertThat(more).isEqualTo(balance + 7);
    // a write costs 1 here (the plan sets no cost for it): refused with the balance at 0 all the same
    assertThat(call(2, "POST", "/v1/items", p.key()).statusCode()).isEqualTo(402);
  }

  @Test
  @Order(3)
  void should_refuse_top_ups_it_cannot_place() throws Exception {
    awaitRedis();
    ControlClient.KeyedProject p = subscribed("bare", "prepaid");
    assertThat(topUp(p.id(), "{\"amount\": 0}", 400).getJsonObject("error").getString("code")).isEqualTo("invalid_request");
    assertThat(topUp(p.id(), "{\"amount\": -5}", 400).getJsonObject("error").getString("code")).isEqualTo("invalid_request");
    assertThat(topUp(p.id(), "{\"amount\": 1.5}", 400).getJsonObject("error").getString("code")).isEqualTo("invalid_request");
    assertThat(topUp(p.id(), "{\"amount\": 5, \"extra\": 1}", 400).getJsonObject("error").getString("code")).isEqualTo("invalid_request");
    assertThat(topUp(p.id(), "{\"amount\": 5, \"plan\": \"small\"}", 400).getJsonObject("error").getString("message"))
        .contains("no active subscription");
    assertThat(topUp("prj_nosuchproject", "{\"amount\": 5}", 404).getJsonObject("error").getString("code")).isEqualTo("not_found");
    ControlClient.KeyedProject none = control.newProjectWithKey("no-credits").await(10, TimeUnit.SECONDS);
    assertThat(topUp(none.id(), "{\"amount\": 5}", 400).getJsonObject("error").getString("message"))
        .contains("no active subscription to a plan with credits");
    // before any request, Redis holds no balance: the top-up is stored, and counted when the balance is built
    assertThat(topUp(p.id(), "{\"amount\": 5, \"plan\": \"prepaid\"}", 201).getValue("balance")).isNull();
    assertThat(verify(3, p.key(), "GET", "/v1/items").getJsonObject("credits").getLong("balance")).isEqualTo(1005);
  }

  @Test
  @Order(4)
  void should_rebuild_the_balance_from_usage_and_top_ups_when_redis_restarts_empty() throws Exception {
    awaitRedis();
    ControlClient.KeyedProject p = subscribed("durable", "daily");
    for (int i = 0; i < 20; i++) {
      assertThat(call(1 + i % 3, "GET", "/v1/items", p.key()).statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 2; i++) {
      assertThat(call(1 + i % 3, "DELETE", "/v1/items/" + i, p.key()).statusCode()).isEqualTo(200);
    }
    assertThat(topUp(p.id(), "{\"amount\": 15}", 201).getLong("balance")).isEqualTo(100 - 20 - 10 + 15);
    Eventually.until(vertx, Duration.ofSeconds(20), "22 usage rows of durable written",
            () -> control.json("/v1/projects/" + p.id() + "/usage").map(u -> u.getLong("total") >= 22))
        .await(25, TimeUnit.SECONDS);

    redis.stop();
    redis.startAgain(); // empty: every balance is gone
    awaitRedis();
    // a node may learn only now, by a failed command, that its connection broke: it refuses until it reconnects
    for (int node = 1; node <= 3; node++) {
      int n = node;
      Eventually.until(vertx, Duration.ofSeconds(30), "node" + n + " charges credits again",
          () -> verifying(n, p.key(), "GET", "/v1/free").map(v -> v.containsKey("credits"))).await(35, TimeUnit.SECONDS);
    }
    JsonObject credits = verify(2, p.key(), "GET", "/v1/items").getJsonObject("credits");
    assertThat(credits.getLong("balance")).as("100 - 20 x 1 - 2 x 5 + 15, rebuilt").isEqualTo(85);
    assertThat(credits.getString("counting")).isEqualTo("cluster");
    assertThat(credits.getString("reset")).isNotNull();
    HttpResponse<String> next = call(3, "POST", "/v1/items", p.key());
    assertThat(next.statusCode()).isEqualTo(200);
    assertThat(remaining(next)).isEqualTo(80);
    // the balance of the first test's project (never refilled) came back as well
    assertThat(verify(1, exactKey, "GET", "/v1/items").getJsonObject("credits").getLong("balance")).isEqualTo(1000 - 110);
    String metrics = Future.all(specs.stream().map(s -> new ControlClient(vertx, s.controlPort(), TestNodes.TOKEN).get("/metrics")
            .map(m -> m.bodyAsString())).toList()).await(10, TimeUnit.SECONDS).list().toString();
    assertThat(metrics).containsPattern("ceiba_credits_balances_rebuilt_total\\{node=\"node[123]\"\\} [1-9]");
  }
}
