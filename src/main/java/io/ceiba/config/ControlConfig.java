package io.ceiba.config;

import java.time.Duration;

/**
 * The operations listener: {@code /health}, {@code /ready}, {@code /metrics} on every node, {@code /v1/*}
 * where the control role runs.
 *
 * @param token       bearer token for {@code /v1/*}; empty means "generate one into {@code data_dir/admin-token}"
 * @param metricsHost interface of the metrics listener; empty means {@code host}
 * @param metricsPort port of a second listener serving only {@code /metrics}, {@code /health} and {@code /ready}
 *                    (for a Prometheus that must not reach {@code /v1}); 0 means none
 * @param idleTimeout a connection with no traffic for this long is closed
 * @param listener    head deadline and connection cap
 */
public record ControlConfig(String host, int port, String token, String metricsHost, int metricsPort, Duration idleTimeout,
    ListenerLimits listener) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 9090;
  public static final int DEFAULT_METRICS_PORT = 0;
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
  public static final ListenerLimits DEFAULT_LISTENER = new ListenerLimits(Duration.ofSeconds(10), 256);

  public ControlConfig(String host, int port, String token) {
    this(host, port, token, "", DEFAULT_METRICS_PORT, DEFAULT_IDLE_TIMEOUT, DEFAULT_LISTENER);
  }

  /** Where the metrics listener binds: {@code metrics_host}, else the control host. */
  public String metricsBindHost() {
    return metricsHost.isEmpty() ? host : metricsHost;
  }

  @Override
  public String toString() {
    // never print the token
    return "ControlConfig[host=" + host + ", port=" + port + ", token=" + (token.isEmpty() ? "<generated>" : "<set>")
        + ", metricsHost=" + metricsHost + ", metricsPort=" + metricsPort + ", idleTimeout=" + idleTimeout + ", listener=" + listener + "]";
  }
}
