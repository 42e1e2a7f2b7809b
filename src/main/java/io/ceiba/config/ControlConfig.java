package io.ceiba.config;

/**
 * The operations listener: {@code /health}, {@code /ready}, {@code /metrics} on every node, {@code /v1/*}
 * where the control role runs.
 *
 * @param token bearer token for {@code /v1/*}; empty means "generate one into {@code data_dir/admin-token}"
 */
public record ControlConfig(String host, int port, String token) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 9090;

  @Override
  public String toString() {
    // never print the token
    return "ControlConfig[host=" + host + ", port=" + port + ", token=" + (token.isEmpty() ? "<generated>" : "<set>") + "]";
  }
}
