package io.ceiba.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ceiba.Main;
import io.ceiba.cluster.ClusterCredentials;
import io.ceiba.cluster.ClusterPki;
import io.ceiba.config.ClusterConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ceiba cluster init}: the files it makes, and that a rotation keeps every pair of nodes able to talk at each
 * step of a rolling restart (real TLS handshakes between the credentials of each step).
 */
class ClusterCommandTest {

  @TempDir
  Path dir;

  private String run(String... args) {
    StringWriter out = new StringWriter();
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(out));
    int code = cli.execute(args);
    assertThat(code).as(out.toString()).isZero();
    return out.toString();
  }

  private Path copyOf(Path from, String name) throws IOException {
    Path to = dir.resolve(name);
    Files.createDirectories(to);
    try (var files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    return to;
  }

  private static SSLContext tls(Path credentials, String node) {
    ClusterConfig cluster = new ClusterConfig(true, "c", "127.0.0.1", "127.0.0.1", 0, 0, List.of(), credentials, false, ClusterConfig.DEFAULT_JOIN_TIMEOUT);
    return ClusterCredentials.prepare(cluster, node, credentials).sslContext();
  }

  /** A mutual-TLS handshake with one byte each way; fails when either side refuses the other. */
  private static void handshake(SSLContext server, SSLContext client) throws Exception {
    try (SSLServerSocket listener = (SSLServerSocket) server.getServerSocketFactory().createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listener.setNeedClientAuth(true);
      CompletableFuture<Integer> served = CompletableFuture.supplyAsync(() -> {
        try (SSLSocket s = (SSLSocket) listener.accept()) {
          s.setSoTimeout(10_000);
          int b = s.getInputStream().read();
          s.getOutputStream().write(b);
          s.getOutputStream().flush();
          return b;
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      });
      try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        out.write(42);
        out.flush();
        InputStream in = s.getInputStream();
        assertThat(in.read()).isEqualTo(42);
      }
      assertThat(served.get(10, TimeUnit.SECONDS)).isEqualTo(42);
    }
  }

  @Test
  void should_make_a_ca_node_certificates_and_a_relay_key_when_run_on_an_empty_folder() {
    Path creds = dir.resolve("creds");
    String first = run("cluster", "init", "--dir", creds.toString(), "--name", "prod", "--nodes", "node1,node2");
    assertThat(first).contains("made cluster CA", "made relay key", "certificate of node node1", "certificate of node node2");
    assertThat(creds.resolve("ca.pem")).exists();
    assertThat(creds.resolve("ca.key")).exists();
    assertThat(creds.resolve("cluster.key")).exists();
    assertThat(ClusterPki.readCertificates(creds.resolve("node1.pem")).get(0).getSubjectX500Principal().getName()).contains("CN=node1");
    // again: nothing to make; a third node is added with the same CA
    assertThat(run("cluster", "init", "--dir", creds.toString(), "--nodes", "node1")).contains("nothing made");
    assertThat(run("cluster", "init", "--dir", creds.toString(), "--nodes", "node3")).contains("certificate of node node3")
        .contains("node1, node2, node3");
  }

  @Test
  void should_keep_every_pair_of_nodes_talking_at_each_step_of_a_rotation() throws Exception {
    Path creds = dir.resolve("creds");
    run("cluster", "init", "--dir", creds.toString(), "--nodes", "node1,node2");
    Path before = copyOf(creds, "before");
    String oldToken = relayToken(before);

    run("cluster", "init", "--dir", creds.toString(), "--rotate");
    Path rotated = copyOf(creds, "rotated");
    assertThat(ClusterPki.readCertificates(rotated.resolve("ca.pem"))).hasSize(2);
    // a restarted node (rotated files) and one not restarted yet accept each other, both ways
    handshake(tls(before, "node1"), tls(rotated, "node2"));
    handshake(tls(rotated, "node2"), tls(before, "node1"));
    // the relay token does not change yet: nodes not restarted accept only it
    assertThat(relayToken(rotated)).isEqualTo(oldToken);

    run("cluster", "init", "--dir", creds.toString(), "--finish-rotation");
    Path finished = copyOf(creds, "finished");
    assertThat(ClusterPki.readCertificates(finished.resolve("ca.pem"))).hasSize(1);
    handshake(tls(rotated, "node1"), tls(finished, "node2"));
    handshake(tls(finished, "node2"), tls(rotated, "node1"));
    handshake(tls(finished, "node1"), tls(finished, "node2"));
    assertThat(relayToken(finished)).isNotEqualTo(oldToken);
    assertThat(relayTokens(finished)).contains(oldToken);
    assertThat(relayTokens(rotated)).contains(relayToken(finished));

    // a node of the finished cluster refuses one that still holds only the old credentials
    assertThatThrownBy(() -> handshake(tls(finished, "node2"), tls(before, "node1"))).isNotNull();
  }

  @Test
  void should_refuse_a_node_of_another_cluster() {
    Path ours = dir.resolve("ours");
    Path theirs = dir.resolve("theirs");
    run("cluster", "init", "--dir", ours.toString(), "--nodes", "node1");
    run("cluster", "init", "--dir", theirs.toString(), "--nodes", "node1");
    assertThatThrownBy(() -> handshake(tls(ours, "node1"), tls(theirs, "node1"))).isNotNull();
  }

  private static List<String> relayTokens(Path credentials) {
    ClusterConfig cluster = new ClusterConfig(true, "c", "127.0.0.1", "127.0.0.1", 0, 0, List.of(), credentials, false, ClusterConfig.DEFAULT_JOIN_TIMEOUT);
    return ClusterCredentials.prepare(cluster, "node1", credentials).relayTokens();
  }

  private static String relayToken(Path credentials) {
    return relayTokens(credentials).get(0);
  }
}
