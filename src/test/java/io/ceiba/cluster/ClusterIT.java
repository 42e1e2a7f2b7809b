package io.ceiba.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.bus.Addresses;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.ext.cluster.infinispan.impl.DataConverter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
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
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.multimap.api.embedded.EmbeddedMultimapCacheManagerFactory;
import org.infinispan.multimap.api.embedded.MultimapCache;

/** Three real clustered nodes (Infinispan/JGroups over mutual TLS on 127.0.0.1, TCP members) in this JVM. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {

  private Path dir;

  private final Vertx client = Vertx.vertx();
  private final List<CeibaNode> nodes = new ArrayList<>();
  private final List<ControlClient> controls = new ArrayList<>();
  private final List<Path> registryFiles = new ArrayList<>();

  @BeforeAll
  void startThreeNodes(@TempDir Path tempDir) {
    dir = tempDir;
    String cluster = TestNodes.clusterName();
    List<Integer> ports = List.of(Ports.free(), Ports.free(), Ports.free());
    for (int i = 0; i < 3; i++) {
      List<Integer> own = new ArrayList<>(ports);
      own.add(0, own.remove(i));
      Path registry = Registries.write(dir.resolve("registry-" + (i + 1) + ".yaml"), Registries.yaml(1));
      registryFiles.add(registry);
      // node1 and node2 serve traffic, node3 only administers
      TestNodes.Spec spec = TestNodes.write(dir, "node" + (i + 1), cluster, own, registry, i < 2 ? "roles: [edge, control]\n" : null);
      nodes.add(TestNodes.start(spec));
      controls.add(new ControlClient(client, spec.controlPort(), TestNodes.TOKEN));
    }
  }

  @AfterAll
  void stopAll() throws Exception {
    nodes.forEach(TestNodes::stopQuietly);
    client.close().await(10, TimeUnit.SECONDS);
  }

  private Future<Integer> viewSize(ControlClient control) {
    return control.json("/v1/cluster").map(json -> json.getJsonArray("nodes").size());
  }

  @Test
  @Order(1)
  void should_see_all_three_nodes_when_they_joined() throws Exception {
    for (ControlClient control : controls) {
      Eventually.until(client, Duration.ofSeconds(40), "node on port " + control.port() + " sees 3 nodes",
          () -> viewSize(control).map(n -> n == 3)).await(50, TimeUnit.SECONDS);
    }
    JsonObject view = controls.get(0).json("/v1/cluster").await(5, TimeUnit.SECONDS);
    assertThat(view.getJsonArray("nodes").stream().map(o -> ((JsonObject) o).getString("id")))
        .containsExactly("node1", "node2", "node3");
    JsonObject node3 = view.getJsonArray("nodes").getJsonObject(2);
    assertThat(node3.getJsonArray("roles")).containsExactly("control");
    assertThat(node3.getLong("registry_version")).isEqualTo(1);
    assertThat(node3.getString("up_since")).isNotBlank();
    // limits counted per node (Redis down) are divided among the edge nodes only, as every node sees it
    for (CeibaNode node : nodes) {
      assertThat(node.context().countingNodes().getAsInt()).as(node.context().nodeId()).isEqualTo(2);
    }
    String metrics = controls.get(0).get("/metrics").await(5, TimeUnit.SECONDS).bodyAsString();
    assertThat(metrics).contains("ceiba_cluster_nodes{node=\"node1\"} 3.0");
  }

  @Test
  @Order(2)
  void should_apply_registry_on_every_node_when_put_on_one() throws Exception {
    var response = controls.get(0).send(HttpMethod.PUT, "/v1/registry", Registries.yaml(2)).await(15, TimeUnit.SECONDS);
    assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(200);
    JsonObject body = response.bodyAsJsonObject();
    assertThat(body.getBoolean("complete")).isTrue();
    assertThat(body.getJsonObject("nodes").fieldNames()).containsExactlyInAnyOrder("node1", "node2", "node3");
    for (int i = 0; i < 3; i++) {
      assertThat(controls.get(i).json("/v1/registry").await(5, TimeUnit.SECONDS).getLong("version")).isEqualTo(2);
      // each node also wrote the registry to its own file, so a restart keeps it
      assertThat(Files.readString(registryFiles.get(i))).isEqualTo(Registries.yaml(2));
    }
    var again = controls.get(1).send(HttpMethod.PUT, "/v1/registry", Registries.yaml(1)).await(15, TimeUnit.SECONDS);
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(again.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("stale_version");
  }

  @Test
  @Order(3)
  void should_hear_a_node_again_when_the_others_lost_its_announce_registration() throws Exception {
    // what a lost entry event can leave behind, made on purpose: the others no longer know node3 listens
    String deaf = nodes.get(2).context().clusterManager().getNodeId();
    MultimapCache<String, byte[]> subscriptions = EmbeddedMultimapCacheManagerFactory
        .<String, byte[]>from((EmbeddedCacheManager) nodes.get(0).context().clusterManager().getCacheContainer()).get("__vertx.subs");
    Collection<byte[]> registrations = subscriptions.get(Addresses.CLUSTER_ANNOUNCE).get(10, TimeUnit.SECONDS);
    for (byte[] registration : List.copyOf(registrations)) {
      if (DataConverter.<RegistrationInfo>fromCachedObject(registration).nodeId().equals(deaf)) {
        subscriptions.remove(Addresses.CLUSTER_ANNOUNCE, registration).get(10, TimeUnit.SECONDS);
      }
    }
    ControlClient node3 = controls.get(2);
    Eventually.until(client, Duration.ofSeconds(10), "node3 stops hearing the others",
        () -> viewSize(node3).map(n -> n == 1)).await(15, TimeUnit.SECONDS);
    Eventually.until(client, Duration.ofSeconds(20), "node3 hears the others again",
        () -> viewSize(node3).map(n -> n == 3)).await(25, TimeUnit.SECONDS);
  }

  @Test
  @Order(4)
  void should_drop_a_node_within_10_seconds_when_it_dies() throws Exception {
    CeibaNode victim = nodes.get(2);
    // crash, not a clean stop: the member goes away without a goodbye and announcements stop
    victim.context().clusterManager().crash();
    long start = System.nanoTime();
    for (ControlClient control : controls.subList(0, 2)) {
      Eventually.until(client, Duration.ofSeconds(10), "node on port " + control.port() + " drops node3",
          () -> viewSize(control).map(n -> n == 2)).await(15, TimeUnit.SECONDS);
    }
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(took).isLessThan(Duration.ofSeconds(10));
    System.out.printf("killed node dropped from both views after %d ms%n", took.toMillis());
  }

  /**
   * Issue 18: a node that crashed and starts again at once, from the same host:port, does not wait for the failure
   * detector (5 s of silence, then a check) to drop its dead incarnation: its first discovery request has the
   * coordinator drop it.
   */
  @Test
  @Order(5)
  void should_drop_the_dead_incarnation_of_a_restarted_node_at_once() throws Exception {
    int clusterPort = TestNodes.load(specOf("node3")).cluster().port();
    CeibaNode first = TestNodes.start(writeNode3Again(clusterPort));
    nodes.add(first);
    String firstMember = first.context().clusterManager().getNodeId();
    Eventually.until(client, Duration.ofSeconds(20), "node1's cluster has node3 again",
        () -> Future.succeededFuture(memberIds().contains(firstMember))).await(25, TimeUnit.SECONDS);

    first.context().clusterManager().crash();
    long crashed = System.nanoTime();
    nodes.add(TestNodes.start(writeNode3Again(clusterPort)));
    Eventually.until(client, Duration.ofSeconds(15), "node1's cluster drops node3's dead incarnation",
        () -> Future.succeededFuture(!memberIds().contains(firstMember))).await(20, TimeUnit.SECONDS);
    Duration took = Duration.ofNanos(System.nanoTime() - crashed);
    System.out.printf("dead incarnation of a restarted node dropped %d ms after its crash%n", took.toMillis());
    assertThat(took).as("the failure detector alone takes 5 s of silence and a 1 s check").isLessThan(Duration.ofSeconds(4));
    Eventually.until(client, Duration.ofSeconds(20), "node1 sees 3 nodes",
        () -> viewSize(controls.get(0)).map(n -> n == 3)).await(25, TimeUnit.SECONDS);
  }

  private java.util.Set<String> memberIds() {
    return java.util.Set.copyOf(nodes.get(0).context().clusterManager().getNodes());
  }

  private TestNodes.Spec specOf(String nodeId) {
    return new TestNodes.Spec(dir, dir.resolve(nodeId + ".yaml"), nodeId, 0, 0, 0);
  }

  /** node3's config again (control only, fresh HTTP ports), at the cluster port it had: a restart on the same host. */
  private TestNodes.Spec writeNode3Again(int clusterPort) {
    List<Integer> members = new ArrayList<>(TestNodes.load(specOf("node1")).cluster().members().stream()
        .map(m -> Integer.parseInt(m.substring(m.lastIndexOf(':') + 1))).filter(p -> p != clusterPort).toList());
    members.add(0, clusterPort);
    return TestNodes.write(dir, "node3", TestNodes.load(specOf("node1")).cluster().name(), members, registryFiles.get(2), null);
  }
}
