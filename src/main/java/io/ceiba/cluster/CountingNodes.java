package io.ceiba.cluster;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * How many nodes count requests against rate limits and quotas: the cluster's edge nodes, this one included. It is
 * what a limit is divided by when nodes count alone (Redis down or absent). Members that have not announced their
 * roles yet are counted as edges, so a node that just joined never assumes a bigger share than it has.
 * Kept by {@link MembershipVerticle}; read by any thread.
 */
public final class CountingNodes implements IntSupplier {

  private final AtomicInteger count = new AtomicInteger(1);

  @Override
  public int getAsInt() {
    return count.get();
  }

  void set(int nodes) {
    count.set(Math.max(1, nodes));
  }
}
