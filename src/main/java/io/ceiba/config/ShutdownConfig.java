package io.ceiba.config;

import java.time.Duration;

/**
 * @param grace      how long in-flight work may take to finish once the listeners closed before the node exits anyway
 * @param drainDelay how long a stopping node keeps accepting and serving after SIGTERM, already out of its peers' views
 *                   and unready (503), before it closes its listeners: the time a load balancer needs to notice;
 *                   zero closes them at once
 */
public record ShutdownConfig(Duration grace, Duration drainDelay) {

  public static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);
  public static final Duration DEFAULT_DRAIN_DELAY = Duration.ofSeconds(5);

  /** The longest a stop may take before it counts as timed out: the drain, the grace, and leaving the cluster. */
  public Duration stopDeadline() {
    return drainDelay.plus(grace).plusSeconds(10);
  }
}
