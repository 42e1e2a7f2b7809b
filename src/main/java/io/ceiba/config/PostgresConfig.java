package io.ceiba.config;

import java.time.Duration;

/**
 * The Postgres that holds Ceiba's state.
 *
 * @param url            {@code embedded} (a PostgreSQL under {@code data_dir/postgres}) or {@code postgres://user:pass@host:5432/db}
 * @param embeddedPort   port of the embedded server on 127.0.0.1; 0 picks a free one
 * @param migrate        run schema migrations at start; when false {@code /ready} waits for someone else to run them
 */
public record PostgresConfig(
    String url,
    int embeddedPort,
    int maxConnections,
    Duration connectTimeout,
    Duration idleTimeout,
    Duration maxLifetime,
    boolean migrate) {

  public static final String EMBEDDED = "embedded";
  public static final String DEFAULT_URL = EMBEDDED;
  public static final int DEFAULT_EMBEDDED_PORT = 0;
  public static final int DEFAULT_MAX_CONNECTIONS = 8;
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
  public static final Duration DEFAULT_MAX_LIFETIME = Duration.ofMinutes(30);
  public static final boolean DEFAULT_MIGRATE = true;

  public boolean embedded() {
    return EMBEDDED.equals(url);
  }

  @Override
  public String toString() {
    // the URL may carry a password
    return "PostgresConfig[url=" + (embedded() ? url : url.replaceAll("//[^@/]*@", "//***@")) + ", maxConnections=" + maxConnections + "]";
  }
}
