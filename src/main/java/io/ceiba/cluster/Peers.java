package io.ceiba.cluster;

import io.ceiba.config.NodeConfig;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.ClientSSLOptions;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The other edges of the cluster, and the trust between them. A backend that listens on its own node's loopback
 * address cannot be reached from another host; another node relays such requests through the backend's node's
 * edge (its {@code edge.advertise} URL), and that edge must tell a relayed request, already authorized and counted,
 * from a client's. It does so by a token only members can make: derived from the cluster credentials' relay key
 * ({@link RelayKeys}); every key of the credentials is accepted, so a new key can be rolled in without a cluster stop.
 * An insecure cluster (no credentials) falls back to a random secret the first member puts in a cluster-wide map,
 * which any process that joins can read. Thread-safe: edges and the health verticle read it, the membership
 * verticle keeps it.
 */
public final class Peers {

  private static final ClientSSLOptions RELAY_TLS = new ClientSSLOptions().setTrustAll(true).setHostnameVerificationAlgorithm("");

  /** Where a peer's edge listens. */
  public record Edge(String host, int port, boolean ssl) {

    static Edge of(String advertise) {
      URI uri = URI.create(advertise);
      boolean ssl = "https".equalsIgnoreCase(uri.getScheme());
      return new Edge(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : ssl ? 443 : 80, ssl);
    }

    /**
     * Points {@code options} at this edge. An https edge serves the certificates of the services' host names, not
     * one for the address peers dial, so its certificate is not checked here: a relay proves itself with the relay
     * token, and the cluster's own traffic goes over the mutually authenticated event bus.
     */
    public <T extends RequestOptions> T aim(T options) {
      options.setHost(host).setPort(port).setSsl(ssl);
      if (ssl) {
        options.setSslOptions(RELAY_TLS);
      }
      return options;
    }
  }

  // a relayed request: the cluster's secret, and which backend of which service it is for; probes are health checks
  public static final CharSequence PEER_HEADER = HttpHeaders.createOptimized("x-ceiba-peer");
  public static final CharSequence SERVICE_HEADER = HttpHeaders.createOptimized("x-ceiba-service");
  public static final CharSequence BACKEND_HEADER = HttpHeaders.createOptimized("x-ceiba-backend");
  public static final CharSequence PROBE_HEADER = HttpHeaders.createOptimized("x-ceiba-probe");

  private static final String MAP = "ceiba.cluster";
  private static final String SECRET_KEY = "peer-secret";

  private final String selfId;
  /** the accepted tokens; null when not clustered */
  private final List<byte[]> accepted;
  private final String secretText;
  private final Map<String, Edge> edges = new ConcurrentHashMap<>();

  private Peers(String selfId, List<String> tokens) {
    this.selfId = selfId;
    this.secretText = tokens == null ? null : tokens.get(0);
    this.accepted = tokens == null ? null : tokens.stream().map(t -> t.getBytes(StandardCharsets.US_ASCII)).toList();
  }

  /**
   * Peers of a node: when clustered, the relay tokens of {@code credentials}, or (an insecure cluster) the secret the
   * first member put in the cluster's map; else none.
   */
  public static Future<Peers> join(Vertx vertx, NodeConfig config, ClusterCredentials credentials) {
    if (!config.cluster().enabled()) {
      return Future.succeededFuture(new Peers(config.nodeId(), null));
    }
    if (credentials != null) {
      return Future.succeededFuture(new Peers(config.nodeId(), credentials.relayTokens()));
    }
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    String mine = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    return vertx.sharedData().<String, String>getClusterWideMap(MAP)
        .compose(map -> map.putIfAbsent(SECRET_KEY, mine))
        .map(existing -> new Peers(config.nodeId(), List.of(existing == null ? mine : existing)));
  }

  /** Marks a request this node relays to the edge of {@code backendUrl}'s node. */
  public void markRelay(MultiMap headers, String service, String backendUrl) {
    headers.set(PEER_HEADER, secretText);
    headers.set(SERVICE_HEADER, service);
    headers.set(BACKEND_HEADER, backendUrl);
  }

  /** Whether a request was relayed by a member of the cluster (a lone node takes none, without a header lookup). */
  public boolean isRelay(MultiMap headers) {
    return accepted != null && trusted(headers.get(PEER_HEADER));
  }

  /** Whether {@code presented} is one of the cluster's tokens; constant time for each. */
  private boolean trusted(String presented) {
    if (presented == null) {
      return false;
    }
    byte[] bytes = presented.getBytes(StandardCharsets.US_ASCII);
    boolean match = false;
    for (byte[] token : accepted) {
      match |= MessageDigest.isEqual(token, bytes);
    }
    return match;
  }

  /**
   * Whether a backend is reached through its node's edge: it belongs to another node and listens on a loopback
   * address, which from here would be this host's own. Unclustered, every backend is reached directly.
   */
  public boolean relays(String backendNode, String backendHost) {
    return accepted != null && backendNode != null && !backendNode.equals(selfId) && isLoopback(backendHost);
  }

  /**
   * Whether a request that arrived at this node ({@code relayedHere}: from a peer's edge) can be sent to a backend of
   * {@code backendNode} at {@code backendHost}: directly, or through that node's edge while it is in the view and serving
   * (not one that said it leaves, nor one still starting). A relayed request is never relayed on.
   */
  public boolean reachable(String backendNode, String backendHost, boolean relayedHere) {
    return !relays(backendNode, backendHost) || (!relayedHere && edges.containsKey(backendNode));
  }

  static boolean isLoopback(String host) {
    return host.startsWith("127.") || host.equalsIgnoreCase("localhost") || host.equals("::1") || host.equals("[::1]");
  }

  /** The edge of {@code nodeId}, or null when no edge of that name is in this node's view. */
  public Edge edgeOf(String nodeId) {
    return edges.get(nodeId);
  }

  public String selfId() {
    return selfId;
  }

  void put(String nodeId, String advertise) {
    try {
      edges.put(nodeId, Edge.of(advertise));
    } catch (RuntimeException e) {
      edges.remove(nodeId);
    }
  }

  void remove(String nodeId) {
    edges.remove(nodeId);
  }
}
