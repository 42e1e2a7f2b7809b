package io.ceiba.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.EdgeClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.StoppablePostgres;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Postgres goes away while keyed requests keep coming through the edge of a node with roles edge, auth, usage and
 * control, over HTTP from client to origin. The node runs on a Postgres of this test's own, so the test can stop it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UsageOutageIT {

  private static final int REQUESTS = 300;
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final Vertx vertx = Vertx.vertx();
  private StoppablePostgres postgres;
  private Origin origin;
  private CeibaNode node;
  private ControlClient control;
  private EdgeClient edge;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    postgres = StoppablePostgres.start(dir.resolve("pg"));
    origin = Origin.start(vertx, "origin");
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.keyedService(origin));
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registry, "roles: [edge, auth, usage, control]\n"
        + "usage: { flush_interval: 100ms }\npostgres: { url: \"" + postgres.url() + "\", connect_timeout: 2s }\n");
    node = TestNodes.start(spec);
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    edge = new EdgeClient(spec.edgePort());
    await("node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200));
  }

  @AfterAll
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    origin.close();
    postgres.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void await(String what, Supplier<Future<Boolean>> check) throws Exception {
    Eventually.until(vertx, WAIT, what, check).await(WAIT.toSeconds() + 10, TimeUnit.SECONDS);
  }

  private Future<Long> journalPending() {
    return control.readyCheck("usage").map(usage -> usage.getJsonObject("data").getLong("journal_pending"));
  }

  private Future<Long> rows(String project) {
    return postgres.count(vertx, "select count(*) from usage_events where project_id = ?", project);
  }

  @Test
  void should_serve_every_request_and_count_each_once_when_postgres_is_down_while_they_arrive() throws Exception {
    ControlClient.KeyedProject project = control.newProjectWithKey("outage").await(10, TimeUnit.SECONDS);
    // the edge caches the key record: from now on requests need no Postgres to be authorized
    edge.expectOk(Registries.KEYED_HOST, project.key(), "/warm", 1);
    long expected = REQUESTS + 1;

    postgres.stop();
    try {
      edge.expectOk(Registries.KEYED_HOST, project.key(), "/outage-", REQUESTS);
      assertThat(origin.requests()).as("requests the origin answered").isEqualTo(expected);
      await("usage events journaled", () -> control.metric("ceiba_usage_events_journaled_total").map(n -> n > 0));
      await("the journal backlog on /ready", () -> journalPending().map(pending -> pending > 0));
      JsonObject usage = control.readyCheck("usage").await(10, TimeUnit.SECONDS);
      assertThat(usage.getString("status")).as(usage.encode()).isEqualTo("UP");
      assertThat(usage.getJsonObject("data").getBoolean("degraded")).as(usage.encode()).isTrue();
      assertThat(usage.getJsonObject("data").getString("postgres_writes")).as(usage.encode()).isEqualTo("failing");
    } finally {
      postgres.startAgain();
    }

    await(expected + " requests in the usage API", () -> control.usageTotal(project.id()).map(total -> total == expected).otherwise(false));
    await("the journal drained", () -> journalPending().map(pending -> pending == 0));
    // replays are at-least-once: the table must still hold each request once
    assertThat(rows(project.id()).await(10, TimeUnit.SECONDS)).isEqualTo(expected);
    assertThat(control.usageTotal(project.id()).await(10, TimeUnit.SECONDS)).isEqualTo(expected);
    assertThat(control.metric("ceiba_usage_events_dropped_total").await(10, TimeUnit.SECONDS)).isZero();
  }
}
