package io.ceiba.store.pg;

import io.ceiba.config.PostgresConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postgres for the roles that need it: the embedded server when configured, one shared connection pool
 * ({@code ceiba}), and schema migrations run in the background (retried every {@link #MIGRATE_RETRY_MS}
 * while Postgres is unreachable) so a node starts even when its database does not answer yet;
 * {@code /ready} says so until the schema is where this jar expects it. Thread-safe: the pool is made
 * to be shared between verticles; the few mutable fields are atomics.
 */
public final class PostgresService {

  private static final Logger LOG = LoggerFactory.getLogger(PostgresService.class);
  static final long MIGRATE_RETRY_MS = 5000;
  static final long READINESS_TIMEOUT_MS = 2000;

  private final Vertx vertx;
  private final PostgresConfig config;
  private final PostgresUrl url;
  /** The embedded server's supervisor, once it runs; completed with null with an external PostgreSQL. */
  private final Future<EmbeddedPostgresSupervisor> embedded;
  private final Pool pool;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Flyway's deferred run: not asked for yet, waiting for the node to start, or released. */
  private final AtomicReference<Deferred> deferred = new AtomicReference<>(Deferred.NOT_YET);
  private volatile long retryTimer = -1;
  private volatile String lastMigrationError;

  private enum Deferred { NOT_YET, WAITING, DONE }

  private PostgresService(Vertx vertx, PostgresConfig config, PostgresUrl url, Future<EmbeddedPostgresSupervisor> embedded) {
    this.vertx = vertx;
    this.config = config;
    this.url = url;
    this.embedded = embedded;
    PgConnectOptions connect = url.connectOptions();
    this.pool = PgBuilder.pool()
        .with(new PoolOptions()
            .setMaxSize(config.maxConnections())
            .setShared(true)
            // bounds the wait for a connection, including opening one
            // (DB_CONNECT_TIMEOUT_SECONDS; the URL's connect_timeout, when it has one)
            .setConnectionTimeout((int) url.connectTimeout().orElse(config.connectTimeout()).toMillis())
            .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS)
            .setName("ceiba-" + url.host() + ":" + url.port() + "/" + url.database())
            .setIdleTimeout((int) config.idleTimeout().toMillis()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
            .setMaxLifetime((int) config.maxLifetime().toMillis()).setMaxLifetimeUnit(TimeUnit.MILLISECONDS))
        .connectingTo(connect)
        .using(vertx)
        .build();
  }

  /**
   * The service as soon as its address is known, with the embedded server (when configured) still starting on a
   * worker: {@link #started()} says when it runs, so that a node deploys what needs no database meanwhile. Once the
   * server answers, migrations run in the background; when the schema is already where this jar expects it (every
   * start but the first) Flyway's run, which only validates then, waits for {@link #startDeferredWork()}, off the
   * path to ready.
   */
  public static Future<PostgresService> starting(Vertx vertx, PostgresConfig config, Path dataDir) {
    if (!config.embedded()) {
      // parsing reads the certificate files the URL names: off the event loop
      return vertx.executeBlocking(() -> PostgresUrl.parse(config.url())).map(url -> {
        LOG.info("using PostgreSQL at {}", url);
        PostgresService service = new PostgresService(vertx, config, url, Future.succeededFuture(null));
        service.afterServerStart();
        return service;
      });
    }
    return vertx.executeBlocking(() -> config.embeddedPort() == 0 ? EmbeddedPostgresServer.freePort() : config.embeddedPort())
        .map(port -> {
          // unordered: an ordered one would hold back every later executeBlocking of this context (the node's admin
          // token, its usage spool) until the server runs
          Future<EmbeddedPostgresSupervisor> server = vertx.executeBlocking(() -> EmbeddedPostgresServer.start(dataDir, port), false)
              .recover(e -> Future.failedFuture(new IllegalStateException("embedded PostgreSQL under " + dataDir.resolve("postgres")
                  + " did not start: " + e.getMessage() + "; check data_dir (CEIBA_DATA_DIR) and the lines above", e)))
              .map(embedded -> {
                LOG.info("embedded PostgreSQL running on 127.0.0.1:{} with data in {}", embedded.port(), dataDir.resolve("postgres"));
                EmbeddedPostgresSupervisor supervisor = new EmbeddedPostgresSupervisor(vertx, embedded);
                supervisor.start();
                return supervisor;
              });
          PostgresService service = new PostgresService(vertx, config, EmbeddedPostgresServer.url(port), server);
          server.onSuccess(s -> service.afterServerStart());
          return service;
        });
  }

  /** {@link #starting}, completed once the server runs; the pool is closed again when it did not start. */
  public static Future<PostgresService> start(Vertx vertx, PostgresConfig config, Path dataDir) {
    return starting(vertx, config, dataDir).compose(service -> service.started()
        .map(v -> service)
        .recover(e -> service.close().transform(ignored -> Future.failedFuture(e))));
  }

  /** Completes once the server runs (at once with an external PostgreSQL); fails when the embedded one did not start. */
  public Future<Void> started() {
    return embedded.mapEmpty();
  }

  /** Migrations: now when some are pending or the schema cannot be read; a Flyway run that would only validate, deferred. */
  private void afterServerStart() {
    if (!config.migrate() || closed.get()) {
      return;
    }
    schemaState().onComplete(ar -> {
      SchemaState state = ar.result();
      if (state.ready() && state.current() == state.expected()) {
        LOG.info("database schema at version {} (Flyway validates it once the node has started)", state.current());
        if (!deferred.compareAndSet(Deferred.NOT_YET, Deferred.WAITING)) {
          migrateInBackground(); // the node started first
        }
      } else {
        migrateInBackground();
      }
    });
  }

  /** Runs what {@link #starting} kept off the path to ready (Flyway's validation of a current schema); once. */
  public void startDeferredWork() {
    if (deferred.getAndSet(Deferred.DONE) == Deferred.WAITING && !closed.get()) {
      migrateInBackground();
    }
  }

  public Pool pool() {
    return pool;
  }

  public PostgresUrl url() {
    return url;
  }

  private void migrateInBackground() {
    migrateNow().onFailure(e -> {
      if (!closed.get()) {
        retryTimer = vertx.setTimer(MIGRATE_RETRY_MS, t -> migrateInBackground());
      }
    });
  }

  /** Runs pending migrations now (on a worker); logs each distinct failure once. */
  public Future<Void> migrateNow() {
    return vertx.<Integer>executeBlocking(() -> Migrations.migrate(url), false)
        .onSuccess(version -> {
          lastMigrationError = null;
          LOG.info("database schema at version {}", version);
        })
        .onFailure(e -> {
          String message = PostgresErrors.describe(e, url);
          if (!Objects.equals(message, lastMigrationError)) {
            LOG.warn("schema migration failed, retrying every {} s: {}", MIGRATE_RETRY_MS / 1000, message);
          }
          lastMigrationError = message;
        })
        .mapEmpty();
  }

  /** Reads the applied schema version; an absent history table means version 0. Never fails. */
  public Future<SchemaState> schemaState() {
    return pool.query("select coalesce(max(version::int), 0) as v from flyway_schema_history where success").execute()
        .map(rows -> {
          Row row = rows.iterator().next();
          return new SchemaState(row.getInteger("v"), Migrations.EXPECTED_VERSION, null);
        })
        .recover(e -> {
          String message = PostgresErrors.describe(e, url);
          if (message.contains("flyway_schema_history") && message.contains("does not exist")) {
            return Future.succeededFuture(new SchemaState(0, Migrations.EXPECTED_VERSION, null));
          }
          return Future.succeededFuture(new SchemaState(0, Migrations.EXPECTED_VERSION, "unreachable: " + message));
        });
  }

  /** Adds the {@code postgres} check to {@code /ready}: reachable and schema at the expected version. */
  public void registerReadiness(HealthChecks checks) {
    checks.register("postgres", READINESS_TIMEOUT_MS + 500, promise -> schemaState()
        .timeout(READINESS_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .onComplete(ar -> {
          if (ar.failed()) {
            promise.tryComplete(Status.KO(new JsonObject().put("reason", "no answer within " + READINESS_TIMEOUT_MS + " ms")));
            return;
          }
          SchemaState s = ar.result();
          JsonObject data = new JsonObject().put("schema_version", s.current()).put("expected_version", s.expected());
          if (s.ready()) {
            promise.tryComplete(Status.OK(data));
          } else if (s.error() != null) {
            // the pool's own words about a failed TLS handshake are thin; pgjdbc's (the migration's) are precise
            String detail = lastMigrationError != null && !s.error().endsWith(lastMigrationError)
                ? " (last migration attempt: " + lastMigrationError + ")" : "";
            promise.tryComplete(Status.KO(data.put("reason", s.error() + detail)));
          } else {
            String reason = "migrations pending: schema at " + s.current() + ", expected " + s.expected();
            if (lastMigrationError != null) {
              reason += " (last attempt: " + lastMigrationError + ")";
            }
            promise.tryComplete(Status.KO(data.put("reason", reason)));
          }
        }));
  }

  /** Stops migration retries, closes the pool, stops the embedded server. */
  public Future<Void> close() {
    if (!closed.compareAndSet(false, true)) {
      return Future.succeededFuture();
    }
    vertx.cancelTimer(retryTimer);
    // a server still starting is waited for, then stopped; one that failed to start has nothing to stop
    return pool.close()
        .eventually(() -> embedded.transform(ar -> ar.failed() || ar.result() == null ? Future.succeededFuture()
            : ar.result().close().onComplete(stopped -> LOG.info("embedded PostgreSQL stopped"))))
        .mapEmpty();
  }

  @Override
  public String toString() {
    return "PostgresService[" + url + ", " + config.maxConnections() + " connections]";
  }
}
