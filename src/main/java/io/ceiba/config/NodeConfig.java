package io.ceiba.config;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Everything a node needs to start, read once from YAML, environment and flags, then immutable.
 * Defaults are the {@code DEFAULT_*} constants of each section record; {@code conf/node.yaml} in the
 * jar lists them for operators and a test keeps the two equal.
 *
 * @param nodeId     unique name of the node in the cluster (also the {@code node} metric label)
 * @param roles      roles this node plays
 * @param instances  verticle instances per role
 * @param configFile the file this was read from, or null for the built-in defaults
 * @param backup     scheduled backups (off unless {@code backup.dir} is set)
 * @param demoOrigin the built-in echo origin of the quick start (off unless {@code demo_origin.port} is set)
 */
public record NodeConfig(
    String nodeId,
    Set<Role> roles,
    Map<Role, Integer> instances,
    EdgeConfig edge,
    ControlConfig control,
    ClusterConfig cluster,
    RegistryConfig registry,
    PostgresConfig postgres,
    RedisConfig redis,
    ShutdownConfig shutdown,
    UsageConfig usage,
    Path dataDir,
    Path configFile,
    BackupConfig backup,
    DemoOriginConfig demoOrigin,
    AcmeConfig acme) {

  public static final String DEFAULT_NODE_ID = "node1";
  public static final String DEFAULT_DATA_DIR = "data";

  public NodeConfig {
    roles = Set.copyOf(roles);
    instances = Map.copyOf(instances);
  }

  public boolean has(Role role) {
    return roles.contains(role);
  }

  public int instancesOf(Role role) {
    return instances.getOrDefault(role, 1);
  }

  /** Whether any role of this node needs Postgres (auth, usage, control). */
  public boolean needsPostgres() {
    return roles.stream().anyMatch(Role::needsPostgres);
  }
}
