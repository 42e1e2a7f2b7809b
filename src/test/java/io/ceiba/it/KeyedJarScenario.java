package io.ceiba.it;

import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the scenarios that kill parts of a jar node under keyed load share: a client Vert.x, an origin behind a keyed
 * service, free edge and control ports, and the node's config with an embedded PostgreSQL in {@code data/}.
 */
abstract class KeyedJarScenario {

  @TempDir
  Path dir;

  final Vertx client = Vertx.vertx();
  final int edgePort = Ports.free();
  final int controlPort = Ports.free();
  final Random random = new Random();
  Origin origin;

  @AfterEach
  void closeClientAndOrigin() throws Exception {
    if (origin != null) {
      origin.close();
    }
    client.close().await(10, TimeUnit.SECONDS);
  }

  /** Starts the origin and writes {@code node.yaml} for node {@code nodeId}; {@code extra} holds more config lines. */
  Path keyedNodeConfig(String nodeId, String extra) throws Exception {
    origin = Origin.start(client, "origin");
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.keyedService(origin));
    Path config = dir.resolve("node.yaml");
    Files.writeString(config, "node: { id: " + nodeId + " }\n"
        + extra
        + "edge: { host: 127.0.0.1, port: " + edgePort + ", access_log: false }\n"
        + "control: { host: 127.0.0.1, port: " + controlPort + ", token: " + TestNodes.TOKEN + " }\n"
        + "registry: { file: " + registry + " }\n"
        + "data_dir: data\n");
    return config;
  }
}
