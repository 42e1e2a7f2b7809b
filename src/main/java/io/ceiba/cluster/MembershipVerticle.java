package io.ceiba.cluster;

import io.ceiba.bus.Addresses;
import io.ceiba.config.Role;
import io.ceiba.node.NodeContext;
import io.ceiba.observability.MetricNames;
import io.ceiba.registry.Registry;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node's view of the cluster: every node announces itself each second over the clustered
 * event bus; a peer is dropped when the cluster manager's view loses it, when it says it leaves, or after
 * {@link #PEER_TIMEOUT} of silence (whichever comes first). Unclustered, the view is this node alone.
 */
public final class MembershipVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(MembershipVerticle.class);
  static final Duration ANNOUNCE_INTERVAL = Duration.ofSeconds(1);
  static final Duration PEER_TIMEOUT = Duration.ofSeconds(5);
  /**
   * Readiness waits at most this long after start for every member's announcement: long enough for the resubscription
   * after {@link #PEER_TIMEOUT} to take effect on a loaded cluster (a node ready before it knows its peers' edges
   * answers 503 no_healthy_backend for every service it relays), short enough that a node deaf for good still serves
   * its own backends.
   */
  static final Duration HEARD_WITHIN = Duration.ofSeconds(30);
  /** How long after start we compare the joined members with the configured list. */
  static final Duration MEMBER_CHECK_DELAY = Duration.ofSeconds(15);

  private record Peer(NodeInfo info, long lastSeenNanos) {
  }

  private final NodeContext node;
  private final Map<String, Peer> peers = new HashMap<>();
  private boolean readyUnheardLogged;
  /** Every member was heard once: from then on a member that joins and has not spoken yet does not make us unready. */
  private boolean heardAll;
  /** Cluster members (Vert.x node ids) that have not announced themselves to us, and since when (nanoTime). */
  private final Map<String, Long> unheardSince = new HashMap<>();
  /** Members (Vert.x node ids) that said they leave: silent while they drain, not unheard. */
  private final Set<String> leavingMembers = new HashSet<>();
  private MessageConsumer<JsonObject> announceConsumer;
  private long lastResubscribeNanos = System.nanoTime();
  private final AtomicInteger nodesGauge = new AtomicInteger(1);
  private NodeInfo self;
  private long announceTimer = -1;
  private Object membershipListener;
  private boolean leaving;

  public MembershipVerticle(NodeContext node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    String clusterNodeId = node.clusterManager() == null ? "" : node.clusterManager().getNodeId();
    self = new NodeInfo(node.nodeId(),
        node.config().roles().stream().map(Role::configName).sorted().toList(),
        node.config().edge().advertise(),
        node.config().control().host() + ":" + node.config().control().port(),
        0, node.startedAt(), clusterNodeId, false);
    Gauge.builder(MetricNames.CLUSTER_NODES, nodesGauge, AtomicInteger::get)
        .description("Nodes in this node's view of the cluster, itself included").register(node.meters());

    var bus = vertx.eventBus();
    List<MessageConsumer<?>> consumers = new ArrayList<>();
    consumers.add(bus.<Object>localConsumer(Addresses.CLUSTER_VIEW, msg -> msg.reply(view())));
    consumers.add(bus.<Registry>localConsumer(Addresses.REGISTRY_CHANGED, msg -> {
      self = self.withRegistryVersion(msg.body().version());
      announce();
    }));
    consumers.add(bus.<Object>localConsumer(Addresses.NODE_DRAINING, msg -> leave()));
    consumers.add(bus.<Object>localConsumer(Addresses.NODE_SERVING, msg -> {
      self = self.asServing();
      announce();
    }));
    if (node.clusterManager() != null) {
      announceConsumer = bus.consumer(Addresses.CLUSTER_ANNOUNCE, msg -> onAnnounce(msg.body()));
      consumers.add(announceConsumer);
      consumers.add(bus.<String>consumer(Addresses.CLUSTER_LEAVE, msg -> onLeave(msg.body())));
      watchClusterView();
      recount();
    }
    long startedNanos = System.nanoTime();
    Context own = context;
    node.readiness().register("cluster", 2000, promise -> own.runOnContext(v -> promise.tryComplete(readiness(startedNanos))));

    return Future.all(consumers.stream().map(MessageConsumer::completion).toList())
        .compose(v -> bus.<Registry>request(Addresses.REGISTRY_CURRENT, null, new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true)))
        .onSuccess(reply -> self = self.withRegistryVersion(reply.body().version()))
        .onSuccess(v -> {
      if (node.clusterManager() != null) {
        announce();
        announceTimer = vertx.setPeriodic(ANNOUNCE_INTERVAL.toMillis(), t -> {
          announce();
          expireSilentPeers();
          resubscribeWhenMembersUnheard();
        });
        vertx.setTimer(MEMBER_CHECK_DELAY.toMillis(), t -> reportUnreachableMembers());
      }
    });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(announceTimer);
    leave();
    if (membershipListener != null) {
      try {
        node.clusterManager().removeViewListener(membershipListener);
      } catch (RuntimeException e) {
        // already out of the cluster: nothing to unregister from
      }
    }
    return Future.succeededFuture();
  }

  /**
   * Ready once every cluster member has announced itself to us: before that this node does not know where their edges
   * are and cannot relay to their backends, so a load balancer must not send it traffic yet. A member still unheard
   * {@link #HEARD_WITHIN} after start does not hold readiness back (it may be deaf to us; see
   * {@link #resubscribeWhenMembersUnheard}). Once ready, a member that joins later and has not spoken yet (it is still
   * starting) does not make this node unready: it serves as before, and relays to the newcomer once it is heard.
   */
  private Status readiness(long startedNanos) {
    JsonObject data = new JsonObject().put("enabled", node.clusterManager() != null).put("nodes", nodesGauge.get());
    if (node.clusterManager() == null) {
      return Status.OK(data);
    }
    Set<String> unheard = new HashSet<>(clusterMemberIds());
    unheard.remove(self.clusterNodeId());
    unheard.removeAll(leavingMembers);
    peers.values().forEach(p -> unheard.remove(p.info().clusterNodeId()));
    if (unheard.isEmpty() || heardAll) {
      heardAll = true;
      return Status.OK(unheard.isEmpty() ? data : data.put("unheard", unheard.size()));
    }
    if (System.nanoTime() - startedNanos > HEARD_WITHIN.toNanos()) {
      if (!readyUnheardLogged) {
        readyUnheardLogged = true;
        LOG.warn("ready without announcements from cluster member(s) {} after {} s: their backends are not relayed to until"
            + " they are heard", unheard, HEARD_WITHIN.toSeconds());
      }
      return Status.OK(data.put("unheard", unheard.size()));
    }
    return Status.KO(data.put("reason", "no announcement yet from " + unheard.size() + " cluster member(s)"));
  }

  /** Tells peers we go before we actually leave the cluster, so they stop counting on us at once. */
  private void leave() {
    if (!leaving && node.clusterManager() != null) {
      leaving = true;
      vertx.cancelTimer(announceTimer);
      vertx.eventBus().publish(Addresses.CLUSTER_LEAVE, node.nodeId());
    }
  }

  private void announce() {
    if (!leaving && node.clusterManager() != null) {
      vertx.eventBus().publish(Addresses.CLUSTER_ANNOUNCE, self.toJson());
    }
  }

  private void onAnnounce(JsonObject body) {
    NodeInfo info;
    try {
      info = NodeInfo.fromJson(body);
    } catch (RuntimeException e) {
      LOG.warn("ignoring a malformed cluster announcement: {}", e.getMessage());
      return;
    }
    if (info.clusterNodeId().equals(self.clusterNodeId())) {
      return;
    }
    if (!clusterMemberIds().contains(info.clusterNodeId())) {
      // a process cut off from the cluster may still reach us over a cached event-bus connection
      return;
    }
    if (info.id().equals(self.id())) {
      LOG.error("another cluster member ({}) also calls itself node '{}'; node ids must be unique", info.control(), info.id());
      return;
    }
    if (leavingMembers.contains(info.clusterNodeId())) {
      // an announcement it sent before it said it leaves, late: it drains and must not be relayed to again
      return;
    }
    Peer previous = peers.put(info.id(), new Peer(info, System.nanoTime()));
    if (info.roles().contains(Role.EDGE.configName()) && info.serving()) {
      node.peers().put(info.id(), info.edge());
    } else {
      // still starting: its edge may not listen yet
      node.peers().remove(info.id());
    }
    if (previous == null) {
      LOG.info("node {} joined the view (roles {}, edge {})", info.id(), info.roles(), info.edge());
      // a newcomer is not ready until it heard every member: it hears us now, not at our next periodic announcement
      announce();
    }
    nodesGauge.set(peers.size() + 1);
    recount();
  }

  private void onLeave(String nodeId) {
    Peer peer = peers.get(nodeId);
    if (peer != null) {
      leavingMembers.add(peer.info().clusterNodeId());
    }
    drop(nodeId, "left");
  }

  private void drop(String nodeId, String why) {
    node.peers().remove(nodeId);
    if (peers.remove(nodeId) != null) {
      LOG.info("node {} left the view ({})", nodeId, why);
      nodesGauge.set(peers.size() + 1);
      recount();
    }
  }

  /** The cluster's edge nodes: this one if it has the role, peers that announced it, members not heard from yet. */
  private void recount() {
    int unannounced = Math.max(0, clusterMemberIds().size() - 1 - peers.size());
    long edgePeers = peers.values().stream().filter(p -> p.info().roles().contains(Role.EDGE.configName())).count();
    node.countingNodes().set((node.config().has(Role.EDGE) ? 1 : 0) + (int) edgePeers + unannounced);
  }

  private void expireSilentPeers() {
    long now = System.nanoTime();
    Set<String> members = clusterMemberIds();
    List<Peer> all = List.copyOf(peers.values());
    for (Peer p : all) {
      if (!members.contains(p.info().clusterNodeId())) {
        drop(p.info().id(), "gone from the cluster");
      } else if (now - p.lastSeenNanos() > PEER_TIMEOUT.toNanos()) {
        drop(p.info().id(), "silent for " + PEER_TIMEOUT.toSeconds() + "s");
      }
    }
  }

  /**
   * Another node sends us its announcements only if its event bus knows our consumer, and it learns of consumers from
   * the cluster manager's entry events, which are best-effort: one lost while a node joins leaves that node deaf to us until
   * some consumer of the address changes. So a member unheard for {@link #PEER_TIMEOUT} gets our consumer registered
   * afresh, which every node sees as a new registration (at most once per {@link #PEER_TIMEOUT}).
   */
  private void resubscribeWhenMembersUnheard() {
    long now = System.nanoTime();
    Set<String> members = clusterMemberIds();
    Set<String> heard = peers.values().stream().map(p -> p.info().clusterNodeId()).collect(Collectors.toSet());
    leavingMembers.retainAll(members);
    heard.addAll(leavingMembers);
    unheardSince.keySet().retainAll(members);
    unheardSince.keySet().removeAll(heard);
    List<String> silent = new ArrayList<>();
    for (String member : members) {
      if (!member.equals(self.clusterNodeId()) && !heard.contains(member)
          && now - unheardSince.computeIfAbsent(member, m -> now) > PEER_TIMEOUT.toNanos()) {
        silent.add(member);
      }
    }
    if (silent.isEmpty() || leaving || now - lastResubscribeNanos < PEER_TIMEOUT.toNanos()) {
      return;
    }
    lastResubscribeNanos = now;
    LOG.warn("no announcement for {}s from cluster member(s) {}: registering for announcements again",
        PEER_TIMEOUT.toSeconds(), silent);
    MessageConsumer<JsonObject> previous = announceConsumer;
    announceConsumer = vertx.eventBus().consumer(Addresses.CLUSTER_ANNOUNCE, msg -> onAnnounce(msg.body()));
    // the old one goes once the new one is known to the cluster: announcements reach one or the other meanwhile
    announceConsumer.completion().onComplete(ar -> previous.unregister());
  }

  /** Vert.x node ids of the current cluster members: a local read of the view, no network call. */
  private Set<String> clusterMemberIds() {
    try {
      return Set.copyOf(node.clusterManager().getNodes());
    } catch (RuntimeException e) {
      // this node was cut off or is shutting down: it has no peers
      return Set.of();
    }
  }

  /** The view changes quickly when a member dies (its failure-detection socket closes); we hear of it on an Infinispan thread. */
  private void watchClusterView() {
    Context context = this.context;
    membershipListener = node.clusterManager().onViewChange(() -> context.runOnContext(v -> {
      expireSilentPeers();
      recount();
    }));
  }

  private void reportUnreachableMembers() {
    if (leaving) {
      return;
    }
    Set<String> joined;
    try {
      joined = node.clusterManager().memberAddresses();
    } catch (RuntimeException e) {
      return;
    }
    for (String member : node.config().cluster().members()) {
      if (!joined.contains(member)) {
        LOG.warn("cluster member {} is not in the cluster yet (unreachable or not started); {} of {} configured members joined",
            member, node.config().cluster().members().stream().filter(joined::contains).count(), node.config().cluster().members().size());
      }
    }
  }

  /** This node and its peers, less any the cluster manager no longer lists (dropped before our listener ran). */
  private JsonArray view() {
    Map<String, NodeInfo> all = new TreeMap<>();
    all.put(self.id(), self);
    Set<String> members = clusterMemberIds();
    peers.values().stream().filter(p -> members.contains(p.info().clusterNodeId())).forEach(p -> all.put(p.info().id(), p.info()));
    JsonArray out = new JsonArray();
    all.values().forEach(info -> out.add(info.toJson().put("self", info == self)));
    return out;
  }
}
