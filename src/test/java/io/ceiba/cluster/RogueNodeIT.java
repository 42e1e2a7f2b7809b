package io.ceiba.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ceiba.bus.Addresses;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Two trusted nodes, and two rogue nodes that know every address, the cluster name and the ports, but not the
 * credentials: one with credentials of its own (another CA), one that speaks plaintext ({@code insecure: true}).
 * Neither joins, hears a bus message, pushes a registry or can make a relay token; the cluster keeps serving and logs
 * the attempts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RogueNodeIT {

  private static final String SECRET_ADDRESS = "ceiba.test.cluster-only";

  private final Vertx client = Vertx.vertx();
  private final List<CeibaNode> trusted = new ArrayList<>();
  private final List<ControlClient> trustedControls = new ArrayList<>();
  private final List<CeibaNode> rogues = new ArrayList<>();
  private final List<ControlClient> rogueControls = new ArrayList<>();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private List<Integer> trustedPorts;

  @BeforeAll
  void start(@TempDir Path dir) {
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
    String cluster = TestNodes.clusterName();
    List<Integer> ports = List.of(Ports.free(), Ports.free());
    trustedPorts = ports;
    for (int i = 0; i < 2; i++) {
      List<Integer> own = new ArrayList<>(ports);
      own.add(0, own.remove(i));
      Path registry = Registries.write(dir.resolve("registry-" + (i + 1) + ".yaml"), Registries.yaml(1));
      TestNodes.Spec spec = TestNodes.write(dir, "node" + (i + 1), cluster, own, registry, "roles: [edge, control]\n");
      trusted.add(TestNodes.start(spec));
      trustedControls.add(new ControlClient(client, spec.controlPort(), TestNodes.TOKEN));
    }
    // the rogues know everything but the credentials: same cluster name, every member's port, a node id of the cluster
    String[] extras = {"roles: [control]\n", "  insecure: true\nroles: [control]\n"};
    for (int i = 0; i < extras.length; i++) {
      Path rogueDir = dir.resolve("rogue" + i);
      List<Integer> members = new ArrayList<>(ports);
      members.add(0, Ports.free());
      Path registry = Registries.write(rogueDir.resolve("registry.yaml"), Registries.yaml(1));
      TestNodes.Spec spec = TestNodes.write(rogueDir, "node2", cluster, members, registry, extras[i]);
      rogues.add(TestNodes.start(spec));
      rogueControls.add(new ControlClient(client, spec.controlPort(), TestNodes.TOKEN));
    }
  }

  @AfterAll
  void stop() throws Exception {
    rogues.forEach(TestNodes::stopQuietly);
    trusted.forEach(TestNodes::stopQuietly);
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    client.close().await(10, TimeUnit.SECONDS);
  }

  private Future<Integer> viewSize(ControlClient control) {
    return control.json("/v1/cluster").map(json -> json.getJsonArray("nodes").size());
  }

  @Test
  @Order(1)
  void should_not_let_a_node_without_the_credentials_join() throws Exception {
    for (ControlClient control : trustedControls) {
      Eventually.until(client, Duration.ofSeconds(30), "trusted node on port " + control.port() + " sees 2 nodes",
          () -> viewSize(control).map(n -> n == 2)).await(40, TimeUnit.SECONDS);
    }
    // the rogues have had their join attempts: each formed a cluster of its own
    for (CeibaNode rogue : rogues) {
      assertThat(rogue.context().clusterManager().getNodes()).hasSize(1);
    }
    for (CeibaNode node : trusted) {
      assertThat(node.context().clusterManager().getNodes()).hasSize(2);
    }
    for (ControlClient control : rogueControls) {
      assertThat(viewSize(control).await(5, TimeUnit.SECONDS)).isEqualTo(1);
    }
    for (ControlClient control : trustedControls) {
      assertThat(viewSize(control).await(5, TimeUnit.SECONDS)).isEqualTo(2);
    }
  }

  @Test
  @Order(2)
  void should_log_the_refused_connections() throws Exception {
    // the trusted nodes' side of each attempt: a refused TLS handshake (the rogue's plaintext or its foreign certificate)
    Eventually.until(client, Duration.ofSeconds(20), "a trusted node logs a refused connection",
        () -> Future.succeededFuture(refusals() > 0)).await(25, TimeUnit.SECONDS);
  }

  /** WARN lines the trusted nodes' membership listeners logged about a refused handshake. */
  private long refusals() {
    List<String> lines;
    synchronized (logs) {
      lines = logs.list.stream().filter(e -> e.getLevel().toString().equals("WARN"))
          .filter(e -> trustedPorts.stream().anyMatch(p -> e.getThreadName().contains("Acceptor[" + p + "]")))
          .map(ILoggingEvent::getFormattedMessage)
          .filter(m -> m.contains("refused a cluster connection") || m.contains("SSL") && !m.contains("Read timed out"))
          .toList();
    }
    lines.forEach(line -> System.out.println("logged: " + line));
    return lines.size();
  }

  @Test
  @Order(3)
  void should_deliver_no_bus_message_to_a_rogue() throws Exception {
    AtomicInteger heardByMember = new AtomicInteger();
    AtomicInteger heardByRogues = new AtomicInteger();
    MessageConsumer<Object> member = trusted.get(1).vertx().eventBus().consumer(SECRET_ADDRESS, m -> heardByMember.incrementAndGet());
    List<MessageConsumer<Object>> rogueConsumers = new ArrayList<>();
    for (CeibaNode rogue : rogues) {
      rogueConsumers.add(rogue.vertx().eventBus().consumer(SECRET_ADDRESS, m -> heardByRogues.incrementAndGet()));
    }
    member.completion().await(10, TimeUnit.SECONDS);
    for (MessageConsumer<Object> c : rogueConsumers) {
      c.completion().await(10, TimeUnit.SECONDS);
    }
    Vertx sender = trusted.get(0).vertx();
    // five publishes over a second; the member hears them all, the rogues none
    Eventually.until(client, Duration.ofSeconds(20), "node2 hears 5 publishes of node1", () -> {
      sender.eventBus().publish(SECRET_ADDRESS, new JsonObject().put("secret", "for members only"));
      return Future.succeededFuture(heardByMember.get() >= 5);
    }).await(25, TimeUnit.SECONDS);
    assertThat(heardByRogues.get()).isZero();
    // and a rogue's own publish reaches no member
    int before = heardByMember.get();
    rogues.forEach(r -> r.vertx().eventBus().publish(SECRET_ADDRESS, "from a rogue"));
    sender.eventBus().publish(SECRET_ADDRESS, "fence");
    Eventually.until(client, Duration.ofSeconds(10), "node2 hears node1's fence", () -> Future.succeededFuture(heardByMember.get() > before))
        .await(15, TimeUnit.SECONDS);
    assertThat(heardByMember.get()).isEqualTo(before + 1);
    member.unregister();
    rogueConsumers.forEach(MessageConsumer::unregister);
  }

  @Test
  @Order(4)
  void should_not_let_a_rogue_push_a_registry() throws Exception {
    // straight onto the bus address a member's registry listens on
    for (CeibaNode rogue : rogues) {
      var sent = rogue.vertx().eventBus().<JsonObject>request(Addresses.registryApply("node1"),
          new JsonObject().put("text", Registries.yaml(77)).put("from", "node2"), new DeliveryOptions().setSendTimeout(2000));
      assertThat(sent.transform(ar -> Future.succeededFuture(ar.failed())).await(10, TimeUnit.SECONDS)).isTrue();
    }
    // through the rogue's own admin API: it reaches only itself
    for (ControlClient control : rogueControls) {
      var response = control.send(HttpMethod.PUT, "/v1/registry", Registries.yaml(99)).await(15, TimeUnit.SECONDS);
      assertThat(response.bodyAsJsonObject().getJsonObject("nodes").fieldNames()).containsExactly("node2");
    }
    for (ControlClient control : trustedControls) {
      assertThat(control.json("/v1/registry").await(5, TimeUnit.SECONDS).getLong("version")).isEqualTo(1);
    }
  }

  @Test
  @Order(5)
  void should_not_let_a_rogue_make_a_relay_token() {
    MultiMap fromMember = MultiMap.caseInsensitiveMultiMap();
    trusted.get(1).context().peers().markRelay(fromMember, "svc", "http://127.0.0.1:1");
    assertThat(trusted.get(0).context().peers().isRelay(fromMember)).isTrue();
    for (CeibaNode rogue : rogues) {
      MultiMap fromRogue = MultiMap.caseInsensitiveMultiMap();
      rogue.context().peers().markRelay(fromRogue, "svc", "http://127.0.0.1:1");
      assertThat(trusted.get(0).context().peers().isRelay(fromRogue)).isFalse();
      assertThat(fromRogue.get(Peers.PEER_HEADER)).isNotEqualTo(fromMember.get(Peers.PEER_HEADER));
    }
  }

  @Test
  @Order(6)
  void should_keep_serving_the_cluster() throws Exception {
    var response = trustedControls.get(0).send(HttpMethod.PUT, "/v1/registry", Registries.yaml(2)).await(15, TimeUnit.SECONDS);
    assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(200);
    assertThat(response.bodyAsJsonObject().getBoolean("complete")).isTrue();
    assertThat(response.bodyAsJsonObject().getJsonObject("nodes").fieldNames()).containsExactlyInAnyOrder("node1", "node2");
    for (ControlClient control : trustedControls) {
      assertThat(control.json("/v1/registry").await(5, TimeUnit.SECONDS).getLong("version")).isEqualTo(2);
      assertThat(viewSize(control).await(5, TimeUnit.SECONDS)).isEqualTo(2);
    }
  }
}
