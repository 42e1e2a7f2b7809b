package io.ceiba.registry;

import java.time.Duration;

/**
 * @param connect  to open a connection to a backend ({@code 502 bad_gateway} after)
 * @param upstream for the backend's response to begin, and between reads ({@code 504 upstream_timeout} after)
 */
public record Timeouts(Duration connect, Duration upstream) {

  public static final Timeouts DEFAULT = new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(30));
}
