package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.RawHttp;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How exchanges end when the client does something other than wait for the whole answer: it goes away before the
 * response head (issue 16, defect 8), it waits for {@code 100 Continue}, or it speaks HTTP/1.0 and cannot read chunks.
 * One real node (edge, control) in front of real origins.
 */
class EdgeExchangeEndIT {

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private final ListAppender<ILoggingEvent> accessLines = new ListAppender<>();
  private final ch.qos.logback.classic.Logger accessLogger =
      (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("ceiba.access");
  private CeibaNode node;
  private Origin echo;
  private HttpServer holding;
  /** Connections from the edge the holding origin has open, and the requests it received. */
  private final AtomicInteger holdingOpen = new AtomicInteger();
  private final AtomicInteger holdingReceived = new AtomicInteger();
  private int edgePort;

  @BeforeEach
  void setUp() throws Exception {
    echo = Origin.start(vertx, "echo");
    // an SSE origin that sends its head with the first event, which takes long to come (as many do)
    holding = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .connectionHandler(connection -> {
          holdingOpen.incrementAndGet();
          connection.closeHandler(v -> holdingOpen.decrementAndGet());
        })
        .requestHandler(request -> holdingReceived.incrementAndGet())
        .listen().await(10, TimeUnit.SECONDS);
    String registry = "version: 1\nhttp:\n"
        + "  events:\n    hosts: [events.test]\n    backends: [{ url: \"http://127.0.0.1:" + holding.actualPort() + "\" }]\n"
        + "    timeouts: { upstream: 60s }\n    health: { enabled: false }\n"
        + "  api:\n    hosts: [api.test]\n    backends: [{ url: \"" + echo.url() + "\" }]\n    health: { enabled: false }\n"
        + "  keyed:\n    hosts: [keyed.test]\n    backends: [{ url: \"" + echo.url() + "\" }]\n    access: { policy: api-key }\n"
        + "    health: { enabled: false }\n";
    Path registryFile = Registries.write(dir.resolve("registry.yaml"), registry);
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registryFile, "roles: [edge, control]\n", ", access_log: true");
    edgePort = spec.edgePort();
    node = TestNodes.start(spec);
    accessLines.start();
    accessLogger.addAppender(accessLines);
  }

  @AfterEach
  void tearDown() throws Exception {
    accessLogger.detachAppender(accessLines);
    TestNodes.stopQuietly(node);
    echo.close();
    holding.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_cancel_the_upstream_and_log_499_when_clients_abandon_sse_requests_before_the_response_head() throws Exception {
    int n = 20;
    List<RawHttp> clients = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      clients.add(new RawHttp(edgePort).write("GET /stream HTTP/1.1\r\nHost: events.test\r\nAccept: text/event-stream\r\n"
          + "X-Request-Id: gone-" + i + "\r\n\r\n"));
    }
    Eventually.until(vertx, Duration.ofSeconds(15), n + " requests waiting at the origin",
        () -> Future.succeededFuture(holdingReceived.get() == n)).await(20, TimeUnit.SECONDS);
    assertThat(holdingOpen.get()).isEqualTo(n);

    for (RawHttp client : clients) {
      client.close();
    }
    // the edge lets go of the origin at once, instead of reading on until the upstream timeout (60 s here)
    Duration closed = Eventually.until(vertx, Duration.ofSeconds(5), "the origin's connections from the edge closed",
        () -> Future.succeededFuture(holdingOpen.get() == 0)).await(10, TimeUnit.SECONDS);
    assertThat(closed).isLessThan(Duration.ofSeconds(5));

    Eventually.until(vertx, Duration.ofSeconds(5), n + " access-log lines with status=499",
        () -> Future.succeededFuture(linesWith("status=499").size() == n)).await(10, TimeUnit.SECONDS);
    assertThat(linesWith("status=499")).allSatisfy(line -> assertThat(line)
        .contains("service=events", "path=/stream", "error=\"client closed before the response\"", "upstream_ms="));
    Counter abandoned = node.context().meters().find(EdgeMetrics.REQUESTS).tags("service", "events", "code", "499").counter();
    assertThat(abandoned).isNotNull();
    assertThat(abandoned.count()).isEqualTo(n);
    assertThat(node.context().meters().find(EdgeMetrics.REQUESTS).tags("service", "events").counters()).hasSize(1);

    // the origin is not held to it: new requests still get through
    holdingReceived.set(0);
    try (RawHttp again = new RawHttp(edgePort)) {
      again.write("GET /stream HTTP/1.1\r\nHost: events.test\r\n\r\n");
      Eventually.until(vertx, Duration.ofSeconds(5), "a new request at the origin",
          () -> Future.succeededFuture(holdingReceived.get() == 1)).await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void should_send_100_continue_only_once_the_request_is_admitted() throws Exception {
    try (RawHttp client = new RawHttp(edgePort)) {
      client.write("POST /upload HTTP/1.1\r\nHost: api.test\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
          + "Expect: 100-continue\r\n\r\n");
      // the client waits for it before sending its body (curl gives up waiting after 1 s; this one does not)
      RawHttp.Reply interim = client.read("\r\n\r\n", 10_000);
      assertThat(interim.text()).startsWith("HTTP/1.1 100 Continue\r\n");
      client.write("hello");
      RawHttp.Reply answer = client.read("}", 10_000);
      assertThat(answer.text()).startsWith("HTTP/1.1 200");
      JsonObject seen = new JsonObject(answer.text().substring(answer.text().indexOf("\r\n\r\n") + 4));
      assertThat(seen.getInteger("body_bytes")).isEqualTo(5);
      // the edge answered the expectation: the origin is not asked to
      assertThat(seen.getJsonObject("headers").fieldNames()).doesNotContain("expect");
    }
    try (RawHttp client = new RawHttp(edgePort)) {
      client.write("POST /upload HTTP/1.1\r\nHost: keyed.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
      // refused: the final status at once, never a 100, and the connection is not used again (the body may follow or not)
      RawHttp.Reply refused = client.read(null, 10_000);
      assertThat(refused.text()).startsWith("HTTP/1.1 401").doesNotContain("100 Continue").containsIgnoringCase("connection: close")
          .contains("missing_key");
      assertThat(refused.closedByServer()).isTrue();
    }
    assertThat(echo.requests()).isEqualTo(1);
  }

  @Test
  void should_end_a_streamed_answer_to_an_http_1_0_client_with_the_connection() throws Exception {
    try (RawHttp client = new RawHttp(edgePort)) {
      // HTTP/1.0 has no chunked coding: a body of unknown length ends where the connection does, keep-alive or not
      client.write("GET /sse HTTP/1.0\r\nHost: api.test\r\nConnection: keep-alive\r\n\r\n");
      RawHttp.Reply answer = client.read(null, 5000);
      assertThat(answer.closedByServer()).as("connection closed after the body: " + answer.text()).isTrue();
      assertThat(answer.text()).startsWith("HTTP/1.0 200").doesNotContainIgnoringCase("transfer-encoding")
          .endsWith("\r\n\r\ndata: event-0\n\ndata: event-1\n\ndata: event-2\n\n");
    }
    try (RawHttp client = new RawHttp(edgePort)) {
      // with a length it may stay open
      client.write("GET /x HTTP/1.0\r\nHost: api.test\r\nConnection: keep-alive\r\n\r\n");
      RawHttp.Reply answer = client.read("}", 5000);
      assertThat(answer.text()).startsWith("HTTP/1.0 200").containsIgnoringCase("content-length:");
    }
  }

  private List<String> linesWith(String text) {
    synchronized (accessLines) { // the appender appends under its own lock, from the edge's event loops
      return accessLines.list.stream().map(ILoggingEvent::getFormattedMessage).filter(line -> line.contains(text)).toList();
    }
  }
}
