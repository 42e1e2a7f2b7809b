package io.ceiba.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.EdgeClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Ports;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fat jar as operators run it: a fresh folder, {@code java -jar}, SIGTERM. */
class JarIT {

  @TempDir
  Path dir;

  private final Vertx client = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    client.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_print_the_version_and_validate_files_from_the_command_line() throws Exception {
    JarProcess.Result version = JarProcess.run(dir, "--version");
    assertThat(version.exit()).isZero();
    assertThat(version.output()).startsWith("ceiba ");

    Files.writeString(dir.resolve("bad.yaml"), "version: 1\nhttp:\n  a:\n    hosts: [a.test]\n    backends: []\n    lb: fastest\n");
    JarProcess.Result invalid = JarProcess.run(dir, "validate", "--registry", "bad.yaml");
    assertThat(invalid.exit()).isEqualTo(1);
    assertThat(invalid.output()).contains("bad.yaml:6: http.a.lb").doesNotContain("Exception").doesNotContain("\tat ");
  }

  private static long reloads(JarProcess node) throws java.io.IOException {
    return node.output().lines().filter(l -> l.contains("SIGHUP, reloading")).count();
  }

  @Test
  void should_come_up_ready_on_the_embedded_default_reload_on_sighup_and_exit_0_on_sigterm() throws Exception {
    // a fresh folder holding only node-configs/, as after a clone
    Path configs = Files.createDirectories(dir.resolve("node-configs"));
    // the example registry as shipped, its demo origin moved off 9001 so that a busy port cannot fail the test
    int demoOrigin = Ports.free();
    Files.writeString(configs.resolve("registry.yaml"), Files.readString(Path.of("node-configs/registry.yaml"))
        .replace("http://127.0.0.1:9001", "http://127.0.0.1:" + demoOrigin));
    int control = Ports.free();
    int edge = Ports.free();
    Map<String, String> env = Map.of("CEIBA_EDGE_PORT", String.valueOf(edge), "CEIBA_CONTROL_PORT", String.valueOf(control),
        "CEIBA_DEMO_ORIGIN_PORT", String.valueOf(demoOrigin));
    try (JarProcess node = JarProcess.start(dir, env)) {
      ControlClient ops = new ControlClient(client, control, null);
      // a reload asked for while the node starts (its signal handler is in place once it logs "starting") does not
      // end it, as the JVM's default for SIGHUP would: it is carried out once the node runs
      Eventually.until(client, Duration.ofSeconds(30), "the node logs its start",
          () -> client.executeBlocking(() -> node.output().contains("node node1 starting"))).await(35, TimeUnit.SECONDS);
      node.hangUp();
      Duration toReady = Eventually.until(client, Duration.ofSeconds(90), "node ready",
          () -> ops.get("/ready").map(r -> r.statusCode() == 200).otherwise(false)).await(100, TimeUnit.SECONDS);
      System.out.printf("embedded default: ready %d ms after java -jar%n", toReady.toMillis());
      assertThat(ops.get("/health").await(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(ops.get("/metrics").await(5, TimeUnit.SECONDS).bodyAsString()).contains("ceiba_registry_version{node=\"node1\"} 1.0");
      assertThat(dir.resolve("data/postgres")).isDirectory();
      assertThat(dir.resolve("data/admin-token")).isRegularFile();

      // the README's first request through the edge: the example registry's demo service, the node's demo origin
      EdgeClient edgeClient = new EdgeClient(edge);
      Eventually.until(client, Duration.ofSeconds(20), "the demo service answers 200 through the edge",
          () -> client.executeBlocking(() -> edgeClient.get("demo.localhost", "/healthz", null).statusCode() == 200))
          .await(25, TimeUnit.SECONDS);
      HttpResponse<String> demo = edgeClient.get("demo.localhost", "/hello?from=readme", null);
      assertThat(demo.statusCode()).as(demo.body()).isEqualTo(200);
      assertThat(demo.body()).contains("\"origin\" : \"ceiba demo origin\"").contains("\"path\" : \"/hello\"")
          .contains("\"query\" : \"from=readme\"");

      assertThat(reloads(node)).as("the reload asked for while starting, once started").isEqualTo(1);
      // SIGHUP reloads (systemd's ExecReload) and the node keeps running; the JVM's default would have exited
      node.hangUp();
      Eventually.until(client, Duration.ofSeconds(10), "the reload logged",
          () -> client.executeBlocking(() -> reloads(node) == 2)).await(15, TimeUnit.SECONDS);
      assertThat(ops.get("/ready").await(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(edgeClient.get("demo.localhost", "/after-reload", null).statusCode()).isEqualTo(200);

      int exit = node.terminate(60);
      assertThat(exit).as(node.output()).isZero();
      assertThat(node.output()).contains("node node1 stopped");
    }
  }
}
