package io.ceiba.testkit;

import io.ceiba.config.CliOverrides;
import io.ceiba.config.NodeConfig;
import io.ceiba.config.NodeConfigLoader;
import io.ceiba.node.CeibaNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Writes node configs the way an operator would and starts real {@link CeibaNode}s from them, each with
 * its own Vert.x (clustered on 127.0.0.1 when asked) in this JVM. The nodes written into one folder share one set
 * of cluster credentials ({@code cluster-credentials} there): the first node to start makes the CA, each node its
 * certificate, as a node's first start does for an operator.
 */
public final class TestNodes {

  public static final String TOKEN = "test-admin-token";

  private TestNodes() {
  }

  /** A node's config file plus the ports chosen for it. */
  public record Spec(Path dir, Path configFile, String nodeId, int controlPort, int edgePort, int clusterPort) {
  }

  /** A fresh, unique cluster name so concurrently running tests never join each other. */
  public static String clusterName() {
    return "ceiba-test-" + UUID.randomUUID();
  }

  /**
   * Writes {@code dir/<nodeId>.yaml}. {@code extraYaml} is appended verbatim; without a postgres section
   * of its own, the node gets a fresh database of {@link TestPostgres}.
   *
   * @param clusterPorts null for an unclustered node; else every member's cluster port (this node's first)
   */
  public static Spec write(Path dir, String nodeId, String clusterName, List<Integer> clusterPorts, Path registryFile, String extraYaml) {
    return write(dir, nodeId, clusterName, clusterPorts, registryFile, extraYaml, "");
  }

  /** As above; {@code edgeExtra} is added inside the flow mapping of {@code edge}, e.g. {@code , tls: {...}}. */
  public static Spec write(Path dir, String nodeId, String clusterName, List<Integer> clusterPorts, Path registryFile, String extraYaml,
      String edgeExtra) {
    return write(dir, nodeId, clusterName, clusterPorts, registryFile, extraYaml, edgeExtra, "");
  }

  /** As above; {@code controlExtra} is added inside the flow mapping of {@code control}, e.g. {@code , idle_timeout: 1s}. */
  public static Spec write(Path dir, String nodeId, String clusterName, List<Integer> clusterPorts, Path registryFile, String extraYaml,
      String edgeExtra, String controlExtra) {
    int control = Ports.free();
    int edge = Ports.free();
    int clusterPort = clusterPorts == null ? 0 : clusterPorts.get(0);
    StringBuilder yaml = new StringBuilder()
        .append("node: { id: ").append(nodeId).append(" }\n")
        .append(extraYaml != null && extraYaml.contains("roles:") ? "" : "roles: [control]\n")
        .append("edge: { host: 127.0.0.1, port: ").append(edge).append(edgeExtra.contains("access_log") ? "" : ", access_log: false").append(edgeExtra).append(" }\n")
        .append("control: { host: 127.0.0.1, port: ").append(control).append(", token: ").append(TOKEN).append(controlExtra).append(" }\n")
        .append("registry: { file: ").append(registryFile.toAbsolutePath()).append(", watch_interval: 100ms }\n")
        .append("data_dir: data-").append(nodeId).append('\n');
    if (clusterPorts != null) {
      yaml.append("cluster:\n  enabled: true\n  name: ").append(clusterName).append("\n  host: 127.0.0.1\n  port: ").append(clusterPort)
          .append("\n  members: [").append(clusterPorts.stream().map(p -> "\"127.0.0.1:" + p + "\"").collect(Collectors.joining(", "))).append("]\n")
          .append("  credentials: ").append(credentialsOf(dir)).append('\n');
    }
    if (extraYaml != null) {
      yaml.append(extraYaml);
    }
    if (extraYaml == null || !extraYaml.contains("shutdown:")) {
      // no load balancer in front of test nodes to wait for: stop at once (the drain has tests of its own)
      yaml.append("shutdown: { drain_delay: 0s }\n");
    }
    if (extraYaml == null || !extraYaml.contains("postgres:")) {
      yaml.append("postgres: { url: \"").append(TestPostgres.newDatabase()).append("\" }\n");
    }
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(nodeId + ".yaml");
      Files.writeString(file, yaml.toString());
      return new Spec(dir, file, nodeId, control, edge, clusterPort);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes the configs of a cluster of {@code count} nodes, {@code node1}…, on loopback: each with its own copy of
   * {@code registryYaml} ({@code dir/registry-<n>.yaml}) and {@code extraYaml} (roles, a shared database).
   */
  public static List<Spec> writeCluster(Path dir, int count, String registryYaml, String extraYaml) {
    String cluster = clusterName();
    List<Integer> ports = java.util.stream.IntStream.range(0, count).mapToObj(i -> Ports.free()).toList();
    List<Spec> specs = new java.util.ArrayList<>();
    for (int i = 0; i < count; i++) {
      List<Integer> own = new java.util.ArrayList<>(ports);
      own.add(0, own.remove(i));
      Path registry = Registries.write(dir.resolve("registry-" + (i + 1) + ".yaml"), registryYaml);
      specs.add(write(dir, "node" + (i + 1), cluster, own, registry, extraYaml));
    }
    return specs;
  }

  /**
   * Writes ({@link #writeCluster}) and starts {@code count} clustered nodes, one after the other, and adds them to
   * {@code specs} and {@code nodes} as they start (so a test stops those that did).
   */
  public static void startCluster(Path dir, int count, String registry, String extraYaml, List<Spec> specs, List<CeibaNode> nodes) {
    for (Spec spec : writeCluster(dir, count, registry, extraYaml)) {
      specs.add(spec);
      nodes.add(start(spec));
    }
  }

  /** The cluster credentials folder the nodes written into {@code dir} share. */
  public static Path credentialsOf(Path dir) {
    return dir.toAbsolutePath().resolve("cluster-credentials");
  }

  public static NodeConfig load(Spec spec) {
    return NodeConfigLoader.load(spec.configFile(), Map.of(), CliOverrides.NONE, spec.dir());
  }

  /** Starts the node and waits (from the test thread, not an event loop) until it is deployed. */
  public static CeibaNode start(Spec spec) {
    try {
      return CeibaNode.start(load(spec)).await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("node " + spec.nodeId() + " did not start: " + e.getMessage(), e);
    }
  }

  public static void stopQuietly(CeibaNode node) {
    if (node != null) {
      try {
        node.stop().await(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // the test has its verdict already; a slow stop must not hide it
      }
    }
  }
}
