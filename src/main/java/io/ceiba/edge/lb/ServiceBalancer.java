package io.ceiba.edge.lb;

import io.ceiba.registry.Backend;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.LbPolicy;
import java.util.function.Predicate;

/**
 * Picks a backend for one service. Candidates come in tiers, first non-empty tier wins:
 * healthy primary backends on this node (the fast path), healthy primary backends elsewhere, then the
 * same two tiers of the {@code fallback} pool. Within a tier the service's policy decides.
 * One instance per edge verticle instance and registry version: not thread-safe, and needs not be.
 */
public final class ServiceBalancer {

  private final String serviceName;
  private final LbPolicy policy;
  private final Backend[] backends;
  private final HttpService service;
  /** 0 primary local, 1 primary remote, 2 fallback local, 3 fallback remote. */
  private final int[] tier;
  private final int[] inFlight;
  private final int[] currentWeight;
  private final int[] scratch;
  private int next;

  public ServiceBalancer(HttpService service, String selfNode) {
    this.service = service;
    this.serviceName = service.name();
    this.policy = service.lb();
    this.backends = service.allBackends().toArray(Backend[]::new);
    this.tier = new int[backends.length];
    for (int i = 0; i < backends.length; i++) {
      boolean fallback = i >= service.backends().size();
      boolean local = selfNode.equals(backends[i].node());
      tier[i] = (fallback ? 2 : 0) + (local ? 0 : 1);
    }
    this.inFlight = new int[backends.length];
    this.currentWeight = new int[backends.length];
    this.scratch = new int[backends.length];
  }

  public String serviceName() {
    return serviceName;
  }

  public HttpService service() {
    return service;
  }

  /** The index of the backend with {@code url} that lives on {@code node}, or -1. */
  public int indexOf(String url, String node) {
    for (int i = 0; i < backends.length; i++) {
      if (backends[i].url().equals(url) && node.equals(backends[i].node())) {
        return i;
      }
    }
    return -1;
  }

  public Backend backend(int index) {
    return backends[index];
  }

  /** Whether the backend at {@code index} comes from the fallback pool. */
  public boolean isFallback(int index) {
    return tier[index] >= 2;
  }

  /**
   * @param health  this node's view of backend health
   * @param exclude index to skip (a backend that just failed), or -1
   * @return index of the chosen backend, or -1 when no backend is healthy
   */
  public int select(BackendHealth health, int exclude) {
    return select(health, exclude, b -> true);
  }

  /** As {@link #select(BackendHealth, int)}, among the backends {@code reachable} accepts (e.g. whose node is in the view). */
  public int select(BackendHealth health, int exclude, Predicate<Backend> reachable) {
    for (int t = 0; t < 4; t++) {
      int count = 0;
      for (int i = 0; i < backends.length; i++) {
        if (tier[i] == t && i != exclude && health.isUp(serviceName, backends[i].node(), backends[i].url())
            && reachable.test(backends[i])) {
          scratch[count++] = i;
        }
      }
      if (count > 0) {
        return choose(count);
      }
    }
    return -1;
  }

  private int choose(int count) {
    if (count == 1) {
      return scratch[0];
    }
    switch (policy) {
      case LEAST_CONNECTIONS -> {
        int start = Math.floorMod(next++, count);
        int best = scratch[start];
        for (int k = 1; k < count; k++) {
          int i = scratch[(start + k) % count];
          if (inFlight[i] < inFlight[best]) {
            best = i;
          }
        }
        return best;
      }
      case WEIGHTED -> {
        // smooth weighted round-robin (as nginx): even spread, exact ratios over each cycle
        int total = 0;
        int best = -1;
        for (int k = 0; k < count; k++) {
          int i = scratch[k];
          currentWeight[i] += backends[i].weight();
          total += backends[i].weight();
          if (best < 0 || currentWeight[i] > currentWeight[best]) {
            best = i;
          }
        }
        currentWeight[best] -= total;
        return best;
      }
      default -> {
        return scratch[Math.floorMod(next++, count)];
      }
    }
  }

  public void acquire(int index) {
    inFlight[index]++;
  }

  public void release(int index) {
    inFlight[index]--;
  }
}
