package io.ceiba.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17: node death and rolling restarts lose nothing. Three clustered nodes run as the fat jar on loopback; every
 * origin listens on its own node's "loopback" as far as the registry says, so node1 relays {@code remote.test} to
 * node2's and node3's edges and serves {@code mixed.test} from its own origin. {@value #CONNECTIONS} keep-alive clients,
 * in front of the nodes as a load balancer would be (first ready node, node1 first; a refused connect goes to the next),
 * send GET, HEAD, POST, PUT and DELETE without pause.
 * <ul>
 *   <li>A rolling restart, SIGTERM and start of each node in turn, fails no request of any method: the stopping node
 *   turns unready and leaves its peers' views at once, keeps serving (relays too) for the drain delay with
 *   {@code Connection: close}, and a started node is relayed to only once its edge listens.</li>
 *   <li>SIGKILL of a relaying node fails no GET, HEAD or body-less DELETE (retried once on another backend when the
 *   relay connection breaks before any answer), and what cannot be replayed is a 502 with a code; {@code /v1/cluster}
 *   answers at once from the local view and drops the dead node with the membership.</li>
 * </ul>
 * On 985d73f a SIGTERM cost 16-37 resets and a kill 20-64, and {@code /v1/cluster} took 2.0 s right after the kill.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RollingRestartIT {

  private static final int CONNECTIONS = 24;
  private static final String[] IDS = {"node1", "node2", "node3"};
  /** Given as the environment, not the file, so the same scenario runs on a build that does not know the key. */
  private static final Map<String, String> DRAIN = Map.of("CEIBA_SHUTDOWN_DRAIN_DELAY", "2s");
  /**
   * A start of the jar takes 15-20 s on an idle 2-core machine, over 80 s at load average 20-25 (JGroups' join alone
   * took a minute there): {@code -Dceiba.rolling.startWithin=SECONDS} on a machine busier still.
   */
  private static final Duration START_WITHIN = Duration.ofSeconds(Integer.getInteger("ceiba.rolling.startWithin", 180));
  private static final Duration CLUSTER_VIEW_WITHIN = Duration.ofMillis(1500);

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient probes = vertx.createHttpClient();
  private final List<Origin> origins = new ArrayList<>();
  private final List<TestNodes.Spec> specs = new ArrayList<>();
  private final List<ControlClient> controls = new ArrayList<>();
  private final JarProcess[] processes = new JarProcess[3];
  private Path dir;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    this.dir = dir;
    for (String id : IDS) {
      origins.add(Origin.start(vertx, "origin-" + id));
    }
    // lenient: on a busy machine a check may wait a second, and a backend taken out for it would fail requests here
    String health = "    health: { path: /healthz, interval: 1s, timeout: 900ms, unhealthy_after: 3, healthy_after: 1 }\n";
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n"
        + "  remote:\n    hosts: [remote.test]\n    backends:\n" + backend(1) + backend(2) + health
        + "  mixed:\n    hosts: [mixed.test]\n    backends:\n" + backend(0) + backend(1) + health);
    String cluster = TestNodes.clusterName();
    List<Integer> clusterPorts = List.of(io.ceiba.testkit.Ports.free(), io.ceiba.testkit.Ports.free(), io.ceiba.testkit.Ports.free());
    for (int i = 0; i < 3; i++) {
      List<Integer> mineFirst = new ArrayList<>(clusterPorts);
      mineFirst.add(0, mineFirst.remove(i));
      // node1 has the admin API (for /v1/cluster), so it needs PostgreSQL; the others are edge and health only
      specs.add(TestNodes.write(dir, IDS[i], cluster, mineFirst, registry,
          (i == 0 ? "roles: [edge, health, control]\n" : "roles: [edge, health]\n") + "shutdown: { grace: 5s }\n"));
      controls.add(new ControlClient(vertx, specs.get(i).controlPort(), TestNodes.TOKEN));
    }
    JarProcess.Result init = JarProcess.run(dir, "cluster", "init", "--dir", TestNodes.credentialsOf(dir).toString(),
        "--name", cluster, "--nodes", String.join(",", IDS));
    assertThat(init.exit()).as(init.output()).isZero();
    for (int i = 0; i < 3; i++) {
      processes[i] = startNode(i);
    }
    for (int i = 0; i < 3; i++) {
      awaitServing(i);
    }
  }

  private String backend(int node) {
    return "      - { url: \"" + origins.get(node).url() + "\", node: " + IDS[node] + " }\n";
  }

  @AfterAll
  void stop() throws Exception {
    // every incarnation's log, for a look after a failure (the temporary folder goes with the test)
    Path keep = Path.of("target", "rolling-restart-logs");
    java.nio.file.Files.createDirectories(keep);
    try (var logs = java.nio.file.Files.list(dir)) {
      for (Path log : logs.filter(f -> f.getFileName().toString().endsWith(".log")).toList()) {
        java.nio.file.Files.copy(log, keep.resolve(log.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    for (JarProcess p : processes) {
      if (p != null) {
        p.close();
      }
    }
    controls.forEach(ControlClient::close);
    for (Origin o : origins) {
      o.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /*
   * Out of the default run in 0d8525e: it had failed in 3 of 6 fresh-clone CI runs (85, 96 and 34,144 requests 503
   * no_healthy_backend from node1 around restarts). The logs showed why: a restarted node on the loaded machine heard
   * no member within JGroups' 3 s join timeout, formed a cluster of its own, was ready at once (it had no unheard
   * member) and served without its peers until the partitions merged 20-30 s later. cluster.join_timeout is now
   * 10 s with discovery sent three times, and a ready node no longer turns unready while a newcomer is still starting.
   */
  @Test
  @Order(1)
  void should_fail_no_request_of_any_method_while_every_node_is_restarted_in_turn_under_load() throws Exception {
    BalancedClients clients = clients();
    long started = System.nanoTime();
    List<Integer> exits = new ArrayList<>();
    List<String> stopLogs = new ArrayList<>();
    clients.start(CONNECTIONS);
    try {
      awaitRequests(clients, 500);
      for (int i = 0; i < 3; i++) {
        long t0 = System.nanoTime();
        exits.add(processes[i].terminate(60));
        long stoppedMs = (System.nanoTime() - t0) / 1_000_000;
        String output = processes[i].output();
        stopLogs.add(output.substring(Math.max(0, output.indexOf("node " + IDS[i] + " stopping"))));
        processes[i] = startNode(i);
        Duration back = awaitServing(i);
        System.out.printf("rolling restart: %s stopped in %d ms (drain 2 s), serving again in %d ms; so far %s%n",
            IDS[i], stoppedMs, back.toMillis(), clients.summary());
        // some load on the whole cluster again before the next one goes
        awaitRequests(clients, clients.ok.get() + 300);
      }
    } finally {
      clients.stop();
    }
    long seconds = (System.nanoTime() - started) / 1_000_000_000L;
    System.out.printf("rolling restart of 3 nodes with %d keep-alive clients in %d s: %s%n", CONNECTIONS, seconds, clients.summary());
    assertThat(clients.failureCounts()).as("%s%nwhat the nodes said of their peers and readiness:%n%s", clients.summary(),
        membershipLines()).isEmpty();
    assertThat(clients.closeAnswers.get()).as("answers of draining nodes with Connection: close").isPositive();
    assertThat(exits).as("exit codes after SIGTERM").containsOnly(0);
    // 985d73f logged an IllegalStateException while the stopping edge still accepted
    assertThat(stopLogs).allSatisfy(log -> assertThat(log).as("log from 'stopping' on").doesNotContain("IllegalStateException"));
  }

  @Test
  @Order(2)
  void should_fail_no_idempotent_request_when_a_relaying_node_is_killed_and_show_the_cluster_at_once() throws Exception {
    for (int i = 0; i < 3; i++) {
      awaitServing(i); // the scenario starts from a whole cluster, whatever the test before left
    }
    BalancedClients clients = clients();
    clients.start(CONNECTIONS);
    long viewMs;
    Duration dropped;
    try {
      awaitRequests(clients, 1000);
      long okBefore = clients.ok.get();
      processes[1].kill();
      long t0 = System.nanoTime();
      JsonObject view = controls.get(0).json("/v1/cluster").await(10, TimeUnit.SECONDS);
      viewMs = (System.nanoTime() - t0) / 1_000_000;
      System.out.printf("kill -9 of node2: /v1/cluster on node1 answered in %d ms with %s%n", viewMs, ids(view));
      dropped = Eventually.until(vertx, Duration.ofSeconds(15), "node2 gone from node1's /v1/cluster",
          () -> controls.get(0).json("/v1/cluster").map(v -> !ids(v).contains("node2"))).await(20, TimeUnit.SECONDS);
      // and it stays out while node1's membership has it out
      assertThat(controls.get(0).metric("ceiba_cluster_nodes").await(10, TimeUnit.SECONDS)).isEqualTo(2.0);
      assertThat(ids(controls.get(0).json("/v1/cluster").await(10, TimeUnit.SECONDS))).containsExactly("node1", "node3");
      awaitRequests(clients, okBefore + 1000);
    } finally {
      clients.stop();
    }
    System.out.printf("kill -9 of relaying node2 under %d keep-alive clients: %s; /v1/cluster %d ms after the kill, node2 out of it"
        + " after %d ms%n", CONNECTIONS, clients.summary(), viewMs, dropped.toMillis());
    // what may fail: a request whose body went to the dead node (502 upstream_connection_broken), or a POST whose
    // connect was refused before node1 heard of the death (502 bad_gateway: a POST is never replayed)
    clients.failureCounts().forEach((what, count) -> assertThat(what).as(clients.summary())
        .matches("(POST|PUT) \\S+ 502 (upstream_connection_broken|bad_gateway) from node1"));
    assertThat(viewMs).as("/v1/cluster right after the kill, in ms").isLessThan(CLUSTER_VIEW_WITHIN.toMillis());
  }

  private BalancedClients clients() {
    Buffer body = Buffer.buffer("x".repeat(200));
    List<BalancedClients.Call> calls = List.of(
        new BalancedClients.Call(HttpMethod.GET, "remote.test", "/r", null),
        new BalancedClients.Call(HttpMethod.POST, "remote.test", "/r", body),
        new BalancedClients.Call(HttpMethod.GET, "mixed.test", "/m", null),
        new BalancedClients.Call(HttpMethod.PUT, "remote.test", "/r", body),
        new BalancedClients.Call(HttpMethod.HEAD, "remote.test", "/r", null),
        new BalancedClients.Call(HttpMethod.POST, "mixed.test", "/m", body),
        new BalancedClients.Call(HttpMethod.DELETE, "remote.test", "/r", null));
    return new BalancedClients(vertx, specs.stream().map(TestNodes.Spec::edgePort).toList(), controls, calls, CONNECTIONS + 8);
  }

  private static List<String> ids(JsonObject view) {
    return view.getJsonArray("nodes").stream().map(n -> ((JsonObject) n).getString("id")).toList();
  }

  /** The nodes' log lines about joining, leaving and readiness: what a failed request count needs to be read. */
  private String membershipLines() {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      String id = IDS[i];
      try {
        processes[i].output().lines().filter(l -> l.contains("MembershipVerticle") || l.contains("ready without")
            || l.contains("draining") || l.contains(" started in ") || l.contains("merged") || l.contains("coordinator")
            || l.contains("JOIN") || l.contains("ISPN")).forEach(l -> out.append(id).append(": ").append(l).append('\n'));
      } catch (Exception e) {
        out.append(IDS[i]).append(": output not readable: ").append(e).append('\n');
      }
    }
    return out.toString();
  }

  private JarProcess startNode(int i) throws Exception {
    return JarProcess.start(dir, DRAIN, "--config", specs.get(i).configFile().toString());
  }

  /**
   * Node {@code i} is ready, every node sees three, and node1 serves from the node's origin again: a restarted node
   * counts as back only once traffic reaches it.
   */
  private Duration awaitServing(int i) throws Exception {
    long start = System.nanoTime();
    await("node" + (i + 1) + " ready", START_WITHIN, () -> controls.get(i).get("/ready").map(r -> r.statusCode() == 200).otherwise(false), i);
    for (int n = 0; n < 3; n++) {
      ControlClient control = controls.get(n);
      await("node" + (n + 1) + " sees 3 nodes", Duration.ofSeconds(30),
          () -> control.metric("ceiba_cluster_nodes").map(v -> v == 3.0).otherwise(false), i);
    }
    Origin origin = origins.get(i);
    int before = origin.requests();
    String host = i == 0 ? "mixed.test" : "remote.test";
    await(origin.name() + " reached through node1", Duration.ofSeconds(30),
        () -> probe(specs.get(0).edgePort(), host).map(v -> origin.requests() > before), i);
    return Duration.ofNanos(System.nanoTime() - start);
  }

  private void await(String what, Duration within, Supplier<Future<Boolean>> check, int node) throws Exception {
    try {
      Eventually.until(vertx, within, what, check).await(within.toSeconds() + 10, TimeUnit.SECONDS);
    } catch (Exception | AssertionError e) {
      throw new AssertionError(what + ":\n" + processes[node].output(), e);
    }
  }

  private void awaitRequests(BalancedClients clients, long ok) throws Exception {
    Eventually.until(vertx, Duration.ofSeconds(60), ok + " requests answered",
        () -> Future.succeededFuture(clients.ok.get() >= ok)).await(70, TimeUnit.SECONDS);
  }

  /** One GET through an edge, its outcome ignored: the check is on the origin's side. */
  private Future<Void> probe(int port, String host) {
    return probes.request(new RequestOptions().setMethod(HttpMethod.GET)
            .setServer(SocketAddress.inetSocketAddress(port, "127.0.0.1")).setHost(host).setPort(port).setURI("/probe"))
        .compose(r -> r.send()).compose(r -> r.body()).<Void>mapEmpty().otherwiseEmpty();
  }
}
