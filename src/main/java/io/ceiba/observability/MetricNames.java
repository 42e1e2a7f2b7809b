package io.ceiba.observability;

/**
 * Micrometer names of Ceiba's meters; the Prometheus registry renders {@code a.b.c} as {@code a_b_c} and
 * adds {@code _total} to counters, giving the names of SPEC section 7. Every series carries {@code node}.
 */
public final class MetricNames {

  public static final String REGISTRY_VERSION = "ceiba.registry.version";
  public static final String REGISTRY_RELOADS = "ceiba.registry.reloads";
  public static final String CLUSTER_NODES = "ceiba.cluster.nodes";
  /** {@code ceiba_cluster_publishes_repaired_total}: cluster-wide messages this node missed and got by anti-entropy. */
  public static final String CLUSTER_PUBLISHES_REPAIRED = "ceiba.cluster.publishes.repaired";
  /** {@code ceiba_cluster_publish_resubscriptions_total}: re-registrations after finding cluster-wide messages missed. */
  public static final String CLUSTER_PUBLISH_RESUBSCRIPTIONS = "ceiba.cluster.publish.resubscriptions";
  /** {@code ceiba_edge_cache_total{result=hit|miss|bypass}}: requests to cached services by what they met. */
  public static final String EDGE_CACHE = "ceiba.edge.cache";
  /** {@code ceiba_edge_cache_bytes}: what the node's edge cache holds. */
  public static final String EDGE_CACHE_BYTES = "ceiba.edge.cache.bytes";

  /** {@code ceiba_edge_requests_total{service,code}}: requests the edge answered. */
  /** {@code ceiba_access_log_dropped_total{reason}}: access lines lost (writer queue full, output failed). */
  public static final String ACCESS_LOG_DROPPED = "ceiba.access.log.dropped";
  public static final String EDGE_REQUESTS = "ceiba.edge.requests";
  /** {@code ceiba_upstream_duration_seconds{service,backend_node}}: time to the end of the upstream response. */
  public static final String UPSTREAM_DURATION = "ceiba.upstream.duration";
  /** {@code ceiba_auth_decisions_total{decision,reason}}: access decisions at the edge. */
  public static final String AUTH_DECISIONS = "ceiba.auth.decisions";

  /** {@code ceiba_listener_connections{listener=edge|control}}: open client connections. */
  public static final String LISTENER_CONNECTIONS = "ceiba.listener.connections";
  /** {@code ceiba_listener_connections_refused_total{listener}}: closed on accept, the listener being at its cap. */
  public static final String LISTENER_REFUSED = "ceiba.listener.connections.refused";
  /** {@code ceiba_listener_header_timeouts_total{listener}}: closed, a request head not whole within header_timeout. */
  public static final String LISTENER_HEADER_TIMEOUTS = "ceiba.listener.header.timeouts";


  /** {@code ceiba_ready}: 1 when {@code /ready} says this node can serve traffic. */
  public static final String READY = "ceiba.ready";
  /** {@code ceiba_dependency_up{dependency=postgres|redis|usage}}: 1 when it answers and is not degraded. */
  public static final String DEPENDENCY_UP = "ceiba.dependency.up";

  /** {@code ceiba_build_info{version}}: always 1; the label says which build runs. */
  public static final String BUILD_INFO = "ceiba.build.info";

  /** {@code ceiba_backup_last_success_timestamp_seconds}: when this node last made a scheduled backup. */
  public static final String BACKUP_LAST_SUCCESS = "ceiba.backup.last.success.timestamp.seconds";
  /** {@code ceiba_restore_check_last_success_timestamp_seconds}: when this node last proved a backup restorable. */
  public static final String RESTORE_CHECK_LAST_SUCCESS = "ceiba.restore.check.last.success.timestamp.seconds";
  /** {@code ceiba_backup_failures_total}: scheduled backups or restore checks that failed. */
  public static final String BACKUP_FAILURES = "ceiba.backup.failures";
  /** ACME orders by result (issued, failed): {@code ceiba_acme_orders_total{result}}. */
  public static final String ACME_ORDERS = "ceiba.acme.orders";
  /** Bytes the data_dir's file system has for this process ({@code ceiba_data_dir_free_bytes}). */
  public static final String DATA_DIR_FREE = "ceiba.data.dir.free.bytes";
  /** Size of the data_dir's file system. */
  public static final String DATA_DIR_SIZE = "ceiba.data.dir.size.bytes";

  public static final String TAG_NODE = "node";
  public static final String TAG_LISTENER = "listener";
  public static final String TAG_VERSION = "version";
  public static final String TAG_DEPENDENCY = "dependency";
  public static final String TAG_RESULT = "result";

  private MetricNames() {
  }
}
