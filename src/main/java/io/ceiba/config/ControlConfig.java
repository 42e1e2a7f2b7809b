package io.ceiba.config;

import java.time.Duration;

/**
 * The operations listener: {@code /health}, {@code /ready}, {@code /metrics} on every node, {@code /v1/*}
 * where the control role runs.
 *
 * @param token       bearer token for {@code /v1/*}; empty means "generate one into {@code data_dir/admin-token}"
 * @param idleTimeout a connection with no traffic for this long is closed
 * @param listener    head deadline and connection cap
 */
public record ControlConfig(String host, int port, String token, Duration idleTimeout, ListenerLimits listener) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 9090;
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
  public static final ListenerLimits DEFAULT_LISTENER = new ListenerLimits(Duration.ofSeconds(10), 256);

  @Override
  public String toString() {
    // never print the token
    return "ControlConfig[host=" + host + ", port=" + port + ", token=" + (token.isEmpty() ? "<generated>" : "<set>")
        + ", idleTimeout=" + idleTimeout + ", listener=" + listener + "]";
  }
}
