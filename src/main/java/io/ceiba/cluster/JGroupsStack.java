package io.ceiba.cluster;

import io.ceiba.config.ClusterConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import org.jgroups.JChannel;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FD_SOCK;
import org.jgroups.protocols.FRAG4;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.MFC;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UFC;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.stack.Protocol;
import org.jgroups.util.TLS;
import org.jgroups.util.TLSClientAuth;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JGroups stack under Infinispan: Infinispan's default TCP stack, with the configured member list instead of
 * multicast discovery (TCPPING), no diagnostics socket, quick failure detection, and, unless the cluster is insecure,
 * every socket (the transport's and the failure detector's) made by a mutual-TLS socket factory keyed with the
 * cluster credentials: a process without a certificate of the cluster's CA cannot even finish a handshake.
 */
public final class JGroupsStack {

  private static final Logger LOG = LoggerFactory.getLogger(JGroupsStack.class);

  /** Heartbeats every second; a member silent for 5 s is suspected (a crashed one is seen at once by FD_SOCK). */
  static final long HEARTBEAT_MILLIS = 1000;
  static final long SUSPECT_AFTER_MILLIS = 5000;
  /**
   * A discovery request goes out this often within the join timeout ({@code cluster.join_timeout}): one lost to a
   * connection that failed its TLS handshake (a peer's acceptor gives up after {@link #CONNECT_TIMEOUT_MILLIS}), or
   * answered only by members that do not know the coordinator yet, is sent again a second later, not a third of the
   * join timeout later.
   */
  static final long DISCOVERY_INTERVAL_MILLIS = 1000;
  /** Connecting and the TLS handshake plus the peer's address; JGroups' 1 s is short for a handshake on a busy host. */
  static final int CONNECT_TIMEOUT_MILLIS = 3000;

  private JGroupsStack() {
  }

  /** The channel of member {@code memberName} (unique per start: Vert.x keys subscriptions by it). */
  public static JChannel create(ClusterConfig cluster, String memberName, ClusterCredentials credentials) throws Exception {
    InetAddress bind = InetAddress.getByName(cluster.host());
    InetAddress external = InetAddress.getByName(cluster.publicHost());
    TCP tcp = new TCP();
    tcp.setBindAddress(bind);
    tcp.setBindPort(cluster.port());
    tcp.setPortRange(0);
    tcp.setExternalAddr(external);
    tcp.setExternalPort(cluster.port());
    tcp.setSockConnTimeout(CONNECT_TIMEOUT_MILLIS);
    tcp.setPeerAddrReadTimeout(CONNECT_TIMEOUT_MILLIS);
    if (credentials != null) {
      tcp.setSocketFactory(new TLS().setClientAuth(TLSClientAuth.NEED).createSocketFactory(credentials.sslContext()));
    }

    FD_SOCK fdSock = new FD_SOCK();
    fdSock.setBindAddress(bind);
    fdSock.setExternalAddress(external);

    List<Protocol> protocols = List.of(
        tcp,
        discovery(cluster),
        new MERGE3().setMinInterval(2000).setMaxInterval(5000),
        fdSock,
        new FD_ALL3().setTimeout(SUSPECT_AFTER_MILLIS).setInterval(HEARTBEAT_MILLIS),
        new VERIFY_SUSPECT2().setTimeout(1000),
        new NAKACK2().useMcastXmit(false),
        new UNICAST3(),
        new STABLE(),
        // the first node of a cluster waits the whole join timeout; later ones go on once the coordinator answers.
        // Shorter risks two clusters that merge later, which Vert.x's subscriptions survive badly
        new GMS().setJoinTimeout(cluster.joinTimeout().toMillis()).printLocalAddress(false),
        new UFC(),
        new MFC(),
        new FRAG4());
    JChannel channel = new JChannel(protocols).name(memberName);
    if (tcp.getDiagnosticsHandler() != null) {
      // the probe socket answers anyone, without TLS
      tcp.getDiagnosticsHandler().setEnabled(false);
    }
    return channel;
  }

  private static TCPPING discovery(ClusterConfig cluster) {
    TCPPING ping = new RestartAwareDiscovery().setInitialHosts(members(cluster)).setPortRange(0);
    ping.setValue("num_discovery_runs", discoveryRuns(cluster.joinTimeout().toMillis()));
    return ping;
  }

  /** JGroups spreads the runs over the join timeout less one interval: runs at 0, t/n, 2t/n … (t - t/n). */
  static int discoveryRuns(long joinTimeoutMillis) {
    return (int) Math.max(3, Math.min(30, joinTimeoutMillis / DISCOVERY_INTERVAL_MILLIS));
  }

  /** The configured members; one whose name does not resolve yet is left out (it joins us when it starts). */
  private static List<InetSocketAddress> members(ClusterConfig cluster) {
    List<String> configured = cluster.members().isEmpty() ? List.of(cluster.publicHost() + ":" + cluster.port()) : cluster.members();
    List<InetSocketAddress> out = new ArrayList<>();
    for (String member : configured) {
      int colon = member.lastIndexOf(':');
      try {
        out.add(new InetSocketAddress(InetAddress.getByName(member.substring(0, colon)), Integer.parseInt(member.substring(colon + 1))));
      } catch (UnknownHostException e) {
        LOG.warn("cluster member {} does not resolve ({}): not contacted at start", member, e.getMessage());
      }
    }
    return out;
  }
}
