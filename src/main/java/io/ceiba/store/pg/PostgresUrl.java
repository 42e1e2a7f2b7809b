package io.ceiba.store.pg;

import io.vertx.pgclient.PgConnectOptions;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * A {@code postgres://user:pass@host:port/db?sslmode=…} URL, as in {@code DATABASE_URL}, turned into
 * Vert.x connect options and a JDBC URL (for Flyway). {@link #toString()} never shows the password.
 */
public record PostgresUrl(String host, int port, String database, String user, String password, String sslmode) {

  public static PostgresUrl parse(String url) {
    URI uri;
    try {
      uri = new URI(url.trim());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a valid Postgres URL: " + redact(url));
    }
    if (!"postgres".equals(uri.getScheme()) && !"postgresql".equals(uri.getScheme())) {
      throw new IllegalArgumentException("expected postgres://user:pass@host:port/db, got " + redact(url));
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("no host in Postgres URL " + redact(url));
    }
    String user = "postgres";
    String password = "";
    if (uri.getRawUserInfo() != null) {
      String[] parts = uri.getRawUserInfo().split(":", 2);
      user = decode(parts[0]);
      password = parts.length > 1 ? decode(parts[1]) : "";
    }
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    String database = path.length() > 1 ? decode(path.substring(1)) : user;
    String sslmode = "disable";
    if (uri.getRawQuery() != null) {
      for (String pair : uri.getRawQuery().split("&")) {
        if (pair.startsWith("sslmode=")) {
          sslmode = decode(pair.substring(8));
        }
      }
    }
    return new PostgresUrl(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 5432, database, user, password, sslmode);
  }

  public PgConnectOptions connectOptions() {
    PgConnectOptions options = new PgConnectOptions().setHost(host).setPort(port).setDatabase(database)
        .setUser(user).setPassword(password).setCachePreparedStatements(true);
    options.setSslMode(io.vertx.pgclient.SslMode.of(sslmode));
    if (!"disable".equals(sslmode) && !"verify-full".equals(sslmode) && !"verify-ca".equals(sslmode)) {
      options.getSslOptions().setTrustAll(true);
    }
    return options;
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://" + host + ":" + port + "/" + database + "?sslmode=" + sslmode;
  }

  @Override
  public String toString() {
    return "postgres://" + user + (password.isEmpty() ? "" : ":***") + "@" + host + ":" + port + "/" + database;
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  static String redact(String url) {
    return url.replaceAll("//[^@/]*@", "//***@");
  }
}
