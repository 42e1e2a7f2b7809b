package io.ceiba.store.pg;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.PreparedStatement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar can be rolled back without the database: the previous release ({@link PreviousRelease#latest()}) starts on
 * a schema this build migrated, and every statement its code sends still prepares there (names, types, ON CONFLICT
 * targets: PostgreSQL parses and plans each one, as the Vert.x client does before executing it).
 */
class PreviousReleaseSchemaTest {

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void the_previous_release_starts_and_its_sql_prepares_on_the_current_schema() throws Exception {
    PreviousRelease release = PreviousRelease.latest();
    PostgresUrl url = PostgresUrl.parse(TestPostgres.newDatabase());
    assertThat(Migrations.migrate(url)).isGreaterThanOrEqualTo(release.schemaVersion());

    // its Flyway, with the migrations it shipped, on the newer schema: migrations it does not know are ignored, not
    // a failure, and nothing is left for it to do; its readiness asks for a schema at least at its own version
    MigrateResult result = Flyway.configure().dataSource(url.jdbcUrl(), url.user(), url.password())
        .locations("filesystem:" + shippedMigrations(release)).connectRetries(0).load().migrate();
    assertThat(result.migrationsExecuted).isZero();
    assertThat(new SchemaState(Migrations.EXPECTED_VERSION, release.schemaVersion(), null).ready()).isTrue();

    List<String> statements = release.statements();
    assertThat(statements).as("the captured SQL of release " + release.name()).hasSizeGreaterThan(20);
    assertThat(unpreparable(url, statements)).isEmpty();
  }

  @Test
  void a_contract_step_taken_a_release_too_early_is_caught() throws Exception {
    PostgresUrl url = PostgresUrl.parse(TestPostgres.newDatabase());
    Migrations.migrate(url);
    // what the lint refuses without a deprecation a release earlier: a rename and a dropped column
    try (Connection c = DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password()); Statement s = c.createStatement()) {
      s.execute("alter table api_keys rename column prefix to key_prefix");
      s.execute("alter table usage_events drop column node");
    }
    List<String> failures = unpreparable(url, PreviousRelease.latest().statements());
    assertThat(failures).anySatisfy(f -> assertThat(f).contains("column \"prefix\" does not exist"))
        .anySatisfy(f -> assertThat(f).contains("insert into usage_events", "column \"node\" of relation \"usage_events\" does not exist"));
  }

  /** The migrations the release shipped: this build's files up to its version (Flyway checks they are unchanged). */
  private Path shippedMigrations(PreviousRelease release) throws Exception {
    Path shipped = Files.createDirectories(dir.resolve("V1-V" + release.schemaVersion()));
    for (Map.Entry<Integer, Path> migration : MigrationLint.migrations(MigrationLintTest.MIGRATIONS).entrySet()) {
      if (migration.getKey() <= release.schemaVersion()) {
        Files.copy(migration.getValue(), shipped.resolve(migration.getValue().getFileName()));
      }
    }
    return shipped;
  }

  /** Each statement PostgreSQL refuses to prepare, with its error. */
  private List<String> unpreparable(PostgresUrl url, List<String> statements) throws Exception {
    List<String> failures = new ArrayList<>();
    PgConnection connection = PgConnection.connect(vertx, url.connectOptions()).await(20, TimeUnit.SECONDS);
    try {
      for (String sql : statements) {
        try {
          PreparedStatement prepared = connection.prepare(sql).await(20, TimeUnit.SECONDS);
          prepared.close().await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          failures.add(sql.replaceAll("\\s+", " ") + " -> " + e.getMessage());
        }
      }
    } finally {
      connection.close().await(10, TimeUnit.SECONDS);
    }
    return failures;
  }
}
