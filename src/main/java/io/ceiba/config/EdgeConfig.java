package io.ceiba.config;

/**
 * The public HTTP listener.
 *
 * @param advertise how peers reach this edge, e.g. {@code http://10.0.0.5:8080}
 */
public record EdgeConfig(String host, int port, String advertise) {

  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
}
