package io.ceiba.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node that missed a {@code PUT /v1/registry} (it was down) catches up from a peer once it is back. */
class RegistryCatchUpIT {

  @TempDir
  Path dir;

  private final Vertx client = Vertx.vertx();
  private final List<CeibaNode> nodes = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    nodes.forEach(TestNodes::stopQuietly);
    client.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_serve_the_newest_registry_within_seconds_of_rejoining_after_missing_its_distribution() throws Exception {
    String cluster = TestNodes.clusterName();
    List<Integer> ports = List.of(Ports.free(), Ports.free());
    Path file1 = Registries.write(dir.resolve("registry-1.yaml"), Registries.yaml(1));
    Path file2 = Registries.write(dir.resolve("registry-2.yaml"), Registries.yaml(1));
    TestNodes.Spec spec1 = TestNodes.write(dir, "node1", cluster, ports, file1, null);
    TestNodes.Spec spec2 = TestNodes.write(dir, "node2", cluster, List.of(ports.get(1), ports.get(0)), file2, null);
    nodes.add(TestNodes.start(spec1));
    CeibaNode node2 = TestNodes.start(spec2);
    ControlClient control1 = new ControlClient(client, spec1.controlPort(), TestNodes.TOKEN);
    ControlClient control2 = new ControlClient(client, spec2.controlPort(), TestNodes.TOKEN);
    Eventually.until(client, Duration.ofSeconds(40), "node1 sees node2",
        () -> control1.json("/v1/cluster").map(v -> v.getJsonArray("nodes").size() == 2)).await(50, TimeUnit.SECONDS);

    // node2 is down while version 2 goes round: its file keeps version 1
    node2.stop().await(30, TimeUnit.SECONDS);
    Eventually.until(client, Duration.ofSeconds(20), "node1 dropped node2",
        () -> control1.json("/v1/cluster").map(v -> v.getJsonArray("nodes").size() == 1)).await(30, TimeUnit.SECONDS);
    var put = control1.send(HttpMethod.PUT, "/v1/registry", Registries.yaml(2)).await(15, TimeUnit.SECONDS);
    assertThat(put.statusCode()).as(put.bodyAsString()).isEqualTo(200);
    assertThat(Files.readString(file2)).isEqualTo(Registries.yaml(1));

    nodes.add(TestNodes.start(spec2));
    Eventually.until(client, Duration.ofSeconds(40), "node2 back in node1's view",
        () -> control1.json("/v1/cluster").map(v -> v.getJsonArray("nodes").size() == 2)).await(50, TimeUnit.SECONDS);
    Duration caughtUp = Eventually.until(client, Duration.ofSeconds(10), "node2 serves version 2",
        () -> control2.json("/v1/registry").map(r -> r.getLong("version") == 2)).await(20, TimeUnit.SECONDS);
    System.out.printf("registry catch-up: node2 served version 2 %d ms after node1 saw it again%n", caughtUp.toMillis());
    // and keeps it across its next restart
    Eventually.until(client, Duration.ofSeconds(5), "node2's file holds version 2",
        () -> client.executeBlocking(() -> Files.readString(file2).equals(Registries.yaml(2)))).await(10, TimeUnit.SECONDS);
  }
}
