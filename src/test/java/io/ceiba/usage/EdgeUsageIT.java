package io.ceiba.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Requests through the edge of a combined node (edge, auth, usage, control) end up as usage, each exactly once. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EdgeUsageIT {

  static {
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
  }

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  private CeibaNode node;
  private TestNodes.Spec spec;
  private ControlClient control;
  private Origin origin;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    origin = Origin.start(vertx, "origin");
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n  api:\n    hosts: [api.test]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    access: { policy: api-key }\n");
    spec = TestNodes.write(dir, "node1", null, null, registry,
        "roles: [edge, auth, usage, control]\nusage: { flush_interval: 100ms }\n");
    node = TestNodes.start(spec);
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
  }

  @AfterAll
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    origin.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private JsonObject post(String path, String body) throws Exception {
    var response = control.send(HttpMethod.POST, path, body, "application/json").await(10, TimeUnit.SECONDS);
    assertThat(response.statusCode()).as(path + " -> " + response.bodyAsString()).isEqualTo(201);
    return response.bodyAsJsonObject();
  }

  @Test
  void should_record_one_usage_row_per_keyed_request_and_count_them_in_the_usage_api() throws Exception {
    String project = post("/v1/projects", "{\"name\": \"edge-usage\"}").getString("id");
    String key = post("/v1/projects/" + project + "/keys", "{\"name\": \"k\"}").getString("key");
    int n = 120;
    for (int i = 0; i < n; i++) {
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + spec.edgePort() + "/x" + i))
          .timeout(Duration.ofSeconds(10)).header("host", "api.test").header("x-api-key", key).GET().build();
      assertThat(http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    }
    // a request without a key is refused and is nobody's usage
    HttpRequest anonymous = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + spec.edgePort() + "/x"))
        .timeout(Duration.ofSeconds(10)).header("host", "api.test").GET().build();
    assertThat(http.send(anonymous, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);

    String query = "/v1/projects/" + project + "/usage?from=" + Instant.now().minus(2, ChronoUnit.HOURS) + "&granularity=hour";
    Eventually.until(vertx, Duration.ofSeconds(20), n + " requests in the usage API",
        () -> control.json(query).map(usage -> usage.getLong("total") == n)).await(30, TimeUnit.SECONDS);
    JsonObject usage = control.json(query).await(10, TimeUnit.SECONDS);
    assertThat(usage.getJsonArray("rows").getJsonObject(0).getString("service")).isEqualTo("api");
    assertThat(usage.getJsonArray("rows").getJsonObject(0).getLong("errors")).isZero();
    assertThat(node.context().meters().find(UsageMetrics.EVENTS_WRITTEN).counter().count()).isEqualTo(n);
  }

  @Test
  void should_lose_no_usage_of_requests_answered_just_before_the_node_stops() throws Exception {
    String project = post("/v1/projects", "{\"name\": \"stop-usage\"}").getString("id");
    String key = post("/v1/projects/" + project + "/keys", "{\"name\": \"k\"}").getString("key");
    int n = 50;
    for (int i = 0; i < n; i++) {
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + spec.edgePort() + "/s" + i))
          .timeout(Duration.ofSeconds(10)).header("host", "api.test").header("x-api-key", key).GET().build();
      assertThat(http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    }
    // at once, as SIGTERM would: the edge's unsent batch and the usage buffer must both reach Postgres (or the journal)
    node.stop().await(30, TimeUnit.SECONDS);
    node = TestNodes.start(spec);
    String query = "/v1/projects/" + project + "/usage?from=" + Instant.now().minus(2, ChronoUnit.HOURS) + "&granularity=hour";
    Eventually.until(vertx, Duration.ofSeconds(30), n + " requests counted after the restart",
        () -> control.json(query).map(usage -> usage.getLong("total") == n).otherwise(false)).await(40, TimeUnit.SECONDS);
  }
}
