package io.ceiba.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.LogWatch;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestCertificates;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TlsProbe;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certificates renew without a restart (issue 19 item 2): new PEM files are picked up under a handshake loop with 0
 * failed handshakes, a connection opened before keeps working, and a bad pair (the key of another certificate, an
 * expired certificate) is refused whole, logged with its file, while the old one keeps serving.
 */
class CertificateReloadIT {

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private CeibaNode node;
  private Origin origin;
  private int tlsPort;
  private ControlClient control;
  private Path liveCert;
  private Path liveKey;
  private Path[] first;

  @BeforeEach
  void setUp() throws Exception {
    origin = Origin.start(vertx, "a");
    first = TestCertificates.selfSigned(dir, "api.test", "first", "-validity", "2");
    liveCert = dir.resolve("live.pem");
    liveKey = dir.resolve("live.key");
    Files.copy(first[0], liveCert);
    Files.copy(first[1], liveKey);
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n  api:\n    hosts: [api.test]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    health: { enabled: false }\n");
    tlsPort = Ports.free();
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registry, "roles: [edge, control]\ninstances: { edge: 2 }\n",
        ", tls: { port: " + tlsPort + ", watch_interval: 200ms, certificates: [{ cert: " + liveCert + ", key: " + liveKey + " }] }");
    node = TestNodes.start(spec);
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
  }

  @AfterEach
  void tearDown() throws Exception {
    TestNodes.stopQuietly(node);
    origin.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Replaces the live files the way a renewal tool should: each written beside and renamed over. */
  private void install(Path cert, Path key) throws Exception {
    Path certTmp = dir.resolve("live.pem.tmp");
    Path keyTmp = dir.resolve("live.key.tmp");
    Files.copy(cert, certTmp, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(key, keyTmp, StandardCopyOption.REPLACE_EXISTING);
    Files.move(keyTmp, liveKey, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Files.move(certTmp, liveCert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }


  private BigInteger served() throws Exception {
    TlsProbe.Answer answer = TlsProbe.get(tlsPort, "api.test", "/serial");
    assertThat(answer.ok()).as(answer.reply()).isTrue();
    return answer.certificate().getSerialNumber();
  }

  private Future<Boolean> now(boolean condition) {
    return Future.succeededFuture(condition);
  }

  @Test
  void should_swap_a_renewed_certificate_under_load_with_no_failed_handshake() throws Exception {
    assertThat(served()).isEqualTo(TestCertificates.serialOf(first[0]));
    Path[] second = TestCertificates.selfSigned(dir, "api.test", "second", "-validity", "2");
    BigInteger secondSerial = TestCertificates.serialOf(second[0]);
    SSLSocket before = TlsProbe.connect(tlsPort, "api.test");
    assertThat(TlsProbe.exchange(before, "api.test", "/kept", false)).startsWith("HTTP/1.1 200");

    // a bounded handshake loop: every connection new, every answer checked
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger handshakes = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    AtomicReference<String> firstFailure = new AtomicReference<>();
    AtomicReference<BigInteger> lastSeen = new AtomicReference<>();
    CompletableFuture<Void> loop = CompletableFuture.runAsync(() -> {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!stop.get() && System.nanoTime() < deadline && handshakes.get() < 5_000) {
        try {
          TlsProbe.Answer answer = TlsProbe.get(tlsPort, "api.test", "/loop");
          handshakes.incrementAndGet();
          lastSeen.set(answer.certificate().getSerialNumber());
          if (!answer.ok()) {
            failures.incrementAndGet();
            firstFailure.compareAndSet(null, answer.reply());
          }
        } catch (Exception e) {
          failures.incrementAndGet();
          firstFailure.compareAndSet(null, e.toString());
        }
      }
    });
    Eventually.until(vertx, Duration.ofSeconds(10), "a few handshakes with the first certificate", () -> now(handshakes.get() >= 20))
        .await(15, TimeUnit.SECONDS);
    install(second[0], second[1]);
    Duration tookOver = Eventually.until(vertx, Duration.ofSeconds(15), "handshakes show the renewed certificate",
        () -> now(secondSerial.equals(lastSeen.get()))).await(20, TimeUnit.SECONDS);
    int atSwap = handshakes.get();
    Eventually.until(vertx, Duration.ofSeconds(15), "more handshakes after the swap", () -> now(handshakes.get() >= atSwap + 20))
        .await(20, TimeUnit.SECONDS);
    stop.set(true);
    loop.get(30, TimeUnit.SECONDS);
    System.out.printf("certificate reload: %d handshakes, %d failed; the renewed certificate served %d ms after the files changed%n",
        handshakes.get(), failures.get(), tookOver.toMillis());
    assertThat(failures.get()).as("failed handshakes or requests; first: %s", firstFailure.get()).isZero();
    // every new connection now, on either edge instance, gets the renewed certificate
    for (int i = 0; i < 10; i++) {
      assertThat(served()).isEqualTo(secondSerial);
    }

    // the connection opened before the swap was not closed by it
    assertThat(TlsProbe.exchange(before, "api.test", "/still", true)).startsWith("HTTP/1.1 200");
    before.close();
    assertThat(control.get("/metrics").await(5, TimeUnit.SECONDS).bodyAsString())
        .containsPattern("ceiba_tls_certificate_expiry_seconds\\{name=\"api.test\",node=\"node1\"\\} [0-9.E]+");
  }

  @Test
  void should_refuse_a_bad_pair_whole_and_keep_serving_the_old_one() throws Exception {
    BigInteger firstSerial = TestCertificates.serialOf(first[0]);
    Path[] other = TestCertificates.selfSigned(dir, "api.test", "other", "-validity", "2");
    Path[] expired = TestCertificates.selfSigned(dir, "api.test", "expired", "-startdate", "-10d", "-validity", "1");
    try (LogWatch log = LogWatch.of(CertificateWatcher.class.getName())) {
      install(first[0], other[1]); // the key of another certificate
      Eventually.until(vertx, Duration.ofSeconds(10), "the mismatched pair refused in the log, with its file",
          () -> now(log.events().stream().map(e -> e.getFormattedMessage()).anyMatch(m -> m.contains("not reloaded")
              && m.contains(liveCert.toString()) && m.contains("not the certificate's")))).await(15, TimeUnit.SECONDS);
      assertThat(served()).isEqualTo(firstSerial);

      install(expired[0], expired[1]);
      Eventually.until(vertx, Duration.ofSeconds(10), "the expired certificate refused in the log",
          () -> now(log.events().stream().anyMatch(e -> e.getFormattedMessage().contains("expired at")))).await(15, TimeUnit.SECONDS);
      assertThat(served()).isEqualTo(firstSerial);

      // a good pair after the bad ones is taken
      install(other[0], other[1]);
      BigInteger otherSerial = TestCertificates.serialOf(other[0]);
      Eventually.until(vertx, Duration.ofSeconds(10), "the good pair served", () -> vertx.executeBlocking(() -> otherSerial.equals(served())))
          .await(15, TimeUnit.SECONDS);
    }
  }
}
