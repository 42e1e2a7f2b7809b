package io.ceiba.multihost;

import static io.ceiba.testkit.NetnsRig.Host.H1;
import static io.ceiba.testkit.NetnsRig.Host.H2;
import static io.ceiba.testkit.NetnsRig.Host.H3;
import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.NetnsRig;
import io.ceiba.testkit.NetnsRig.Host;
import io.ceiba.testkit.NetnsRig.HttpResult;
import io.ceiba.testkit.NetnsRig.WebSocketResult;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three Ceiba nodes on three hosts for real: each in a network namespace of its own (ops/netns/rig.sh), its
 * origins on its own loopback, PostgreSQL and Redis on a fourth host, clients on a fifth. What one machine's
 * shared loopback cannot show: relays (HTTP and WebSocket) to a backend only its own host can reach, a quota
 * counted across three hosts, a revocation reaching every host, and a host cut off and healed converging again
 * (membership, health, registry, revocations). Figures are printed ({@code [multihost]} lines) and kept in
 * {@code target/multihost/figures.txt}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiHostIT extends RigScenario {

  /**
   * The shared services (solo, every, pair) and: api: a backend per host behind API keys. ws: a WebSocket echo on
   * host3's loopback only. metered: a backend per host behind a plan with a quota.
   */
  private static final String REGISTRY = SHARED_SERVICES + """
        api:
          hosts: [api.test]
          backends:
            - { url: "http://127.0.0.1:9301", node: host1 }
            - { url: "http://127.0.0.1:9302", node: host2 }
            - { url: "http://127.0.0.1:9303", node: host3 }
          access: { policy: api-key }
        ws:
          hosts: [ws.test]
          backends: [{ url: "http://127.0.0.1:9403", node: host3 }]
        metered:
          hosts: [metered.test]
          backends:
            - { url: "http://127.0.0.1:9501", node: host1 }
            - { url: "http://127.0.0.1:9502", node: host2 }
            - { url: "http://127.0.0.1:9503", node: host3 }
          access: { policy: plan, plans: [metered] }
      """;
  private static final int BACKENDS = SHARED_BACKENDS + 7;
  private static final int QUOTA = 25;

  @BeforeAll
  void startThreeHosts() throws Exception {
    startThreeHosts("MultiHostIT", REGISTRY, BACKENDS, rig -> {
      rig.origin(H1, 9101, 9301, 9501, 9601);
      rig.origin(H2, 9002, 9102, 9202, 9302, 9502);
      rig.origin(H3, 9103, 9203, 9303, 9403, 9503);
    });
    if (rig != null) {
      control(H1, "POST", "/v1/plans", "{\"name\": \"multihost\", \"rate_limit\": {\"requests\": 1000, \"per\": \"1s\"}}", 201);
    }
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
    JsonObject key = keyOnPlan("acme", "multihost");
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
  void should_relay_a_websocket_from_every_host_to_a_backend_on_another_hosts_loopback() throws Exception {
    for (Host host : HOSTS) {
      String message = "hello-from-" + host.nodeId();
      WebSocketResult ws = call(() -> rig.webSocket("ws://" + host.address() + ":8080/chat", "ws.test", message, 3));
      assertThat(ws.ok()).as("WebSocket to ws.test through %s: %s", host, ws.lines()).isTrue();
      // the echo names its host: host1 and host2 relayed to host3's loopback, host3 served it itself
      assertThat(ws.lines()).as("through %s", host).containsExactly(
          "host3:9403:" + message, "host3:9403:" + message, "host3:9403:" + message);
    }
  }

  @Test
  @Order(4)
  void should_admit_at_most_the_quota_across_three_hosts_under_concurrent_requests() throws Exception {
    control(H1, "POST", "/v1/plans", "{\"name\": \"metered\", \"quota\": {\"requests\": " + QUOTA
        + ", \"per\": \"day\"}, \"services\": [\"metered\"]}", 201);
    String key = keyOnPlan("metered", "metered").getString("key");
    Map<String, String> headers = Map.of("Host", "metered.test", "X-API-Key", key);
    // 30 requests through each host, all at once (30 in flight), spread over the hosts in turn
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < 90; i++) {
      urls.add(HOSTS.get(i % 3).edge() + "/q" + i);
    }
    long start = System.nanoTime();
    List<Integer> statuses = call(() -> rig.statuses(urls, headers, 30));
    long took = System.nanoTime() - start;
    Map<Integer, Long> byStatus = new TreeMap<>();
    statuses.forEach(status -> byStatus.merge(status, 1L, Long::sum));
    Map<String, Long> admittedBy = new TreeMap<>();
    for (int i = 0; i < statuses.size(); i++) {
      if (statuses.get(i) == 200) {
        admittedBy.merge(HOSTS.get(i % 3).nodeId(), 1L, Long::sum);
      }
    }
    long admitted = byStatus.getOrDefault(200, 0L);
    NetnsRig.figure(String.format("quota %d/day across three hosts: 90 concurrent keyed requests (30 per host) in %d ms:"
        + " statuses %s, admitted per host %s", QUOTA, took / 1_000_000, byStatus, admittedBy));
    assertThat(admitted).as("admitted of 90 under a quota of %d: %s", QUOTA, byStatus).isBetween(1L, (long) QUOTA);
    assertThat(byStatus.getOrDefault(429, 0L)).as("the rest is refused with 429: %s", byStatus).isEqualTo(90 - admitted);
    // the quota stays spent on every host
    for (Host host : HOSTS) {
      HttpResult after = call(() -> rig.get(host.edge() + "/after", "metered.test", Map.of("X-API-Key", key)));
      assertThat(after.errorCode()).as("through %s after the burst: %s", host, after).isEqualTo("quota_exceeded");
    }
  }

  @Test
  @Order(5)
  void should_drop_a_partitioned_host_and_converge_membership_health_registry_and_revocations_after_heal() throws Exception {
    // a key every host has cached as valid, to be revoked while host3 is cut off
    JsonObject key = keyOnPlan("partitioned", "multihost");
    Map<String, String> withKey = Map.of("X-API-Key", key.getString("key"));
    for (Host host : HOSTS) {
      assertThat(call(() -> rig.get(host.edge() + "/", "api.test", withKey)).status()).as("key through %s", host).isEqualTo(200);
    }
    rig.link(H3, false);
    long cut = System.nanoTime();
    try {
      List<Future<Duration>> ejected = new ArrayList<>();
      for (Host observer : List.of(H1, H2)) {
        ejected.add(Eventually.until(vertx, Duration.ofSeconds(30), observer.nodeId() + " drops host3 from its view",
            () -> sees(observer, Set.of("host1", "host2"))));
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
      // host3 alone: its own view has only itself (its failure detector may decide a moment after the others'), and it
      // still serves its own backends
      Eventually.until(vertx, Duration.ofSeconds(15), "host3's own view has only host3",
          () -> blocking(() -> viewFrom(H3)).map(v -> v != null && nodeIds(v).equals(java.util.Set.of("host3"))))
          .await(20, TimeUnit.SECONDS);
      JsonObject alone = call(() -> viewFrom(H3));
      assertThat(nodeIds(alone)).containsExactly("host3");
      HttpResult local = call(() -> rig.httpFrom(H3.ns(), "GET", "http://127.0.0.1:8080/", Map.of("Host", "every.test"), null));
      assertThat(local.servedBy()).isEqualTo("host3");

      // meanwhile the majority side changes things host3 cannot hear of: a revocation and a new registry
      control(H1, "DELETE", "/v1/keys/" + key.getString("id"), null, 204);
      long putStarted = System.nanoTime();
      JsonObject put = control(H1, "PUT", "/v1/registry", withLateService(REGISTRY), 200);
      NetnsRig.figure(String.format("partition: PUT /v1/registry on host1 answered in %d ms",
          Duration.ofNanos(System.nanoTime() - putStarted).toMillis()));
      assertThat(put.getJsonObject("nodes").fieldNames()).as("PUT during the partition: %s", put).containsExactlyInAnyOrder("host1", "host2");
      expectBackends(BACKENDS + 1);
    } finally {
      rig.link(H3, true);
    }
    long healed = System.nanoTime();
    NetnsRig.figure(String.format("partition: link up again after %.1f s", seconds(healed - cut)));

    // each side of convergence timed from the moment the link came back, side by side
    Duration limit = Duration.ofSeconds(60);
    Map<String, Future<Duration>> converging = new LinkedHashMap<>();
    converging.put("membership (every host sees three nodes)",
        Eventually.until(vertx, limit, "every host sees all three nodes again", () -> allHosts(host -> sees(host, ALL_NODES))));
    converging.put("health views (every host: three nodes, every backend up)",
        Eventually.until(vertx, limit, "every host's view has three nodes and every backend up", () -> allHosts(this::convergedView)));
    converging.put("registry (host3 serves version 2)",
        Eventually.until(vertx, limit, "host3 serves registry version 2 and late.test",
            () -> blocking(() -> rig.control(H3, "GET", "/v1/registry", null)).compose(r -> r.status() == 200
                && r.json().getLong("version", 0L) == 2 ? blocking(() -> rig.get(H3.edge() + "/", "late.test", Map.of()))
                .map(late -> "host1".equals(late.servedBy())) : Future.succeededFuture(false))));
    converging.put("revocation (host3 refuses the key revoked during the partition)",
        Eventually.until(vertx, limit, "host3 refuses the key revoked during the partition",
            () -> blocking(() -> rig.get(H3.edge() + "/", "api.test", withKey)).map(r -> "key_revoked".equals(r.errorCode()))));
    // round-robin over host2 and host3: host3 answers within two requests once host1 uses it again
    converging.put("relays (host1 relays pair to host3 again)",
        Eventually.until(vertx, limit, "host1 relays pair to host3 again",
            () -> blocking(() -> rig.get(H1.edge() + "/pair", "pair.test", Map.of())).map(r -> "host3".equals(r.servedBy()))));
    // every side finishes (or times out) before any is judged, so each figure is printed
    Future.join(List.copyOf(converging.values())).transform(all -> Future.succeededFuture())
        .await(limit.toSeconds() + 30, TimeUnit.SECONDS);
    for (var side : converging.entrySet()) {
      assertThat(side.getValue().succeeded()).as("%s: %s", side.getKey(), side.getValue().cause()).isTrue();
      NetnsRig.figure(String.format("heal: %s converged %d ms after link up", side.getKey(), side.getValue().result().toMillis()));
    }
  }
}
