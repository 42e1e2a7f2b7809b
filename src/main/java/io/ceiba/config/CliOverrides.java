package io.ceiba.config;

/**
 * Command-line flags that override the node config; null means "not given".
 *
 * @param roles     {@code edge,auth} or {@code combined}
 * @param instances {@code edge=4,auth=2}
 */
public record CliOverrides(String roles, String instances, String nodeId, Boolean cluster) {

  public static final CliOverrides NONE = new CliOverrides(null, null, null, null);
}
