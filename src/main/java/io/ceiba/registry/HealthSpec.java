package io.ceiba.registry;

import java.time.Duration;

/**
 * Active health check of an HTTP service's backends.
 *
 * @param unhealthyAfter failed checks in a row that take a backend out
 * @param healthyAfter   good checks in a row that put it back
 */
public record HealthSpec(boolean enabled, String path, Duration interval, Duration timeout, int unhealthyAfter, int healthyAfter) {

  public static final HealthSpec DEFAULT = new HealthSpec(true, "/healthz", Duration.ofSeconds(2), Duration.ofMillis(500), 3, 2);
}
