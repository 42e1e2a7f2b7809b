package io.ceiba.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.Main;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Rollback in one command: an earlier registry from registry_history goes to all three nodes as a new version. */
class RegistryRollbackIT {

  @TempDir
  Path dir;

  private final Vertx client = Vertx.vertx();
  private final List<CeibaNode> nodes = new ArrayList<>();
  private final List<ControlClient> controls = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    nodes.forEach(TestNodes::stopQuietly);
    client.close().await(10, TimeUnit.SECONDS);
  }

  private void everyNodeServes(long version, String service) throws Exception {
    for (ControlClient control : controls) {
      Eventually.until(client, Duration.ofSeconds(10), "node on " + control.port() + " serves version " + version,
          () -> control.json("/v1/registry").map(r -> r.getLong("version") == version && r.getJsonArray("http").contains(service)))
          .await(15, TimeUnit.SECONDS);
    }
  }

  @Test
  void should_roll_back_to_an_earlier_registry_on_every_node_through_the_api_and_the_cli() throws Exception {
    String cluster = TestNodes.clusterName();
    List<Integer> ports = List.of(Ports.free(), Ports.free(), Ports.free());
    for (int i = 0; i < 3; i++) {
      List<Integer> own = new ArrayList<>(ports);
      own.add(0, own.remove(i));
      Path registry = Registries.write(dir.resolve("registry-" + (i + 1) + ".yaml"), Registries.yaml(1));
      TestNodes.Spec spec = TestNodes.write(dir, "node" + (i + 1), cluster, own, registry, null);
      nodes.add(TestNodes.start(spec));
      controls.add(new ControlClient(client, spec.controlPort(), TestNodes.TOKEN));
    }
    ControlClient node1 = controls.get(0);
    Eventually.until(client, Duration.ofSeconds(40), "node1 sees 3 nodes",
        () -> node1.json("/v1/cluster").map(v -> v.getJsonArray("nodes").size() == 3)).await(50, TimeUnit.SECONDS);
    for (long v = 2; v <= 3; v++) {
      var put = node1.send(HttpMethod.PUT, "/v1/registry", Registries.yaml(v)).await(15, TimeUnit.SECONDS);
      assertThat(put.statusCode()).as(put.bodyAsString()).isEqualTo(200);
    }
    everyNodeServes(3, "svc3");

    // the API: back to the newest recorded version below the current one (2), distributed as version 4
    var back = node1.send(HttpMethod.POST, "/v1/registry/rollback", "").await(15, TimeUnit.SECONDS);
    assertThat(back.statusCode()).as(back.bodyAsString()).isEqualTo(200);
    JsonObject body = back.bodyAsJsonObject();
    assertThat(body.getLong("rolled_back_to")).isEqualTo(2);
    assertThat(body.getLong("version")).isEqualTo(4);
    assertThat(body.getBoolean("complete")).isTrue();
    assertThat(body.getJsonObject("nodes").fieldNames()).containsExactlyInAnyOrder("node1", "node2", "node3");
    everyNodeServes(4, "svc2");

    // the command line: back to version 3, as version 5
    Path tokenFile = Files.writeString(dir.resolve("token"), TestNodes.TOKEN);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute("registry", "rollback", "--to", "3", "--server", "http://127.0.0.1:" + node1.port(), "--token-file", tokenFile.toString());
    assertThat(exit).as(out + " " + err).isZero();
    everyNodeServes(5, "svc3");

    // what cannot be rolled back to is refused with a code
    var unknown = node1.send(HttpMethod.POST, "/v1/registry/rollback", "{\"to\": 1}").await(15, TimeUnit.SECONDS);
    assertThat(unknown.statusCode()).isEqualTo(404);
    var bad = node1.send(HttpMethod.POST, "/v1/registry/rollback", "{\"to\": \"x\"}").await(15, TimeUnit.SECONDS);
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(bad.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("bad_request");
  }
}
