package io.ceiba.store.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ceiba.cluster.ClusterPki;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** libpq connection URIs as operators copy them from a managed PostgreSQL's console. */
class PostgresUrlTest {

  @TempDir
  Path dir;

  @Test
  void should_read_user_password_host_port_database_and_never_show_the_password() {
    PostgresUrl url = PostgresUrl.parse("postgresql://app%40x:p%2Fw@db.internal:5433/ceiba?sslmode=require");
    assertThat(List.of(url.user(), url.password(), url.host(), url.port(), url.database(), url.sslmode()))
        .containsExactly("app@x", "p/w", "db.internal", 5433, "ceiba", "require");
    assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:5433/ceiba?sslmode=require&ApplicationName=ceiba");
    assertThat(url.toString()).doesNotContain("p/w");
    PostgresUrl bare = PostgresUrl.parse("postgres://u@h");
    assertThat(List.of(bare.database(), bare.port(), bare.sslmode(), bare.password())).containsExactly("u", 5432, "prefer", "");
    assertThat(bare.toString()).isEqualTo("postgres://u@h:5432/u?sslmode=prefer");
  }

  @Test
  void should_give_the_embedded_server_the_clients_startup_settings_and_no_tls() {
    PgConnectOptions local = PostgresUrl.local(5433, "postgres", "postgres").connectOptions();
    assertThat(local.getProperties()).containsEntry("application_name", "ceiba").containsEntry("client_encoding", "utf8")
        .containsEntry("DateStyle", "ISO");
    assertThat(local.getSslMode()).isEqualTo(SslMode.DISABLE);
    assertThat(PostgresUrl.local(5433, "postgres", "postgres").jdbcUrl())
        .isEqualTo("jdbc:postgresql://127.0.0.1:5433/postgres?sslmode=disable&ApplicationName=ceiba");
  }

  @Test
  void should_take_passwords_with_the_characters_managed_databases_generate() {
    // sub-delims are allowed unencoded in a URI's user info; the Vert.x parser alone refuses them
    PostgresUrl url = PostgresUrl.parse("postgres://app:a$b+c=d;e,f'g(h)@db:5432/ceiba");
    assertThat(url.password()).isEqualTo("a$b+c=d;e,f'g(h)");
    assertThat(PostgresUrl.parse("postgres://app:x:y@db/ceiba").password()).isEqualTo("x:y");
  }

  @Test
  void should_pass_application_name_options_and_connect_timeout_to_both_drivers() {
    PostgresUrl url = PostgresUrl.parse("postgres://u:pw@[::1]:6432/ceiba?application_name=edge-1"
        + "&options=-c%20statement_timeout%3D5000&connect_timeout=7&sslmode=disable");
    PgConnectOptions options = url.connectOptions();
    assertThat(options.getHost()).isEqualTo("::1");
    assertThat(options.getProperties()).containsEntry("application_name", "edge-1").containsEntry("options", "-c statement_timeout=5000")
        // the client's own startup settings stay, which Vert.x's parser drops once a URI has parameters
        .containsEntry("client_encoding", "utf8").containsEntry("DateStyle", "ISO").containsEntry("extra_float_digits", "2");
    assertThat(options.getSslMode()).isEqualTo(SslMode.DISABLE);
    assertThat(url.connectTimeout()).contains(Duration.ofSeconds(7));
    assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://[::1]:6432/ceiba?sslmode=disable&ApplicationName=edge-1"
        + "&options=-c%20statement_timeout%3D5000&connectTimeout=7");
    assertThat(PostgresUrl.parse("postgres://u@h/db?fallback_application_name=x").connectOptions().getProperties())
        .containsEntry("application_name", "x").doesNotContainKey("fallback_application_name");
  }

  @Test
  void should_verify_with_the_named_ca_or_the_jvm_store() throws Exception {
    Path ca = dir.resolve("ca.pem");
    Files.writeString(ca, ClusterPki.pem(List.of(ClusterPki.newCa("db").cert())));
    PostgresUrl full = PostgresUrl.parse("postgres://u@db.example/ceiba?sslmode=verify-full&sslrootcert=" + ca);
    PgConnectOptions options = full.connectOptions();
    assertThat(options.getSslMode()).isEqualTo(SslMode.VERIFY_FULL);
    assertThat(options.getSslOptions().getHostnameVerificationAlgorithm()).isEqualTo("HTTPS");
    assertThat(options.getSslOptions().getTrustOptions()).isNotNull();
    assertThat(options.getSslOptions().isTrustAll()).isFalse();
    assertThat(full.jdbcUrl()).contains("sslmode=verify-full", "sslrootcert=" + ca.toString().replace("/", "%2F"));
    // libpq: require with a root certificate checks the chain
    assertThat(PostgresUrl.parse("postgres://u@db/ceiba?sslmode=require&sslrootcert=" + ca).sslmode()).isEqualTo("verify-ca");
    PostgresUrl system = PostgresUrl.parse("postgres://u@db/ceiba?sslmode=verify-full&sslrootcert=system");
    assertThat(system.connectOptions().getSslOptions().getTrustOptions()).isNotNull();
    assertThat(system.jdbcUrl()).contains("sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory");
    assertThat(PostgresUrl.parse("postgres://u@db/ceiba?sslmode=require").connectOptions().getSslOptions().isTrustAll()).isTrue();
  }

  @Test
  void should_refuse_what_it_cannot_honour_with_a_message_that_names_it_and_hides_the_password() {
    assertRefused("mysql://u:secret@h/db", "expected postgres://");
    assertRefused("postgres://u:secret@h/db?sslmode=verify", "sslmode 'verify' is not one of disable, allow, prefer, require, verify-ca, verify-full");
    assertRefused("postgres://u:secret@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "sslrootcert /nonexistent/ca.pem is not a readable file");
    assertRefused("postgres://u:secret@h/db?sslrootcert=" + dir, "is not a readable file");
    assertRefused("postgres://u:secret@h/db?sslcert=/x.pem", "sslcert and sslkey go together");
    assertRefused("postgres://u:secret@h/db?sslcompression=1", "unknown parameter 'sslcompression'; supported: application_name,");
    assertRefused("postgres://u:secret@h1:5432,h2:5432/db", "a list of hosts is not supported");
    assertRefused("postgres://u:secret@h/db?target_session_attrs=read-write", "target_session_attrs=read-write is not supported");
    assertRefused("postgres://u:secret@h:99999/db", "port");
    assertRefused("postgres://u:secret@h/db?connect_timeout=soon", "connect_timeout must be a whole number of seconds");
    assertRefused("postgres://u:secret@h/db?sslmode=require&sslmode=disable", "parameter 'sslmode' given twice");
    assertRefused("postgres://u@h/db?host=/var/run/postgresql", "Unix-domain socket is not supported");
    assertRefused("postgres://u@h/db?password=secret&x", "has no value");
  }

  @Test
  void should_say_when_a_root_certificate_file_holds_no_certificate() throws Exception {
    Path notPem = dir.resolve("ca.pem");
    Files.writeString(notPem, "hello");
    assertRefused("postgres://u:secret@h/db?sslmode=verify-ca&sslrootcert=" + notPem, "is not a PEM certificate file");
  }

  private static void assertRefused(String url, String reason) {
    assertThatThrownBy(() -> PostgresUrl.parse(url)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid PostgreSQL URL").hasMessageContaining(reason).hasMessageNotContaining("secret");
  }
}
