package io.ceiba.cluster;

import io.ceiba.config.ClusterConfig;
import io.vertx.core.Completable;
import io.vertx.core.Vertx;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.ext.cluster.infinispan.InfinispanClusterManager;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
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
 */
public final class CeibaClusterManager extends InfinispanClusterManager {

  private static final Logger LOG = LoggerFactory.getLogger(CeibaClusterManager.class);
  private static final String DEFAULT_CACHE = "distributed-cache";
  static final long[] MERGE_REPAIR_DELAYS_MS = {1000, 5000};

  /** This node's cluster-wide subscriptions, as Vert.x registered them: what a merge may have lost. */
  private final Map<String, Set<RegistrationInfo>> ownRegistrations = new ConcurrentHashMap<>();

  private final DefaultCacheManager cacheManager;
  private final JChannel channel;
  private Vertx vertx;

  private CeibaClusterManager(DefaultCacheManager cacheManager, JChannel channel) {
    super(cacheManager);
    this.cacheManager = cacheManager;
    this.channel = channel;
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
    return new CeibaClusterManager(new DefaultCacheManager(holder, false), channel);
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

  /** {@code host:port} of every member's membership transport, as the view knows them. */
  public Set<String> memberAddresses() {
    View view = channel.getView();
    Set<String> out = new LinkedHashSet<>();
    if (view != null) {
      for (Address member : view.getMembers()) {
        Object physical = channel.down(new Event(Event.GET_PHYSICAL_ADDRESS, member));
        if (physical instanceof PhysicalAddress address) {
          out.add(address.printIpAddress());
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
