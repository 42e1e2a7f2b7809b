package io.ceiba.multihost;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.NetnsRig;
import io.ceiba.testkit.NetnsRig.Host;
import io.ceiba.testkit.NetnsRig.HttpResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;

/**
 * What every suite on the multi-host rig shares: bringing three hosts up (database, origins, registry, nodes, a
 * converged view), skipping each test with the reason where the rig cannot run, and reading the nodes' views.
 * Rig calls block (processes), so they run on worker threads ({@link #blocking}); checks poll on Vert.x timers.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RigScenario {

  static final List<Host> HOSTS = List.of(Host.values());
  static final Set<String> ALL_NODES = Set.of("host1", "host2", "host3");
  static final Duration START = Duration.ofSeconds(150);

  /**
   * The services every suite has (origins: host1 9101; host2 9002, 9102, 9202; host3 9103, 9203). every: a backend
   * per host: each host serves from its own. solo: one backend, on host2's loopback: host1 and host3 relay through
   * host2's edge. pair: backends on host2 and host3 only: host1 always relays. Ports differ per host because the same
   * URL on two nodes is refused (issue 17 item 6).
   */
  static final String SHARED_SERVICES = """
      version: 1
      defaults:
        health: { path: /healthz, interval: 1s, timeout: 500ms, unhealthy_after: 2, healthy_after: 1 }
        timeouts: { connect: 1s, upstream: 5s }
      http:
        solo:
          hosts: [solo.test]
          backends: [{ url: "http://127.0.0.1:9002", node: host2 }]
        every:
          hosts: [every.test]
          backends:
            - { url: "http://127.0.0.1:9101", node: host1 }
            - { url: "http://127.0.0.1:9102", node: host2 }
            - { url: "http://127.0.0.1:9103", node: host3 }
        pair:
          hosts: [pair.test]
          backends:
            - { url: "http://127.0.0.1:9202", node: host2 }
            - { url: "http://127.0.0.1:9203", node: host3 }
          lb: round-robin
      """;
  static final int SHARED_BACKENDS = 6;

  /** {@code registry} as version 2 with one more service, late.test, served by an origin on host1's 9601. */
  static String withLateService(String registry) {
    return registry.replace("version: 1", "version: 2")
        + "  late:\n    hosts: [late.test]\n    backends: [{ url: \"http://127.0.0.1:9601\", node: host1 }]\n";
  }

  final Vertx vertx = Vertx.vertx();
  NetnsRig rig;
  private Optional<String> whyNotRun = Optional.empty();
  /** How many backends the registry lists in all: a converged view reports each of them up on every node. */
  private int backends;

  /**
   * Brings the rig up for {@code suite}: PostgreSQL and Redis, the origins {@code origins} starts, every host's
   * copy of {@code registry}, three nodes ready, then every view with three nodes and all {@code backends} up.
   * Does nothing where the rig cannot run (each test is then skipped with the reason).
   */
  void startThreeHosts(String suite, String registry, int backends, Consumer<NetnsRig> origins) throws Exception {
    whyNotRun = NetnsRig.whyNotRun(suite);
    if (whyNotRun.isPresent()) {
      return;
    }
    this.backends = backends;
    rig = NetnsRig.up();
    long start = System.nanoTime();
    rig.dbUp();
    origins.accept(rig);
    rig.registry(registry);
    HOSTS.forEach(rig::startNode);
    for (Host host : HOSTS) {
      rig.awaitReady(host, START);
    }
    Duration converged = await(Duration.ofSeconds(60), "every host sees three nodes and every backend up",
        () -> allHosts(this::convergedView));
    NetnsRig.figure(String.format("%s: rig up, three nodes ready and converged in %.1f s (views converged %d ms after"
        + " the last /ready)", suite, seconds(System.nanoTime() - start), converged.toMillis()));
  }

  /** After a registry change: how many backends a converged view lists. */
  void expectBackends(int count) {
    backends = count;
  }

  /** Each test skipped with the reason where the rig cannot run: counted as skipped, not passed. */
  @BeforeEach
  void onlyWhereTheRigRuns() {
    NetnsRig.assumeRuns(whyNotRun);
  }

  @AfterAll
  void tearDown() throws Exception {
    if (rig != null) {
      rig.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  // ---- views -------------------------------------------------------------------------------------------------

  /** {@code /v1/cluster} of a node asked from the client host, or null when it did not answer 200. */
  JsonObject view(Host node) {
    HttpResult r = rig.control(node, "GET", "/v1/cluster", null);
    return r.status() == 200 ? r.json() : null;
  }

  /** {@code /v1/cluster} asked on the node's own loopback (the client host cannot reach a cut-off host). */
  JsonObject viewFrom(Host node) {
    HttpResult r = rig.httpFrom(node.ns(), "GET", "http://127.0.0.1:9090/v1/cluster",
        Map.of("Authorization", "Bearer " + NetnsRig.TOKEN), null);
    return r.status() == 200 ? r.json() : null;
  }

  static Set<String> nodeIds(JsonObject view) {
    Set<String> ids = new TreeSet<>();
    view.getJsonArray("nodes").forEach(n -> ids.add(((JsonObject) n).getString("id")));
    return ids;
  }

  /** The node's view lists exactly {@code nodes}. */
  Future<Boolean> sees(Host node, Set<String> nodes) {
    return blocking(() -> view(node)).map(v -> v != null && nodeIds(v).equals(nodes));
  }

  /** The node lists all three nodes, and every node it lists reports every backend up. */
  Future<Boolean> convergedView(Host node) {
    return blocking(() -> view(node)).map(v -> {
      if (v == null || !nodeIds(v).equals(ALL_NODES)) {
        return false;
      }
      for (Object n : v.getJsonArray("nodes")) {
        JsonArray list = ((JsonObject) n).getJsonArray("backends");
        if (list == null || list.size() != backends || list.stream().anyMatch(b -> !((JsonObject) b).getBoolean("up", false))) {
          return false;
        }
      }
      return true;
    });
  }

  // ---- plumbing ----------------------------------------------------------------------------------------------

  Future<Boolean> allHosts(Function<Host, Future<Boolean>> check) {
    List<Future<Boolean>> checks = HOSTS.stream().map(check).toList();
    return Future.all(checks).map(all -> checks.stream().allMatch(Future::result));
  }

  /** Polls {@code check} until it holds (the time it took) or fails after {@code timeout} with the nodes' last log lines. */
  Duration await(Duration timeout, String what, Supplier<Future<Boolean>> check) throws Exception {
    try {
      return Eventually.until(vertx, timeout, what, check).await(timeout.toSeconds() + 30, TimeUnit.SECONDS);
    } catch (AssertionError e) {
      Map<String, String> logs = new LinkedHashMap<>();
      HOSTS.forEach(h -> logs.put(h.nodeId(), rig.nodeLogTail(h, 8)));
      throw new AssertionError(e.getMessage() + "\nlast node log lines: " + logs, e);
    }
  }

  JsonObject control(Host node, String method, String path, String json, int expected) throws Exception {
    HttpResult r = call(() -> rig.control(node, method, path, json));
    assertThat(r.status()).as("%s %s on %s: %s", method, path, node, r.body()).isEqualTo(expected);
    return r.body().isBlank() ? new JsonObject() : r.json();
  }

  /** A project subscribed to {@code plan} (made through host2) and a new key of it (through host3): the key's JSON. */
  JsonObject keyOnPlan(String project, String plan) throws Exception {
    String id = control(Host.H2, "POST", "/v1/projects", "{\"name\": \"" + project + "\"}", 201).getString("id");
    control(Host.H3, "POST", "/v1/projects/" + id + "/subscriptions", "{\"plan\": \"" + plan + "\"}", 201);
    return control(Host.H1, "POST", "/v1/projects/" + id + "/keys", "{\"name\": \"rig\"}", 201);
  }

  /** A rig call on a worker thread, not ordered with the others (checks of several hosts run side by side). */
  <T> Future<T> blocking(Callable<T> call) {
    return vertx.executeBlocking(call, false);
  }

  <T> T call(Callable<T> call) throws Exception {
    return blocking(call).await(30, TimeUnit.SECONDS);
  }

  static double seconds(long nanos) {
    return nanos / 1e9;
  }
}
