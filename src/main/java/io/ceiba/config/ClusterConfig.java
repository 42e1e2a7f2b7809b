package io.ceiba.config;

import java.util.List;

/**
 * Vert.x cluster membership over Hazelcast with a TCP-IP member list (no multicast).
 *
 * @param name    cluster name; nodes with another name never join (keeps test clusters and fleets apart)
 * @param host       interface to bind (Hazelcast and the event bus); {@code 0.0.0.0} binds all
 * @param publicHost address peers use to reach this node; defaults to {@code host}, or 127.0.0.1 when host is 0.0.0.0
 * @param busPort    port of the clustered event bus; 0 picks a free one (open it in firewalls when fixed)
 * @param members    {@code host:port} of the Hazelcast members to join, this node included or not
 */
public record ClusterConfig(boolean enabled, String name, String host, String publicHost, int port, int busPort, List<String> members) {

  public static final boolean DEFAULT_ENABLED = false;
  public static final String DEFAULT_NAME = "ceiba";
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 5701;
  public static final int DEFAULT_BUS_PORT = 0;

  public ClusterConfig {
    members = List.copyOf(members);
  }
}
