package io.ceiba.edge.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.cluster.RelayKeys;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The receiving end of a TCP relay (issue 17 item 7), spoken to byte by byte as another node's edge would: one
 * clustered node (so it holds the cluster's relay token) with a TCP service whose backends are on its own loopback,
 * an echo server and a closed port. The relay across hosts is {@code CrossHostBackendsIT}'s.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TcpRelayIT {

  private final Vertx vertx = Vertx.vertx();
  private NetServer echo;
  private int deadPort;
  private CeibaNode node;
  private TestNodes.Spec spec;
  private String token;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    echo = vertx.createNetServer().connectHandler(socket -> socket.handler(socket::write)).listen(0, "127.0.0.1")
        .await(10, TimeUnit.SECONDS);
    deadPort = Ports.free();
    String cluster = TestNodes.clusterName();
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\ntcp:\n  echo:\n    listen: " + Ports.free()
        + "\n    backends:\n"
        + "      - { address: \"127.0.0.1:" + echo.actualPort() + "\", node: node1 }\n"
        + "      - { address: \"127.0.0.1:" + deadPort + "\", node: node1 }\n"
        + "    health: { interval: 1s, timeout: 500ms }\n");
    // the edge cuts idle client connections after 1 s: a relay, once upgraded, must not be cut
    spec = TestNodes.write(dir, "node1", cluster, List.of(Ports.free()), registry, "roles: [edge, health, control]\n",
        ", idle_timeout: 1s");
    node = TestNodes.start(spec);
    token = RelayKeys.tokens(TestNodes.credentialsOf(dir).resolve("cluster.key"), cluster).get(0);
  }

  @AfterAll
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** What came back on a raw connection to the edge after sending {@code head}, and the connection. */
  private record Answer(String text, NetSocket socket) {
    String head() {
      int end = text.indexOf("\r\n\r\n");
      return end < 0 ? text : text.substring(0, end);
    }
  }

  private Answer send(String head) throws Exception {
    NetSocket socket = vertx.createNetClient().connect(spec.edgePort(), "127.0.0.1").await(10, TimeUnit.SECONDS);
    Buffer got = Buffer.buffer();
    Promise<Void> headSeen = Promise.promise();
    socket.handler(chunk -> {
      got.appendBuffer(chunk);
      if (got.toString().contains("\r\n\r\n")) {
        headSeen.tryComplete();
      }
    });
    socket.write(head);
    headSeen.future().await(10, TimeUnit.SECONDS);
    return new Answer(got.toString(), socket);
  }

  private String relayHead(String presentedToken, String backend) {
    return "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: ceiba-tcp\r\n"
        + "X-Ceiba-Peer: " + presentedToken + "\r\nX-Ceiba-Service: echo\r\nX-Ceiba-Backend: " + backend + "\r\n\r\n";
  }

  @Test
  void should_pipe_an_authenticated_relay_to_the_named_backend_and_keep_it_open_past_the_idle_timeout() throws Exception {
    Answer relay = send(relayHead(token, "127.0.0.1:" + echo.actualPort()));
    assertThat(relay.head()).startsWith("HTTP/1.1 101");
    NetSocket socket = relay.socket();
    Buffer echoed = Buffer.buffer();
    Promise<Void> closed = Promise.promise();
    socket.closeHandler(v -> closed.tryComplete());
    socket.handler(echoed::appendBuffer);
    socket.write("*1\r\n$4\r\nPING\r\n");
    until(() -> echoed.toString().equals("*1\r\n$4\r\nPING\r\n"), "the echo through the relay");

    // quiet for 2.5 s, beyond the edge's 1 s idle timeout: a relayed TCP session is not an idle HTTP client
    Promise<Void> quiet = Promise.promise();
    vertx.setTimer(2500, t -> quiet.complete());
    quiet.future().await(10, TimeUnit.SECONDS);
    assertThat(closed.future().isComplete()).as("relay closed while idle").isFalse();
    socket.write("again");
    until(() -> echoed.toString().endsWith("again"), "the echo after a quiet spell");
    socket.close();
  }

  @Test
  void should_refuse_a_backend_it_does_not_have_or_cannot_reach_with_a_relay_failure() throws Exception {
    Answer unknown = send(relayHead(token, "127.0.0.1:1"));
    assertThat(unknown.head()).startsWith("HTTP/1.1 502").containsIgnoringCase("x-ceiba-relay-failed: unknown-backend");
    Answer refused = send(relayHead(token, "127.0.0.1:" + deadPort));
    assertThat(refused.head()).startsWith("HTTP/1.1 502").containsIgnoringCase("x-ceiba-relay-failed: connect");
  }

  @Test
  void should_treat_an_upgrade_without_the_clusters_token_as_an_ordinary_request() throws Exception {
    Answer forged = send(relayHead("guess", "127.0.0.1:" + echo.actualPort()));
    // no service has host 127.0.0.1: routed as any client request, never a tunnel
    assertThat(forged.head()).startsWith("HTTP/1.1 404");
    forged.socket().close();
  }

  private void until(java.util.function.BooleanSupplier condition, String what) throws Exception {
    io.ceiba.testkit.Eventually.until(vertx, java.time.Duration.ofSeconds(5), what,
        () -> Future.succeededFuture(condition.getAsBoolean())).await(10, TimeUnit.SECONDS);
  }
}
