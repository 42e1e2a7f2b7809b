package io.ceiba.store.pg;

import org.flywaydb.core.Flyway;

/** Schema migrations (Flyway, {@code classpath:db/migration}). Blocking: call through {@code executeBlocking}. */
public final class Migrations {

  /** The schema version this jar needs; a test keeps it equal to the highest {@code V<n>__} script. */
  public static final int EXPECTED_VERSION = 10;

  private Migrations() {
  }

  /** Applies pending migrations; safe to run concurrently from several nodes (Flyway takes a lock). */
  public static int migrate(PostgresUrl url) {
    Flyway flyway = Flyway.configure()
        .dataSource(url.jdbcUrl(), url.user(), url.password())
        .locations("classpath:db/migration")
        .connectRetries(0)
        .load();
    flyway.migrate();
    return EXPECTED_VERSION;
  }
}
