package io.ceiba.cluster;

import io.ceiba.config.ClusterConfig;
import io.vertx.core.Completable;
import io.vertx.core.Vertx;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.ext.cluster.infinispan.InfinispanClusterManager;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachemanagerlistener.annotation.Merged;
import org.infinispan.notifications.cachemanagerlistener.annotation.ViewChanged;
import org.infinispan.notifications.cachemanagerlistener.event.MergeEvent;
import org.infinispan.notifications.cachemanagerlistener.event.ViewChangedEvent;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.JChannel;
import org.jgroups.PhysicalAddress;
import org.jgroups.View;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.util.NameCache;
import org.jgroups.util.Util;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Vert.x's Infinispan cluster manager over Ceiba's own JGroups stack ({@link JGroupsStack}), built in code: no XML,
 * no system property. Vert.x starts and stops the cache manager through {@link #join}/{@link #leave} (off the event
 * loop), and the membership verticle learns of view changes and member addresses here.
 * <p>
 * After two partitions merge (e.g. a node that formed a cluster alone because the others answered too late),
 * Infinispan keeps one partition's copy of the replicated caches, so this node's event-bus address and
 * subscriptions may be gone from them: nobody could send to it any more. So this node writes them again after a
 * merge ({@link #MERGE_REPAIR_DELAYS_MS}, after the caches settled).
 * <p>
 * A node restarted after a crash starts under a new member name while its dead incarnation may still be in the view
 * (the failure detector has not noticed yet, even as coordinator): its first discovery request, from the same
 * host:port ({@link RestartAwareDiscovery}), or the view that shows both ({@link StaleIncarnations}), has the
 * coordinator (or the next in line) drop the dead one at once, instead of after the failure detector's 5 s and a second
 * rebalance of every cache.
 */
public final class CeibaClusterManager extends InfinispanClusterManager {

  private static final Logger LOG = LoggerFactory.getLogger(CeibaClusterManager.class);
  private static final String DEFAULT_CACHE = "distributed-cache";
  static final long[] MERGE_REPAIR_DELAYS_MS = {1000, 5000};

  /** This node's cluster-wide subscriptions, as Vert.x registered them: what a merge may have lost. */
  private final Map<String, Set<RegistrationInfo>> ownRegistrations = new ConcurrentHashMap<>();

  private final DefaultCacheManager cacheManager;
  private final JChannel channel;
  /** The failure detector's check, where suspicions enter the stack (its fixed place in {@link JGroupsStack}). */
  private final VERIFY_SUSPECT2 verifySuspect;
  /** Stale incarnations already handed to the failure detector (so each is suspected once). */
  private final Set<Address> suspected = ConcurrentHashMap.newKeySet();
  private Vertx vertx;

  private CeibaClusterManager(DefaultCacheManager cacheManager, JChannel channel) {
    super(cacheManager);
    this.cacheManager = cacheManager;
    this.channel = channel;
    this.verifySuspect = channel.getProtocolStack().findProtocol(VERIFY_SUSPECT2.class);
  }

  /** Builds (does not start) the cluster manager of node {@code nodeId}; {@code credentials} null: insecure. */
  public static CeibaClusterManager create(ClusterConfig cluster, String nodeId, ClusterCredentials credentials) throws Exception {
    // a fresh name per start: Vert.x keys its subscriptions by it, and a restarted node must not look like the old one
    String memberName = nodeId + "-" + UUID.randomUUID().toString().substring(0, 8);
    JChannel channel = JGroupsStack.create(cluster, memberName, credentials);
    ClassLoader loader = CeibaClusterManager.class.getClassLoader();
    GlobalConfigurationBuilder global = new GlobalConfigurationBuilder().clusteredDefault().classLoader(loader).defaultCacheName(DEFAULT_CACHE);
    global.transport().clusterName(cluster.name()).nodeName(memberName).transport(new JGroupsTransport(channel));
    ConfigurationBuilderHolder holder = new ConfigurationBuilderHolder(loader, global);
    // the caches of vertx-infinispan's default-infinispan.xml
    holder.newConfigurationBuilder(DEFAULT_CACHE).clustering().cacheMode(CacheMode.DIST_SYNC);
    for (String replicated : new String[] {"__vertx.subs", "__vertx.haInfo", "__vertx.nodeInfo"}) {
      holder.newConfigurationBuilder(replicated).clustering().cacheMode(CacheMode.REPL_SYNC);
    }
    holder.newConfigurationBuilder("__vertx.distributed.cache.configuration").template(true).clustering().cacheMode(CacheMode.DIST_SYNC);
    CeibaClusterManager manager = new CeibaClusterManager(new DefaultCacheManager(holder, false), channel);
    RestartAwareDiscovery discovery = channel.getProtocolStack().findProtocol(RestartAwareDiscovery.class);
    discovery.onDiscoveryRequest(manager::excludeIncarnationsReplacedBy);
    return manager;
  }

  @Override
  public void init(Vertx vertx) {
    super.init(vertx);
    this.vertx = vertx;
  }

  @Override
  public void addRegistration(String address, RegistrationInfo registrationInfo, Completable<Void> promise) {
    if (!registrationInfo.localOnly()) {
      ownRegistrations.computeIfAbsent(address, a -> ConcurrentHashMap.newKeySet()).add(registrationInfo);
    }
    super.addRegistration(address, registrationInfo, promise);
  }

  @Override
  public void removeRegistration(String address, RegistrationInfo registrationInfo, Completable<Void> promise) {
    Set<RegistrationInfo> infos = ownRegistrations.get(address);
    if (infos != null) {
      infos.remove(registrationInfo);
    }
    super.removeRegistration(address, registrationInfo, promise);
  }

  /** Writes this node's event-bus address and subscriptions again (idempotent: the caches hold sets). */
  private void repairAfterMerge() {
    if (!isActive() || getNodeInfo() == null) {
      return;
    }
    setNodeInfo(getNodeInfo(), (v, failure) -> {
      if (failure != null) {
        LOG.warn("after a cluster merge: could not write this node's event-bus address again: {}", failure.getMessage());
      }
    });
    int count = 0;
    for (Map.Entry<String, Set<RegistrationInfo>> entry : ownRegistrations.entrySet()) {
      for (RegistrationInfo info : Set.copyOf(entry.getValue())) {
        super.addRegistration(entry.getKey(), info, (v, failure) -> { });
        count++;
      }
    }
    LOG.info("after a cluster merge: wrote this node's event-bus address and {} subscriptions again", count);
  }

  @Override
  public void join(Completable<Void> promise) {
    vertx.<Void>executeBlocking(() -> {
      cacheManager.start();
      cacheManager.addListener(new MergeWatcher());
      cacheManager.addListener(new ViewWatcher(this::suspectStaleIncarnations));
      suspectStaleIncarnations();
      return null;
    }, false).onComplete((v, failure) -> {
      if (failure != null) {
        promise.fail(failure);
      } else {
        super.join(promise);
      }
    });
  }

  @Override
  public void leave(Completable<Void> promise) {
    super.leave((v, failure) -> vertx.<Void>executeBlocking(() -> {
      cacheManager.stop();
      return null;
    }, false).onComplete((ignored, stopFailure) -> promise.complete(null, failure != null ? failure : stopFailure)));
  }

  /**
   * Suspects the earlier incarnations of restarted nodes in the current view. One at the very address of its newer
   * incarnation is dead for sure (two live processes cannot hold one host:port): it goes to GMS at once, as if the
   * failure detector had verified it. Any other (say, two live nodes given the same id) first gets VERIFY_SUSPECT2's
   * check that it does not answer.
   */
  private void suspectStaleIncarnations() {
    View view = channel.getView();
    if (view == null) {
      return;
    }
    Map<String, Address> byName = new LinkedHashMap<>();
    for (Address member : view.getMembers()) {
      String name = NameCache.get(member);
      byName.put(name != null ? name : member.toString(), member);
    }
    List<Address> stale = new ArrayList<>();
    for (String name : StaleIncarnations.in(List.copyOf(byName.keySet()))) {
      stale.add(byName.get(name));
    }
    List<Address> dead = new ArrayList<>();
    for (Address member : view.getMembers()) {
      if (!stale.contains(member)) {
        // the newest incarnation of its node: those at its own host:port are dead
        dead.addAll(incarnationsReplacedBy(view, member, physicalAddress(member)));
      }
    }
    List<Address> unsure = stale.stream().filter(m -> !dead.contains(m) && !m.equals(channel.getAddress()) && suspected.add(m)).toList();
    suspected.retainAll(view.getMembers());
    exclude(dead);
    if (!unsure.isEmpty() && actsOn(unsure)) {
      LOG.info("cluster member(s) {} carry the node id of a newer member: suspected", unsure);
      verifySuspect.up(new Event(Event.SUSPECT, unsure));
    }
  }

  /**
   * A discovery request from {@code sender}: a member of the view with the sender's node id at the sender's very
   * host:port is its dead incarnation, excluded now (the newcomer then joins a view without it; if it was the
   * coordinator, the next member takes over at once instead of after the failure detector's timeout).
   */
  private void excludeIncarnationsReplacedBy(Address sender, PhysicalAddress senderAddress) {
    View view = channel.getView();
    if (view == null) {
      return;
    }
    List<Address> dead = incarnationsReplacedBy(view, sender, senderAddress.printIpAddress());
    if (!dead.isEmpty()) {
      // off the JGroups thread that delivers the request: GMS takes it from here
      ForkJoinPool.commonPool().execute(() -> exclude(dead));
    }
  }

  /**
   * The members of {@code view} other than {@code newer} (and this node) with {@code newer}'s node id at its
   * host:port {@code newerAddress}, not handed over before: its dead incarnations.
   */
  private List<Address> incarnationsReplacedBy(View view, Address newer, String newerAddress) {
    String nodeId = StaleIncarnations.nodeIdOf(NameCache.get(newer));
    List<Address> dead = new ArrayList<>();
    if (nodeId == null || newerAddress == null) {
      return dead;
    }
    for (Address member : view.getMembers()) {
      if (!member.equals(newer) && !member.equals(channel.getAddress())
          && nodeId.equals(StaleIncarnations.nodeIdOf(NameCache.get(member)))
          && newerAddress.equals(physicalAddress(member)) && suspected.add(member)) {
        dead.add(member);
      }
    }
    return dead;
  }

  /**
   * Members dead for sure go to GMS as if the failure detector had verified them: it installs a view without them.
   * Only on the member that installs views then (see {@link #actsOn}).
   */
  private void exclude(List<Address> dead) {
    if (!dead.isEmpty() && actsOn(dead)) {
      LOG.info("cluster member(s) {} are earlier incarnations of nodes restarted at the same address: excluded", dead);
      verifySuspect.getUpProtocol().up(new Event(Event.SUSPECT, dead));
    }
  }

  /**
   * Whether this member is the one to act on suspects {@code gone}: the coordinator, or the next in line when they
   * include the coordinator. Any other member's GMS only logs that it is not the coordinator.
   */
  private boolean actsOn(List<Address> gone) {
    View view = channel.getView();
    if (view == null) {
      return false;
    }
    return view.getMembers().stream().filter(m -> !gone.contains(m)).findFirst().map(channel.getAddress()::equals).orElse(false);
  }

  /** {@code host:port} of a member's membership transport; null when unknown. */
  private String physicalAddress(Address member) {
    Object physical = channel.down(new Event(Event.GET_PHYSICAL_ADDRESS, member));
    return physical instanceof PhysicalAddress address ? address.printIpAddress() : null;
  }

  /** {@code host:port} of every member's membership transport, as the view knows them. */
  public Set<String> memberAddresses() {
    View view = channel.getView();
    Set<String> out = new LinkedHashSet<>();
    if (view != null) {
      for (Address member : view.getMembers()) {
        String physical = physicalAddress(member);
        if (physical != null) {
          out.add(physical);
        }
      }
    }
    return out;
  }

  /** Calls {@code onChange} (on an Infinispan thread) after each view change or merge; the returned handle removes it. */
  public Object onViewChange(Runnable onChange) {
    ViewWatcher watcher = new ViewWatcher(onChange);
    cacheManager.addListener(watcher);
    return watcher;
  }

  public void removeViewListener(Object handle) {
    if (handle != null && cacheManager.getStatus().allowInvocations()) {
      cacheManager.removeListener(handle);
    }
  }

  /** Like a crash, for tests: the node stops talking at once and leaves without a goodbye. */
  public void crash() throws Exception {
    Util.shutdown(channel);
  }

  @Listener(sync = false)
  public final class MergeWatcher {
    @Merged
    public void merged(MergeEvent event) {
      LOG.warn("cluster partitions merged ({} members): repairing this node's event-bus entries", event.getNewMembers().size());
      for (long delay : MERGE_REPAIR_DELAYS_MS) {
        vertx.setTimer(delay, t -> repairAfterMerge());
      }
    }
  }

  @Listener(sync = false)
  public static final class ViewWatcher {
    private final Runnable onChange;

    ViewWatcher(Runnable onChange) {
      this.onChange = onChange;
    }

    @ViewChanged
    @Merged
    public void viewChanged(ViewChangedEvent event) {
      onChange.run();
    }
  }
}
