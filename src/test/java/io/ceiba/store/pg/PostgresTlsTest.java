package io.ceiba.store.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ceiba.cluster.ClusterPki;
import io.ceiba.testkit.TestCertificates;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A managed PostgreSQL as operators meet it: TLS only ({@code hostssl} in pg_hba, no {@code host} line), a server
 * certificate from a private CA, and a user that logs in with a client certificate. Both of Ceiba's drivers (the
 * Vert.x pool and pgjdbc for migrations) reach it through one {@code DATABASE_URL}.
 */
class PostgresTlsTest {

  @TempDir
  static Path dir;
  private static EmbeddedPostgresServer server;
  private static Path caFile;
  private static Path otherCaFile;
  private static Path[] clientCert;

  private final Vertx vertx = Vertx.vertx();

  @BeforeAll
  static void startTlsOnlyServer() throws Exception {
    ClusterPki.Ca ca = ClusterPki.newCa("db");
    caFile = TestCertificates.caFile(dir, "ca.pem", ca);
    otherCaFile = TestCertificates.caFile(dir, "other-ca.pem", ClusterPki.newCa("someone-else"));
    Path[] serverCert = TestCertificates.issued(dir, ca, "db-server", "127.0.0.1");
    clientCert = TestCertificates.issued(dir, ca, "certuser");
    Path hba = dir.resolve("pg_hba.conf");
    Files.writeString(hba, """
        hostssl all certuser 127.0.0.1/32 cert
        hostssl all all 127.0.0.1/32 trust
        """);
    server = EmbeddedPostgresServer.start(dir, 0, Map.of("ssl", "on", "ssl_cert_file", serverCert[0].toString(),
        "ssl_key_file", serverCert[1].toString(), "ssl_ca_file", caFile.toString(), "hba_file", hba.toString()));
    try (Connection c = DriverManager.getConnection(url("require").jdbcUrl(), "postgres", "");
        Statement s = c.createStatement()) {
      s.execute("create role certuser login");
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  @AfterEach
  void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static PostgresUrl url(String params) {
    return url("postgres", "127.0.0.1", params);
  }

  private static PostgresUrl url(String user, String host, String params) {
    return PostgresUrl.parse("postgres://" + user + "@" + host + ":" + server.port() + "/postgres?sslmode=" + params);
  }

  /** One connection through the Vert.x client: whether it is encrypted, and as whom. */
  private Row session(PostgresUrl url) throws Exception {
    Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(1)).connectingTo(url.connectOptions()).using(vertx).build();
    try {
      return pool.query("select s.ssl, current_user as who from pg_stat_ssl s where s.pid = pg_backend_pid()").execute()
          .await(20, TimeUnit.SECONDS).iterator().next();
    } finally {
      pool.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void verify_full_with_the_servers_ca_connects_encrypted_through_both_drivers() throws Exception {
    PostgresUrl url = url("verify-full&sslrootcert=" + caFile);
    assertThat(session(url).getBoolean("ssl")).isTrue();
    assertThat(Migrations.migrate(url)).isEqualTo(Migrations.EXPECTED_VERSION); // pgjdbc, the same TLS settings
  }

  @Test
  void verify_full_with_another_ca_is_refused_by_both_drivers_and_says_why() throws Exception {
    PostgresUrl url = url("verify-full&sslrootcert=" + otherCaFile);
    assertThatThrownBy(() -> session(url)).satisfies(e -> assertThat(PostgresErrors.describe(e, url))
        .contains("TLS handshake with PostgreSQL at 127.0.0.1:" + server.port() + " failed (sslmode=verify-full, sslrootcert="
            + otherCaFile + "): SSL handshake failed (the server's certificate is not issued by a CA of sslrootcert"));
    // pgjdbc (migrations, backup, restore) keeps the JDK's reason
    assertThatThrownBy(() -> Migrations.migrate(url)).satisfies(e -> assertThat(PostgresErrors.describe(e, url))
        .contains("TLS handshake with PostgreSQL at 127.0.0.1", "sslmode=verify-full", "certification path"));
  }

  @Test
  void verify_full_checks_the_host_name_where_verify_ca_checks_only_the_chain() throws Exception {
    // the certificate names 127.0.0.1; localhost reaches the same server under a name the certificate does not carry
    PostgresUrl byName = url("postgres", "localhost", "verify-full&sslrootcert=" + caFile);
    assertThatThrownBy(() -> session(byName)).satisfies(e -> assertThat(PostgresErrors.describe(e, byName))
        .contains("TLS handshake with PostgreSQL at localhost:"));
    assertThatThrownBy(() -> Migrations.migrate(byName)).satisfies(e -> assertThat(PostgresErrors.describe(e, byName))
        .contains("The hostname localhost could not be verified"));
    assertThat(session(url("postgres", "localhost", "verify-ca&sslrootcert=" + caFile)).getBoolean("ssl")).isTrue();
  }

  @Test
  void sslmode_disable_is_refused_by_a_server_that_requires_tls() throws Exception {
    PostgresUrl url = url("disable");
    assertThatThrownBy(() -> session(url)).satisfies(e -> assertThat(PostgresErrors.describe(e, url))
        .contains("no pg_hba.conf entry", "no encryption"));
  }

  @Test
  void a_client_certificate_logs_in_the_user_it_names() throws Exception {
    PostgresUrl withCert = url("certuser", "127.0.0.1", "verify-full&sslrootcert=" + caFile + "&sslcert=" + clientCert[0]
        + "&sslkey=" + clientCert[1]);
    assertThat(session(withCert).getString("who")).isEqualTo("certuser");
    PostgresUrl without = url("certuser", "127.0.0.1", "verify-full&sslrootcert=" + caFile);
    assertThatThrownBy(() -> session(without)).satisfies(e -> assertThat(PostgresErrors.describe(e, without))
        .contains("certificate"));
  }
}
