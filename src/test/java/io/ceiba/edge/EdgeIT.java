package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One real node (edge, health, control) in front of real HTTP origins. */
class EdgeIT {

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private final List<Origin> origins = new ArrayList<>();
  private HttpClient http;
  private CeibaNode node;
  private int edgePort;
  private Path registryFile;

  /** What a client saw: status, headers of interest, body. */
  record Answer(int status, String origin, String node, String requestId, String location, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }

    String code() {
      return json().getJsonObject("error").getString("code");
    }
  }

  @BeforeEach
  void setUp() {
    http = vertx.createHttpClient(new HttpClientOptions());
  }

  @AfterEach
  void tearDown() throws Exception {
    TestNodes.stopQuietly(node);
    for (Origin o : origins) {
      o.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private Origin origin(String name) throws Exception {
    Origin o = Origin.start(vertx, name);
    origins.add(o);
    return o;
  }

  private void startNode(String registryYaml) {
    startNode(registryYaml, "");
  }

  private void startNode(String registryYaml, String extraYaml) {
    registryFile = Registries.write(dir.resolve("registry.yaml"), registryYaml);
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registryFile, "roles: [edge, health, control]\n" + extraYaml);
    edgePort = spec.edgePort();
    node = TestNodes.start(spec);
  }

  static {
    // the JDK client refuses to set Host and Connection unless told; a proxy test needs both
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host,connection");
  }

  /** The JDK's own HTTP client, so the edge is checked against a client independent of Vert.x. */
  private final java.net.http.HttpClient jdk = java.net.http.HttpClient.newBuilder()
      .version(java.net.http.HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  private Future<Answer> call(HttpMethod method, String host, String path, Map<String, String> headers, Buffer body) {
    var builder = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + edgePort + path))
        .timeout(Duration.ofSeconds(15))
        .header("host", host)
        .method(method.name(), body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
            : java.net.http.HttpRequest.BodyPublishers.ofByteArray(body.getBytes()));
    headers.forEach(builder::header);
    return Future.fromCompletionStage(jdk.sendAsync(builder.build(), java.net.http.HttpResponse.BodyHandlers.ofString()))
        .map(r -> new Answer(r.statusCode(), r.headers().firstValue("x-origin").orElse(null),
            r.headers().firstValue("x-ceiba-node").orElse(null), r.headers().firstValue("x-request-id").orElse(null),
            r.headers().firstValue("location").orElse(null), r.body()));
  }

  private Answer get(String host, String path) throws Exception {
    return call(HttpMethod.GET, host, path, Map.of(), null).await(20, TimeUnit.SECONDS);
  }

  private static String service(String name, String host, String backends, String extra) {
    return "  " + name + ":\n    hosts: [" + host + "]\n    backends:\n" + backends + extra;
  }

  private static String backend(Origin o, String node) {
    return "      - { url: \"" + o.url() + "\"" + (node == null ? "" : ", node: " + node) + " }\n";
  }

  /**
   * Waits until {@code count} backends are up after a passed check: scenarios about a backend going down start
   * from healthy ones (on a busy machine the very first checks, on cold connections, can miss their 250 ms and
   * take every backend out for a moment).
   */
  private void awaitCheckedUp(int count) throws Exception {
    var control = new io.ceiba.testkit.ControlClient(vertx, node.config().control().port(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(15), count + " backends up after a passed check", () -> control.json("/v1/cluster")
        .map(json -> json.getJsonArray("nodes").getJsonObject(0).getJsonArray("backends").stream().map(JsonObject.class::cast)
            .filter(x -> x.getBoolean("up") && x.getString("last_check") != null && x.getString("last_error") == null).count() == count))
        .await(20, TimeUnit.SECONDS);
  }

  private static final String FAST_HEALTH = "    health: { path: /healthz, interval: 300ms, timeout: 250ms, unhealthy_after: 2, healthy_after: 2 }\n";

  @Test
  void should_log_one_line_per_request_with_its_fields_in_text_and_in_json() throws Exception {
    Origin a = origin("a");
    registryFile = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n" + service("api", "api.test", backend(a, null),
        "    health: { enabled: false }\n"));
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registryFile, "roles: [edge, control]\n", ", access_log: true");
    edgePort = spec.edgePort();
    node = TestNodes.start(spec);
    ch.qos.logback.classic.Logger access = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("ceiba.access");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen = new ch.qos.logback.core.read.ListAppender<>();
    seen.start();
    access.addAppender(seen);
    try {
      assertThat(call(HttpMethod.GET, "api.test", "/x?q=1", Map.of("x-request-id", "req-log-1"), null).await(10, TimeUnit.SECONDS).status())
          .isEqualTo(200);
      Eventually.until(vertx, Duration.ofSeconds(5), "the access line", () -> Future.succeededFuture(
          seen.list.stream().anyMatch(e -> e.getFormattedMessage().contains("req-log-1")))).await(10, TimeUnit.SECONDS);
      var line = seen.list.stream().filter(e -> e.getFormattedMessage().contains("req-log-1")).findFirst().orElseThrow();
      assertThat(line.getFormattedMessage()).startsWith("request_id=req-log-1 node=node1 ")
          .contains("method=GET", "path=/x", "host=api.test", "service=api", "backend=" + a.url(), "status=200", "upstream_ms=");
      var encoder = new net.logstash.logback.encoder.LogstashEncoder();
      encoder.setContext(access.getLoggerContext());
      encoder.start();
      JsonObject json = new JsonObject(new String(encoder.encode(line), java.nio.charset.StandardCharsets.UTF_8));
      assertThat(json.getString("request_id")).isEqualTo("req-log-1");
      assertThat(json.getString("service")).isEqualTo("api");
      assertThat(json.getString("backend")).isEqualTo(a.url());
      assertThat(json.getInteger("status")).isEqualTo(200);
      assertThat(json.getLong("ms")).isNotNegative();
      assertThat(json.getLong("upstream_ms")).isNotNegative();
    } finally {
      access.detachAppender(seen);
    }
  }

  @Test
  void should_route_by_host_and_pass_the_right_headers() throws Exception {
    Origin a = origin("a");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", backend(a, "node1"), ""));

    Answer answer = call(HttpMethod.GET, "API.test:8080", "/x?q=1", Map.of("x-request-id", "req-42", "connection", "keep-alive, x-secret-hop",
        "x-secret-hop", "drop me", "te", "trailers"), null).await(10, TimeUnit.SECONDS);
    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.node()).isEqualTo("node1");
    assertThat(answer.requestId()).isEqualTo("req-42");
    JsonObject seen = answer.json();
    assertThat(seen.getString("uri")).isEqualTo("/x?q=1");
    JsonObject headers = seen.getJsonObject("headers");
    assertThat(headers.getString("host")).isEqualTo("API.test:8080");
    assertForwarded(headers, "req-42", "API.test:8080");
    assertThat(headers.fieldNames()).doesNotContain("x-secret-hop", "te");

    Answer generated = get("api.test", "/");
    assertThat(java.util.UUID.fromString(generated.requestId()).version()).isEqualTo(7);
    assertThat(generated.json().getJsonObject("headers").getString("x-request-id")).isEqualTo(generated.requestId());

    Answer unknown = get("nope.test", "/");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.code()).isEqualTo("unknown_host");
    assertThat(unknown.node()).isEqualTo("node1");
    assertThat(unknown.json().getJsonObject("error").getString("request_id")).isEqualTo(unknown.requestId());
  }

  /** What every proxied request carries upstream: the request id and X-Forwarded-* of a plain-HTTP client on loopback. */
  private static void assertForwarded(JsonObject upstreamHeaders, String requestId, String host) {
    assertThat(upstreamHeaders.getString("x-request-id")).isEqualTo(requestId);
    assertThat(upstreamHeaders.getString("x-forwarded-for")).isEqualTo("127.0.0.1");
    assertThat(upstreamHeaders.getString("x-forwarded-proto")).isEqualTo("http");
    assertThat(upstreamHeaders.getString("x-forwarded-host")).isEqualTo(host);
  }

  @Test
  void should_prefer_local_backends_and_use_remote_ones_only_when_local_are_down() throws Exception {
    Origin local = origin("local");
    Origin remote = origin("remote");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", backend(remote, "node2") + backend(local, "node1"), FAST_HEALTH));
    awaitCheckedUp(2);
    for (int i = 0; i < 20; i++) {
      assertThat(get("api.test", "/").origin()).isEqualTo("local");
    }
    local.healthy(false);
    Eventually.until(vertx, Duration.ofSeconds(10), "remote serves once local is down",
        () -> call(HttpMethod.GET, "api.test", "/", Map.of(), null).map(a -> "remote".equals(a.origin()))).await(15, TimeUnit.SECONDS);
    local.healthy(true);
    Eventually.until(vertx, Duration.ofSeconds(10), "local back after healthy_after",
        () -> call(HttpMethod.GET, "api.test", "/", Map.of(), null).map(a -> "local".equals(a.origin()))).await(15, TimeUnit.SECONDS);
    String metrics = vertx.createHttpClient().request(HttpMethod.GET, node.config().control().port(), "127.0.0.1", "/metrics")
        .compose(r -> r.send()).compose(r -> r.body()).await(10, TimeUnit.SECONDS).toString();
    // node is the node that checks, backend_node the node the backend belongs to
    assertThat(metrics).contains("ceiba_backend_up{backend=\"" + local.url() + "\",backend_node=\"node1\",node=\"node1\",service=\"api\"} 1.0");
    assertThat(metrics).contains("ceiba_backend_up{backend=\"" + remote.url() + "\",backend_node=\"node2\",node=\"node1\",service=\"api\"} 1.0");
    assertThat(metrics).contains("ceiba_health_check_failures_total{backend=\"" + local.url() + "\",backend_node=\"node1\",node=\"node1\",service=\"api\"}");
    assertThat(metrics).contains("ceiba_edge_requests_total{code=\"200\",node=\"node1\",service=\"api\"}");
    assertThat(metrics).contains("ceiba_upstream_duration_seconds_count{backend_node=\"node1\",node=\"node1\",service=\"api\"}");
  }

  @Test
  void should_lose_no_get_when_a_backend_dies() throws Exception {
    Origin a = origin("a");
    Origin b = origin("b");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", backend(a, null) + backend(b, null), FAST_HEALTH));
    awaitCheckedUp(2);
    int failures = 0;
    for (int i = 0; i < 200; i++) {
      if (i == 50) {
        b.close(); // killed: connections refused from now on
      }
      if (get("api.test", "/").status() != 200) {
        failures++;
      }
    }
    assertThat(failures).isZero();
  }

  @Test
  void should_not_replay_a_post_whose_backend_took_it_and_broke_the_connection_before_answering() throws Exception {
    // round-robin starts with the breaker; the next backend in line must never see the POST
    BreakerFirst solo = startBehindBreaker();
    Answer post = call(HttpMethod.POST, "solo.test", "/", Map.of(), Buffer.buffer("payload")).await(10, TimeUnit.SECONDS);
    assertThat(post.status()).isEqualTo(502);
    assertThat(post.code()).isEqualTo("upstream_connection_broken");
    assertThat(solo.methodsSeen()).containsExactly("POST");
    assertThat(solo.second().requests()).isZero();
    solo.breaker().close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_retry_a_get_once_on_another_backend_when_its_connection_broke_before_any_answer() throws Exception {
    // a killed node's relay connection breaks the same way: the request went out, nothing came back
    BreakerFirst solo = startBehindBreaker();
    Answer get = get("solo.test", "/once");
    assertThat(get.status()).as(get.body()).isEqualTo(200);
    assertThat(get.origin()).isEqualTo("second");
    assertThat(solo.methodsSeen()).containsExactly("GET");
    assertThat(solo.second().requests()).isEqualTo(1);
    solo.breaker().close().await(10, TimeUnit.SECONDS);
  }

  private record BreakerFirst(List<String> methodsSeen, io.vertx.core.net.NetServer breaker, Origin second) {
  }

  /** One service, {@code solo.test}, with a {@link #breaker} first in round-robin order and an origin after it. */
  private BreakerFirst startBehindBreaker() throws Exception {
    List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    var breaker = breaker(seen);
    Origin second = origin("second");
    startNode("version: 1\nhttp:\n"
        + service("solo", "solo.test", "      - { url: \"http://127.0.0.1:" + breaker.actualPort() + "\" }\n" + backend(second, null),
            "    health: { enabled: false }\n"));
    return new BreakerFirst(seen, breaker, second);
  }

  /** A backend that reads a whole request (head, and a body by Content-Length), then closes the connection unanswered. */
  private io.vertx.core.net.NetServer breaker(List<String> methodsSeen) throws Exception {
    java.util.regex.Pattern contentLength = java.util.regex.Pattern.compile("(?im)^content-length:\\s*(\\d+)");
    return vertx.createNetServer().connectHandler(socket -> {
      Buffer got = Buffer.buffer();
      socket.handler(chunk -> {
        got.appendBuffer(chunk);
        String text = got.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
        int head = text.indexOf("\r\n\r\n");
        if (head < 0) {
          return;
        }
        var length = contentLength.matcher(text.substring(0, head));
        if (got.length() >= head + 4 + (length.find() ? Integer.parseInt(length.group(1)) : 0)) {
          methodsSeen.add(text.substring(0, text.indexOf(' ')));
          socket.close();
        }
      });
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_not_retry_a_post_on_another_backend() throws Exception {
    Origin alive = origin("alive");
    int deadPort = Ports.free();
    startNode("version: 1\nhttp:\n" + service("api", "api.test",
        "      - { url: \"http://127.0.0.1:" + deadPort + "\" }\n" + backend(alive, null), "    health: { enabled: false }\n"));
    // round-robin starts with the dead backend: the POST reached no backend, yet it is not replayed
    Answer post = call(HttpMethod.POST, "api.test", "/", Map.of(), Buffer.buffer("x")).await(10, TimeUnit.SECONDS);
    assertThat(post.status()).isEqualTo(502);
    assertThat(post.code()).isEqualTo("bad_gateway");
    assertThat(alive.requests()).isZero();
    // the refused backend is now skipped by every edge instance of the node: nothing fails any more
    Map<Integer, Integer> statuses = new HashMap<>();
    for (int i = 0; i < 20; i++) {
      HttpMethod method = i % 2 == 0 ? HttpMethod.POST : HttpMethod.GET;
      statuses.merge(call(method, "api.test", "/", Map.of(), method == HttpMethod.POST ? Buffer.buffer("x") : null)
          .await(10, TimeUnit.SECONDS).status(), 1, Integer::sum);
    }
    assertThat(statuses).containsOnlyKeys(200);
  }

  @Test
  void should_use_the_fallback_pool_only_when_no_primary_is_healthy() throws Exception {
    Origin primary = origin("primary");
    Origin spare = origin("spare");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", backend(primary, "node2"),
        "    fallback:\n" + backend(spare, "node1") + FAST_HEALTH));
    awaitCheckedUp(2);
    for (int i = 0; i < 20; i++) {
      assertThat(get("api.test", "/").origin()).isEqualTo("primary");
    }
    primary.healthy(false);
    Eventually.until(vertx, Duration.ofSeconds(10), "fallback serves",
        () -> call(HttpMethod.GET, "api.test", "/", Map.of(), null).map(a -> "spare".equals(a.origin()))).await(15, TimeUnit.SECONDS);
    spare.healthy(false);
    Eventually.until(vertx, Duration.ofSeconds(10), "503 when nothing is healthy",
        () -> call(HttpMethod.GET, "api.test", "/", Map.of(), null).map(a -> a.status() == 503)).await(15, TimeUnit.SECONDS);
    assertThat(get("api.test", "/").code()).isEqualTo("no_healthy_backend");
  }

  @Test
  void should_split_traffic_by_weight_within_5_percent() throws Exception {
    Origin stable = origin("stable");
    Origin canary = origin("canary");
    startNode("version: 1\nhttp:\n" + service("api", "api.test",
        "      - { url: \"" + stable.url() + "\", weight: 9 }\n      - { url: \"" + canary.url() + "\", weight: 1 }\n",
        "    lb: weighted\n    health: { enabled: false }\n"));
    int canaryHits = 0;
    for (int i = 0; i < 1000; i++) {
      if ("canary".equals(get("api.test", "/").origin())) {
        canaryHits++;
      }
    }
    // smooth weighted round-robin is exact over each cycle of 10, per edge instance
    assertThat(canaryHits).isBetween(95, 105);
  }

  @Test
  void should_answer_limits_and_upstream_failures_with_json_codes() throws Exception {
    Origin a = origin("a");
    int deadPort = Ports.free();
    startNode("version: 1\nhttp:\n"
        + service("api", "api.test", backend(a, null), "    max_body: 1KB\n    timeouts: { upstream: 300ms }\n    health: { enabled: false }\n")
        + service("dead", "dead.test", "      - { url: \"http://127.0.0.1:" + deadPort + "\" }\n", "    health: { enabled: false }\n"));
    assertThat(call(HttpMethod.POST, "api.test", "/", Map.of(), Buffer.buffer(new byte[2048])).await(10, TimeUnit.SECONDS).code())
        .isEqualTo("body_too_large");
    assertThat(call(HttpMethod.POST, "api.test", "/", Map.of(), Buffer.buffer(new byte[512])).await(10, TimeUnit.SECONDS).status())
        .isEqualTo(200);
    Answer slow = get("api.test", "/slow");
    assertThat(slow.status()).isEqualTo(504);
    assertThat(slow.code()).isEqualTo("upstream_timeout");
    Answer dead = get("dead.test", "/");
    assertThat(dead.status()).isEqualTo(502);
    assertThat(dead.code()).isEqualTo("bad_gateway");
    Answer huge = call(HttpMethod.GET, "api.test", "/", Map.of("x-big", "v".repeat(20_000)), null).await(10, TimeUnit.SECONDS);
    assertThat(huge.status()).isEqualTo(431);
    assertThat(huge.code()).isEqualTo("headers_too_large");
  }

  @Test
  void should_stream_megabyte_bodies_both_ways_byte_for_byte_and_count_a_chunked_one_against_max_body() throws Exception {
    Origin a = origin("a");
    startNode("version: 1\nhttp:\n" + service("big", "big.test", backend(a, null), "    max_body: 2MB\n    health: { enabled: false }\n"));
    int size = 1024 * 1024 + 7; // 1 MiB and a few bytes: chunks of 64 KB do not divide it
    var down = jdk.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + edgePort + "/?pattern=" + size))
        .header("host", "big.test").timeout(Duration.ofSeconds(15)).build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(down.body()).isEqualTo(Origin.pattern(size));

    byte[] up = new byte[size];
    new java.util.Random(22).nextBytes(up);
    JsonObject echo = call(HttpMethod.POST, "big.test", "/", Map.of(), Buffer.buffer(up)).await(20, TimeUnit.SECONDS).json();
    assertThat(echo.getInteger("body_bytes")).isEqualTo(size);
    assertThat(echo.getString("body_sha256")).isEqualTo(Origin.sha256(up));

    // without Content-Length the body is counted as it streams: 2 MB passes, one byte more is refused
    Answer chunked = postChunked(new byte[2 * 1024 * 1024]);
    assertThat(chunked.status()).isEqualTo(200);
    assertThat(chunked.json().getInteger("body_bytes")).isEqualTo(2 * 1024 * 1024);
    Answer over = postChunked(new byte[2 * 1024 * 1024 + 1]);
    assertThat(over.status()).isEqualTo(413);
    assertThat(over.code()).isEqualTo("body_too_large");
  }

  /** A POST whose body goes chunked (the JDK client sends an input stream of unknown length that way). */
  private Answer postChunked(byte[] body) throws Exception {
    var r = jdk.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + edgePort + "/"))
        .header("host", "big.test").timeout(Duration.ofSeconds(15))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body))).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), null, null, null, null, r.body());
  }

  /** Sends raw bytes on a plain socket and returns what came back until the edge closed or went quiet. */
  private String raw(String request) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", edgePort)) {
      socket.setSoTimeout(1500);
      socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      return readUntil(socket, null);
    }
  }

  private static String readUntil(java.net.Socket socket, String marker) throws java.io.IOException {
    StringBuilder got = new StringBuilder();
    byte[] buffer = new byte[8192];
    try {
      int n;
      while ((n = socket.getInputStream().read(buffer)) > 0) {
        got.append(new String(buffer, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1));
        if (marker != null && got.indexOf(marker) >= 0) {
          break;
        }
      }
    } catch (java.net.SocketTimeoutException e) {
      // quiet for a while: take what arrived
    }
    return got.toString();
  }

  @Test
  void should_never_pass_ambiguous_framing_to_an_origin() throws Exception {
    Origin a = origin("a");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", backend(a, null), "    health: { enabled: false }\n"));
    // Content-Length and Transfer-Encoding together (RFC 9112 6.3): refused with 400, the connection closed,
    // so neither the request nor the bytes smuggled after it reach anyone
    String smuggle = "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: api.test\r\n\r\n";
    String reply = raw(smuggle);
    assertThat(reply).startsWith("HTTP/1.1 400").contains("bad_request").contains("Transfer-Encoding");
    assertThat(reply).doesNotContain("smuggled").containsOnlyOnce("HTTP/1.1");
    assertThat(a.requests()).isZero();
    String reversed = "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n"
        + "5\r\nhello\r\n0\r\n\r\n";
    assertThat(raw(reversed)).startsWith("HTTP/1.1 400");
    assertThat(a.requests()).isZero();
    assertThat(get("api.test", "/").status()).isEqualTo(200);
    assertThat(a.requests()).isEqualTo(1);
    // two different Content-Length values, broken chunk sizes, a missing Host: 400, the origin sees nothing
    assertThat(raw("POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd")).startsWith("HTTP/1.1 400");
    assertThat(raw("POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"))
        .doesNotContain("HTTP/1.1 200");
    assertThat(raw("GET / HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 400");
    assertThat(a.requests()).isEqualTo(1);
    // the node keeps serving others
    assertThat(get("api.test", "/").status()).isEqualTo(200);
  }

  @Test
  void should_stream_websockets_and_server_sent_events() throws Exception {
    Origin a = origin("a");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", backend(a, null), "    health: { enabled: false }\n"));
    // a WebSocket handshake and one masked text frame, byte by byte as a browser sends them
    String handshake = "GET /ws HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    byte[] payload = "hello through ceiba".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] mask = {1, 2, 3, 4};
    Buffer frame = Buffer.buffer().appendByte((byte) 0x81).appendByte((byte) (0x80 | payload.length)).appendBytes(mask);
    for (int i = 0; i < payload.length; i++) {
      frame.appendByte((byte) (payload[i] ^ mask[i % 4]));
    }
    String exchange;
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", edgePort)) {
      socket.setSoTimeout(5000);
      socket.getOutputStream().write(handshake.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      String head = readUntil(socket, "\r\n\r\n");
      socket.getOutputStream().write(frame.getBytes());
      exchange = head + readUntil(socket, "hello through ceiba");
    }
    assertThat(exchange).startsWith("HTTP/1.1 101").containsIgnoringCase("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        .contains("hello through ceiba");

    // server-sent events stream: the first event reaches the client while the origin still holds the last
    io.ceiba.testkit.HeldEvents.assertStreamed(vertx, edgePort, "api.test", a);
  }

  @Test
  void should_drop_no_request_while_20_registry_versions_are_applied() throws Exception {
    Origin a = origin("a");
    Origin b = origin("b");
    startNode(Registries.yaml(1).replace("svc1.example.test", "api.test").replace("http://127.0.0.1:9001", a.url()));
    int[] failures = {0};
    int[] done = {0};
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    List<Future<Void>> loops = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      loops.add(loop(failures, done, deadline));
    }
    for (int v = 2; v <= 21; v++) {
      Origin target = v % 2 == 0 ? b : a;
      Registries.write(registryFile, "version: " + v + "\nhttp:\n" + service("svc" + v, "api.test", backend(target, null),
          "    health: { enabled: false }\n"));
      Eventually.until(vertx, Duration.ofSeconds(10), "version " + v + " applied",
          () -> call(HttpMethod.GET, "api.test", "/", Map.of(), null).map(x -> target.name().equals(x.origin()))).await(15, TimeUnit.SECONDS);
    }
    stopLoops[0] = true;
    Future.all(loops).await(30, TimeUnit.SECONDS);
    assertThat(done[0]).isGreaterThan(100);
    assertThat(failures[0]).isZero();
  }

  private final boolean[] stopLoops = {false};

  private Future<Void> loop(int[] failures, int[] done, long deadline) {
    if (stopLoops[0] || System.nanoTime() > deadline) {
      return Future.succeededFuture();
    }
    return call(HttpMethod.GET, "api.test", "/", Map.of(), null)
        .map(a -> {
          done[0]++;
          if (a.status() != 200) {
            failures[0]++;
          }
          return null;
        })
        .recover(e -> {
          failures[0]++;
          return Future.succeededFuture();
        })
        .compose(v -> loop(failures, done, deadline));
  }

  @Test
  void should_proxy_tcp_services_to_a_healthy_backend() throws Exception {
    var echo = vertx.createNetServer().connectHandler(socket -> socket.handler(socket::write)).listen(0, "127.0.0.1")
        .await(10, TimeUnit.SECONDS);
    int deadPort = Ports.free();
    int listen = Ports.free();
    startNode("version: 1\ntcp:\n  echo:\n    listen: " + listen + "\n    backends:\n"
        + "      - { address: \"127.0.0.1:" + deadPort + "\", node: node1 }\n"
        + "      - { address: \"127.0.0.1:" + echo.actualPort() + "\", node: node2 }\n"
        + "    health: { kind: tcp, interval: 300ms, timeout: 250ms }\n");
    for (int i = 0; i < 3; i++) {
      // the local backend is dead: the first connection is retried on the other one, later ones skip it
      try (java.net.Socket socket = new java.net.Socket("127.0.0.1", listen)) {
        socket.setSoTimeout(5000);
        socket.getOutputStream().write(("ping " + i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(readUntil(socket, "ping " + i)).isEqualTo("ping " + i);
      }
    }
    echo.close();
  }

  @Test
  void should_terminate_tls_and_pick_the_certificate_by_sni() throws Exception {
    Origin a = origin("a");
    Path[] first = io.ceiba.testkit.TestCertificates.selfSigned(dir, "api.test");
    Path[] second = io.ceiba.testkit.TestCertificates.selfSigned(dir, "other.test");
    int tlsPort = Ports.free();
    registryFile = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n"
        + service("api", "api.test", backend(a, null), "    health: { enabled: false }\n    middlewares: [https-redirect]\n"));
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registryFile, "roles: [edge, health, control]\n",
        ", tls: { port: " + tlsPort + ", certificates: [{ cert: " + first[0] + ", key: " + first[1] + " }, { cert: "
            + second[0] + ", key: " + second[1] + " }] }");
    edgePort = spec.edgePort();
    node = TestNodes.start(spec);

    // plain HTTP is redirected to https by the middleware: same host and target, the port left to https's own
    // (443: the public https port, as nginx's `return 308 https://$host$request_uri` does)
    Answer redirect = get("api.test", "/x?q=1");
    assertThat(redirect.status()).isEqualTo(308);
    assertThat(redirect.location()).isEqualTo("https://api.test/x?q=1");
    assertThat(get("api.test:" + edgePort, "/x").location()).isEqualTo("https://api.test/x");
    assertThat(a.requests()).isZero();

    for (String host : List.of("api.test", "other.test")) {
      // a context per connection: a resumed TLS session would skip SNI and show the first certificate again
      javax.net.ssl.SSLContext trustAll = javax.net.ssl.SSLContext.getInstance("TLS");
      trustAll.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
        public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) { }
        public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) { }
        public java.security.cert.X509Certificate[] getAcceptedIssuers() { return new java.security.cert.X509Certificate[0]; }
      }}, null);
      try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1", tlsPort)) {
        javax.net.ssl.SSLParameters parameters = socket.getSSLParameters();
        parameters.setServerNames(List.of(new javax.net.ssl.SNIHostName(host)));
        socket.setSSLParameters(parameters);
        socket.setSoTimeout(5000);
        socket.startHandshake();
        var presented = (java.security.cert.X509Certificate) socket.getSession().getPeerCertificates()[0];
        assertThat(presented.getSubjectX500Principal().getName()).isEqualTo("CN=" + host);
        if (host.equals("api.test")) {
          socket.getOutputStream().write("GET /tls HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n".getBytes());
          String reply = readUntil(socket, null);
          assertThat(reply).startsWith("HTTP/1.1 200").contains("\"x-forwarded-proto\":\"https\"");
        }
      }
    }
  }

  @Test
  void should_strip_www_with_a_308_that_keeps_scheme_path_and_query_and_join_it_with_the_https_redirect() throws Exception {
    Origin a = origin("a");
    startNode("version: 1\nhttp:\n"
        + service("app", "app.test, www.app.test", backend(a, null), "    health: { enabled: false }\n    middlewares: [strip-www]\n")
        + service("both", "both.test, www.both.test", backend(a, null),
            "    health: { enabled: false }\n    middlewares: [strip-www, https-redirect]\n"));

    Answer www = get("www.app.test", "/p/q?x=1&y=2");
    assertThat(www.status()).isEqualTo(308);
    assertThat(www.location()).isEqualTo("http://app.test/p/q?x=1&y=2");
    // 308, not 301: a POST is told to come again as a POST, and is not forwarded meanwhile
    Answer post = call(HttpMethod.POST, "www.app.test:" + edgePort, "/form", Map.of(), Buffer.buffer("a=1")).await(10, TimeUnit.SECONDS);
    assertThat(post.status()).isEqualTo(308);
    assertThat(post.location()).isEqualTo("http://app.test/form");
    assertThat(a.requests()).isZero();
    assertThat(get("app.test", "/p").status()).isEqualTo(200);
    assertThat(a.requests()).isEqualTo(1);

    // both middlewares: one hop to the https URL without www, whichever host the client used
    assertThat(get("www.both.test", "/x?q=1").location()).isEqualTo("https://both.test/x?q=1");
    assertThat(get("both.test", "/x").location()).isEqualTo("https://both.test/x");
    assertThat(a.requests()).isEqualTo(1);
  }

  private final NetClient redisClients = vertx.createNetClient();

  /** One Redis command in inline form on a connection of its own; the reply once {@code complete} finds it whole. */
  private Future<String> redis(int port, String command, java.util.regex.Pattern complete) {
    return redisClients.connect(port, "127.0.0.1").compose(socket -> {
      io.vertx.core.Promise<String> reply = io.vertx.core.Promise.promise();
      Buffer got = Buffer.buffer();
      socket.handler(chunk -> {
        got.appendBuffer(chunk);
        if (complete.matcher(got.toString()).find()) {
          reply.tryComplete(got.toString());
        }
      });
      socket.closeHandler(v -> reply.tryFail("closed after '" + got + "'"));
      socket.write(command + "\r\n");
      return reply.future().timeout(2, TimeUnit.SECONDS).eventually(socket::close);
    });
  }

  private static final java.util.regex.Pattern SIMPLE_REPLY = java.util.regex.Pattern.compile("^[+-].*\r\n");
  private static final java.util.regex.Pattern PORT_REPLY = java.util.regex.Pattern.compile("\\$\\d+\r\n(\\d+)\r\n$");

  /** The port of the Redis server a new connection through {@code listen} reaches (CONFIG GET port), -1 if none. */
  private Future<Integer> redisBehind(int listen) {
    return redis(listen, "CONFIG GET port", PORT_REPLY).map(reply -> {
      var m = PORT_REPLY.matcher(reply);
      return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }).otherwise(-1);
  }

  /** True when {@code count} new connections in a row through {@code listen} all reach {@code port}. */
  private Future<Boolean> allReach(int listen, int port, int count) {
    return count == 0 ? Future.succeededFuture(true)
        : redisBehind(listen).compose(at -> at == port ? allReach(listen, port, count - 1) : Future.succeededFuture(false));
  }

  @Test
  void should_send_redis_connections_to_the_primary_and_follow_a_role_swap_within_the_check_interval() throws Exception {
    try (io.ceiba.testkit.TestRedis first = io.ceiba.testkit.TestRedis.start(); io.ceiba.testkit.TestRedis second = io.ceiba.testkit.TestRedis.start()) {
      int one = java.net.URI.create(first.url()).getPort();
      int two = java.net.URI.create(second.url()).getPort();
      assertThat(redis(two, "REPLICAOF 127.0.0.1 " + one, SIMPLE_REPLY).await(10, TimeUnit.SECONDS)).startsWith("+OK");
      int listen = Ports.free();
      // the replica is listed first: round-robin alone would send every other connection to it
      startNode("version: 1\ntcp:\n  cache:\n    listen: " + listen + "\n    backends:\n"
          + "      - { address: \"127.0.0.1:" + two + "\", node: node1 }\n"
          + "      - { address: \"127.0.0.1:" + one + "\", node: node1 }\n"
          + "    health: { kind: redis-primary, interval: 300ms, timeout: 250ms, unhealthy_after: 1, healthy_after: 1 }\n");

      Eventually.until(vertx, Duration.ofSeconds(10), "10 connections in a row reach the primary", () -> allReach(listen, one, 10))
          .await(15, TimeUnit.SECONDS);
      assertThat(redis(listen, "SET owner first", SIMPLE_REPLY).await(10, TimeUnit.SECONDS)).isEqualTo("+OK\r\n");
      // a client that stays connected to the primary across the swap
      io.vertx.core.net.NetSocket held = redisClients.connect(listen, "127.0.0.1").await(10, TimeUnit.SECONDS);
      io.vertx.core.Promise<Void> heldClosed = io.vertx.core.Promise.promise();
      held.closeHandler(v -> heldClosed.tryComplete());
      Buffer heldGot = Buffer.buffer();
      held.handler(heldGot::appendBuffer);
      held.write("CONFIG GET port\r\n");
      Eventually.until(vertx, Duration.ofSeconds(5), "the held connection answers", () -> Future.succeededFuture(
          PORT_REPLY.matcher(heldGot.toString()).find())).await(10, TimeUnit.SECONDS);
      assertThat(heldGot.toString()).endsWith(one + "\r\n");

      // the roles swap, as a failover would: the replica is promoted, the old primary follows it
      assertThat(redis(two, "REPLICAOF NO ONE", SIMPLE_REPLY).await(10, TimeUnit.SECONDS)).startsWith("+OK");
      assertThat(redis(one, "REPLICAOF 127.0.0.1 " + two, SIMPLE_REPLY).await(10, TimeUnit.SECONDS)).startsWith("+OK");
      Duration followed = Eventually.until(vertx, Duration.ofSeconds(5), "10 connections in a row reach the new primary",
          () -> allReach(listen, two, 10)).await(10, TimeUnit.SECONDS);
      // one interval (300 ms, ±10% jitter) plus a check's timeout and the probes' own time, with room for a busy machine
      assertThat(followed).isLessThan(Duration.ofSeconds(3));
      assertThat(redis(listen, "SET owner second", SIMPLE_REPLY).await(10, TimeUnit.SECONDS)).isEqualTo("+OK\r\n");
      // the connection still open to the demoted primary was closed by the edge: it must not write to a replica
      heldClosed.future().await(5, TimeUnit.SECONDS);
      System.out.println("redis-primary: new primary reached " + followed.toMillis() + " ms after the swap");
    }
  }

  @Test
  void should_keep_serving_unready_with_connection_close_through_the_drain_delay_then_close() throws Exception {
    Origin a = origin("a");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", backend(a, null), "    health: { enabled: false }\n"),
        "shutdown: { drain_delay: 3s }\n");
    var control = new io.ceiba.testkit.ControlClient(vertx, node.config().control().port(), TestNodes.TOKEN);
    HttpClient keepAlive = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true));
    RequestOptions request = new RequestOptions().setHost("api.test").setPort(edgePort)
        .setServer(io.vertx.core.net.SocketAddress.inetSocketAddress(edgePort, "127.0.0.1")).setURI("/");
    assertThat(keepAlive.request(request).compose(r -> r.send()).map(r -> r.getHeader("connection")).await(10, TimeUnit.SECONDS))
        .as("Connection header before the stop").isNull();
    long stopAt = System.nanoTime();
    Future<Void> stopping = node.stop();
    Eventually.until(vertx, Duration.ofSeconds(1), "/ready 503", () -> control.get("/ready").map(r -> r.statusCode() == 503))
        .await(5, TimeUnit.SECONDS);
    // unready, yet the keep-alive connection and new ones are served; each answer sends the client elsewhere
    var drained = keepAlive.request(request).compose(r -> r.send()).await(10, TimeUnit.SECONDS);
    assertThat(drained.statusCode()).isEqualTo(200);
    assertThat(drained.getHeader("connection")).isEqualTo("close");
    Answer fresh = get("api.test", "/fresh");
    assertThat(fresh.status()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - stopAt)).as("served within the drain delay").isLessThan(Duration.ofSeconds(3));
    stopping.await(30, TimeUnit.SECONDS);
    node = null;
    assertThat(call(HttpMethod.GET, "api.test", "/", Map.of(), null).transform(ar -> Future.succeededFuture(ar.failed()))
        .await(10, TimeUnit.SECONDS)).as("refused after the drain").isTrue();
    keepAlive.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_let_in_flight_requests_finish_when_the_node_stops() throws Exception {
    Origin a = origin("a");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", backend(a, null), "    health: { enabled: false }\n"));
    Future<Answer> inFlight = call(HttpMethod.GET, "api.test", "/delay", Map.of(), null);
    Eventually.until(vertx, Duration.ofSeconds(5), "request reached the origin", () -> Future.succeededFuture(a.requests() == 1))
        .await(10, TimeUnit.SECONDS);
    Future<Void> stopping = node.stop();
    Answer answer = inFlight.await(10, TimeUnit.SECONDS);
    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.body()).isEqualTo("late but whole");
    stopping.await(30, TimeUnit.SECONDS);
    node = null;
    // and the edge took no new connection once stopping
    assertThat(call(HttpMethod.GET, "api.test", "/", Map.of(), null).transform(ar -> Future.succeededFuture(ar.failed()))
        .await(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void should_proxy_to_an_h2c_backend_over_http2_and_check_its_health_over_h2c() throws Exception {
    Origin a = origin("a");
    startNode("version: 1\nhttp:\n" + service("api", "api.test", "      - { url: \"" + a.h2cUrl() + "\", node: node1 }\n", FAST_HEALTH));
    awaitCheckedUp(1);

    Answer answer = call(HttpMethod.GET, "api.test:8080", "/x?q=1", Map.of("x-request-id", "req-h2", "connection", "keep-alive, x-hop",
        "x-hop", "drop me", "te", "trailers", "keep-alive", "timeout=5"), null).await(10, TimeUnit.SECONDS);
    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.requestId()).isEqualTo("req-h2");
    JsonObject seen = answer.json();
    assertThat(seen.getString("version")).isEqualTo("HTTP_2");
    assertThat(seen.getString("uri")).isEqualTo("/x?q=1");
    assertThat(seen.getString("authority")).isEqualTo("api.test:8080");
    JsonObject headers = seen.getJsonObject("headers");
    assertForwarded(headers, "req-h2", "api.test:8080");
    assertThat(headers.fieldNames()).doesNotContain("connection", "keep-alive", "te", "x-hop", "transfer-encoding", "upgrade", "host");

    // a body of unknown length, chunked by the client, streams upstream as HTTP/2 DATA frames
    byte[] payload = new byte[300_000];
    var streamed = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + edgePort + "/upload"))
        .timeout(Duration.ofSeconds(15)).header("host", "api.test")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(payload))).build();
    JsonObject posted = new JsonObject(jdk.send(streamed, java.net.http.HttpResponse.BodyHandlers.ofString()).body());
    assertThat(posted.getString("version")).isEqualTo("HTTP_2");
    assertThat(posted.getString("method")).isEqualTo("POST");
    assertThat(posted.getInteger("body_bytes")).isEqualTo(payload.length);
    assertThat(posted.getJsonObject("headers").fieldNames()).doesNotContain("transfer-encoding");

    // health checks speak h2c too, and take the backend out and back in
    Eventually.until(vertx, Duration.ofSeconds(5), "a first health check", () -> Future.succeededFuture(a.lastCheckVersion() != null))
        .await(10, TimeUnit.SECONDS);
    assertThat(a.lastCheckVersion()).isEqualTo(io.vertx.core.http.HttpVersion.HTTP_2);
    a.healthy(false);
    Eventually.until(vertx, Duration.ofSeconds(10), "h2c backend marked down",
        () -> call(HttpMethod.GET, "api.test", "/", Map.of(), null).map(x -> x.status() == 503)).await(15, TimeUnit.SECONDS);
    assertThat(get("api.test", "/").code()).isEqualTo("no_healthy_backend");
    a.healthy(true);
    Eventually.until(vertx, Duration.ofSeconds(10), "h2c backend marked up again",
        () -> call(HttpMethod.GET, "api.test", "/", Map.of(), null).map(x -> x.status() == 200)).await(15, TimeUnit.SECONDS);

    // a WebSocket upgrade cannot be relayed to an h2c-only service: refused plainly, the node keeps serving
    String handshake = "GET /ws HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assertThat(raw(handshake)).startsWith("HTTP/1.1 501");
    assertThat(get("api.test", "/").json().getString("version")).isEqualTo("HTTP_2");
  }
}
