package io.ceiba.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.EdgeClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.StoppablePostgres;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeReadinessIT {

  @TempDir
  Path dir;

  private final Vertx client = Vertx.vertx();
  private CeibaNode node;

  @AfterEach
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    client.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_be_unready_until_migrations_ran_and_say_why() throws Exception {
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(1));
    String db = TestPostgres.newDatabase();
    TestNodes.Spec spec = TestNodes.write(dir, "n1", null, null, registry, "postgres: { url: \"" + db + "\", migrate: false }\n");
    node = TestNodes.start(spec);
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);

    var before = control.get("/ready").await(10, TimeUnit.SECONDS);
    assertThat(before.statusCode()).isEqualTo(503);
    JsonObject postgres = before.bodyAsJsonObject().getJsonArray("checks").stream().map(JsonObject.class::cast)
        .filter(c -> c.getString("id").equals("postgres")).findFirst().orElseThrow();
    assertThat(postgres.getString("status")).isEqualTo("DOWN");
    assertThat(postgres.getJsonObject("data").getString("reason")).startsWith("migrations pending: schema at 0");
    assertThat(control.get("/health").await(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);

    node.context().postgres().migrateNow().await(60, TimeUnit.SECONDS);
    var after = control.get("/ready").await(10, TimeUnit.SECONDS);
    assertThat(after.statusCode()).as(after.bodyAsString()).isEqualTo(200);
  }

  @Test
  void should_fail_the_start_with_the_cause_when_its_embedded_postgres_does_not_start() throws Exception {
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(1));
    TestNodes.Spec spec = TestNodes.write(dir, "n1", null, null, registry,
        "roles: [edge, auth, usage, control]\npostgres: { url: embedded }\n");
    // a data directory of a PostgreSQL version the shipped binaries cannot run: initdb is skipped, the server refuses
    Path pgData = dir.resolve("data-n1/postgres");
    Files.createDirectories(pgData);
    Files.writeString(pgData.resolve("PG_VERSION"), "9\n");
    // the roles that need no database deploy while the server starts; its failure must still fail the start, at once
    long start = System.nanoTime();
    Throwable failure = catchThrowable(() -> CeibaNode.start(TestNodes.load(spec)).await(60, TimeUnit.SECONDS));
    assertThat(failure).as("the start fails").isNotNull();
    assertThat(failure.getMessage()).contains("embedded PostgreSQL under").contains("did not start");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(50));
    // nothing listens: the registry and membership deployed early went with the failed node's Vert.x
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    assertThat(control.get("/health").map(r -> r.statusCode()).otherwise(-1).await(10, TimeUnit.SECONDS)).isEqualTo(-1);
  }

  @Test
  void should_turn_unready_as_soon_as_it_starts_draining() throws Exception {
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(1));
    TestNodes.Spec spec = TestNodes.write(dir, "n1", null, null, registry, null);
    node = TestNodes.start(spec);
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    io.ceiba.testkit.Eventually.until(client, java.time.Duration.ofSeconds(60), "ready (migrations ran)",
        () -> control.get("/ready").map(r -> r.statusCode() == 200)).await(70, TimeUnit.SECONDS);
    node.vertx().eventBus().publish(io.ceiba.bus.Addresses.NODE_DRAINING, "n1");
    io.ceiba.testkit.Eventually.until(client, java.time.Duration.ofSeconds(5), "unready while draining",
        () -> control.get("/ready").map(r -> r.statusCode() == 503 && r.bodyAsString().contains("node is stopping")))
        .await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_stay_ready_on_an_edge_node_while_postgres_is_down_and_say_so_in_body_and_metrics() throws Exception {
    try (Origin origin = Origin.start(client, "origin");
         StoppablePostgres postgres = StoppablePostgres.start(dir.resolve("pg"))) {
      Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n  app:\n    hosts: [app.test]\n"
          + "    backends: [{ url: \"" + origin.url() + "\" }]\n");
      TestNodes.Spec spec = TestNodes.write(dir, "edge1", null, null, registry,
          "roles: [edge, auth, usage, control]\npostgres: { url: \"" + postgres.url() + "\" }\n");
      node = TestNodes.start(spec);
      ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
      Eventually.until(client, Duration.ofSeconds(60), "ready (migrations ran)",
          () -> control.get("/ready").map(r -> r.statusCode() == 200)).await(70, TimeUnit.SECONDS);

      postgres.stop();
      // the edge serves on, so a load balancer must keep sending to it: 200, with postgres DOWN in the body
      Eventually.until(client, Duration.ofSeconds(15), "postgres DOWN in /ready's body while /ready stays 200",
          () -> control.get("/ready").map(r -> r.statusCode() == 200 && postgresCheck(r.bodyAsJsonObject()) != null
              && "DOWN".equals(postgresCheck(r.bodyAsJsonObject()).getString("status")))).await(20, TimeUnit.SECONDS);
      JsonObject body = control.get("/ready").await(10, TimeUnit.SECONDS).bodyAsJsonObject();
      assertThat(postgresCheck(body).getBoolean("required")).isFalse();
      assertThat(body.getJsonArray("degraded")).contains("postgres");
      assertThat(new EdgeClient(spec.edgePort()).get("app.test", "/", null).statusCode()).isEqualTo(200);
      String metrics = control.get("/metrics").await(10, TimeUnit.SECONDS).bodyAsString();
      assertThat(metrics).contains("ceiba_dependency_up{dependency=\"postgres\",node=\"edge1\"} 0.0")
          .contains("ceiba_ready{node=\"edge1\"} 1.0");

      postgres.startAgain();
      Eventually.until(client, Duration.ofSeconds(30), "postgres UP again in /ready's body",
          () -> control.get("/ready").map(r -> "UP".equals(postgresCheck(r.bodyAsJsonObject()).getString("status"))))
          .await(40, TimeUnit.SECONDS);
    }
  }

  @Test
  void should_be_unready_on_a_node_without_the_edge_role_while_postgres_is_down() throws Exception {
    try (StoppablePostgres postgres = StoppablePostgres.start(dir.resolve("pg"))) {
      Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(1));
      TestNodes.Spec spec = TestNodes.write(dir, "ctl1", null, null, registry,
          "roles: [control, auth]\npostgres: { url: \"" + postgres.url() + "\" }\n");
      node = TestNodes.start(spec);
      ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
      Eventually.until(client, Duration.ofSeconds(60), "ready (migrations ran)",
          () -> control.get("/ready").map(r -> r.statusCode() == 200)).await(70, TimeUnit.SECONDS);
      postgres.stop();
      Eventually.until(client, Duration.ofSeconds(15), "unready: the admin API and key lookups need postgres",
          () -> control.get("/ready").map(r -> r.statusCode() == 503)).await(20, TimeUnit.SECONDS);
      assertThat(postgresCheck(control.get("/ready").await(10, TimeUnit.SECONDS).bodyAsJsonObject()).getBoolean("required")).isTrue();
    }
  }

  private static JsonObject postgresCheck(JsonObject ready) {
    return ready.getJsonArray("checks").stream().map(JsonObject.class::cast)
        .filter(c -> c.getString("id").equals("postgres")).findFirst().orElse(null);
  }
}
