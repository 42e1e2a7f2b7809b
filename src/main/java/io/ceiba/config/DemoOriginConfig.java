package io.ceiba.config;

/**
 * A small echo origin the node can run beside itself, so the example registry has a backend that answers on a fresh
 * machine (README quick start, {@code ops/cluster-local.sh}). Off unless a port is set; on at 9001 when the node runs
 * without {@code --config}.
 *
 * @param host interface it listens on (loopback by default: it is a backend, not a public listener)
 * @param port 0 (the default with a config file) turns it off
 */
public record DemoOriginConfig(String host, int port) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 0;
  /** Without a config file the node is the quick start: the example registry's demo and api services live here. */
  public static final int QUICK_START_PORT = 9001;

  public boolean enabled() {
    return port > 0;
  }
}
