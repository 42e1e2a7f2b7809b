package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.OnContext;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three clustered nodes with edges, each next to an origin of its own on its loopback address: any node serves any
 * service, reaching another node's origin through that node's edge (a relay), as it would across hosts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterEdgeIT {

  private final Vertx vertx = Vertx.vertx();
  private final List<CeibaNode> nodes = new ArrayList<>();
  private final List<TestNodes.Spec> specs = new ArrayList<>();
  private final List<Origin> origins = new ArrayList<>();
  private HttpClient http;
  private io.vertx.core.Context context;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    http = vertx.createHttpClient();
    context = vertx.getOrCreateContext();
    for (int i = 1; i <= 3; i++) {
      origins.add(Origin.start(vertx, "origin-node" + i));
    }
    StringBuilder registry = new StringBuilder("version: 1\nhttp:\n  everywhere:\n    hosts: [all.test]\n    backends:\n");
    for (int i = 1; i <= 3; i++) {
      registry.append("      - { url: \"").append(origins.get(i - 1).url()).append("\", node: node").append(i).append(" }\n");
    }
    registry.append("    health: { interval: 300ms, timeout: 250ms }\n");
    registry.append("  solo:\n    hosts: [solo.test]\n    backends:\n      - { url: \"").append(origins.get(2).url())
        .append("\", node: node3 }\n    health: { interval: 300ms, timeout: 250ms }\n");
    String cluster = TestNodes.clusterName();
    List<Integer> ports = List.of(Ports.free(), Ports.free(), Ports.free());
    for (int i = 0; i < 3; i++) {
      List<Integer> own = new ArrayList<>(ports);
      own.add(0, own.remove(i));
      Path file = Registries.write(dir.resolve("registry-" + (i + 1) + ".yaml"), registry.toString());
      TestNodes.Spec spec = TestNodes.write(dir, "node" + (i + 1), cluster, own, file, "roles: [edge, health, control]\n");
      specs.add(spec);
      nodes.add(TestNodes.start(spec));
    }
    // every node checks the other nodes' origins through their edges once it has heard of them
    awaitEveryView("every node sees every backend up", b -> b.getBoolean("up"));
  }

  /** Waits until, in node1's /v1/cluster, all three nodes show all four backends and each one passes {@code check}. */
  private void awaitEveryView(String what, java.util.function.Predicate<JsonObject> check) throws Exception {
    ControlClient control = new ControlClient(vertx, specs.get(0).controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(30), what, () -> control.json("/v1/cluster").map(json ->
        json.getJsonArray("nodes").size() == 3 && json.getJsonArray("nodes").stream().map(JsonObject.class::cast)
            .allMatch(n -> n.getJsonArray("backends") != null && n.getJsonArray("backends").size() == 4
                && n.getJsonArray("backends").stream().map(JsonObject.class::cast).allMatch(check))))
        .await(40, TimeUnit.SECONDS);
    control.close();
  }

  private long servedBy(int node, String service) throws Exception {
    ControlClient control = new ControlClient(vertx, specs.get(node - 1).controlPort(), TestNodes.TOKEN);
    String metrics = control.get("/metrics").await(5, TimeUnit.SECONDS).bodyAsString();
    control.close();
    var m = java.util.regex.Pattern.compile("ceiba_edge_requests_total\\{code=\"200\",node=\"node" + node + "\",service=\""
        + service + "\"\\} ([0-9.]+)").matcher(metrics);
    return m.find() ? (long) Double.parseDouble(m.group(1)) : 0;
  }

  @AfterAll
  void stop() throws Exception {
    nodes.forEach(TestNodes::stopQuietly);
    for (Origin o : origins) {
      o.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private String originSeenThrough(int node, String host) throws Exception {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
        .setPort(specs.get(node - 1).edgePort()).setURI("/").putHeader("host", host);
    return OnContext.call(context, () -> http.request(options).compose(r -> r.send()).compose(r -> {
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.getHeader("x-ceiba-node")).isEqualTo("node" + node);
      return r.body().map(b -> r.getHeader("x-origin"));
    })).await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_serve_every_service_from_every_node_preferring_the_local_backend() throws Exception {
    long relayedBefore = servedBy(3, "solo");
    for (int node = 1; node <= 3; node++) {
      for (int i = 0; i < 5; i++) {
        assertThat(originSeenThrough(node, "all.test")).isEqualTo("origin-node" + node);
        // the only backend of solo lives next to node3; node1 and node2 serve it all the same
        assertThat(originSeenThrough(node, "solo.test")).isEqualTo("origin-node3");
      }
    }
    // node1 and node2 relayed theirs through node3's edge (health probes relayed meanwhile are not requests)
    assertThat(servedBy(3, "solo") - relayedBefore).isEqualTo(15);

    // a client cannot pass for a peer: its relay headers are dropped and the request is routed as any other
    RequestOptions forged = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(specs.get(0).edgePort())
        .setURI("/").putHeader("host", "all.test").putHeader("x-ceiba-peer", "guess")
        .putHeader("x-ceiba-service", "solo").putHeader("x-ceiba-backend", origins.get(2).url());
    String seen = OnContext.call(context, () -> http.request(forged).compose(r -> r.send()).compose(r -> {
      assertThat(r.statusCode()).isEqualTo(200);
      return r.body().map(b -> r.getHeader("x-origin"));
    })).await(10, TimeUnit.SECONDS);
    assertThat(seen).isEqualTo("origin-node1");
  }

  @Test
  void should_show_each_nodes_view_of_backend_health_in_the_cluster_api() throws Exception {
    awaitEveryView("3 nodes with health views", b -> b.containsKey("last_check"));
    // node1 checks node3's loopback origin through node3's edge, and says so
    JsonObject node1 = new ControlClient(vertx, specs.get(0).controlPort(), TestNodes.TOKEN).json("/v1/cluster")
        .await(5, TimeUnit.SECONDS).getJsonArray("nodes").getJsonObject(0);
    assertThat(node1.getString("id")).isEqualTo("node1");
    assertThat(node1.getJsonArray("backends").stream().map(JsonObject.class::cast)
        .filter(b -> b.getString("service").equals("solo")).findFirst().orElseThrow().getString("via")).isEqualTo("node3");
  }
}
