package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The edge cache of one real node (role edge) in front of a real origin that numbers the requests it gets. */
class EdgeCacheIT {

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private HttpClient http;
  private io.vertx.core.Context context;
  private Origin origin;
  private CeibaNode node;
  private int edgePort;
  private Path registryFile;

  /** What the client got: status, headers, body. */
  record Reply(int status, MultiMap headers, Buffer body) {
    String cache() {
      return headers.get("x-ceiba-cache");
    }

    /** The origin's number for the request that produced this body: equal numbers, one upstream request. */
    int n() {
      return new JsonObject(body).getInteger("n");
    }
  }

  @BeforeEach
  void setUp() throws Exception {
    // keep-alive, as real clients; calls go through OnContext (a Vert.x client called from the test thread
    // sometimes never completes a response on a reused connection)
    http = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions().setKeepAlive(true));
    context = vertx.getOrCreateContext();
    origin = Origin.start(vertx, "origin");
  }

  @AfterEach
  void tearDown() throws Exception {
    TestNodes.stopQuietly(node);
    origin.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static String cached(String name, String host, String backendUrl, String ttl) {
    return "  " + name + ":\n    hosts: [" + host + "]\n    backends: [{ url: \"" + backendUrl + "\" }]\n"
        + "    health: { enabled: false }\n    cache: { ttl: " + ttl + " }\n";
  }

  private void startNode(String services) {
    // role edge alone: no database, the control port still serves /metrics
    startNode(services, "roles: [edge]\npostgres: { url: embedded }\n");
  }

  private TestNodes.Spec startNode(String services, String nodeYaml) {
    registryFile = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n" + services);
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registryFile, nodeYaml);
    edgePort = spec.edgePort();
    node = TestNodes.start(spec);
    return spec;
  }

  private Future<Reply> request(HttpMethod method, String host, String uri, Map<String, String> headers) {
    RequestOptions options = new RequestOptions().setMethod(method).setHost("127.0.0.1").setPort(edgePort).setURI(uri)
        .putHeader("host", host);
    headers.forEach(options::putHeader);
    return io.ceiba.testkit.OnContext.call(context, () -> http.request(options)
        .compose(req -> method == HttpMethod.POST ? req.send("posted") : req.send())
        .compose(resp -> resp.body().map(body -> new Reply(resp.statusCode(), resp.headers(), body))));
  }

  private Reply send(HttpMethod method, String host, String uri, Map<String, String> headers) throws Exception {
    return request(method, host, uri, headers).await(15, TimeUnit.SECONDS);
  }

  /** Asks until the answer is a miss: the entry expired. */
  private void untilExpired(String uri, String what) throws Exception {
    Eventually.until(vertx, Duration.ofSeconds(5), what,
        () -> request(HttpMethod.GET, "api.test", uri, Map.of()).map(r -> "miss".equals(r.cache()))).await(10, TimeUnit.SECONDS);
  }

  private Reply get(String uri, Map<String, String> headers) throws Exception {
    return send(HttpMethod.GET, "api.test", uri, headers);
  }

  private Reply get(String uri) throws Exception {
    return get(uri, Map.of());
  }

  private String metrics() throws Exception {
    return http.request(HttpMethod.GET, node.config().control().port(), "127.0.0.1", "/metrics")
        .compose(r -> r.send()).compose(r -> r.body()).await(10, TimeUnit.SECONDS).toString();
  }

  @Test
  void should_serve_a_repeated_get_from_the_cache_within_its_ttl_and_fetch_again_after_it() throws Exception {
    startNode(cached("api", "api.test", origin.url(), "1s"));
    Reply first = get("/page?q=1", Map.of("x-request-id", "first"));
    assertThat(first.status()).isEqualTo(200);
    assertThat(first.cache()).isEqualTo("miss");
    assertThat(first.headers().get("age")).isNull();

    Reply second = get("/page?q=1", Map.of("x-request-id", "second"));
    assertThat(second.status()).isEqualTo(200);
    assertThat(second.cache()).isEqualTo("hit");
    assertThat(second.n()).isEqualTo(first.n());
    assertThat(second.body()).isEqualTo(first.body());
    assertThat(second.headers().get("age")).isIn("0", "1");
    // per request, never cached
    assertThat(second.headers().get("x-request-id")).isEqualTo("second");
    assertThat(second.headers().get("x-ceiba-node")).isEqualTo("node1");
    assertThat(second.headers().get("content-type")).isEqualTo("application/json");
    assertThat(second.headers().get("x-origin")).isEqualTo("origin");
    assertThat(origin.requests()).isEqualTo(1);

    // HEAD is answered from the cached GET: same headers, no body
    Reply head = send(HttpMethod.HEAD, "api.test", "/page?q=1", Map.of());
    assertThat(head.cache()).isEqualTo("hit");
    assertThat(head.body().length()).isZero();
    assertThat(head.headers().get("content-length")).isEqualTo(String.valueOf(first.body().length()));
    // another query is another entry
    assertThat(get("/page?q=2").cache()).isEqualTo("miss");
    assertThat(origin.requests()).isEqualTo(2);

    // a client's no-cache goes upstream and refreshes the entry
    Reply refreshed = get("/page?q=1", Map.of("cache-control", "no-cache"));
    assertThat(refreshed.cache()).isEqualTo("bypass");
    assertThat(refreshed.n()).isEqualTo(3);
    assertThat(get("/page?q=1").n()).isEqualTo(3);

    // after the ttl the origin is asked again
    untilExpired("/page?q=1", "entry expires after its 1s ttl");
    assertThat(origin.requests()).isEqualTo(4);
    assertThat(get("/page?q=1").cache()).isEqualTo("hit");

    String metrics = metrics();
    assertThat(metrics).contains("ceiba_edge_cache_total{node=\"node1\",result=\"hit\"}");
    assertThat(metrics).contains("ceiba_edge_cache_total{node=\"node1\",result=\"miss\"}");
    assertThat(metrics).contains("ceiba_edge_cache_total{node=\"node1\",result=\"bypass\"} 1.0");
    assertThat(metrics).contains("ceiba_edge_cache_bytes{node=\"node1\"}");
    // a hit is still a request
    assertThat(metrics).containsPattern("ceiba_edge_requests_total\\{code=\"200\",node=\"node1\",service=\"api\"} (\\d+)\\.0");
  }

  @Test
  void should_not_store_what_upstream_or_the_request_forbids() throws Exception {
    startNode(cached("api", "api.test", origin.url(), "10m"));
    for (String uri : new String[] {"/a?set-cache-control=no-store", "/b?set-cache-control=private", "/c?set-cache-control=no-cache",
        "/d?set-set-cookie=session%3D1", "/e?set-vary=*", "/f?set-cache-control=max-age%3D0", "/g?set-cache-control=public,s-maxage%3D0"}) {
      int before = origin.requests();
      assertThat(get(uri).cache()).as(uri).isEqualTo("miss");
      assertThat(get(uri).cache()).as(uri).isEqualTo("miss");
      assertThat(origin.requests()).as(uri).isEqualTo(before + 2);
    }
    // POST is never cached, nor answered from a cached GET
    assertThat(get("/p").cache()).isEqualTo("miss");
    Reply post = send(HttpMethod.POST, "api.test", "/p", Map.of());
    assertThat(post.cache()).isEqualTo("bypass");
    assertThat(new JsonObject(post.body()).getString("method")).isEqualTo("POST");
    assertThat(send(HttpMethod.POST, "api.test", "/p", Map.of()).n()).isGreaterThan(post.n());
    // cookies and credentials sent upstream may select a personal answer: passed, not stored
    int before = origin.requests();
    assertThat(get("/p", Map.of("cookie", "session=2")).cache()).isEqualTo("bypass");
    assertThat(get("/p", Map.of("authorization", "Basic dTpw")).cache()).isEqualTo("bypass");
    assertThat(origin.requests()).isEqualTo(before + 2);
    assertThat(get("/p").cache()).isEqualTo("hit");
    // max-age shorter than the ttl wins
    assertThat(get("/short?set-cache-control=max-age%3D1").cache()).isEqualTo("miss");
    assertThat(get("/short?set-cache-control=max-age%3D1").cache()).isEqualTo("hit");
    untilExpired("/short?set-cache-control=max-age%3D1", "max-age=1 expires before the 10m ttl");
  }

  @Test
  void should_keep_one_entry_per_value_of_the_headers_named_in_vary() throws Exception {
    startNode(cached("api", "api.test", origin.url(), "10m"));
    String uri = "/greeting?set-vary=Accept-Language";
    int en = get(uri, Map.of("accept-language", "en")).n();
    assertThat(get(uri, Map.of("accept-language", "en")).cache()).isEqualTo("hit");
    Reply fr = get(uri, Map.of("accept-language", "fr"));
    assertThat(fr.cache()).isEqualTo("miss");
    assertThat(fr.n()).isNotEqualTo(en);
    assertThat(get(uri, Map.of("accept-language", "fr")).n()).isEqualTo(fr.n());
    assertThat(get(uri, Map.of("accept-language", "en")).n()).isEqualTo(en);
    assertThat(get(uri).cache()).isEqualTo("miss"); // no header at all is a variant of its own
    assertThat(get(uri).cache()).isEqualTo("hit");
  }

  @Test
  void should_deliver_a_body_larger_than_the_entry_cap_whole_and_not_store_it() throws Exception {
    startNode(cached("api", "api.test", origin.url(), "10m"));
    int size = 3 * 1024 * 1024;
    Reply big = get("/big?bytes=" + size);
    assertThat(big.status()).isEqualTo(200);
    assertThat(big.body().length()).isEqualTo(size);
    assertThat(big.cache()).isEqualTo("miss");
    Reply again = get("/big?bytes=" + size);
    assertThat(again.cache()).isEqualTo("miss");
    assertThat(again.body().length()).isEqualTo(size);
    assertThat(origin.requests()).isEqualTo(2);
    // just under the cap is kept
    int fits = 1024 * 1024 - 1024;
    assertThat(get("/fits?bytes=" + fits).cache()).isEqualTo("miss");
    Reply hit = get("/fits?bytes=" + fits);
    assertThat(hit.cache()).isEqualTo("hit");
    assertThat(hit.body().length()).isEqualTo(fits);
  }

  @Test
  void should_drop_the_entries_of_a_service_the_registry_changes_and_keep_the_others() throws Exception {
    Origin other = Origin.start(vertx, "other");
    try {
      String unchanged = cached("web", "web.test", other.url(), "10m");
      startNode(cached("api", "api.test", origin.url(), "10m") + unchanged);
      int api = get("/x").n();
      int web = send(HttpMethod.GET, "web.test", "/y", Map.of()).n();
      assertThat(get("/x").cache()).isEqualTo("hit");

      // version 2 changes api (its ttl) and adds a host to see when it is applied; web stays as it was
      Registries.write(registryFile, "version: 2\nhttp:\n" + cached("api", "api.test", origin.url(), "11m") + unchanged
          + cached("probe", "probe.test", origin.url(), "1m"));
      Eventually.until(vertx, Duration.ofSeconds(10), "version 2 applied",
          () -> request(HttpMethod.GET, "probe.test", "/", Map.of()).map(r -> r.status() == 200)).await(15, TimeUnit.SECONDS);

      Reply after = get("/x");
      assertThat(after.cache()).isEqualTo("miss");
      assertThat(after.n()).isNotEqualTo(api);
      Reply webAfter = send(HttpMethod.GET, "web.test", "/y", Map.of());
      assertThat(webAfter.cache()).isEqualTo("hit");
      assertThat(webAfter.n()).isEqualTo(web);
    } finally {
      other.close();
    }
  }

  @Test
  void should_never_serve_one_projects_cached_response_to_another() throws Exception {
    TestNodes.Spec spec = startNode(cached("api", "api.test", origin.url(), "10m") + "    access: { policy: api-key }\n",
        "roles: [edge, auth, control]\n");
    ControlClient control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
    String[] projects = new String[2];
    String[] keys = new String[2];
    for (int i = 0; i < 2; i++) {
      projects[i] = control.send(HttpMethod.POST, "/v1/projects", "{\"name\": \"p" + i + "\"}", "application/json")
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getString("id");
      keys[i] = control.send(HttpMethod.POST, "/v1/projects/" + projects[i] + "/keys", "{\"name\": \"k\"}", "application/json")
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getString("key");
    }
    Reply first = get("/me", Map.of("x-api-key", keys[0]));
    assertThat(first.cache()).isEqualTo("miss");
    assertThat(get("/me", Map.of("authorization", "Bearer " + keys[0])).n()).isEqualTo(first.n());
    Reply other = get("/me", Map.of("x-api-key", keys[1]));
    assertThat(other.cache()).isEqualTo("miss");
    Reply otherAgain = get("/me", Map.of("x-api-key", keys[1]));
    assertThat(otherAgain.cache()).isEqualTo("hit");
    assertThat(new JsonObject(otherAgain.body()).getJsonObject("headers").getString("x-ceiba-project")).isEqualTo(projects[1]);
    // access is decided before the cache is asked
    assertThat(get("/me").status()).isEqualTo(401);
    assertThat(get("/me", Map.of("x-api-key", "ck_not-a-key")).status()).isEqualTo(401);
    assertThat(origin.requests()).isEqualTo(2);
    control.close();
  }
}
