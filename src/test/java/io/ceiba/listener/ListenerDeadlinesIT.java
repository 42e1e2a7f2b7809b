package io.ceiba.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The edge and control listeners against clients that hold connections: a silent one on the control port, a
 * slowloris (a header byte every 100 ms: never idle, never done) on both, and one connection too many on both.
 * Raw TCP clients, a real node (roles edge; the control server runs on every node) and a real origin.
 */
class ListenerDeadlinesIT {

  private static final String REQUEST = "GET / HTTP/1.1\r\nHost: api.test\r\n\r\n";

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private final NetClient net = vertx.createNetClient();
  private final io.vertx.core.http.HttpClient scraper = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false));
  private final List<Conn> conns = java.util.Collections.synchronizedList(new ArrayList<>());
  private Origin origin;
  private CeibaNode node;
  private TestNodes.Spec spec;

  /** A raw client connection: what came back, and when the server closed it. */
  private static final class Conn {
    final NetSocket socket;
    final long openedNanos = System.nanoTime();
    final StringBuffer received = new StringBuffer();
    volatile long closedNanos;

    Conn(NetSocket socket) {
      this.socket = socket;
      socket.handler(b -> received.append(b.toString(StandardCharsets.ISO_8859_1)));
      socket.closeHandler(v -> closedNanos = System.nanoTime());
    }

    boolean closed() {
      return closedNanos != 0;
    }

    Duration openFor() {
      return Duration.ofNanos(closedNanos - openedNanos);
    }

    void send(String text) {
      socket.write(text);
    }
  }

  @BeforeEach
  void origin() throws Exception {
    origin = Origin.start(vertx, "a");
  }

  @AfterEach
  void tearDown() throws Exception {
    conns.forEach(c -> c.socket.close());
    TestNodes.stopQuietly(node);
    origin.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void startNode(String edgeExtra, String controlExtra) {
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n  api:\n    hosts: [api.test]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    health: { enabled: false }\n");
    // two edge instances: the cap is the node's, not an instance's
    spec = TestNodes.write(dir, "node1", null, null, registry, "roles: [edge]\ninstances: { edge: 2 }\n", edgeExtra, controlExtra);
    node = TestNodes.start(spec);
  }

  private Conn open(int port) throws Exception {
    Conn conn = net.connect(port, "127.0.0.1").map(Conn::new).await(10, TimeUnit.SECONDS);
    conns.add(conn);
    return conn;
  }

  private void await(Duration limit, String what, java.util.function.BooleanSupplier condition) throws Exception {
    Eventually.until(vertx, limit, what, () -> Future.succeededFuture(condition.getAsBoolean()))
        .await(limit.toMillis() + 5000, TimeUnit.MILLISECONDS);
  }

  /** A connection that has been served: it sent a request and got a whole 200 back, and stays open (keep-alive). */
  private Conn served(int port, String request) throws Exception {
    Conn conn = open(port);
    conn.send(request);
    await(Duration.ofSeconds(10), "a 200 on port " + port, () -> conn.received.toString().startsWith("HTTP/1.1 200"));
    return conn;
  }

  /** A meter of this node's /metrics, scraped on a connection of its own that is closed after the answer. */
  private Future<Double> scrape(String series) {
    return scraper.request(HttpMethod.GET, spec.controlPort(), "127.0.0.1", "/metrics").compose(r -> r.send()).compose(r -> r.body())
        .map(body -> {
          Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(body.toString());
          return m.find() ? Double.parseDouble(m.group(1)) : 0;
        });
  }

  private double metric(String series) throws Exception {
    return scrape(series).await(10, TimeUnit.SECONDS);
  }

  /** True when a new connection gets a 200 within 2 s, false when it is closed first. */
  private Future<Boolean> servedSoon(int port, String request) {
    return net.connect(port, "127.0.0.1").map(Conn::new).compose(conn -> {
      conns.add(conn);
      conn.send(request);
      return Eventually.until(vertx, Duration.ofSeconds(2), "an answer or a close", () -> Future.succeededFuture(
          conn.closed() || conn.received.toString().startsWith("HTTP/1.1 200"))).map(d -> !conn.closed())
          .andThen(served -> conn.socket.close());
    });
  }

  private static String series(String name, String listener) {
    return name + "{listener=\"" + listener + "\",node=\"node1\"}";
  }

  @Test
  void should_close_an_idle_control_connection_within_the_idle_timeout() throws Exception {
    startNode("", ", idle_timeout: 1s");
    Conn silent = open(spec.controlPort());
    Conn used = served(spec.controlPort(), "GET /health HTTP/1.1\r\nHost: ops\r\n\r\n");

    // closed after 1.35-3.6 s on a machine at load 20-30 (Netty's idle check runs on a busy event loop)
    await(Duration.ofSeconds(10), "both idle control connections closed", () -> silent.closed() && used.closed());
    assertThat(silent.openFor()).isGreaterThan(Duration.ofMillis(900));
    assertThat(silent.received.toString()).isEmpty();
    System.out.println("control: silent connection closed after " + silent.openFor().toMillis() + " ms (idle_timeout 1s)");
    // and a client that keeps talking is served for longer than that
    assertThat(served(spec.controlPort(), "GET /health HTTP/1.1\r\nHost: ops\r\n\r\n").closed()).isFalse();
  }

  @Test
  void should_cut_a_slowloris_on_the_edge_and_on_the_control_listener_after_the_header_timeout() throws Exception {
    startNode(", header_timeout: 1s", ", header_timeout: 1s, idle_timeout: 30s");
    for (String listener : List.of("edge", "control")) {
      int port = listener.equals("edge") ? spec.edgePort() : spec.controlPort();
      Conn slow = open(port);
      slow.send("GET / HTTP/1.1\r\nHost: api.test\r\nX-Slow: ");
      int[] sent = {0};
      long drip = vertx.setPeriodic(100, id -> {
        // bounded: 20 s of drip at most, far below the 16 KiB head limit
        if (slow.closed() || ++sent[0] > 200) {
          vertx.cancelTimer(id);
        } else {
          slow.send("a");
        }
      });
      try {
        await(Duration.ofSeconds(10), listener + ": the slowloris cut", slow::closed);
      } finally {
        vertx.cancelTimer(drip);
      }
      assertThat(slow.openFor()).as(listener).isBetween(Duration.ofMillis(900), Duration.ofSeconds(6));
      assertThat(sent[0]).as(listener + ": bytes dripped before the cut").isGreaterThan(5);
      assertThat(slow.received.toString()).as(listener).isEmpty();
      System.out.println(listener + ": slowloris cut after " + slow.openFor().toMillis() + " ms (header_timeout 1s)");
    }
    assertThat(metric(series("ceiba_listener_header_timeouts_total", "edge"))).isEqualTo(1.0);
    assertThat(metric(series("ceiba_listener_header_timeouts_total", "control"))).isEqualTo(1.0);

    // a head in two pieces within the deadline is served, and the kept-alive connection is not cut while it
    // waits for its next request: the deadline runs from a head's first byte, not from the connection's start
    Conn split = open(spec.edgePort());
    split.send(REQUEST.substring(0, 20));
    long t0 = System.nanoTime();
    await(Duration.ofSeconds(5), "300 ms passed", () -> System.nanoTime() - t0 > 300_000_000L);
    split.send(REQUEST.substring(20));
    await(Duration.ofSeconds(10), "the split head answered", () -> split.received.toString().startsWith("HTTP/1.1 200"));
    long t1 = System.nanoTime();
    await(Duration.ofSeconds(5), "twice the header timeout passed", () -> System.nanoTime() - t1 > 2_000_000_000L);
    assertThat(split.closed()).isFalse();
    split.received.setLength(0);
    split.send(REQUEST);
    await(Duration.ofSeconds(10), "the second request answered", () -> split.received.toString().startsWith("HTTP/1.1 200"));
  }

  @Test
  void should_refuse_the_connection_over_the_cap_on_both_listeners_and_count_it() throws Exception {
    startNode(", max_connections: 3", ", max_connections: 2");
    for (String listener : List.of("edge", "control")) {
      boolean edge = listener.equals("edge");
      int port = edge ? spec.edgePort() : spec.controlPort();
      String request = edge ? REQUEST : "GET /health HTTP/1.1\r\nHost: ops\r\n\r\n";
      List<Conn> held = new ArrayList<>();
      for (int i = 0; i < (edge ? 3 : 2); i++) {
        held.add(served(port, request));
      }
      Conn over = open(port);
      over.send(request);
      await(Duration.ofSeconds(5), listener + ": the connection over the cap closed", over::closed);
      assertThat(over.received.toString()).as(listener + ": nothing served over the cap").isEmpty();
      assertThat(held).as(listener + ": the admitted ones stay").noneMatch(Conn::closed);

      // one goes, and there is room for one again
      held.get(0).socket.close();
      Eventually.until(vertx, Duration.ofSeconds(10), listener + ": a new connection served once one closed",
          () -> servedSoon(port, request)).await(15, TimeUnit.SECONDS);
      held.forEach(c -> c.socket.close());
    }
    // the metrics scrape needs a control connection of its own: wait for the held ones to be gone
    Eventually.until(vertx, Duration.ofSeconds(10), "control connections released",
        () -> scrape(series("ceiba_listener_connections", "control")).map(open -> open == 1.0)).await(15, TimeUnit.SECONDS);
    assertThat(metric(series("ceiba_listener_connections_refused_total", "edge"))).isGreaterThanOrEqualTo(1.0);
    assertThat(metric(series("ceiba_listener_connections_refused_total", "control"))).isGreaterThanOrEqualTo(1.0);
  }
}
