package io.ceiba.testkit;

import io.ceiba.node.CeibaNode;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.ext.cluster.infinispan.impl.DataConverter;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.multimap.api.embedded.EmbeddedMultimapCacheManagerFactory;
import org.infinispan.multimap.api.embedded.MultimapCache;

/**
 * What a lost cluster-manager entry event leaves behind, made on purpose: a node's event-bus registrations removed
 * from the cluster's subscription map ({@code __vertx.subs}), so every node forgets that it listens there. Its
 * consumers still run, but no publish or request of another node reaches them until they register again.
 */
public final class LostRegistrations {

  private static final String SUBSCRIPTIONS = "__vertx.subs";

  private LostRegistrations() {
  }

  /**
   * Removes, through {@code any} node of the cluster, the registrations of the node whose Vert.x node id is
   * {@code deaf} on the addresses {@code which} accepts; the addresses it removed some from.
   */
  public static Set<String> make(CeibaNode any, String deaf, Predicate<String> which) throws Exception {
    EmbeddedCacheManager caches = (EmbeddedCacheManager) any.context().clusterManager().getCacheContainer();
    MultimapCache<String, byte[]> subscriptions = EmbeddedMultimapCacheManagerFactory.<String, byte[]>from(caches).get(SUBSCRIPTIONS);
    Set<String> removed = new TreeSet<>();
    for (Object key : List.copyOf(caches.getCache(SUBSCRIPTIONS).keySet())) {
      String address = String.valueOf(key);
      if (!which.test(address)) {
        continue;
      }
      Collection<byte[]> registrations = subscriptions.get(address).get(10, TimeUnit.SECONDS);
      for (byte[] registration : List.copyOf(registrations)) {
        if (DataConverter.<RegistrationInfo>fromCachedObject(registration).nodeId().equals(deaf)) {
          subscriptions.remove(address, registration).get(10, TimeUnit.SECONDS);
          removed.add(address);
        }
      }
    }
    return removed;
  }

  /** Whether the node whose Vert.x node id is {@code nodeId} is registered on {@code address}, as the cluster knows it. */
  public static boolean registered(CeibaNode any, String nodeId, String address) throws Exception {
    EmbeddedCacheManager caches = (EmbeddedCacheManager) any.context().clusterManager().getCacheContainer();
    MultimapCache<String, byte[]> subscriptions = EmbeddedMultimapCacheManagerFactory.<String, byte[]>from(caches).get(SUBSCRIPTIONS);
    return subscriptions.get(address).get(10, TimeUnit.SECONDS).stream()
        .anyMatch(r -> DataConverter.<RegistrationInfo>fromCachedObject(r).nodeId().equals(nodeId));
  }
}
