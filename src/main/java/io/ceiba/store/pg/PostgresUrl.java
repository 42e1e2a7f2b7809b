package io.ceiba.store.pg;

import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.TrustOptions;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.net.ssl.TrustManagerFactory;

/**
 * A libpq connection URI, as in {@code DATABASE_URL}: {@code postgres://user:password@host:port/db?param=value&…},
 * turned into Vert.x connect options (the Postgres pool) and a JDBC URL (Flyway, backup and restore), both with the
 * same TLS settings.
 *
 * <p>Host, port, user, password, database, {@code application_name}, {@code options} and {@code search_path} are read
 * by the Vert.x client's own parser ({@link PgConnectOptions#fromUri}); it ignores the libpq parameters it does not know
 * without a word, so this class reads those itself: {@code sslmode} (libpq's six, default {@code prefer}),
 * {@code sslrootcert} (a PEM file, or {@code system} for the JVM's trust store), {@code sslcert}/{@code sslkey} (client
 * certificate, PEM), {@code connect_timeout} (seconds), {@code fallback_application_name} and
 * {@code target_session_attrs=any}. Any other parameter, or a list of hosts, is refused with a message that says so
 * rather than ignored: a setting an operator wrote must not silently not apply. Files named by the URL are checked when
 * it is parsed (blocking: call it off the event loop), so a wrong path is a config error at start.
 *
 * <p>As in libpq: {@code require} with an {@code sslrootcert} verifies the chain like {@code verify-ca};
 * {@code allow}, {@code prefer} and {@code require} without one encrypt without verifying; {@code verify-ca} checks the
 * chain and {@code verify-full} the host name too. Unlike libpq, {@code verify-*} without {@code sslrootcert} trusts the
 * JVM's CA store ({@code sslrootcert=system}) rather than reading {@code ~/.postgresql/root.crt}.
 *
 * <p>{@link #toString()} never shows the password. Immutable.
 */
public final class PostgresUrl {

  /** Parameters the Vert.x parser reads (and passes on as startup parameters where they are server settings). */
  private static final Set<String> VERTX_PARAMS = Set.of("host", "hostaddr", "port", "user", "password", "dbname",
      "application_name", "options", "search_path");
  /** Parameters read here. */
  private static final Set<String> OWN_PARAMS = Set.of("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout",
      "fallback_application_name", "target_session_attrs");
  private static final Set<String> SUPPORTED = Stream.concat(VERTX_PARAMS.stream(), OWN_PARAMS.stream())
      .collect(Collectors.toCollection(TreeSet::new));
  private static final List<String> SSL_MODES = List.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");
  public static final String DEFAULT_SSLMODE = "prefer";
  /** The user when the URL names none (libpq would take the operating-system user). */
  static final String DEFAULT_USER = "postgres";
  /** Shown in {@code pg_stat_activity} unless the URL names an application. */
  static final String APPLICATION_NAME = "ceiba";
  /** The pgjdbc socket factory that trusts the JVM's CA store (its default reads ~/.postgresql/root.crt). */
  private static final String JVM_TRUST_FACTORY = "org.postgresql.ssl.DefaultJavaSSLFactory";
  private static final Pattern SHAPE = Pattern.compile("(postgres|postgresql)://([^/?#]*)(/[^?#]*)?(?:\\?([^#]*))?");
  /** What Vert.x's parser takes in a user name or password unencoded; the rest (RFC 3986 sub-delims) is encoded first. */
  private static final Pattern USERINFO_SAFE = Pattern.compile("[A-Za-z0-9\\-._~%!*]");

  private final PgConnectOptions base;
  private final String sslmode;
  /** A PEM file of CA certificates; null: none named (the JVM's CA store where verification needs one). */
  private final Path rootCert;
  private final Path clientCert;
  private final Path clientKey;
  private final Duration connectTimeout;

  private PostgresUrl(PgConnectOptions base, String sslmode, Path rootCert, Path clientCert, Path clientKey,
      Duration connectTimeout) {
    this.base = base;
    this.sslmode = sslmode;
    this.rootCert = rootCert;
    this.clientCert = clientCert;
    this.clientKey = clientKey;
    this.connectTimeout = connectTimeout;
  }

  /** A server on this machine without TLS (the embedded PostgreSQL). */
  public static PostgresUrl local(int port, String database, String user) {
    PgConnectOptions options = new PgConnectOptions().setHost("127.0.0.1").setPort(port).setDatabase(database)
        .setUser(user).setPassword("");
    Map<String, String> properties = new LinkedHashMap<>(PgConnectOptions.DEFAULT_PROPERTIES);
    properties.put("application_name", APPLICATION_NAME);
    options.setProperties(properties);
    return new PostgresUrl(options, "disable", null, null, null, null);
  }

  /**
   * Parses a libpq URI and checks the files it names.
   *
   * @throws IllegalArgumentException with a message that names the problem and shows the URL without its password
   */
  public static PostgresUrl parse(String text) {
    String url = text == null ? "" : text.trim();
    Matcher shape = SHAPE.matcher(url);
    if (!shape.matches()) {
      throw invalid(url, "expected postgres://user:password@host:port/database?param=value&...");
    }
    String authority = shape.group(2);
    int at = authority.lastIndexOf('@');
    String userInfo = at < 0 ? null : authority.substring(0, at);
    String hostPort = authority.substring(at + 1);
    if (hostPort.contains(",")) {
      throw invalid(url, "a list of hosts is not supported: name one host (a DNS name that follows the primary, or a"
          + " proxy such as PgBouncer in front of the failover pair)");
    }
    Map<String, String> params = queryParameters(url, shape.group(4));
    StringJoiner vertxQuery = new StringJoiner("&");
    params.forEach((key, value) -> {
      if (VERTX_PARAMS.contains(key)) {
        vertxQuery.add(key + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8));
      }
    });
    String forVertx = shape.group(1) + "://" + (userInfo == null ? "" : encodeUserInfo(userInfo) + "@") + hostPort
        + (shape.group(3) == null ? "" : shape.group(3)) + (vertxQuery.length() == 0 ? "" : "?" + vertxQuery);
    PgConnectOptions base;
    try {
      base = PgConnectOptions.fromUri(forVertx);
    } catch (IllegalArgumentException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw invalid(url, cause.getMessage() == null ? "not a valid connection URI" : redact(cause.getMessage()));
    }
    boolean userGiven = userInfo != null && !userInfo.isEmpty() && userInfo.charAt(0) != ':' || params.containsKey("user");
    if (!userGiven) {
      base.setUser(DEFAULT_USER);
    }
    boolean databaseGiven = shape.group(3) != null && shape.group(3).length() > 1 || params.containsKey("dbname");
    if (!databaseGiven) {
      base.setDatabase(base.getUser()); // libpq: the database is named after the user
    }
    boolean passwordGiven = userInfo != null && userInfo.indexOf(':') >= 0 || params.containsKey("password");
    if (!passwordGiven) {
      base.setPassword(""); // not Vert.x's default "pass"
    }
    // Vert.x's parser replaces the client's default startup settings (client_encoding utf8, DateStyle ISO, ...) with the
    // URI's parameters when it has any; the client decodes text results assuming those defaults
    Map<String, String> properties = new LinkedHashMap<>(PgConnectOptions.DEFAULT_PROPERTIES);
    properties.putAll(base.getProperties());
    String fallback = params.getOrDefault("fallback_application_name", APPLICATION_NAME);
    if (!params.containsKey("application_name")) {
      properties.put("application_name", fallback);
    }
    base.setProperties(properties);

    String sslmode = params.getOrDefault("sslmode", DEFAULT_SSLMODE);
    if (!SSL_MODES.contains(sslmode)) {
      throw invalid(url, "sslmode '" + sslmode + "' is not one of " + String.join(", ", SSL_MODES));
    }
    String target = params.getOrDefault("target_session_attrs", "any");
    if (!target.equals("any")) {
      throw invalid(url, "target_session_attrs=" + target + " is not supported (only 'any': one host is named)");
    }
    Path rootCert = null;
    String rootParam = params.get("sslrootcert");
    if (rootParam != null && !rootParam.equals("system")) {
      rootCert = Path.of(rootParam);
      checkCertificates(url, "sslrootcert", rootCert);
    }
    if (rootParam != null && sslmode.equals("require")) {
      sslmode = "verify-ca"; // libpq: "require" with a root certificate checks the chain
    }
    if (params.containsKey("sslcert") != params.containsKey("sslkey")) {
      throw invalid(url, "sslcert and sslkey go together (a client certificate and its private key, PEM)");
    }
    Path clientCert = null;
    Path clientKey = null;
    if (params.containsKey("sslcert")) {
      clientCert = Path.of(params.get("sslcert"));
      clientKey = Path.of(params.get("sslkey"));
      checkCertificates(url, "sslcert", clientCert);
      checkReadable(url, "sslkey", clientKey);
    }
    if (base.getHost().startsWith("/")) {
      throw invalid(url, "a Unix-domain socket is not supported (the JDBC driver of migrations cannot use one): name a"
          + " TCP host such as 127.0.0.1");
    }
    return new PostgresUrl(base, sslmode, rootCert, clientCert, clientKey, connectTimeout(url, params.get("connect_timeout")));
  }

  private static Map<String, String> queryParameters(String url, String query) {
    Map<String, String> params = new LinkedHashMap<>();
    if (query == null || query.isEmpty()) {
      return params;
    }
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw invalid(url, "parameter '" + redact(pair) + "' has no value (expected name=value)");
      }
      String key = decode(url, pair.substring(0, eq));
      if (!VERTX_PARAMS.contains(key) && !OWN_PARAMS.contains(key)) {
        throw invalid(url, "unknown parameter '" + key + "'; supported: " + String.join(", ", SUPPORTED));
      }
      if (params.put(key, decode(url, pair.substring(eq + 1))) != null) {
        throw invalid(url, "parameter '" + key + "' given twice");
      }
    }
    return params;
  }

  private static Duration connectTimeout(String url, String value) {
    if (value == null) {
      return null;
    }
    try {
      long seconds = Long.parseLong(value.trim());
      if (seconds < 0) {
        throw new NumberFormatException();
      }
      // libpq: 0 waits without end; less than 2 s is taken as 2 s
      return seconds == 0 ? null : Duration.ofSeconds(Math.max(2, seconds));
    } catch (NumberFormatException e) {
      throw invalid(url, "connect_timeout must be a whole number of seconds, got '" + value + "'");
    }
  }

  private static void checkReadable(String url, String param, Path file) {
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw invalid(url, param + " " + file + " is not a readable file");
    }
  }

  private static void checkCertificates(String url, String param, Path file) {
    checkReadable(url, param, file);
    try (InputStream in = Files.newInputStream(file)) {
      if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
        throw invalid(url, param + " " + file + " holds no certificate");
      }
    } catch (IOException | GeneralSecurityException e) {
      throw invalid(url, param + " " + file + " is not a PEM certificate file: " + e.getMessage());
    }
  }

  /** Percent-encodes what Vert.x's parser refuses in a user name or password; the first ':' separates them. */
  private static String encodeUserInfo(String userInfo) {
    StringBuilder out = new StringBuilder();
    boolean colonSeen = false;
    for (int i = 0; i < userInfo.length(); i++) {
      char c = userInfo.charAt(i);
      if (c == ':' && !colonSeen) {
        colonSeen = true;
        out.append(c);
      } else if (USERINFO_SAFE.matcher(String.valueOf(c)).matches()) {
        out.append(c);
      } else {
        out.append(URLEncoder.encode(String.valueOf(c), StandardCharsets.UTF_8));
      }
    }
    return out.toString();
  }

  private static String decode(String url, String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw invalid(url, "bad percent-encoding in '" + redact(s) + "'");
    }
  }

  private static IllegalArgumentException invalid(String url, String reason) {
    return new IllegalArgumentException("invalid PostgreSQL URL " + redact(url) + ": " + reason);
  }

  /** The URL without the password of its user info. */
  public static String redact(String url) {
    return url.replaceAll("//([^@/:]*):[^@/]*@", "//$1:***@").replaceAll("(?i)([?&]password=)[^&]*", "$1***");
  }

  public String host() {
    return base.getHost();
  }

  public int port() {
    return base.getPort();
  }

  public String database() {
    return base.getDatabase();
  }

  public String user() {
    return base.getUser();
  }

  public String password() {
    return base.getPassword() == null ? "" : base.getPassword();
  }

  /** The effective libpq sslmode. */
  public String sslmode() {
    return sslmode;
  }

  /** The PEM file of CA certificates the URL names ({@code sslrootcert}), if any. */
  public Optional<Path> rootCertificate() {
    return Optional.ofNullable(rootCert);
  }

  /** The URL's {@code connect_timeout}, when it sets one. */
  public Optional<Duration> connectTimeout() {
    return Optional.ofNullable(connectTimeout);
  }

  /** Options for the Vert.x Postgres client: a new copy each call. */
  public PgConnectOptions connectOptions() {
    PgConnectOptions options = new PgConnectOptions(base).setCachePreparedStatements(true);
    options.setSslMode(SslMode.of(sslmode));
    ClientSSLOptions ssl = new ClientSSLOptions();
    options.setSslOptions(ssl);
    switch (sslmode) {
      case "verify-full" -> ssl.setTrustOptions(trust()).setHostnameVerificationAlgorithm("HTTPS");
      case "verify-ca" -> ssl.setTrustOptions(trust()).setHostnameVerificationAlgorithm("");
      case "disable" -> { }
      default -> ssl.setTrustAll(true); // allow, prefer, require: encrypted, not verified (libpq's meaning)
    }
    if (clientCert != null) {
      ssl.setKeyCertOptions(new PemKeyCertOptions().setCertPath(clientCert.toString()).setKeyPath(clientKey.toString()));
    }
    return options;
  }

  private TrustOptions trust() {
    if (rootCert != null) {
      return new PemTrustOptions().addCertPath(rootCert.toString());
    }
    try {
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init((KeyStore) null);
      return TrustOptions.wrap(factory);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JVM's CA store cannot be read: " + e.getMessage(), e);
    }
  }

  /** The same connection for pgjdbc (Flyway, backup, restore); user and password go beside it. */
  public String jdbcUrl() {
    String host = host().contains(":") ? "[" + host() + "]" : host();
    StringJoiner params = new StringJoiner("&", "?", "");
    params.add("sslmode=" + sslmode);
    if (sslmode.startsWith("verify-")) {
      params.add(rootCert != null ? param("sslrootcert", rootCert.toString()) : "sslfactory=" + JVM_TRUST_FACTORY);
    }
    if (clientCert != null) {
      params.add(param("sslcert", clientCert.toString())).add(param("sslkey", clientKey.toString()));
    }
    Map<String, String> properties = base.getProperties();
    if (properties.containsKey("application_name")) {
      params.add(param("ApplicationName", properties.get("application_name")));
    }
    if (properties.containsKey("options")) {
      params.add(param("options", properties.get("options")));
    }
    if (properties.containsKey("search_path")) {
      params.add(param("currentSchema", properties.get("search_path")));
    }
    if (connectTimeout != null) {
      params.add("connectTimeout=" + connectTimeout.toSeconds());
    }
    return "jdbc:postgresql://" + host + ":" + port() + "/" + URLEncoder.encode(database(), StandardCharsets.UTF_8) + params;
  }

  private static String param(String key, String value) {
    return key + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  @Override
  public String toString() {
    return "postgres://" + user() + (password().isEmpty() ? "" : ":***") + "@" + host() + ":" + port() + "/" + database()
        + "?sslmode=" + sslmode;
  }
}
