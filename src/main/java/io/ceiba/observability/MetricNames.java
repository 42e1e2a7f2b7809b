package io.ceiba.observability;

/**
 * Micrometer names of Ceiba's meters; the Prometheus registry renders {@code a.b.c} as {@code a_b_c} and
 * adds {@code _total} to counters, giving the names of SPEC section 7. Every series carries {@code node}.
 */
public final class MetricNames {

  public static final String REGISTRY_VERSION = "ceiba.registry.version";
  public static final String REGISTRY_RELOADS = "ceiba.registry.reloads";
  public static final String CLUSTER_NODES = "ceiba.cluster.nodes";
  /** {@code ceiba_edge_cache_total{result=hit|miss|bypass}}: requests to cached services by what they met. */
  public static final String EDGE_CACHE = "ceiba.edge.cache";
  /** {@code ceiba_edge_cache_bytes}: what the node's edge cache holds. */
  public static final String EDGE_CACHE_BYTES = "ceiba.edge.cache.bytes";

  /** {@code ceiba_listener_connections{listener=edge|control}}: open client connections. */
  public static final String LISTENER_CONNECTIONS = "ceiba.listener.connections";
  /** {@code ceiba_listener_connections_refused_total{listener}}: closed on accept, the listener being at its cap. */
  public static final String LISTENER_REFUSED = "ceiba.listener.connections.refused";
  /** {@code ceiba_listener_header_timeouts_total{listener}}: closed, a request head not whole within header_timeout. */
  public static final String LISTENER_HEADER_TIMEOUTS = "ceiba.listener.header.timeouts";

  public static final String TAG_NODE = "node";
  public static final String TAG_LISTENER = "listener";
  public static final String TAG_RESULT = "result";

  private MetricNames() {
  }
}
