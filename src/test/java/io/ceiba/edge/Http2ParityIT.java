package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestCertificates;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 to clients over TLS (issue 19 item 5): ALPN offers h2 beside HTTP/1.1, and an HTTP/2 client gets the same
 * answers as an HTTP/1.1 one through the same pipeline: routing by {@code :authority}, bodies both ways, streaming,
 * access refusals, limits on the body, unknown hosts. curl speaks both; the JDK's HttpClient negotiates h2 itself.
 */
class Http2ParityIT {

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private CeibaNode node;
  private Origin origin;
  private int tlsPort;

  @BeforeEach
  void setUp() throws Exception {
    origin = Origin.start(vertx, "a");
    Path[] cert = TestCertificates.selfSigned(dir, "api.test");
    String off = "    health: { enabled: false }\n";
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n"
        + "  api:\n    hosts: [api.test, localhost]\n    backends: [{ url: \"" + origin.url() + "\" }]\n    max_body: 1KB\n" + off
        + "  keyed:\n    hosts: [keyed.test]\n    backends: [{ url: \"" + origin.url() + "\" }]\n    access: { policy: api-key }\n" + off);
    tlsPort = Ports.free();
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registry, "roles: [edge, auth, control]\n",
        ", tls: { port: " + tlsPort + ", certificates: [{ cert: " + cert[0] + ", key: " + cert[1] + " }] }");
    node = TestNodes.start(spec);
  }

  @AfterEach
  void tearDown() throws Exception {
    TestNodes.stopQuietly(node);
    origin.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** What curl saw: the protocol it used, the status, the body. */
  private record Seen(String version, int status, String body) {
  }

  private Seen curl(String protocol, String host, String path, String... extra) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sk", protocol, "--max-time", "20",
        "--resolve", host + ":" + tlsPort + ":127.0.0.1", "-w", "\n%{http_version} %{http_code}"));
    command.addAll(List.of(extra));
    command.add("https://" + host + ":" + tlsPort + path);
    Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
    int cut = out.lastIndexOf('\n');
    String[] tail = out.substring(cut + 1).trim().split(" ");
    return new Seen(tail[0], Integer.parseInt(tail[1]), out.substring(0, cut));
  }

  /** The same request over both protocols: each version as asked for, and the same status and answer. */
  private void same(String host, String path, int status, String... extra) throws Exception {
    Seen h1 = curl("--http1.1", host, path, extra);
    Seen h2 = curl("--http2", host, path, extra);
    assertThat(h1.version()).isEqualTo("1.1");
    assertThat(h2.version()).as("ALPN negotiated h2").isEqualTo("2");
    assertThat(h2.status()).as(h2.body()).isEqualTo(status).isEqualTo(h1.status());
    if (h1.body().startsWith("{\"origin\"")) {
      JsonObject one = new JsonObject(h1.body());
      JsonObject two = new JsonObject(h2.body());
      for (String field : List.of("method", "uri", "body_bytes", "version")) {
        assertThat(two.getValue(field)).as(field).isEqualTo(one.getValue(field));
      }
      assertThat(two.getJsonObject("headers").getString("host")).isEqualTo(one.getJsonObject("headers").getString("host"));
      assertThat(two.getJsonObject("headers").getString("x-forwarded-proto")).isEqualTo("https");
    } else if (h1.body().startsWith("{\"error\"")) {
      assertThat(new JsonObject(h2.body()).getJsonObject("error").getString("code"))
          .isEqualTo(new JsonObject(h1.body()).getJsonObject("error").getString("code"));
    } else {
      assertThat(h2.body()).isEqualTo(h1.body());
    }
  }

  @Test
  void should_answer_http2_clients_as_it_answers_http1_clients() throws Exception {
    same("api.test", "/hello?x=1", 200);
    same("api.test", "/upload", 200, "--data-binary", "0123456789".repeat(50));
    same("api.test", "/sse", 200);
    same("api.test", "/too-big", 413, "--data-binary", "x".repeat(2000));
    same("keyed.test", "/needs-a-key", 401);
    same("keyed.test", "/wrong-key", 401, "-H", "x-api-key: ck_not_a_key");
    same("nowhere.test", "/", 404);
    // the body of a chunked upload (no Content-Length): HTTP/2 frames it itself
    same("api.test", "/chunked", 200, "-H", "Transfer-Encoding: chunked", "--data-binary", "abc");
  }

  @Test
  void should_negotiate_http2_with_the_jdk_client() throws Exception {
    // An extended trust manager: the JDK wraps a plain X509TrustManager in one that checks the host name, and the
    // certificate names api.test while the JDK client can only reach the node as localhost. Verification is not
    // what this test is about; the negotiated protocol is.
    SSLContext trustAll = SSLContext.getInstance("TLS");
    trustAll.init(null, new TrustManager[] {new X509ExtendedTrustManager() {
      public void checkClientTrusted(X509Certificate[] c, String a) { }
      public void checkServerTrusted(X509Certificate[] c, String a) { }
      public void checkClientTrusted(X509Certificate[] c, String a, Socket s) { }
      public void checkServerTrusted(X509Certificate[] c, String a, Socket s) { }
      public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) { }
      public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) { }
      public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
    }}, null);
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).sslContext(trustAll)
        .connectTimeout(Duration.ofSeconds(5)).build();
    for (int i = 0; i < 5; i++) { // several streams on the one connection
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + tlsPort + "/jdk/" + i))
          .POST(HttpRequest.BodyPublishers.ofString("payload-" + i)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      JsonObject echoed = new JsonObject(response.body());
      assertThat(echoed.getString("uri")).isEqualTo("/jdk/" + i);
      assertThat(echoed.getInteger("body_bytes")).isEqualTo(("payload-" + i).length());
      assertThat(echoed.getJsonObject("headers").getString("host")).isEqualTo("localhost:" + tlsPort);
    }
  }
}
