package io.ceiba.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Vert.x cluster membership over Infinispan/JGroups with a TCP member list (no multicast), authenticated and
 * encrypted with the cluster's credentials (mutual TLS on the membership transport and the event bus).
 *
 * @param name    cluster name; nodes with another name never join (keeps test clusters and fleets apart)
 * @param host       interface to bind (Hazelcast and the event bus); {@code 0.0.0.0} binds all
 * @param publicHost address peers use to reach this node; defaults to {@code host}, or 127.0.0.1 when host is 0.0.0.0
 * @param busPort    port of the clustered event bus; 0 picks a free one (open it in firewalls when fixed)
 * @param members    {@code host:port} of the members to join, this node included or not
 * @param credentials folder with the cluster's CA ({@code ca.pem}), this node's certificate and key
 *                    ({@code <node-id>.pem}, {@code <node-id>.key}) and the relay key ({@code cluster.key});
 *                    null: {@code <data_dir>/cluster-credentials}. Made on first start when absent (see
 *                    {@code ceiba cluster init})
 * @param insecure    true: no credentials, no TLS; anyone who reaches the ports can join (logged at start)
 * @param joinTimeout how long a starting node waits for a configured member to answer before it forms a cluster of
 *                    its own (which merges with the others once they are heard). Only a node that finds nobody waits
 *                    it all: one whose peers answer goes on at once
 */
public record ClusterConfig(boolean enabled, String name, String host, String publicHost, int port, int busPort, List<String> members,
    Path credentials, boolean insecure, Duration joinTimeout) {

  public static final boolean DEFAULT_ENABLED = false;
  public static final String DEFAULT_NAME = "ceiba";
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 5701;
  public static final int DEFAULT_BUS_PORT = 0;
  public static final String DEFAULT_CREDENTIALS_DIR = "cluster-credentials";
  public static final boolean DEFAULT_INSECURE = false;
  /**
   * A restarted node on a loaded host (a cold JVM's first TLS handshakes, peers busy serving) took more than 3 s to
   * hear its peers, formed a cluster alone and was ready, and so served without them, until the partitions merged
   * (RollingRestartIT: 503 no_healthy_backend). 10 s, with discovery sent three times within it, rides that out.
   */
  public static final Duration DEFAULT_JOIN_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration MAX_JOIN_TIMEOUT = Duration.ofMinutes(2);

  public ClusterConfig {
    members = List.copyOf(members);
  }

  /** Where this node's cluster credentials are: {@link #credentials} or the default under {@code dataDir}. */
  public Path credentialsDir(Path dataDir) {
    return credentials != null ? credentials : dataDir.resolve(DEFAULT_CREDENTIALS_DIR);
  }
}
