package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.EdgeClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestCertificates;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upstream TLS is verified (issue 19 item 1): an origin with a self-signed certificate for {@code origin.test} is
 * refused by default with a 502 and a code, accepted with its CA and name, refused with another CA or without the
 * name its certificate carries; health checks verify the same way; the SNI the origin sees is the configured name.
 */
class UpstreamTlsIT {

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private final AtomicReference<String> lastSni = new AtomicReference<>();
  private CeibaNode node;
  private HttpServer origin;
  private EdgeClient edge;
  private ControlClient control;

  @BeforeEach
  void setUp() throws Exception {
    Path[] originPair = TestCertificates.selfSigned(dir, "origin.test");
    TestCertificates.selfSigned(dir, "other.test");
    origin = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSsl(true).setSni(true)
            .setKeyCertOptions(new PemKeyCertOptions().setCertPath(originPair[0].toString()).setKeyPath(originPair[1].toString())))
        .requestHandler(request -> {
          lastSni.set(request.connection().indicatedServerName());
          request.response().end("tls origin " + request.path());
        })
        .listen().await(10, TimeUnit.SECONDS);
    String url = "https://127.0.0.1:" + origin.actualPort();
    String off = "    health: { enabled: false }\n";
    String registry = "version: 1\nhttp:\n"
        + "  plain:\n    hosts: [plain.test]\n    backends: [{ url: \"" + url + "\" }]\n" + off
        + "  pinned:\n    hosts: [pinned.test]\n    backends: [{ url: \"" + url + "\" }]\n"
        + "    upstream_tls: { ca: origin.test.pem, server_name: origin.test }\n"
        // generous: a TLS handshake on a busy 2-core machine can take longer than a local check usually does
        + "    health: { path: /healthz, interval: 2s, timeout: 1500ms }\n"
        + "  wrongca:\n    hosts: [wrongca.test]\n    backends: [{ url: \"" + url + "\" }]\n"
        + "    upstream_tls: { ca: other.test.pem, server_name: origin.test }\n" + off
        + "  wrongname:\n    hosts: [wrongname.test]\n    backends: [{ url: \"" + url + "\" }]\n    upstream_tls: { ca: origin.test.pem }\n" + off
        + "  skip:\n    hosts: [skip.test]\n    backends: [{ url: \"" + url + "\" }]\n    upstream_tls: { insecure_skip_verify: true }\n" + off
        + "  checked:\n    hosts: [checked.test]\n    backends: [{ url: \"" + url + "\" }]\n"
        + "    health: { path: /healthz, interval: 2s, timeout: 1500ms, unhealthy_after: 1 }\n";
    Path registryFile = Registries.write(dir.resolve("registry.yaml"), registry);
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registryFile, "roles: [edge, health, control]\n");
    node = TestNodes.start(spec);
    edge = new EdgeClient(spec.edgePort());
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
  }

  @AfterEach
  void tearDown() throws Exception {
    TestNodes.stopQuietly(node);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_refuse_an_unverified_upstream_by_default_and_accept_it_with_its_ca_and_name() throws Exception {
    HttpResponse<String> plain = edge.get("plain.test", "/a", null);
    assertThat(plain.statusCode()).isEqualTo(502);
    assertThat(new JsonObject(plain.body()).getJsonObject("error").getString("code")).isEqualTo("upstream_tls_failed");

    HttpResponse<String> pinned = edge.get("pinned.test", "/b", null);
    assertThat(pinned.statusCode()).as(pinned.body()).isEqualTo(200);
    assertThat(pinned.body()).isEqualTo("tls origin /b");
    assertThat(lastSni.get()).as("SNI sent upstream").isEqualTo("origin.test");

    for (String refused : new String[] {"wrongca.test", "wrongname.test"}) {
      HttpResponse<String> response = edge.get(refused, "/c", null);
      assertThat(response.statusCode()).as(refused).isEqualTo(502);
      assertThat(new JsonObject(response.body()).getJsonObject("error").getString("code")).as(refused).isEqualTo("upstream_tls_failed");
    }

    HttpResponse<String> skipped = edge.get("skip.test", "/d", null);
    assertThat(skipped.statusCode()).as("the explicit opt-out").isEqualTo(200);
  }

  @Test
  void should_check_health_with_the_same_verification_as_requests() throws Exception {
    Eventually.until(vertx, Duration.ofSeconds(15), "checked (system CAs) down and pinned (its CA) up in the health view",
        () -> control.json("/v1/cluster").map(cluster -> {
          JsonObject self = cluster.getJsonArray("nodes").getJsonObject(0);
          Boolean checkedUp = null;
          Boolean pinnedUp = null;
          for (Object o : self.getJsonArray("backends")) {
            JsonObject b = (JsonObject) o;
            if ("checked".equals(b.getString("service"))) {
              // down for its certificate, not for a slow check
              String error = b.getString("last_error", "");
              checkedUp = error.contains("timeout") ? null : b.getBoolean("up");
            } else if ("pinned".equals(b.getString("service"))) {
              pinnedUp = b.getBoolean("up");
            }
          }
          return Boolean.FALSE.equals(checkedUp) && Boolean.TRUE.equals(pinnedUp);
        })).await(20, TimeUnit.SECONDS);
    assertThat(edge.get("checked.test", "/e", null).statusCode()).isEqualTo(503);
  }
}
