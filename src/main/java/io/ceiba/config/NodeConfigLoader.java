package io.ceiba.config;

import io.ceiba.yaml.MappingReader;
import io.ceiba.yaml.Problems;
import io.ceiba.yaml.Source;
import io.ceiba.yaml.YamlDocument;
import io.ceiba.yaml.YamlNode;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a {@link NodeConfig} from, in rising precedence: built-in defaults, the YAML file, {@code CEIBA_*}
 * (and the documented {@code DATABASE_URL}, {@code REDIS_URL}, {@code DB_*}) environment variables, and
 * command-line flags. Every problem is collected, with file/line or the variable/flag at fault, and
 * reported at once before anything starts.
 */
public final class NodeConfigLoader {

  private static final Logger LOG = LoggerFactory.getLogger(NodeConfigLoader.class);

  /**
   * Environment variable → config path, in precedence order: when two variables name one path (a pair such as
   * {@code DATABASE_URL}/{@code CEIBA_POSTGRES_URL}) the later one wins, every start, and a warning names both.
   * Documented in docs/operations.md.
   */
  static final Map<String, String> ENV_PATHS = envPaths();

  private static final Map<String, String> SECONDS_ENV = Map.of(
      "DB_CONNECT_TIMEOUT_SECONDS", "postgres.connect_timeout",
      "DB_IDLE_TIMEOUT_SECONDS", "postgres.idle_timeout",
      "DB_MAX_LIFETIME_SECONDS", "postgres.max_lifetime");

  private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
  private static final Pattern HOST_PORT = Pattern.compile("[A-Za-z0-9_.\\-\\[\\]:]+:(\\d{1,5})");
  private static final int MAX_INSTANCES = 64;

  private NodeConfigLoader() {
  }

  private static Map<String, String> envPaths() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("CEIBA_NODE_ID", "node.id");
    m.put("CEIBA_ROLES", "roles");
    m.put("CEIBA_INSTANCES", "instances");
    m.put("CEIBA_EDGE_HOST", "edge.host");
    m.put("CEIBA_EDGE_PORT", "edge.port");
    m.put("CEIBA_EDGE_ADVERTISE", "edge.advertise");
    m.put("CEIBA_EDGE_ACCESS_LOG", "edge.access_log");
    m.put("CEIBA_EDGE_TRUSTED_PROXIES", "edge.trusted_proxies");
    m.put("CEIBA_CONTROL_HOST", "control.host");
    m.put("CEIBA_CONTROL_PORT", "control.port");
    m.put("CEIBA_METRICS_HOST", "control.metrics_host");
    m.put("CEIBA_METRICS_PORT", "control.metrics_port");
    m.put("CEIBA_CONTROL_TOKEN", "control.token");
    m.put("CEIBA_ADMIN_TOKEN", "control.token");   // SPEC's name wins over the alias
    m.put("CEIBA_CLUSTER_ENABLED", "cluster.enabled");
    m.put("CEIBA_CLUSTER_NAME", "cluster.name");
    m.put("CEIBA_CLUSTER_HOST", "cluster.host");
    m.put("CEIBA_CLUSTER_PUBLIC_HOST", "cluster.public_host");
    m.put("CEIBA_CLUSTER_PORT", "cluster.port");
    m.put("CEIBA_CLUSTER_MEMBERS", "cluster.members");
    m.put("CEIBA_CLUSTER_CREDENTIALS", "cluster.credentials");
    m.put("CEIBA_CLUSTER_INSECURE", "cluster.insecure");
    m.put("CEIBA_CLUSTER_JOIN_TIMEOUT", "cluster.join_timeout");
    m.put("CEIBA_REGISTRY_FILE", "registry.file");
    m.put("CEIBA_DATA_DIR", "data_dir");
    m.put("DATABASE_URL", "postgres.url");
    m.put("CEIBA_POSTGRES_URL", "postgres.url");
    m.put("DB_MAX_CONNECTIONS", "postgres.max_connections");
    m.put("REDIS_URL", "redis.url");
    m.put("CEIBA_REDIS_URL", "redis.url");
    m.put("CEIBA_SHUTDOWN_GRACE", "shutdown.grace");
    m.put("CEIBA_SHUTDOWN_DRAIN_DELAY", "shutdown.drain_delay");
    m.put("CEIBA_DEMO_ORIGIN_PORT", "demo_origin.port");
    m.put("CEIBA_ACME_DIRECTORY", "acme.directory");
    m.put("CEIBA_ACME_EMAIL", "acme.email");
    // not Map.copyOf: its iteration order changes between JVM starts, and with it the winner of a pair
    return Collections.unmodifiableMap(m);
  }

  /**
   * Loads the node config.
   *
   * @param configFile YAML file, or null for defaults only
   * @param env        the process environment (a map so tests can pass their own)
   * @param flags      command-line overrides
   * @param workDir    folder that relative paths resolve against when there is no config file
   * @throws io.ceiba.yaml.InvalidDocumentException with every problem
   */
  public static NodeConfig load(Path configFile, Map<String, String> env, CliOverrides flags, Path workDir) {
    Problems problems = new Problems();
    YamlNode.Mapping tree = readTree(configFile, problems);
    if (tree == null) {
      problems.throwIfAny("node config");
      return null;
    }
    applyEnv(tree, env, problems);
    applyFlags(tree, flags);
    Path baseDir = configFile == null ? workDir : absoluteParent(configFile, workDir);
    NodeConfig config = read(MappingReader.root(tree, problems), baseDir, configFile == null, configFile);
    problems.throwIfAny("node config" + (configFile == null ? "" : " " + configFile));
    return config;
  }

  private static Path absoluteParent(Path file, Path workDir) {
    Path abs = workDir.resolve(file).toAbsolutePath().normalize();
    return abs.getParent() == null ? workDir : abs.getParent();
  }

  private static YamlNode.Mapping readTree(Path configFile, Problems problems) {
    if (configFile == null) {
      return new YamlNode.Mapping(new Source("defaults", 0));
    }
    String text;
    try {
      text = Files.readString(configFile, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      problems.add(new Source(configFile.toString(), 0), "", "file not found");
      return null;
    } catch (IOException e) {
      problems.add(new Source(configFile.toString(), 0), "", "cannot read: " + e.getMessage());
      return null;
    }
    return YamlDocument.parse(configFile.toString(), text, problems);
  }

  private static void applyEnv(YamlNode.Mapping tree, Map<String, String> env, Problems problems) {
    Map<String, String> setBy = new HashMap<>();
    ENV_PATHS.forEach((name, path) -> {
      String value = env.get(name);
      if (value != null && !value.isBlank()) {
        String earlier = setBy.put(path, name);
        if (earlier != null) {
          // names only: the values may be secrets
          LOG.warn("both {} and {} are set; {} wins ({})", earlier, name, name, path);
        }
        tree.putPath(path, overrideValue(path, value, "env " + name));
      }
    });
    SECONDS_ENV.forEach((name, path) -> {
      String value = env.get(name);
      if (value != null && !value.isBlank()) {
        if (!value.trim().matches("\\d{1,9}")) {
          problems.add(Source.override("env " + name), path, "expected a whole number of seconds, got '" + value + "'");
        } else {
          tree.putPath(path, YamlNode.Scalar.override(value.trim() + "s", "env " + name));
        }
      }
    });
  }

  private static void applyFlags(YamlNode.Mapping tree, CliOverrides flags) {
    if (flags.roles() != null) {
      tree.putPath("roles", overrideValue("roles", flags.roles(), "--roles"));
    }
    if (flags.instances() != null) {
      tree.putPath("instances", overrideValue("instances", flags.instances(), "--instances"));
    }
    if (flags.nodeId() != null) {
      tree.putPath("node.id", YamlNode.Scalar.override(flags.nodeId(), "--node-id"));
    }
    if (flags.cluster() != null) {
      tree.putPath("cluster.enabled", YamlNode.Scalar.override(flags.cluster().toString(), flags.cluster() ? "--cluster" : "--no-cluster"));
    }
  }

  /** Lists come as {@code a,b,c}; instances as {@code edge=4,auth=2}. */
  private static YamlNode overrideValue(String path, String value, String origin) {
    Source source = Source.override(origin);
    if (path.equals("roles") || path.equals("cluster.members") || path.equals("edge.trusted_proxies")) {
      List<YamlNode> items = new ArrayList<>();
      for (String part : value.split(",")) {
        if (!part.isBlank()) {
          items.add(YamlNode.Scalar.override(part.trim(), origin));
        }
      }
      return new YamlNode.Sequence(List.copyOf(items), source);
    }
    if (path.equals("instances")) {
      YamlNode.Mapping m = new YamlNode.Mapping(source);
      for (String part : value.split(",")) {
        if (part.isBlank()) {
          continue;
        }
        int eq = part.indexOf('=');
        String key = eq < 0 ? part.trim() : part.substring(0, eq).trim();
        String count = eq < 0 ? "" : part.substring(eq + 1).trim();
        m.entries().put(key, new YamlNode.Mapping.Entry(source, YamlNode.Scalar.override(count, origin)));
      }
      return m;
    }
    return YamlNode.Scalar.override(value, origin);
  }

  private static NodeConfig read(MappingReader root, Path baseDir, boolean noConfigFile, Path configFile) {
    MappingReader node = root.mapping("node");
    String nodeId = node.string("id", NodeConfig.DEFAULT_NODE_ID);
    if (!NODE_ID.matcher(nodeId).matches()) {
      node.problem("id", "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit; got '" + nodeId + "'");
    }
    node.finish();

    Set<Role> roles = readRoles(root);
    Map<Role, Integer> instances = readInstances(root);

    MappingReader edgeMap = root.mapping("edge");
    String edgeHost = edgeMap.string("host", EdgeConfig.DEFAULT_HOST);
    int edgePort = edgeMap.port("port", EdgeConfig.DEFAULT_PORT, true);
    String advertise = edgeMap.string("advertise", "");
    if (!advertise.isEmpty()) {
      checkUrl(edgeMap, "advertise", advertise, List.of("http", "https"));
    }
    int maxHeaderSize = edgeMap.integer("max_header_size", EdgeConfig.DEFAULT_MAX_HEADER_SIZE, 1024, 1024 * 1024);
    var idleTimeout = edgeMap.duration("idle_timeout", EdgeConfig.DEFAULT_IDLE_TIMEOUT);
    if (idleTimeout.toSeconds() < 1) {
      edgeMap.problem("idle_timeout", "must be at least 1s: the edge counts it in whole seconds (less would mean none)");
    }
    ListenerLimits edgeListener = readListener(edgeMap, EdgeConfig.DEFAULT_LISTENER);
    boolean accessLog = edgeMap.bool("access_log", EdgeConfig.DEFAULT_ACCESS_LOG);
    TlsConfig tls = edgeMap.has("tls") ? readTls(edgeMap.mapping("tls"), baseDir) : null;
    List<Cidr> trustedProxies = edgeMap.parsedList("trusted_proxies", Cidr::parse);
    edgeMap.finish();

    MappingReader controlMap = root.mapping("control");
    ControlConfig control = new ControlConfig(
        controlMap.string("host", ControlConfig.DEFAULT_HOST),
        controlMap.port("port", ControlConfig.DEFAULT_PORT, true),
        controlMap.string("token", ""),
        controlMap.string("metrics_host", ""),
        controlMap.port("metrics_port", ControlConfig.DEFAULT_METRICS_PORT, true),
        controlMap.duration("idle_timeout", ControlConfig.DEFAULT_IDLE_TIMEOUT),
        readListener(controlMap, ControlConfig.DEFAULT_LISTENER));
    if (control.metricsPort() != 0 && control.metricsPort() == control.port()) {
      controlMap.problem("metrics_port", "must differ from control.port (" + control.port() + ")");
    }
    controlMap.finish();

    ClusterConfig cluster = readCluster(root.mapping("cluster"), baseDir);

    MappingReader registryMap = root.mapping("registry");
    String registryFile = registryMap.string("file",
        noConfigFile ? RegistryConfig.DEFAULT_FILE_WITHOUT_CONFIG : RegistryConfig.DEFAULT_FILE);
    RegistryConfig registry = new RegistryConfig(resolve(baseDir, registryFile, registryMap.sourceOf("file")),
        registryMap.duration("watch_interval", RegistryConfig.DEFAULT_WATCH_INTERVAL));
    registryMap.finish();

    PostgresConfig postgres = readPostgres(root.mapping("postgres"));

    MappingReader redisMap = root.mapping("redis");
    String redisUrl = redisMap.string("url", RedisConfig.DEFAULT_URL).trim();
    if (!redisUrl.isEmpty()) {
      checkUrl(redisMap, "url", redisUrl, List.of("redis", "rediss"));
    }
    redisMap.finish();

    MappingReader shutdownMap = root.mapping("shutdown");
    ShutdownConfig shutdown = new ShutdownConfig(shutdownMap.duration("grace", ShutdownConfig.DEFAULT_GRACE),
        shutdownMap.durationOrZero("drain_delay", ShutdownConfig.DEFAULT_DRAIN_DELAY));
    shutdownMap.finish();

    UsageConfig usage = readUsage(root.mapping("usage"));

    MappingReader backupMap = root.mapping("backup");
    String backupDir = backupMap.string("dir", "").trim();
    BackupConfig backup = new BackupConfig(backupDir.isEmpty() ? null : resolve(baseDir, backupDir, backupMap.sourceOf("dir")),
        backupMap.duration("interval", BackupConfig.DEFAULT_INTERVAL),
        backupMap.integer("keep", BackupConfig.DEFAULT_KEEP, 1, 10_000),
        backupMap.bool("restore_check", BackupConfig.DEFAULT_RESTORE_CHECK));
    backupMap.finish();

    MappingReader demoMap = root.mapping("demo_origin");
    DemoOriginConfig demoOrigin = new DemoOriginConfig(demoMap.string("host", DemoOriginConfig.DEFAULT_HOST),
        demoMap.port("port", noConfigFile ? DemoOriginConfig.QUICK_START_PORT : DemoOriginConfig.DEFAULT_PORT, true));
    demoMap.finish();

    AcmeConfig acme = readAcme(root.mapping("acme"), baseDir);

    Path dataDir = resolve(baseDir, root.string("data_dir", NodeConfig.DEFAULT_DATA_DIR), root.sourceOf("data_dir"));
    root.finish();

    if (advertise.isEmpty()) {
      String host = edgeHost.equals("0.0.0.0") || edgeHost.equals("::") ? "127.0.0.1" : edgeHost;
      advertise = "http://" + host + ":" + edgePort;
    }
    return new NodeConfig(nodeId, roles, instances, new EdgeConfig(edgeHost, edgePort, advertise, maxHeaderSize, idleTimeout, edgeListener,
        accessLog, tls, trustedProxies), control, cluster,
        registry, postgres, new RedisConfig(redisUrl), shutdown, usage, dataDir, configFile, backup, demoOrigin, acme);
  }

  private static AcmeConfig readAcme(MappingReader map, Path baseDir) {
    String directory = map.string("directory", "").trim();
    if (!directory.isEmpty()) {
      checkUrl(map, "directory", directory, List.of("https", "http"));
    }
    String email = map.string("email", "").trim();
    if (!email.isEmpty() && !email.matches("[^@\\s]{1,64}@[^@\\s]{1,255}")) {
      map.problem("email", "expected an e-mail address, got '" + email + "'");
    }
    String ca = map.string("ca", "").trim();
    Duration checkInterval = map.duration("check_interval", AcmeConfig.DEFAULT_CHECK_INTERVAL);
    double renewAt = AcmeConfig.DEFAULT_RENEW_AT;
    if (map.has("renew_at")) {
      String value = map.string("renew_at", "").trim();
      try {
        renewAt = Double.parseDouble(value);
      } catch (NumberFormatException e) {
        renewAt = -1;
      }
      if (!(renewAt > 0 && renewAt < 1)) {
        map.problem("renew_at", "expected a fraction of the lifetime between 0 and 1 (e.g. 0.66), got '" + value + "'");
      }
    }
    Duration retryAfter = map.duration("retry_after", AcmeConfig.DEFAULT_RETRY_AFTER);
    map.finish();
    return new AcmeConfig(directory, email, ca.isEmpty() ? null : resolve(baseDir, ca, map.sourceOf("ca")), checkInterval,
        renewAt, retryAfter);
  }

  private static Set<Role> readRoles(MappingReader root) {
    List<String> names = root.stringList("roles", List.of(Role.COMBINED));
    if (names.isEmpty()) {
      root.problem("roles", "at least one role is needed (" + Role.knownNames() + ")");
      return Role.availableRoles();
    }
    Set<Role> roles = EnumSet.noneOf(Role.class);
    for (String name : names) {
      String n = name.trim().toLowerCase();
      if (n.equals(Role.COMBINED)) {
        roles.addAll(Role.availableRoles());
        continue;
      }
      Role role = Role.byName(n).orElse(null);
      if (role == null) {
        root.problem("roles", "unknown role '" + name + "' (known: " + Role.knownNames() + ")");
      } else if (!role.available()) {
        root.problem("roles", "role '" + n + "' is not in this build yet (this build has: "
            + String.join(", ", Role.availableRoles().stream().map(Role::configName).toList()) + ")");
      } else {
        roles.add(role);
      }
    }
    return roles;
  }

  /** Roles that run one verticle per node, and why. */
  private static final Map<Role, String> SINGLE_INSTANCE = new EnumMap<>(Map.of(
      Role.USAGE, "the usage role has one journal writer per node",
      Role.HEALTH, "one health checker per node keeps the node's one view of its backends",
      Role.CONTROL, "one control server per node serves /health, /ready, /metrics and /v1"));

  private static Map<Role, Integer> readInstances(MappingReader root) {
    MappingReader map = root.mapping("instances");
    Map<Role, Integer> out = new EnumMap<>(Role.class);
    for (Role role : Role.values()) {
      int def = role == Role.EDGE ? Math.max(1, Runtime.getRuntime().availableProcessors()) : 1;
      out.put(role, map.integer(role.configName(), def, 1, MAX_INSTANCES));
    }
    // refused rather than ignored: an operator asking for more of these must learn there is one per node
    for (Map.Entry<Role, String> single : SINGLE_INSTANCE.entrySet()) {
      if (out.get(single.getKey()) != 1) {
        map.problem(single.getKey().configName(), "must be 1 — " + single.getValue());
        out.put(single.getKey(), 1);
      }
    }
    map.finish();
    return out;
  }

  /** {@code header_timeout} and {@code max_connections} of a listener's section. */
  private static ListenerLimits readListener(MappingReader map, ListenerLimits defaults) {
    return new ListenerLimits(map.duration("header_timeout", defaults.headerTimeout()),
        map.integer("max_connections", defaults.maxConnections(), 1, ListenerLimits.MAX_CONNECTIONS_LIMIT));
  }

  /** {@code edge.tls: {port, certificates: [{cert, key}, ...]}}; every file must be readable. */
  private static TlsConfig readTls(MappingReader map, Path baseDir) {
    int port = map.port("port", 8443, true);
    List<TlsConfig.CertificatePair> pairs = new ArrayList<>();
    for (MappingReader pair : map.mappingList("certificates")) {
      String cert = pair.string("cert", null);
      String key = pair.string("key", null);
      if (cert == null || key == null) {
        pair.problem(cert == null ? "cert" : "key", "required: a PEM file");
      } else {
        Path certPath = resolve(baseDir, cert, pair.sourceOf("cert"));
        Path keyPath = resolve(baseDir, key, pair.sourceOf("key"));
        if (!java.nio.file.Files.isReadable(certPath)) {
          pair.problem("cert", "cannot read " + certPath);
        }
        if (!java.nio.file.Files.isReadable(keyPath)) {
          pair.problem("key", "cannot read " + keyPath);
        }
        pairs.add(new TlsConfig.CertificatePair(certPath, keyPath));
      }
      pair.finish();
    }
    if (pairs.isEmpty() && map.sizeOf("certificates") <= 0) {
      map.problem("certificates", "at least one {cert, key} pair is needed for TLS");
    }
    Duration watchInterval = map.duration("watch_interval", TlsConfig.DEFAULT_WATCH_INTERVAL);
    if (watchInterval.toMillis() < 100) {
      map.problem("watch_interval", "must be at least 100ms");
    }
    boolean http2 = map.bool("http2", TlsConfig.DEFAULT_HTTP2);
    map.finish();
    return new TlsConfig(port, pairs, watchInterval, http2);
  }

  private static ClusterConfig readCluster(MappingReader map, Path baseDir) {
    boolean enabled = map.bool("enabled", ClusterConfig.DEFAULT_ENABLED);
    String name = map.string("name", ClusterConfig.DEFAULT_NAME);
    String host = map.string("host", ClusterConfig.DEFAULT_HOST);
    String publicHost = map.string("public_host", host.equals("0.0.0.0") ? "127.0.0.1" : host);
    int port = map.port("port", ClusterConfig.DEFAULT_PORT, false);
    int busPort = map.port("bus_port", ClusterConfig.DEFAULT_BUS_PORT, true);
    List<String> members = map.stringList("members", List.of());
    for (String member : members) {
      var m = HOST_PORT.matcher(member.trim());
      if (!m.matches() || Integer.parseInt(m.group(1)) < 1 || Integer.parseInt(m.group(1)) > 65535) {
        map.problem("members", "expected host:port, got '" + member + "'");
      }
    }
    String credentials = map.string("credentials", "");
    boolean insecure = map.bool("insecure", ClusterConfig.DEFAULT_INSECURE);
    Duration joinTimeout = map.duration("join_timeout", ClusterConfig.DEFAULT_JOIN_TIMEOUT);
    if (joinTimeout.compareTo(ClusterConfig.MAX_JOIN_TIMEOUT) > 0) {
      map.problem("join_timeout", "at most " + ClusterConfig.MAX_JOIN_TIMEOUT.toSeconds() + "s, got " + joinTimeout.toSeconds() + "s");
    }
    map.finish();
    return new ClusterConfig(enabled, name, host, publicHost, port, busPort, members.stream().map(String::trim).toList(),
        credentials.isBlank() ? null : resolve(baseDir, credentials, map.sourceOf("credentials")), insecure, joinTimeout);
  }

  private static PostgresConfig readPostgres(MappingReader map) {
    String url = map.string("url", PostgresConfig.DEFAULT_URL).trim();
    if (!url.equals(PostgresConfig.EMBEDDED)) {
      try {
        io.ceiba.store.pg.PostgresUrl.parse(url); // every libpq parameter and file it names, checked before anything starts
      } catch (IllegalArgumentException e) {
        map.problem("url", e.getMessage());
      }
    }
    PostgresConfig config = new PostgresConfig(url,
        map.port("embedded_port", PostgresConfig.DEFAULT_EMBEDDED_PORT, true),
        map.integer("max_connections", PostgresConfig.DEFAULT_MAX_CONNECTIONS, 1, 1000),
        map.duration("connect_timeout", PostgresConfig.DEFAULT_CONNECT_TIMEOUT),
        map.duration("idle_timeout", PostgresConfig.DEFAULT_IDLE_TIMEOUT),
        map.duration("max_lifetime", PostgresConfig.DEFAULT_MAX_LIFETIME),
        map.bool("migrate", PostgresConfig.DEFAULT_MIGRATE));
    map.finish();
    return config;
  }

  private static UsageConfig readUsage(MappingReader map) {
    List<String> fsyncNames = java.util.Arrays.stream(io.ceiba.usage.journal.FsyncPolicy.values()).map(UsageConfig::fsyncName).toList();
    String fsync = map.oneOf("journal_fsync", UsageConfig.fsyncName(UsageConfig.DEFAULT_JOURNAL_FSYNC), fsyncNames);
    int bufferSize = map.integer("buffer_size", UsageConfig.DEFAULT_BUFFER_SIZE, 1, UsageConfig.MAX_BUFFER_SIZE);
    UsageConfig config = new UsageConfig(
        map.duration("flush_interval", UsageConfig.DEFAULT_FLUSH_INTERVAL),
        // a small buffer without a batch size of its own gets batches of its size, not a refusal
        map.integer("batch_size", Math.min(UsageConfig.DEFAULT_BATCH_SIZE, bufferSize), 1, UsageConfig.MAX_BATCH_SIZE),
        bufferSize,
        map.duration("retention", UsageConfig.DEFAULT_RETENTION),
        io.ceiba.usage.journal.FsyncPolicy.values()[fsyncNames.indexOf(fsync)],
        map.duration("spool_interval", UsageConfig.DEFAULT_SPOOL_INTERVAL),
        io.ceiba.usage.journal.FsyncPolicy.values()[fsyncNames.indexOf(
            map.oneOf("spool_fsync", UsageConfig.fsyncName(UsageConfig.DEFAULT_SPOOL_FSYNC), fsyncNames))],
        map.bytes("journal_max_bytes", UsageConfig.DEFAULT_JOURNAL_MAX_BYTES, UsageConfig.MIN_JOURNAL_MAX_BYTES, Long.MAX_VALUE / 2));
    if (config.spoolInterval().isZero() || config.spoolInterval().compareTo(UsageConfig.MAX_SPOOL_INTERVAL) > 0) {
      map.problem("spool_interval", "must be between 1ms and " + UsageConfig.MAX_SPOOL_INTERVAL.toMillis() + "ms, got "
          + config.spoolInterval().toMillis() + "ms");
    }
    if (config.bufferSize() < config.batchSize()) {
      map.problem("buffer_size", "must be at least batch_size (" + config.batchSize() + "), got " + config.bufferSize());
    }
    if (config.retention().compareTo(java.time.Duration.ofHours(1)) < 0) {
      map.problem("retention", "must be at least 1h: raw events are rolled up by the hour");
    }
    map.finish();
    return config;
  }

  private static void checkUrl(MappingReader map, String key, String value, List<String> schemes) {
    try {
      URI uri = new URI(value);
      if (uri.getScheme() == null || !schemes.contains(uri.getScheme()) || uri.getHost() == null) {
        map.problem(key, "expected a " + String.join(" or ", schemes) + ":// URL with a host, got '" + redact(value) + "'");
      }
    } catch (URISyntaxException e) {
      map.problem(key, "not a valid URL: '" + redact(value) + "'");
    }
  }

  private static String redact(String url) {
    return url.replaceAll("//[^@/]*@", "//***@");
  }

  /** Relative paths from the file resolve against its folder; from the environment, against the work dir. */
  private static Path resolve(Path baseDir, String value, Source source) {
    Path p = Path.of(value);
    if (p.isAbsolute()) {
      return p.normalize();
    }
    Path base = source.file().startsWith("env ") ? Path.of("").toAbsolutePath() : baseDir;
    return base.resolve(p).toAbsolutePath().normalize();
  }
}
