package io.ceiba.config;

import java.nio.file.Path;
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
 */
public record ClusterConfig(boolean enabled, String name, String host, String publicHost, int port, int busPort, List<String> members,
    Path credentials, boolean insecure) {

  public static final boolean DEFAULT_ENABLED = false;
  public static final String DEFAULT_NAME = "ceiba";
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 5701;
  public static final int DEFAULT_BUS_PORT = 0;
  public static final String DEFAULT_CREDENTIALS_DIR = "cluster-credentials";
  public static final boolean DEFAULT_INSECURE = false;

  public ClusterConfig {
    members = List.copyOf(members);
  }

  /** Where this node's cluster credentials are: {@link #credentials} or the default under {@code dataDir}. */
  public Path credentialsDir(Path dataDir) {
    return credentials != null ? credentials : dataDir.resolve(DEFAULT_CREDENTIALS_DIR);
  }
}
