package io.ceiba.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
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
}
