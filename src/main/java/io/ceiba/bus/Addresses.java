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

  /** Cluster publish: a node's {@link io.ceiba.cluster.NodeInfo} heartbeat. */
  public static final String CLUSTER_ANNOUNCE = "ceiba.cluster.announce";
  /** Cluster publish: a node id leaving on a clean stop, so peers drop it at once. */
  public static final String CLUSTER_LEAVE = "ceiba.cluster.leave";
  /** Local request: this node's membership view as a JSON array of node infos. */
  public static final String CLUSTER_VIEW = "ceiba.cluster.view";

  /** Local publish: the node starts to stop; readiness turns 503 so load balancers move away. */
  public static final String NODE_DRAINING = "ceiba.node.draining";

  private Addresses() {
  }

  public static String registryApply(String nodeId) {
    return REGISTRY_APPLY_PREFIX + nodeId;
  }
}
