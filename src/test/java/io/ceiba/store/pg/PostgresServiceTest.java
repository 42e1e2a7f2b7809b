package io.ceiba.store.pg;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import io.ceiba.config.PostgresConfig;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.LogWatch;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.TestPostgres;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.CheckResult;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a real PostgreSQL: migrations, readiness, the embedded server's data across restarts. */
class PostgresServiceTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static PostgresConfig config(String url, boolean migrate) {
    return new PostgresConfig(url, 0, 4, Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ofMinutes(5), migrate);
  }

  private JsonObject readiness(PostgresService pg) throws Exception {
    HealthChecks checks = HealthChecks.create(vertx);
    pg.registerReadiness(checks);
    CheckResult result = checks.checkStatus().await(10, TimeUnit.SECONDS);
    return result.toJson();
  }

  @Test
  void should_report_migrations_pending_until_they_ran() throws Exception {
    PostgresService pg = PostgresService.start(vertx, config(TestPostgres.newDatabase(), false), Path.of("unused"))
        .await(30, TimeUnit.SECONDS);
    JsonObject before = readiness(pg);
    assertThat(before.getString("outcome")).isEqualTo("DOWN");
    assertThat(before.encode()).contains("migrations pending: schema at 0, expected " + Migrations.EXPECTED_VERSION);

    pg.migrateNow().await(60, TimeUnit.SECONDS);
    assertThat(readiness(pg).getString("outcome")).isEqualTo("UP");
    // running them again changes nothing
    pg.migrateNow().await(60, TimeUnit.SECONDS);
    assertThat(pg.schemaState().await(10, TimeUnit.SECONDS)).isEqualTo(new SchemaState(Migrations.EXPECTED_VERSION, Migrations.EXPECTED_VERSION, null));
    pg.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_keep_flyway_off_the_path_to_ready_when_the_schema_is_current() throws Exception {
    String db = TestPostgres.newDatabase();
    PostgresService first = PostgresService.start(vertx, config(db, false), Path.of("unused")).await(30, TimeUnit.SECONDS);
    first.migrateNow().await(60, TimeUnit.SECONDS);
    first.close().await(10, TimeUnit.SECONDS);

    try (LogWatch log = LogWatch.of(PostgresService.class.getName())) {
      PostgresService pg = PostgresService.start(vertx, config(db, true), Path.of("unused")).await(30, TimeUnit.SECONDS);
      Eventually.until(vertx, Duration.ofSeconds(10), "the schema checked", () -> Future.succeededFuture(messages(log).stream()
          .anyMatch(m -> m.contains("Flyway validates it once the node has started")))).await(15, TimeUnit.SECONDS);
      assertThat(readiness(pg).getString("outcome")).isEqualTo("UP");
      // Flyway has not run: its line would say the version without the note
      assertThat(messages(log)).noneMatch(m -> m.equals("database schema at version " + Migrations.EXPECTED_VERSION));

      pg.startDeferredWork();
      Eventually.until(vertx, Duration.ofSeconds(30), "Flyway's run after the start", () -> Future.succeededFuture(messages(log)
          .contains("database schema at version " + Migrations.EXPECTED_VERSION))).await(40, TimeUnit.SECONDS);
      pg.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void should_migrate_at_once_when_migrations_are_pending_whatever_the_node_does() throws Exception {
    try (LogWatch log = LogWatch.of(PostgresService.class.getName())) {
      PostgresService pg = PostgresService.start(vertx, config(TestPostgres.newDatabase(), true), Path.of("unused"))
          .await(30, TimeUnit.SECONDS);
      Eventually.until(vertx, Duration.ofSeconds(60), "migrated without startDeferredWork", () -> Future.succeededFuture(
          messages(log).contains("database schema at version " + Migrations.EXPECTED_VERSION))).await(70, TimeUnit.SECONDS);
      assertThat(pg.schemaState().await(10, TimeUnit.SECONDS).ready()).isTrue();
      pg.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static List<String> messages(LogWatch log) {
    return log.events().stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void should_be_unready_not_hanging_when_postgres_is_unreachable() throws Exception {
    String url = "postgres://nobody:secret@127.0.0.1:" + Ports.free() + "/none";
    PostgresService pg = PostgresService.start(vertx, config(url, true), Path.of("unused")).await(30, TimeUnit.SECONDS);
    long start = System.nanoTime();
    JsonObject ready = readiness(pg);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    assertThat(ready.getString("outcome")).isEqualTo("DOWN");
    assertThat(ready.encode()).contains("unreachable").doesNotContain("secret");
    pg.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_keep_embedded_data_across_restarts(@TempDir Path dataDir) throws Exception {
    PostgresConfig embedded = config(PostgresConfig.EMBEDDED, false);
    PostgresService first = PostgresService.start(vertx, embedded, dataDir).await(120, TimeUnit.SECONDS);
    first.migrateNow().await(60, TimeUnit.SECONDS);
    first.pool().preparedQuery("insert into registry_history (version, sha256, body, applied_by) values ($1, $2, $3, $4)")
        .execute(Tuple.of(7L, "abc", "version: 7", "test")).await(10, TimeUnit.SECONDS);
    first.close().await(30, TimeUnit.SECONDS);
    assertThat(dataDir.resolve("postgres/PG_VERSION")).isRegularFile();

    PostgresService second = PostgresService.start(vertx, embedded, dataDir).await(120, TimeUnit.SECONDS);
    var rows = second.pool().query("select applied_by from registry_history where version = 7").execute().await(10, TimeUnit.SECONDS);
    assertThat(rows.iterator().next().getString("applied_by")).isEqualTo("test");
    second.close().await(30, TimeUnit.SECONDS);
  }

  @Test
  void should_expect_the_highest_migration_script() throws IOException {
    Pattern script = Pattern.compile("V(\\d+)__.*\\.sql");
    try (Stream<Path> files = Files.list(Path.of("src/main/resources/db/migration"))) {
      int highest = files.map(p -> script.matcher(p.getFileName().toString()))
          .filter(java.util.regex.Matcher::matches).mapToInt(m -> Integer.parseInt(m.group(1))).max().orElse(0);
      assertThat(Migrations.EXPECTED_VERSION).isEqualTo(highest);
    }
  }
}
