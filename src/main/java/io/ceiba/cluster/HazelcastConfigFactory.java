package io.ceiba.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.ceiba.config.ClusterConfig;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import java.util.List;

/**
 * Hazelcast settings for a Ceiba cluster: TCP-IP member list on the configured interface, no multicast,
 * no auto-detection, no phone-home, quick failure detection, and Vert.x (not Hazelcast) owning shutdown.
 */
public final class HazelcastConfigFactory {

  /** Heartbeat and the silence after which a member is declared dead; Hazelcast's default is 60 s. */
  static final int HEARTBEAT_SECONDS = 1;
  static final int MAX_NO_HEARTBEAT_SECONDS = 5;
  /**
   * How soon, and how often, a cluster looks for members it lost to a partition. A member cut off longer than
   * {@link #MAX_NO_HEARTBEAT_SECONDS} goes on as a cluster of its own; Hazelcast's defaults look for such split
   * clusters to merge first 300 s after start, then every 120 s, so a host whose link came back stayed split
   * for up to two minutes (MultiHostIT: not rejoined 60 s after the heal). Each run asks the members of the
   * TCP-IP list that are not in the cluster: a few small messages.
   */
  static final int MERGE_SEARCH_SECONDS = 5;

  private HazelcastConfigFactory() {
  }

  public static Config create(ClusterConfig cluster) {
    // keeps the __vertx.* map and multimap settings Vert.x relies on
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(cluster.name());
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.logging.type", "slf4j");
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    config.setProperty("hazelcast.heartbeat.interval.seconds", String.valueOf(HEARTBEAT_SECONDS));
    config.setProperty("hazelcast.max.no.heartbeat.seconds", String.valueOf(MAX_NO_HEARTBEAT_SECONDS));
    config.setProperty("hazelcast.merge.first.run.delay.seconds", String.valueOf(MERGE_SEARCH_SECONDS));
    config.setProperty("hazelcast.merge.next.run.delay.seconds", String.valueOf(MERGE_SEARCH_SECONDS));
    boolean anyHost = cluster.host().equals("0.0.0.0");
    config.setProperty("hazelcast.socket.bind.any", String.valueOf(anyHost));
    config.getJetConfig().setEnabled(false);

    NetworkConfig network = config.getNetworkConfig();
    network.setPort(cluster.port()).setPortAutoIncrement(false);
    if (!anyHost) {
      network.getInterfaces().setEnabled(true).setInterfaces(List.of(cluster.host()));
    }
    network.setPublicAddress(cluster.publicHost() + ":" + cluster.port());
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true).setMembers(cluster.members().isEmpty()
        ? List.of(cluster.publicHost() + ":" + cluster.port()) : cluster.members());
    return config;
  }
}
