package io.ceiba.registry;

import java.time.Duration;

/** Active health check of a TCP service's backends: a connect, or Redis {@code ROLE} = master. */
public record TcpHealthSpec(Kind kind, Duration interval, Duration timeout, int unhealthyAfter, int healthyAfter) {

  /** What a check does. */
  public enum Kind {
    TCP("tcp"),
    REDIS_PRIMARY("redis-primary");

    private final String yamlName;

    Kind(String yamlName) {
      this.yamlName = yamlName;
    }

    public String yamlName() {
      return yamlName;
    }
  }
}
