package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.RawHttp;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failure handling on three clustered nodes whose origins listen on their own node's loopback address, as they would
 * on separate hosts: node3 owns none of them, so everything it serves goes through node1's or node2's edge (relays),
 * and must still fail over, split by weight, fall back, stream, answer errors with codes and ride out registry changes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterFailoverIT {

  static {
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host,connection");
  }

  // fast, but with room for a relayed probe on a loaded machine: a timeout here takes a healthy backend out
  private static final String FAST_HEALTH =
      "    health: { path: /healthz, interval: 500ms, timeout: 450ms, unhealthy_after: 2, healthy_after: 2 }\n";

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final List<CeibaNode> nodes = new ArrayList<>();
  private final List<TestNodes.Spec> specs = new ArrayList<>();
  private final Map<String, Origin> origins = new HashMap<>();
  private ControlClient control;
  private int deadPort;

  private record Answer(int status, String origin, String body) {
    /** What a failed assertion on this answer shows: the status and Ceiba's error body, if any. */
    String describe(String what) {
      return what + " answered " + status + (origin == null ? " " + body : " from " + origin);
    }

    String code() {
      return new JsonObject(body).getJsonObject("error").getString("code");
    }
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    for (String name : List.of("a", "b", "w1", "w2", "primary", "spare", "s", "alive")) {
      origins.put(name, Origin.start(vertx, name));
    }
    deadPort = Ports.free();
    String cluster = TestNodes.clusterName();
    List<Integer> ports = List.of(Ports.free(), Ports.free(), Ports.free());
    for (int i = 0; i < 3; i++) {
      List<Integer> own = new ArrayList<>(ports);
      own.add(0, own.remove(i));
      Path file = Registries.write(dir.resolve("registry-" + (i + 1) + ".yaml"), registry(1, 3));
      TestNodes.Spec spec = TestNodes.write(dir, "node" + (i + 1), cluster, own, file, "roles: [edge, health, control]\n");
      specs.add(spec);
      nodes.add(TestNodes.start(spec));
    }
    control = new ControlClient(vertx, specs.get(0).controlPort(), TestNodes.TOKEN);
    awaitViews("every node sees its checked backends up", b -> b.getBoolean("up"));
  }

  @AfterAll
  void stop() throws Exception {
    nodes.forEach(TestNodes::stopQuietly);
    for (Origin o : origins.values()) {
      o.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Node1 hosts a, w1, primary and s (behind limits and stream); node2 b, w2, spare and alive; node3 nothing. */
  private String registry(int version, int w1Weight) {
    return "version: " + version + "\nhttp:\n"
        + service("pair", "pair.test", backend("a", "node1") + backend("b", "node2"), FAST_HEALTH)
        + service("split", "split.test", backend("w1", "node1").replace(" }", ", weight: " + w1Weight + " }") + backend("w2", "node2"),
            "    lb: weighted\n" + FAST_HEALTH)
        + service("fb", "fb.test", backend("primary", "node1"), "    fallback:\n" + backend("spare", "node2") + FAST_HEALTH)
        + service("limits", "limits.test", backend("s", "node1"), "    max_body: 1KB\n    timeouts: { upstream: 400ms }\n"
            + "    health: { enabled: false }\n")
        // default timeouts: a held event stream must not meet limits' 400 ms upstream timeout
        + service("stream", "stream.test", backend("s", "node1"), "    health: { enabled: false }\n")
        + service("duo", "duo.test", "      - { url: \"http://127.0.0.1:" + deadPort + "\", node: node1 }\n" + backend("alive", "node2"),
            "    health: { enabled: false }\n");
  }

  private static String service(String name, String host, String backends, String extra) {
    return "  " + name + ":\n    hosts: [" + host + "]\n    backends:\n" + backends + extra;
  }

  private String backend(String origin, String node) {
    return "      - { url: \"" + origins.get(origin).url() + "\", node: " + node + " }\n";
  }

  /** Waits until every node's view (in node1's /v1/cluster) has each checked backend passing {@code check}. */
  private void awaitViews(String what, Predicate<JsonObject> check) throws Exception {
    Eventually.until(vertx, Duration.ofSeconds(30), what, () -> control.json("/v1/cluster").map(json ->
        json.getJsonArray("nodes").size() == 3 && json.getJsonArray("nodes").stream().map(JsonObject.class::cast)
            .allMatch(n -> n.getJsonArray("backends") != null && !n.getJsonArray("backends").isEmpty()
                && n.getJsonArray("backends").stream().map(JsonObject.class::cast).allMatch(check))))
        .await(40, TimeUnit.SECONDS);
  }

  private static Predicate<JsonObject> backendOf(Origin o, boolean up) {
    return b -> !b.getString("backend").equals(o.url()) || b.getBoolean("up") == up;
  }

  /** {@code o} down, and every other checked backend up: the state a test of failing over starts from. */
  private static Predicate<JsonObject> onlyDown(Origin o) {
    return b -> b.getBoolean("up") != b.getString("backend").equals(o.url());
  }

  private CompletableFuture<Answer> send(int node, HttpMethod method, String host, String path, Map<String, String> headers, byte[] body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + specs.get(node - 1).edgePort() + path))
        .timeout(Duration.ofSeconds(15)).header("host", host)
        .method(method.name(), body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(b::header);
    return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString())
        .thenApply(r -> new Answer(r.statusCode(), r.headers().firstValue("x-origin").orElse(null), r.body()));
  }

  private Answer get(int node, String host, String path) throws Exception {
    return send(node, HttpMethod.GET, host, path, Map.of(), null).get(20, TimeUnit.SECONDS);
  }

  @Test
  @Order(1)
  void should_take_a_backend_out_after_failed_checks_and_back_after_good_ones_in_every_nodes_view() throws Exception {
    Origin a = origins.get("a");
    a.healthy(false);
    awaitViews("a down and b up in every view (node2 and node3 check a through node1's edge)", onlyDown(a));
    for (int node = 1; node <= 3; node++) {
      for (int i = 0; i < 5; i++) {
        Answer answer = get(node, "pair.test", "/");
        assertThat(answer.origin()).as(answer.describe("node" + node)).isEqualTo("b");
      }
    }
    a.healthy(true);
    awaitViews("a up again in every view", backendOf(a, true));
    // node1 prefers its own backend again; node3 owns neither and spreads over both
    assertThat(get(1, "pair.test", "/").origin()).isEqualTo("a");
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      seen.add(get(3, "pair.test", "/").origin());
    }
    assertThat(seen).contains("a", "b");
  }

  @Test
  @Order(2)
  void should_split_traffic_by_weight_within_5_percent_through_relays() throws Exception {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 1000; i++) {
      Answer answer = get(3, "split.test", "/");
      assertThat(answer.status()).isEqualTo(200);
      counts.merge(answer.origin(), 1, Integer::sum);
    }
    System.out.println("weights 3:1 over 1000 requests from node3: " + counts);
    assertThat(counts.get("w1")).isBetween(700, 800);
    assertThat(counts.get("w2")).isBetween(200, 300);
  }

  @Test
  @Order(3)
  void should_use_the_fallback_pool_only_while_no_primary_backend_is_healthy() throws Exception {
    for (int node = 1; node <= 3; node++) {
      assertThat(get(node, "fb.test", "/").origin()).isEqualTo("primary");
    }
    Origin primary = origins.get("primary");
    primary.healthy(false);
    awaitViews("primary down and the rest up everywhere", onlyDown(primary));
    for (int node = 1; node <= 3; node++) {
      Answer answer = get(node, "fb.test", "/");
      assertThat(answer.origin()).as(answer.describe("node" + node)).isEqualTo("spare");
    }
    primary.healthy(true);
    awaitViews("primary up everywhere", backendOf(primary, true));
    assertThat(get(3, "fb.test", "/").origin()).isEqualTo("primary");
  }

  @Test
  @Order(4)
  void should_stream_websockets_and_server_sent_events_through_another_nodes_edge() throws Exception {
    String handshake = "GET /ws HTTP/1.1\r\nHost: limits.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    String exchange;
    try (RawHttp client = new RawHttp(specs.get(2).edgePort())) {
      String head = client.write(handshake).read("\r\n\r\n", 5000).text();
      exchange = head + client.write(RawHttp.maskedTextFrame("hello across nodes")).read("hello across nodes", 5000).text();
    }
    assertThat(exchange).startsWith("HTTP/1.1 101").containsIgnoringCase("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        .contains("hello across nodes");

    // server-sent events stream through both edges: the first event reaches the client while the origin holds the last
    io.ceiba.testkit.HeldEvents.assertStreamed(vertx, specs.get(2).edgePort(), "stream.test", origins.get("s"));
  }

  @Test
  @Order(5)
  void should_answer_limits_and_upstream_failures_with_json_codes_on_a_node_without_the_backend() throws Exception {
    Answer large = send(3, HttpMethod.POST, "limits.test", "/", Map.of(), new byte[2048]).get(10, TimeUnit.SECONDS);
    assertThat(large.status()).isEqualTo(413);
    assertThat(large.code()).isEqualTo("body_too_large");
    Answer headers = send(3, HttpMethod.GET, "limits.test", "/", Map.of("x-big", "v".repeat(20_000)), null).get(10, TimeUnit.SECONDS);
    assertThat(headers.status()).isEqualTo(431);
    assertThat(headers.code()).isEqualTo("headers_too_large");
    Answer slow = get(3, "limits.test", "/slow");
    assertThat(slow.status()).isEqualTo(504);
    assertThat(slow.code()).isEqualTo("upstream_timeout");
    assertThat(send(3, HttpMethod.POST, "limits.test", "/", Map.of(), new byte[512]).get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
  }

  @Test
  @Order(6)
  void should_retry_a_get_but_never_a_post_when_a_backend_refuses_the_connection() throws Exception {
    // duo: a dead backend on node1 (no active checks) and a live one on node2
    Origin alive = origins.get("alive");
    int before = alive.requests();
    // node1 tries its own (dead) backend first: the POST fails and is not replayed on the live one
    Answer post = send(1, HttpMethod.POST, "duo.test", "/", Map.of(), "payload".getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
    assertThat(post.status()).isEqualTo(502);
    assertThat(post.code()).isEqualTo("bad_gateway");
    assertThat(alive.requests()).isEqualTo(before);
    // node3 owns neither: a GET relayed to node1 is refused there, reported back, and retried on node2's
    for (int i = 0; i < 6; i++) {
      Answer answer = get(3, "duo.test", "/");
      assertThat(answer.status()).as("GET " + i).isEqualTo(200);
      assertThat(answer.origin()).isEqualTo("alive");
    }
  }

  @Test
  @Order(7)
  void should_retry_a_relayed_get_elsewhere_when_the_far_backend_closes_the_connection_before_answering() throws Exception {
    // node3 owns neither backend of pair: what it sends to b goes through node2, whose connection to b breaks unanswered
    Origin b = origins.get("b");
    int before = b.requests();
    b.dropRequests(true);
    try {
      for (int i = 0; i < 12; i++) {
        Answer answer = get(3, "pair.test", "/");
        assertThat(answer.status()).as(answer.describe("GET " + i + " through node3")).isEqualTo(200);
        assertThat(answer.origin()).isEqualTo("a");
      }
    } finally {
      b.dropRequests(false);
    }
    assertThat(b.requests()).as("requests node3 sent to b, whose connection broke, each answered by a instead").isGreaterThan(before);
  }

  @Test
  @Order(8)
  void should_lose_no_get_when_a_backend_dies_behind_another_nodes_edge() throws Exception {
    int failures = 0;
    for (int i = 0; i < 200; i++) {
      if (i == 50) {
        origins.get("b").close(); // killed: node2 refuses on its behalf from now on
      }
      Answer answer = get(3, "pair.test", "/");
      if (answer.status() != 200) {
        failures++;
        System.out.println(answer.describe("GET " + i + " through node3"));
      }
    }
    assertThat(failures).isZero();
  }

  @Test
  @Order(9)
  void should_drop_no_request_while_20_registry_versions_spread_over_the_cluster() throws Exception {
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger done = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    List<Thread> loops = new ArrayList<>();
    for (int node : List.of(2, 3)) {
      Thread t = new Thread(() -> {
        while (running.get()) {
          try {
            Answer answer = get(node, "split.test", "/");
            if (answer.status() != 200) {
              failures.incrementAndGet();
              System.out.println("failed during registry changes: " + answer.status() + " " + answer.body());
            }
            done.incrementAndGet();
          } catch (Exception e) {
            failures.incrementAndGet();
          }
        }
      });
      t.start();
      loops.add(t);
    }
    for (int v = 2; v <= 21; v++) {
      var response = control.send(HttpMethod.PUT, "/v1/registry", registry(v, 1 + v % 5)).await(15, TimeUnit.SECONDS);
      assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(200);
      assertThat(response.bodyAsJsonObject().getBoolean("complete")).isTrue();
    }
    running.set(false);
    for (Thread t : loops) {
      t.join(20_000);
    }
    System.out.println("requests during 20 distributed registry versions: " + done.get() + ", failed: " + failures.get());
    assertThat(done.get()).isGreaterThan(100);
    assertThat(failures.get()).isZero();
  }
}
