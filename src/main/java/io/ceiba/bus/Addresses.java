package io.ceiba.bus;

/**
 * Every event-bus address Ceiba uses, in one place. Local addresses ({@code localConsumer}) stay on the
 * node and may carry objects; cluster addresses carry JSON.
 */
public final class Addresses {

  /** Local request: the node's current {@link io.ceiba.registry.Registry}. */
  public static final String REGISTRY_CURRENT = "ceiba.registry.current";
  /** Local publish: a newly applied {@link io.ceiba.registry.Registry}; edge instances swap their route tables. */
  public static final String REGISTRY_CHANGED = "ceiba.registry.changed";
  /** Local request: registry status as JSON (version, source, last error) for /ready and the control API. */
  public static final String REGISTRY_STATUS = "ceiba.registry.status";
  /** Cluster request, suffixed with a node id: apply this registry text; replies with the outcome. */
  public static final String REGISTRY_APPLY_PREFIX = "ceiba.registry.apply.";
  /** Prefix of each node's registry-fetch address; see {@link #registryFetch}. */
  public static final String REGISTRY_FETCH_PREFIX = "ceiba.registry.fetch.";

  /** Cluster publish: a node's {@link io.ceiba.cluster.NodeInfo} heartbeat. */
  public static final String CLUSTER_ANNOUNCE = "ceiba.cluster.announce";
  /** Cluster publish: a node id leaving on a clean stop, so peers drop it at once. */
  public static final String CLUSTER_LEAVE = "ceiba.cluster.leave";
  /**
   * Cluster publish: a cluster-wide message as {@code io.ceiba.cluster.ClusterPublishes} sends it,
   * {@code {origin, epoch, seq, address, body}}; each node hands {@code body} to its local consumers of {@code address}.
   */
  public static final String CLUSTER_PUBLISH = "ceiba.cluster.publish";
  /** Local send: {@code {address, body}} to publish cluster-wide through this node's {@code ClusterPublishes}. */
  public static final String CLUSTER_PUBLISH_LOCAL = "ceiba.cluster.publish.local";
  /** Prefix of each node's anti-entropy address; see {@link #publishesOf}. */
  public static final String CLUSTER_PUBLISHES_PREFIX = "ceiba.cluster.publishes.";
  /** Local request: this node's membership view as a JSON array of node infos. */
  public static final String CLUSTER_VIEW = "ceiba.cluster.view";

  /** Local publish: a backend changed state in this node's view: {@code {service, url, up}}. */
  public static final String HEALTH_CHANGED = "ceiba.health.changed";
  /** Local request: this node's whole health view, as a JSON array of {@code {service, url, up, ...}}. */
  public static final String HEALTH_SNAPSHOT = "ceiba.health.snapshot";
  /** Local send: an edge failed to connect to a backend; check it now and treat it as down meanwhile. */
  public static final String HEALTH_SUSPECT = "ceiba.health.suspect";
  /** Local publish: an edge instance saw a backend refuse a connection; all instances skip it for a while. */
  public static final String EDGE_EJECTED = "ceiba.edge.ejected";
  /** Cluster request, suffixed with a node id: that node's health view (for /v1/cluster). */
  public static final String HEALTH_VIEW_PREFIX = "ceiba.health.view.";

  /** Cluster request, suffixed with a node id: that node's build, readiness and traffic figures (for the console). */
  public static final String NODE_STATUS_PREFIX = "ceiba.node.status.";

  /** Local request: the {@link io.ceiba.tls.CertificateSet} the edge's TLS listener serves now. */
  public static final String TLS_CURRENT = "ceiba.tls.current";
  /** Local publish: a new, checked {@link io.ceiba.tls.CertificateSet}; edge instances swap it in. */
  public static final String TLS_CHANGED = "ceiba.tls.changed";
  /** Cluster request, answered by nodes with a database: the stored certificates, keys sealed. */
  public static final String TLS_STORED_LIST = "ceiba.tls.stored.list";
  /** Cluster publish: a stored certificate was put or deleted; edges fetch the list again. */
  public static final String TLS_STORED_CHANGED = "ceiba.tls.stored.changed";
  /** Prefix of each node's address that tells which certificates its edge serves; see {@link #tlsServed}. */
  public static final String TLS_SERVED_PREFIX = "ceiba.tls.served.";

  /** Local publish: reload the registry file and the certificates now (SIGHUP). */
  public static final String NODE_RELOAD = "ceiba.node.reload";

  /** Local publish: the node starts to stop; readiness turns 503 so load balancers move away. */
  public static final String NODE_DRAINING = "ceiba.node.draining";
  /** Local: every role of the node runs, its edge listens (peers may relay to it from now on). */
  public static final String NODE_SERVING = "ceiba.node.serving";
  /** Clustered: a key hash (hex) in, a {@code KeyRecord} (or {@code found: false}) out; answered by auth verticles. */
  public static final String AUTH_LOOKUP = "ceiba.auth.lookup";
  /**
   * Local consumers; published cluster-wide (through {@code ClusterPublishes}, so no node misses one) after a change
   * to keys, plans or subscriptions: {@code hashes}, {@code projects}.
   */
  public static final String ACCESS_CHANGED = "ceiba.access.changed";
  /**
   * Clustered, fire-and-forget: one usage event (JSON) per request on a non-public service, sent by the
   * edge to its own node's usage verticle when it has one (local-only send), else to any node's.
   */
  public static final String USAGE_RECORD = "ceiba.usage.record";
  /**
   * Clustered request, answered by usage verticles: {@code {project, plan, from}} in, {@code {used}} out (requests
   * admitted under the plan since {@code from}); how a quota counter Redis lost is rebuilt.
   */
  public static final String USAGE_QUOTA_USED = "ceiba.usage.quota-used";
  /** Local request: run the usage rollup and retention job now; replies {@code {rolled_up, pruned, ...}}. */
  public static final String USAGE_ROLLUP = "ceiba.usage.rollup";

  private Addresses() {
  }

  public static String tlsServed(String nodeId) {
    return TLS_SERVED_PREFIX + nodeId;
  }

  public static String nodeStatus(String nodeId) {
    return NODE_STATUS_PREFIX + nodeId;
  }

  public static String healthView(String nodeId) {
    return HEALTH_VIEW_PREFIX + nodeId;
  }

  /** Asks node {@code nodeId} for the registry it serves: {@code {version, text}} (registry catch-up). */
  public static String registryFetch(String nodeId) {
    return REGISTRY_FETCH_PREFIX + nodeId;
  }

  /** Asks node {@code nodeId} for the cluster-wide messages it published after a number (anti-entropy). */
  public static String publishesOf(String nodeId) {
    return CLUSTER_PUBLISHES_PREFIX + nodeId;
  }

  public static String registryApply(String nodeId) {
    return REGISTRY_APPLY_PREFIX + nodeId;
  }

  /** Cluster request to one node: an HTTP-01 challenge (token, key authorization) its edge answers from now on. */
  public static String acmeChallenge(String nodeId) {
    return "ceiba.acme.challenge." + nodeId;
  }

  /** Local request to the node's ACME verticle: check every ACME certificate now; {@code {"force": true}} renews them. */
  public static final String ACME_RENEW = "ceiba.acme.renew";
}
