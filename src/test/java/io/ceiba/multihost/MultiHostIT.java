package io.ceiba.multihost;

import static io.ceiba.testkit.NetnsRig.Host.H1;
import static io.ceiba.testkit.NetnsRig.Host.H2;
import static io.ceiba.testkit.NetnsRig.Host.H3;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three Ceiba nodes on three hosts for real: each in a network namespace of its own (ops/netns/rig.sh), its
 * origins on its own loopback, PostgreSQL and Redis on a fourth host, clients on a fifth. What one machine's
 * shared loopback cannot show: relays to a backend only its own host can reach, a host cut off and healed, and
 * a revocation reaching every host. Figures are printed ({@code [multihost]} lines) and kept in
 * {@code target/multihost/figures.txt}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiHostIT {

  private static final List<Host> HOSTS = List.of(Host.values());
  private static final Set<String> ALL_NODES = Set.of("host1", "host2", "host3");
  private static final Duration START = Duration.ofSeconds(150);

  /**
   * solo: one backend, on host2's loopback: host1 and host3 relay through host2's edge. every: a backend per
   * host: each host serves from its own. pair: backends on host2 and host3 only: host1 always relays. api: a
   * backend per host behind API keys. Ports differ per host because the same URL on two nodes is refused
   * (issue 17 item 6).
   */
  private static final String REGISTRY = """
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
        api:
          hosts: [api.test]
          backends:
            - { url: "http://127.0.0.1:9301", node: host1 }
            - { url: "http://127.0.0.1:9302", node: host2 }
            - { url: "http://127.0.0.1:9303", node: host3 }
          access: { policy: api-key }
      """;

  private final Vertx vertx = Vertx.vertx();
  private Optional<String> whyNotRun = Optional.empty();
  private NetnsRig rig;

  @BeforeAll
  void startThreeHosts() throws Exception {
    whyNotRun = NetnsRig.whyNotRun("MultiHostIT");
    if (whyNotRun.isPresent()) {
      return;
    }
    rig = NetnsRig.up();
    long start = System.nanoTime();
    rig.dbUp();
    rig.origin(H1, 9101, 9301);
    rig.origin(H2, 9002, 9102, 9202, 9302);
    rig.origin(H3, 9103, 9203, 9303);
    rig.registry(REGISTRY);
    HOSTS.forEach(rig::startNode);
    for (Host host : HOSTS) {
      rig.awaitReady(host, START);
    }
    Duration converged = await(Duration.ofSeconds(60), "every host sees three nodes and every backend up",
        () -> allHosts(this::convergedView));
    NetnsRig.figure(String.format("rig up, three nodes ready and converged in %.1f s (views converged %d ms after the"
        + " last /ready)", seconds(System.nanoTime() - start), converged.toMillis()));
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

  @Test
  @Order(1)
  void should_serve_from_every_host_a_backend_on_another_hosts_loopback_and_local_backends_locally() throws Exception {
    for (Host host : HOSTS) {
      HttpResult solo = call(() -> rig.get(host.edge() + "/solo", "solo.test", Map.of()));
      assertThat(solo.status()).as("solo.test through %s: %s", host, solo).isEqualTo(200);
      assertThat(solo.servedBy()).as("solo's only backend is on host2's loopback").isEqualTo("host2");
      assertThat(solo.headers().get("x-ceiba-node")).isEqualTo(host.nodeId());

      for (int i = 0; i < 3; i++) {
        HttpResult every = call(() -> rig.get(host.edge() + "/every", "every.test", Map.of()));
        assertThat(every.status()).as("every.test through %s: %s", host, every).isEqualTo(200);
        assertThat(every.servedBy()).as("a host serves from its own backend first").isEqualTo(host.nodeId());
      }
    }
    // the only backend of solo cannot be reached from host1 itself: 127.0.0.1:9002 there is host1's own, and closed
    HttpResult direct = call(() -> rig.httpFrom(H1.ns(), "GET", "http://127.0.0.1:9002/", Map.of(), null));
    assertThat(direct.status()).as("host1's own 127.0.0.1:9002").isZero();
    // host1 has no backend of pair: it relays to host2's and host3's in turn
    Set<String> servedBy = new TreeSet<>();
    for (int i = 0; i < 4; i++) {
      servedBy.add(call(() -> rig.get(H1.edge() + "/pair", "pair.test", Map.of())).servedBy());
    }
    assertThat(servedBy).containsExactly("host2", "host3");
  }

  @Test
  @Order(2)
  void should_refuse_a_revoked_key_on_every_host_within_two_seconds() throws Exception {
    control(H1, "POST", "/v1/plans", "{\"name\": \"multihost\", \"rate_limit\": {\"requests\": 1000, \"per\": \"1s\"}}", 201);
    String project = control(H2, "POST", "/v1/projects", "{\"name\": \"acme\"}", 201).getString("id");
    control(H3, "POST", "/v1/projects/" + project + "/subscriptions", "{\"plan\": \"multihost\"}", 201);
    JsonObject key = control(H1, "POST", "/v1/projects/" + project + "/keys", "{\"name\": \"ci\"}", 201);
    Map<String, String> withKey = Map.of("X-API-Key", key.getString("key"));
    for (Host host : HOSTS) {
      // every host has the key cached as valid before it is revoked
      HttpResult allowed = call(() -> rig.get(host.edge() + "/", "api.test", withKey));
      assertThat(allowed.status()).as("api.test with the key through %s: %s", host, allowed).isEqualTo(200);
      assertThat(allowed.servedBy()).isEqualTo(host.nodeId());
    }

    HttpResult revoked = call(() -> rig.control(H1, "DELETE", "/v1/keys/" + key.getString("id"), null));
    assertThat(revoked.status()).as("DELETE /v1/keys: %s", revoked).isEqualTo(204);
    long revokedAt = System.nanoTime();
    List<Future<Duration>> refused = new ArrayList<>();
    for (Host host : HOSTS) {
      refused.add(Eventually.until(vertx, Duration.ofSeconds(2), host.nodeId() + " refuses the revoked key",
          () -> blocking(() -> rig.get(host.edge() + "/", "api.test", withKey))
              .map(r -> r.status() == 403 && "key_revoked".equals(r.errorCode())))
          .map(d -> Duration.ofNanos(System.nanoTime() - revokedAt)));
    }
    List<Duration> latencies = Future.all(refused).await(20, TimeUnit.SECONDS).list();
    for (int i = 0; i < HOSTS.size(); i++) {
      NetnsRig.figure(String.format("revocation: %s refuses the key %d ms after DELETE returned (on host1)",
          HOSTS.get(i).nodeId(), latencies.get(i).toMillis()));
      assertThat(latencies.get(i)).isLessThanOrEqualTo(Duration.ofSeconds(2));
    }
  }

  @Test
  @Order(3)
  void should_drop_a_partitioned_host_serve_from_the_others_and_converge_again_after_heal() throws Exception {
    rig.link(H3, false);
    long cut = System.nanoTime();
    try {
      List<Future<Duration>> ejected = new ArrayList<>();
      for (Host observer : List.of(H1, H2)) {
        ejected.add(Eventually.until(vertx, Duration.ofSeconds(30), observer.nodeId() + " drops host3 from its view",
            () -> blocking(() -> view(observer)).map(v -> v != null && !nodeIds(v).contains("host3"))));
      }
      // pair's backends are host2's and host3's: host1 serves it from host2 alone once host3 is out
      AtomicInteger failed = new AtomicInteger();
      AtomicInteger inARow = new AtomicInteger();
      Future<Duration> servedByOthers = Eventually.until(vertx, Duration.ofSeconds(30),
          "host1 serves pair from host2 five times in a row", () -> blocking(() -> rig.get(H1.edge() + "/pair", "pair.test", Map.of()))
              .map(r -> {
                if (r.status() != 200) {
                  failed.incrementAndGet();
                }
                return inARow.updateAndGet(n -> "host2".equals(r.servedBy()) ? n + 1 : 0) >= 5;
              }));
      List<Duration> ejectTimes = Future.all(ejected).await(40, TimeUnit.SECONDS).list();
      Duration served = servedByOthers.await(40, TimeUnit.SECONDS);
      NetnsRig.figure(String.format("partition: host3's link down; host1 dropped host3 after %d ms, host2 after %d ms",
          ejectTimes.get(0).toMillis(), ejectTimes.get(1).toMillis()));
      NetnsRig.figure(String.format("partition: host1 served pair only from host2 (5 in a row) %d ms after the cut;"
          + " %d requests failed on the way", served.toMillis(), failed.get()));
      // host3 alone: its own view has only itself, and it still serves its own backends
      JsonObject alone = call(() -> viewFrom(H3));
      assertThat(nodeIds(alone)).containsExactly("host3");
      HttpResult local = call(() -> rig.httpFrom(H3.ns(), "GET", "http://127.0.0.1:8080/", Map.of("Host", "every.test"), null));
      assertThat(local.servedBy()).isEqualTo("host3");
    } finally {
      rig.link(H3, true);
    }
    long healed = System.nanoTime();
    NetnsRig.figure(String.format("partition: link up again after %.1f s", seconds(healed - cut)));

    Duration membership = await(Duration.ofSeconds(60), "every host sees all three nodes again",
        () -> allHosts(host -> blocking(() -> view(host)).map(v -> v != null && nodeIds(v).equals(ALL_NODES))));
    Duration converged = await(Duration.ofSeconds(30), "every host's view has three nodes and every backend up",
        () -> allHosts(this::convergedView));
    // round-robin over host2 and host3: host3 answers within two requests once host1 uses it again
    Duration relaysBack = await(Duration.ofSeconds(30), "host1 relays pair to host3 again",
        () -> blocking(() -> rig.get(H1.edge() + "/pair", "pair.test", Map.of())).map(r -> "host3".equals(r.servedBy())));
    NetnsRig.figure(String.format("heal: membership whole %d ms after link up, views converged (nodes, backends up) by"
        + " %d ms, host1 relaying to host3 again by %d ms", membership.toMillis(),
        membership.plus(converged).toMillis(), membership.plus(converged).plus(relaysBack).toMillis()));
  }

  // ---- views -------------------------------------------------------------------------------------------------

  /** {@code /v1/cluster} of a node asked from the client host, or null when it did not answer 200. */
  private JsonObject view(Host node) {
    HttpResult r = rig.control(node, "GET", "/v1/cluster", null);
    return r.status() == 200 ? r.json() : null;
  }

  /** {@code /v1/cluster} asked on the node's own loopback (the client host cannot reach a cut-off host). */
  private JsonObject viewFrom(Host node) {
    HttpResult r = rig.httpFrom(node.ns(), "GET", "http://127.0.0.1:9090/v1/cluster",
        Map.of("Authorization", "Bearer " + NetnsRig.TOKEN), null);
    return r.status() == 200 ? r.json() : null;
  }

  private static Set<String> nodeIds(JsonObject view) {
    Set<String> ids = new TreeSet<>();
    view.getJsonArray("nodes").forEach(n -> ids.add(((JsonObject) n).getString("id")));
    return ids;
  }

  /** The node lists all three nodes, and every node it lists reports every backend up. */
  private Future<Boolean> convergedView(Host node) {
    return blocking(() -> view(node)).map(v -> {
      if (v == null || !nodeIds(v).equals(ALL_NODES)) {
        return false;
      }
      for (Object n : v.getJsonArray("nodes")) {
        JsonArray backends = ((JsonObject) n).getJsonArray("backends");
        if (backends == null || backends.size() != 9
            || backends.stream().anyMatch(b -> !((JsonObject) b).getBoolean("up", false))) {
          return false;
        }
      }
      return true;
    });
  }

  // ---- plumbing ----------------------------------------------------------------------------------------------

  private Future<Boolean> allHosts(java.util.function.Function<Host, Future<Boolean>> check) {
    List<Future<Boolean>> checks = HOSTS.stream().map(check).toList();
    return Future.all(checks).map(all -> checks.stream().allMatch(Future::result));
  }

  private Duration await(Duration timeout, String what, java.util.function.Supplier<Future<Boolean>> check) throws Exception {
    try {
      return Eventually.until(vertx, timeout, what, check).await(timeout.toSeconds() + 30, TimeUnit.SECONDS);
    } catch (AssertionError e) {
      Map<String, String> logs = new LinkedHashMap<>();
      HOSTS.forEach(h -> logs.put(h.nodeId(), rig.nodeLogTail(h, 8)));
      throw new AssertionError(e.getMessage() + "\nlast node log lines: " + logs, e);
    }
  }

  private JsonObject control(Host node, String method, String path, String json, int expected) throws Exception {
    HttpResult r = call(() -> rig.control(node, method, path, json));
    assertThat(r.status()).as("%s %s on %s: %s", method, path, node, r.body()).isEqualTo(expected);
    return r.json();
  }

  /** A rig call on a worker thread, not ordered with the others (checks of several hosts run side by side). */
  private <T> Future<T> blocking(Callable<T> call) {
    return vertx.executeBlocking(call, false);
  }

  private <T> T call(Callable<T> call) throws Exception {
    return blocking(call).await(30, TimeUnit.SECONDS);
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }
}
