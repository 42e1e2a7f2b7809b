package io.ceiba.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.EdgeClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
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

  private final Vertx vertx = Vertx.vertx();
  private CeibaNode node;
  private TestNodes.Spec spec;
  private ControlClient control;
  private EdgeClient edge;
  private Origin origin;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    origin = Origin.start(vertx, "origin");
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.keyedService(origin));
    spec = TestNodes.write(dir, "node1", null, null, registry,
        "roles: [edge, auth, usage, control]\nusage: { flush_interval: 100ms }\n");
    node = TestNodes.start(spec);
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    edge = new EdgeClient(spec.edgePort());
    Eventually.until(vertx, Duration.ofSeconds(60), "node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
  }

  @AfterAll
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    origin.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_record_one_usage_row_per_keyed_request_and_count_them_in_the_usage_api() throws Exception {
    ControlClient.KeyedProject project = control.newProjectWithKey("edge-usage").await(10, TimeUnit.SECONDS);
    int n = 120;
    edge.expectOk(Registries.KEYED_HOST, project.key(), "/x", n);
    // a request without a key is refused and is nobody's usage
    assertThat(edge.get(Registries.KEYED_HOST, "/x", null).statusCode()).isEqualTo(401);

    Eventually.until(vertx, Duration.ofSeconds(20), n + " requests in the usage API",
        () -> control.usageTotal(project.id()).map(total -> total == n)).await(30, TimeUnit.SECONDS);
    String query = "/v1/projects/" + project.id() + "/usage?from=" + Instant.now().minus(2, ChronoUnit.HOURS) + "&granularity=hour";
    JsonObject usage = control.json(query).await(10, TimeUnit.SECONDS);
    assertThat(usage.getJsonArray("rows").getJsonObject(0).getString("service")).isEqualTo("api");
    assertThat(usage.getJsonArray("rows").getJsonObject(0).getLong("errors")).isZero();
    assertThat(node.context().meters().find(UsageMetrics.EVENTS_WRITTEN).counter().count()).isEqualTo(n);
  }

  @Test
  void should_lose_no_usage_of_requests_answered_just_before_the_node_stops() throws Exception {
    ControlClient.KeyedProject project = control.newProjectWithKey("stop-usage").await(10, TimeUnit.SECONDS);
    int n = 50;
    edge.expectOk(Registries.KEYED_HOST, project.key(), "/s", n);
    // at once, as SIGTERM would: the edge's unsent batch and the usage buffer must both reach Postgres (or the journal)
    node.stop().await(30, TimeUnit.SECONDS);
    node = TestNodes.start(spec);
    Eventually.until(vertx, Duration.ofSeconds(30), n + " requests counted after the restart",
        () -> control.usageTotal(project.id()).map(total -> total == n).otherwise(false)).await(40, TimeUnit.SECONDS);
  }
}
