package io.ceiba.registry;

/** How an edge spreads requests over the healthy backends of one tier. */
public enum LbPolicy {
  ROUND_ROBIN("round-robin"),
  LEAST_CONNECTIONS("least-connections"),
  WEIGHTED("weighted");

  private final String yamlName;

  LbPolicy(String yamlName) {
    this.yamlName = yamlName;
  }

  public String yamlName() {
    return yamlName;
  }
}
