package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.RawHttp;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A WebSocket upgrade is a request like any other (issue 16, defect 10): it is counted, recorded as usage and logged,
 * refused ones too; the origin sees the client's {@code Host} and only an {@code Origin} the client sent; the
 * {@code https-redirect} middleware and the framing checks apply. One combined node (edge, auth, usage, control).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebSocketParityIT {

  private static final String UPGRADE = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

  private final Vertx vertx = Vertx.vertx();
  private final ListAppender<ILoggingEvent> accessLines = new ListAppender<>();
  private final ch.qos.logback.classic.Logger accessLogger =
      (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("ceiba.access");
  /** The handshake headers the origin received, in order. */
  private final List<MultiMap> handshakes = new CopyOnWriteArrayList<>();
  private HttpServer origin;
  private CeibaNode node;
  private ControlClient control;
  private ControlClient.KeyedProject project;
  private int edgePort;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    origin = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .webSocketHandshakeHandler(handshake -> {
          handshakes.add(MultiMap.caseInsensitiveMultiMap().addAll(handshake.headers()));
          handshake.accept();
        })
        .webSocketHandler(ws -> ws.handler(ws::write))
        .requestHandler(request -> request.response().end("plain"))
        .listen().await(10, TimeUnit.SECONDS);
    String backend = "    backends: [{ url: \"http://127.0.0.1:" + origin.actualPort() + "\" }]\n    health: { enabled: false }\n";
    String registry = "version: 1\nhttp:\n"
        + "  keyed:\n    hosts: [ws.test]\n" + backend + "    access: { policy: api-key }\n"
        + "  secure:\n    hosts: [secure.test]\n" + backend + "    middlewares: [https-redirect]\n";
    Path registryFile = Registries.write(dir.resolve("registry.yaml"), registry);
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registryFile,
        "roles: [edge, auth, usage, control]\nusage: { flush_interval: 100ms }\n", ", access_log: true");
    edgePort = spec.edgePort();
    node = TestNodes.start(spec);
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
    project = control.newProjectWithKey("websocket-parity").await(10, TimeUnit.SECONDS);
    accessLines.start();
    accessLogger.addAppender(accessLines);
  }

  @AfterAll
  void stop() throws Exception {
    accessLogger.detachAppender(accessLines);
    TestNodes.stopQuietly(node);
    origin.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_record_usage_and_an_access_line_for_a_keyed_upgrade_and_pass_the_clients_host() throws Exception {
    int before = handshakes.size();
    try (RawHttp client = new RawHttp(edgePort)) {
      client.write("GET /ws?room=1 HTTP/1.1\r\nHost: ws.test\r\nX-API-Key: " + project.key() + "\r\nX-Request-Id: ws-keyed\r\n" + UPGRADE + "\r\n");
      assertThat(client.read("\r\n\r\n", 5000).text()).startsWith("HTTP/1.1 101");
      client.write(RawHttp.maskedTextFrame("hello through ceiba"));
      assertThat(client.read("hello through ceiba", 5000).text()).contains("hello through ceiba");
    }
    assertThat(handshakes).hasSize(before + 1);
    MultiMap seen = handshakes.get(before);
    // the client's Host, as for any request; no Origin the client never sent; the key stays at the edge
    assertThat(seen.get("host")).isEqualTo("ws.test");
    assertThat(seen.contains("origin")).isFalse();
    assertThat(seen.contains("x-api-key")).isFalse();
    assertThat(seen.get("x-ceiba-project")).isEqualTo(project.id());
    assertThat(seen.get("x-request-id")).isEqualTo("ws-keyed");

    Eventually.until(vertx, Duration.ofSeconds(20), "the upgrade in the usage API",
        () -> control.usageTotal(project.id()).map(total -> total == 1)).await(30, TimeUnit.SECONDS);
    Eventually.until(vertx, Duration.ofSeconds(5), "the upgrade's access line",
        () -> Future.succeededFuture(!linesWith("request_id=ws-keyed").isEmpty())).await(10, TimeUnit.SECONDS);
    assertThat(linesWith("request_id=ws-keyed").get(0))
        .contains("service=keyed", "path=/ws", "status=101", "websocket=true", "project=" + project.id());
  }

  @Test
  void should_answer_and_log_a_refused_upgrade_like_a_refused_request() throws Exception {
    int before = handshakes.size();
    try (RawHttp client = new RawHttp(edgePort)) {
      client.write("GET /ws HTTP/1.1\r\nHost: ws.test\r\nX-Request-Id: ws-nokey\r\n" + UPGRADE + "\r\n");
      assertThat(client.read("}}", 5000).text()).startsWith("HTTP/1.1 401").contains("missing_key");
    }
    assertThat(handshakes).hasSize(before);
    Eventually.until(vertx, Duration.ofSeconds(5), "the refused upgrade's access line",
        () -> Future.succeededFuture(!linesWith("request_id=ws-nokey").isEmpty())).await(10, TimeUnit.SECONDS);
    assertThat(linesWith("request_id=ws-nokey").get(0)).contains("service=keyed", "status=401", "auth=missing_key");
  }

  @Test
  void should_pass_an_origin_the_client_sent_as_it_is() throws Exception {
    int before = handshakes.size();
    try (RawHttp client = new RawHttp(edgePort)) {
      client.write("GET /ws HTTP/1.1\r\nHost: ws.test\r\nOrigin: https://app.example\r\nX-API-Key: " + project.key() + "\r\n"
          + UPGRADE + "\r\n");
      assertThat(client.read("\r\n\r\n", 5000).text()).startsWith("HTTP/1.1 101");
    }
    assertThat(handshakes.get(before).getAll("origin")).containsExactly("https://app.example");
  }

  @Test
  void should_redirect_a_plain_upgrade_to_https_when_the_service_says_so() throws Exception {
    int before = handshakes.size();
    try (RawHttp client = new RawHttp(edgePort)) {
      client.write("GET /ws HTTP/1.1\r\nHost: secure.test\r\n" + UPGRADE + "\r\n");
      String answer = client.read("\r\n\r\n", 5000).text();
      assertThat(answer).startsWith("HTTP/1.1 308").containsIgnoringCase("location: https://secure.test/ws\r\n");
    }
    assertThat(handshakes).hasSize(before);
  }

  @Test
  void should_refuse_an_upgrade_with_ambiguous_framing() throws Exception {
    int before = handshakes.size();
    try (RawHttp client = new RawHttp(edgePort)) {
      client.write("GET /ws HTTP/1.1\r\nHost: ws.test\r\nX-API-Key: " + project.key() + "\r\nContent-Length: 0\r\n"
          + "Transfer-Encoding: chunked\r\n" + UPGRADE + "\r\n0\r\n\r\n");
      RawHttp.Reply answer = client.read(null, 3000);
      assertThat(answer.text()).startsWith("HTTP/1.1 400").contains("Transfer-Encoding");
      assertThat(answer.closedByServer()).isTrue();
    }
    assertThat(handshakes).hasSize(before);
  }

  private List<String> linesWith(String text) {
    synchronized (accessLines) { // the appender appends under its own lock, from the edge's event loops
      return accessLines.list.stream().map(ILoggingEvent::getFormattedMessage).filter(line -> line.contains(text)).toList();
    }
  }
}
