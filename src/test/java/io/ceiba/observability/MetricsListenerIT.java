package io.ceiba.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.cli.VersionInfo;
import io.ceiba.config.CliOverrides;
import io.ceiba.config.NodeConfigLoader;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control node with {@code control.metrics_port}: Prometheus gets the node's meters (JVM, process, build info
 * included) and /health, /ready from the metrics listener, which never serves the /v1 admin API.
 */
class MetricsListenerIT {

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private CeibaNode node;

  @AfterEach
  void tearDown() throws Exception {
    TestNodes.stopQuietly(node);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_serve_metrics_health_and_ready_on_the_metrics_port_and_never_the_admin_api() throws Exception {
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp: {}\n");
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registry, null);
    int metricsPort = Ports.free();
    // the environment route an operator of a container would take
    node = CeibaNode.start(NodeConfigLoader.load(spec.configFile(), Map.of("CEIBA_METRICS_PORT", String.valueOf(metricsPort)),
        CliOverrides.NONE, spec.dir())).await(60, TimeUnit.SECONDS);
    ControlClient control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    ControlClient metricsOnly = new ControlClient(vertx, metricsPort, TestNodes.TOKEN);

    String metrics = metricsOnly.get("/metrics").await(15, TimeUnit.SECONDS).bodyAsString();
    assertThat(metrics)
        .contains("ceiba_build_info{node=\"node1\",version=\"" + VersionInfo.version() + "\"} 1")
        .contains("jvm_memory_used_bytes{area=\"heap\"")
        .contains("jvm_threads_live_threads{node=\"node1\"}")
        .contains("jvm_classes_loaded_classes{node=\"node1\"}")
        .contains("process_cpu_usage{node=\"node1\"}")
        .contains("process_uptime_seconds{node=\"node1\"}")
        .contains("process_files_open_files{node=\"node1\"}")
        .contains("ceiba_registry_version{node=\"node1\"}");
    assertThat(metricsOnly.get("/health").await(15, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    Eventually.until(vertx, Duration.ofSeconds(20), "/ready answers 200 on the metrics port",
        () -> metricsOnly.get("/ready").map(r -> r.statusCode() == 200)).await(30, TimeUnit.SECONDS);

    // the admin API answers on the control port only
    assertThat(control.get("/v1/registry").await(15, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    var refused = metricsOnly.get("/v1/registry").await(15, TimeUnit.SECONDS);
    assertThat(refused.statusCode()).isEqualTo(404);
    assertThat(refused.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("not_found");
  }
}
