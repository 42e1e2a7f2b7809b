package io.ceiba.registry;

import io.ceiba.yaml.InvalidDocumentException;
import io.ceiba.yaml.MappingReader;
import io.ceiba.yaml.Problem;
import io.ceiba.yaml.Problems;
import io.ceiba.yaml.Source;
import io.ceiba.yaml.YamlDocument;
import io.ceiba.yaml.YamlNode;
import io.ceiba.yaml.Durations;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and validates a registry (SPEC section 2) into an immutable {@link Registry}, or rejects it
 * whole with every problem found: file, line, field and why. Pure and blocking-free apart from
 * {@link #parseFile}; callers run it off the event loop because documents can be large.
 */
public final class RegistryParser {

  /** Request bodies larger than this are refused with 413 unless a service says otherwise. */
  public static final long DEFAULT_MAX_BODY_BYTES = 10L * 1024 * 1024;

  private static final Pattern SERVICE_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
  private static final Pattern HOST_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(b|kb|k|mb|m|gb|g)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern RATE = Pattern.compile("(\\d+)\\s*/\\s*(\\S+)");
  private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z-]{0,19}");
  private static final Pattern HEADER_NAME = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}");
  private static final Pattern CLASS_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,31}");

  private RegistryParser() {
  }

  /** Reads and parses a registry file; a missing or unreadable file is a problem like any other. */
  public static Registry parseFile(Path file) {
    String name = file.toString();
    try {
      if (Files.size(file) > YamlDocument.MAX_BYTES) {
        throw new InvalidDocumentException("registry " + name, List.of(new Problem(name, 0, "", "file larger than " + YamlDocument.MAX_BYTES + " bytes")));
      }
      return parse(name, Files.readString(file, StandardCharsets.UTF_8), folderOf(file));
    } catch (NoSuchFileException e) {
      throw new InvalidDocumentException("registry " + name, List.of(new Problem(name, 0, "", "file not found")));
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new InvalidDocumentException("registry " + name, List.of(new Problem(name, 0, "", "cannot read: " + e.getMessage())));
    }
  }

  /** The folder a registry file's relative paths ({@code tls.ca}, …) resolve against. */
  public static Path folderOf(Path registryFile) {
    Path parent = registryFile.toAbsolutePath().getParent();
    return parent == null ? registryFile.toAbsolutePath() : parent;
  }

  /** A registry whose relative file paths cannot be resolved (they are reported as problems). */
  public static Registry parse(String file, String text) {
    return parse(file, text, null);
  }

  /**
   * @param file    name used in problems (a path, or e.g. {@code request body})
   * @param baseDir folder relative paths in the registry resolve against (the node's registry file folder); null:
   *                only absolute paths and inline PEM are accepted
   * @throws InvalidDocumentException listing every problem
   */
  public static Registry parse(String file, String text, Path baseDir) {
    Problems problems = new Problems();
    YamlNode.Mapping tree = YamlDocument.parse(file, text, problems);
    if (tree == null) {
      problems.throwIfAny("registry " + file);
    }
    MappingReader root = MappingReader.root(tree, problems);
    long version = root.longValue("version", 0, 1, Long.MAX_VALUE);
    if (!root.has("version")) {
      root.problem("version", "required: an integer >= 1 that grows with every change");
    }
    Defaults defaults = readDefaults(root.mapping("defaults"));
    Map<String, HttpService> http = new LinkedHashMap<>();
    Map<String, Source> hostOwners = new HashMap<>();
    Map<String, String> hostServices = new HashMap<>();
    root.namedMappings("http").forEach((name, svc) -> {
      checkName(name, svc);
      HttpService service = readHttp(name, svc, defaults, hostOwners, hostServices, baseDir);
      if (service != null) {
        http.put(name, service);
      }
    });
    Map<String, TcpService> tcp = new LinkedHashMap<>();
    Map<Integer, String> listeners = new HashMap<>();
    root.namedMappings("tcp").forEach((name, svc) -> {
      checkName(name, svc);
      if (http.containsKey(name)) {
        svc.problem(null, "service name '" + name + "' is also an http service; names must be unique");
      }
      TcpService service = readTcp(name, svc, defaults, listeners);
      if (service != null) {
        tcp.put(name, service);
      }
    });
    root.finish();
    problems.throwIfAny("registry " + file);
    return new Registry(version, http, tcp, text, RegistryFiles.sha256(text));
  }

  private record Defaults(HealthSpec health, Timeouts timeouts, long maxBody) {
  }

  private static Defaults readDefaults(MappingReader map) {
    HealthSpec health = readHealth(map.mapping("health"), HealthSpec.DEFAULT);
    Timeouts timeouts = readTimeouts(map.mapping("timeouts"), Timeouts.DEFAULT);
    long maxBody = size(map, "max_body", DEFAULT_MAX_BODY_BYTES);
    map.finish();
    return new Defaults(health, timeouts, maxBody);
  }

  private static void checkName(String name, MappingReader svc) {
    if (!SERVICE_NAME.matcher(name).matches()) {
      svc.problem(null, "service name '" + name + "' must be 1-63 lower-case letters, digits, '-' or '_'");
    }
  }

  private static HttpService readHttp(String name, MappingReader svc, Defaults defaults,
      Map<String, Source> hostOwners, Map<String, String> hostServices, Path baseDir) {
    List<String> hosts = new ArrayList<>();
    for (String raw : svc.stringList("hosts", List.of())) {
      String host = raw.trim().toLowerCase(Locale.ROOT);
      String why = hostProblem(host);
      if (why != null) {
        svc.problem("hosts", why + ": '" + raw + "'");
        continue;
      }
      String owner = hostServices.putIfAbsent(host, name);
      if (owner != null && !owner.equals(name)) {
        svc.problem("hosts", "host '" + host + "' is already served by http." + owner + " (line " + hostOwners.get(host).line() + ")");
      } else if (owner != null) {
        svc.problem("hosts", "host '" + host + "' is listed twice");
      } else {
        hostOwners.put(host, svc.sourceOf("hosts"));
        hosts.add(host);
      }
    }
    if (!svc.has("hosts")) {
      svc.problem("hosts", "required: at least one host name");
    }
    List<Backend> backends = readBackends(svc, "backends");
    if (!svc.has("backends")) {
      svc.problem("backends", "required: at least one backend");
    } else if (svc.sizeOf("backends") == 0) {
      svc.problem("backends", "at least one backend is needed");
    }
    List<Backend> fallback = readBackends(svc, "fallback");
    LbPolicy lb = enumOf(svc, "lb", LbPolicy.values(), LbPolicy::yamlName, LbPolicy.ROUND_ROBIN);
    HealthSpec health = readHealth(svc.mapping("health"), defaults.health());
    AccessSpec access = readAccess(svc.mapping("access"));
    RateLimitSpec rateLimit = readRateLimit(svc.mapping("rate_limit"));
    CacheSpec cache = readCache(svc, null);
    List<Middleware> middlewares = readMiddlewares(svc);
    long maxBody = size(svc, "max_body", defaults.maxBody());
    Timeouts timeouts = readTimeouts(svc.mapping("timeouts"), defaults.timeouts());
    UpstreamTls tls = svc.has("upstream_tls") ? UpstreamTlsReader.read(svc.mapping("upstream_tls"), baseDir) : UpstreamTls.SYSTEM;
    boolean acme = false;
    if (svc.has("tls")) {
      // the certificate clients see for this service's hosts
      MappingReader clientTls = svc.mapping("tls");
      acme = clientTls.bool("acme", false);
      if (acme) {
        hosts.stream().filter(h -> h.startsWith("*.")).findFirst().ifPresent(h -> clientTls.problem("acme",
            "HTTP-01 cannot prove a wildcard name ('" + h + "'): list the names, or store a wildcard certificate with PUT /v1/certificates"));
      }
      clientTls.finish();
    }
    HttpService service = new HttpService(name, hosts, backends, fallback, lb, health, access, rateLimit, cache, middlewares,
        maxBody, timeouts, tls, acme, Routes.NONE);
    Routes routes = svc.has("routes") ? readRoutes(svc, service) : Routes.NONE;
    if (svc.has("upstream_tls") && service.allBackends().stream().noneMatch(Backend::tls)
        && routes.list().stream().noneMatch(r -> r.ownBackends() && r.service().backends().stream().anyMatch(Backend::tls))) {
      svc.problem("upstream_tls", "applies to https:// backends, and this service has none");
    }
    svc.finish();
    return routes.isEmpty() ? service : new HttpService(name, hosts, backends, fallback, lb, health, access, rateLimit, cache,
        middlewares, maxBody, timeouts, tls, acme, routes);
  }

  private static CacheSpec readCache(MappingReader map, CacheSpec base) {
    if (!map.has("cache")) {
      map.mapping("cache");
      return base;
    }
    MappingReader c = map.mapping("cache");
    CacheSpec cache = new CacheSpec(c.duration("ttl", Duration.ofMinutes(1)));
    c.finish();
    return cache;
  }

  private static List<Middleware> readMiddlewares(MappingReader map) {
    List<Middleware> middlewares = new ArrayList<>();
    for (String m : map.stringList("middlewares", List.of())) {
      Middleware mw = Arrays.stream(Middleware.values()).filter(v -> v.yamlName().equals(m)).findFirst().orElse(null);
      if (mw == null) {
        map.problem("middlewares", "unknown middleware '" + m + "' (expected one of: "
            + String.join(", ", Arrays.stream(Middleware.values()).map(Middleware::yamlName).toList()) + ")");
      } else if (!middlewares.contains(mw)) {
        middlewares.add(mw);
      }
    }
    return middlewares;
  }

  /**
   * A service's {@code routes}: each a path (exact, prefix or template), optional methods and headers, a class, and
   * overrides of the service's backends, access, rate limit, cache and middlewares. A route that no request can
   * reach (an earlier or more specific one with the same path takes all of its requests) is a problem, as are two
   * routes of one class with different per-IP limits (a class has one counter).
   */
  private static Routes readRoutes(MappingReader svc, HttpService service) {
    List<Route> routes = new ArrayList<>();
    Map<String, Integer> names = new HashMap<>();
    Map<String, Route> classLimit = new HashMap<>();
    List<MappingReader> items = svc.mappingList("routes");
    if (items.isEmpty()) {
      svc.problem("routes", "at least one route is needed (leave routes out to send every path to the service)");
    }
    for (MappingReader r : items) {
      String pathText = r.string("path", null);
      RoutePattern pattern = null;
      if (pathText == null) {
        r.problem("path", "required: /exact, /prefix/ (or /prefix/*) or /template/{param}");
      } else {
        try {
          pattern = RoutePattern.parse(pathText.trim());
        } catch (IllegalArgumentException e) {
          r.problem("path", e.getMessage());
        }
      }
      Set<String> methods = null;
      if (r.has("methods")) {
        methods = new java.util.TreeSet<>();
        for (String m : r.stringList("methods", List.of())) {
          String method = m.trim().toUpperCase(Locale.ROOT);
          if (!METHOD.matcher(method).matches()) {
            r.problem("methods", "not an HTTP method: '" + m + "'");
          } else {
            methods.add(method);
          }
        }
        if (methods.isEmpty()) {
          r.problem("methods", "leave methods out to take every method; an empty list takes none");
        }
      } else {
        r.stringList("methods", List.of());
      }
      Map<String, String> headers = new java.util.TreeMap<>();
      MappingReader h = r.mapping("headers");
      for (String header : h.keys()) {
        String value = h.string(header, null);
        if (!HEADER_NAME.matcher(header).matches()) {
          h.problem(header, "not a header name");
        } else if (value == null || value.isEmpty()) {
          h.problem(header, "expected the value the header must have, or '*' for any value");
        } else {
          headers.put(header.toLowerCase(Locale.ROOT), value);
        }
      }
      h.finish();
      String className = r.string("class", Route.DEFAULT_CLASS);
      if (!CLASS_NAME.matcher(className).matches()) {
        r.problem("class", "a route class is 1-32 lower-case letters, digits, '-' or '_', got '" + className + "'");
      }
      List<Backend> own = null;
      if (r.has("backends")) {
        own = readBackends(r, "backends");
        if (r.sizeOf("backends") == 0) {
          r.problem("backends", "at least one backend is needed (leave backends out to use the service's)");
        }
      } else {
        r.mappingList("backends");
      }
      AccessSpec access = r.has("access") ? readAccess(r.mapping("access")) : skip(r, "access", service.access());
      RateLimitSpec rateLimit = r.has("rate_limit") ? readRateLimit(r.mapping("rate_limit")) : skip(r, "rate_limit", service.rateLimit());
      CacheSpec cache = readCache(r, service.cache());
      List<Middleware> middlewares = r.has("middlewares") ? readMiddlewares(r) : service.middlewares();
      String explicitName = r.string("name", null);
      Long cost = r.has("cost") ? r.longValue("cost", 1, 0, Route.MAX_COST) : null;
      int line = r.source().line();
      r.finish();
      if (pattern == null) {
        continue;
      }
      String name = explicitName != null ? explicitName.trim()
          : (methods == null ? "" : String.join(",", methods) + " ") + pattern.text();
      Integer sameName = names.putIfAbsent(name, line);
      if (sameName != null) {
        r.problem(explicitName != null ? "name" : "path", "route '" + name + "' is already the name of the route at line " + sameName
            + (explicitName != null ? "" : "; give one of them a name"));
      }
      Route route = new Route(routes.size(), name, className, pattern, methods, headers,
          service.forRoute(own, access, rateLimit, cache, middlewares), own != null, r.has("cache"), line, cost);
      Route first = access.policy() == AccessSpec.Policy.PUBLIC ? classLimit.putIfAbsent(className, route) : null;
      if (first != null && !java.util.Objects.equals(first.service().rateLimit(), route.service().rateLimit())) {
        r.problem("rate_limit", "routes of class '" + className + "' share one per-IP counter and must have the same rate_limit "
            + "as the route at line " + first.line());
      }
      routes.add(route);
    }
    Routes compiled = new Routes(routes);
    for (Route[] pair : compiled.unreachable()) {
      svc.problems().add(new Source(svc.source().file(), pair[0].line()), svc.pathOf("routes") + "[" + pair[0].index() + "]",
          "route '" + pair[0].name() + "' is unreachable: the route '" + pair[1].name() + "' at line " + pair[1].line()
              + " takes every request it would (same path, looser or equal methods and headers, and it comes first)");
    }
    return compiled;
  }

  /** Marks an absent optional key as read and returns the service's value. */
  private static <T> T skip(MappingReader map, String key, T inherited) {
    map.mapping(key);
    return inherited;
  }

  /** Null when {@code host} is a valid DNS name or one-label wildcard, else why not. */
  private static String hostProblem(String host) {
    if (host.isEmpty()) {
      return "host must not be empty";
    }
    if (host.contains("://") || host.contains("/")) {
      return "a host is a name, not a URL";
    }
    if (host.contains(":")) {
      return "a host has no port (the port is ignored when routing)";
    }
    String name = host.startsWith("*.") ? host.substring(2) : host;
    if (name.length() > 253) {
      return "host name longer than 253 characters";
    }
    for (String label : name.split("\\.", -1)) {
      if (!HOST_LABEL.matcher(label).matches()) {
        return label.contains("*") ? "only a single leading '*.' label is allowed" : "not a valid host name";
      }
    }
    return null;
  }

  private static List<Backend> readBackends(MappingReader svc, String key) {
    List<Backend> out = new ArrayList<>();
    // a backend is its node plus its URL: the same local URL on two nodes is two backends
    Set<String> seen = new HashSet<>();
    for (MappingReader b : svc.mappingList(key)) {
      String raw = b.string("url", null);
      String node = b.string("node", null);
      int weight = b.integer("weight", 1, 1, 1000);
      if (node != null && !NODE_ID.matcher(node).matches()) {
        b.problem("node", "not a valid node id: '" + node + "'");
      }
      Backend backend = null;
      if (raw == null) {
        b.problem("url", "required: http://host:port, https://host:port or h2c://host:port");
      } else {
        backend = backend(b, raw.trim(), node, weight);
      }
      b.finish();
      if (backend != null) {
        if (!seen.add(node + " " + backend.url())) {
          b.problem("url", "backend " + backend.url() + (node == null ? "" : " on node " + node) + " is listed twice");
        } else {
          out.add(backend);
        }
      }
    }
    return out;
  }

  private static Backend backend(MappingReader b, String raw, String node, int weight) {
    URI uri;
    try {
      uri = new URI(raw);
    } catch (URISyntaxException e) {
      b.problem("url", "not a valid URL: '" + raw + "'");
      return null;
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") && !scheme.equals("h2c")) {
      b.problem("url", "scheme must be http, https or h2c (HTTP/2 over cleartext), got '" + raw + "'");
      return null;
    }
    if (uri.getHost() == null) {
      b.problem("url", "no host in '" + raw + "'");
      return null;
    }
    if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null
        || (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))) {
      b.problem("url", "a backend URL is scheme://host:port only (no path, query or credentials), got '" + raw + "'");
      return null;
    }
    int port = uri.getPort() > 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
    String host = uri.getHost().toLowerCase(Locale.ROOT);
    return new Backend(scheme + "://" + host + ":" + port, scheme, host.startsWith("[") ? host.substring(1, host.length() - 1) : host, port, node, weight);
  }

  private static HealthSpec readHealth(MappingReader h, HealthSpec base) {
    boolean enabled = h.bool("enabled", base.enabled());
    String path = h.string("path", base.path());
    if (!path.startsWith("/")) {
      h.problem("path", "must start with '/', got '" + path + "'");
    }
    Duration interval = h.duration("interval", base.interval());
    Duration timeout = h.duration("timeout", base.timeout());
    int unhealthy = h.integer("unhealthy_after", base.unhealthyAfter(), 1, 100);
    int healthy = h.integer("healthy_after", base.healthyAfter(), 1, 100);
    if (timeout.compareTo(interval) >= 0 && (h.has("timeout") || h.has("interval"))) {
      h.problem(h.has("timeout") ? "timeout" : "interval", "timeout (" + Durations.format(timeout)
          + ") must be shorter than interval (" + Durations.format(interval) + ")");
    }
    h.finish();
    return new HealthSpec(enabled, path, interval, timeout, unhealthy, healthy);
  }

  private static Timeouts readTimeouts(MappingReader t, Timeouts base) {
    Timeouts timeouts = new Timeouts(t.duration("connect", base.connect()), t.duration("upstream", base.upstream()));
    t.finish();
    return timeouts;
  }

  private static AccessSpec readAccess(MappingReader a) {
    AccessSpec.Policy policy = enumOf(a, "policy", AccessSpec.Policy.values(), AccessSpec.Policy::yamlName, AccessSpec.Policy.PUBLIC);
    List<String> plans = a.stringList("plans", List.of());
    AccessSpec.OnUnavailable onUnavailable = enumOf(a, "on_unavailable", AccessSpec.OnUnavailable.values(),
        AccessSpec.OnUnavailable::yamlName, AccessSpec.OnUnavailable.FAIL_CLOSED);
    if (policy == AccessSpec.Policy.PLAN && plans.isEmpty()) {
      a.problem(a.has("plans") ? "plans" : "policy", "policy plan needs a non-empty plans list");
    }
    if (policy != AccessSpec.Policy.PLAN && !plans.isEmpty()) {
      a.problem("plans", "plans only apply with policy: plan");
    }
    a.finish();
    return new AccessSpec(policy, plans, onUnavailable);
  }

  private static RateLimitSpec readRateLimit(MappingReader r) {
    String perIp = r.string("per_ip", null);
    Rate rate = perIp == null ? null : rate(r, "per_ip", perIp);
    r.finish();
    return rate == null ? RateLimitSpec.NONE : new RateLimitSpec(rate);
  }

  /** {@code 100/1s}, {@code 10/m} (a bare unit means one of it). */
  static Rate rate(MappingReader r, String key, String text) {
    Matcher m = RATE.matcher(text.trim());
    if (!m.matches()) {
      r.problem(key, "expected requests/period such as 100/1s or 10/m, got '" + text + "'");
      return null;
    }
    long requests = Long.parseLong(m.group(1));
    if (requests < 1) {
      r.problem(key, "at least 1 request per period, got '" + text + "'");
      return null;
    }
    String period = m.group(2);
    try {
      Duration per = Durations.parse(Character.isDigit(period.charAt(0)) ? period : "1" + period);
      if (per.isZero()) {
        r.problem(key, "the period must be greater than zero");
        return null;
      }
      return new Rate(requests, per);
    } catch (IllegalArgumentException e) {
      r.problem(key, e.getMessage());
      return null;
    }
  }

  /** {@code 10MB}, {@code 512KB}, {@code 1GB}, {@code 100B} or a plain number of bytes; binary units. */
  static long size(MappingReader map, String key, long defaultValue) {
    String text = map.string(key, null);
    if (text == null) {
      return defaultValue;
    }
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      map.problem(key, "expected a size such as 512KB, 10MB or 1GB, got '" + text + "'");
      return defaultValue;
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
    long bytes = switch (unit) {
      case "kb", "k" -> n * 1024;
      case "mb", "m" -> n * 1024 * 1024;
      case "gb", "g" -> n * 1024 * 1024 * 1024;
      default -> n;
    };
    if (bytes <= 0) {
      map.problem(key, "must be greater than zero");
      return defaultValue;
    }
    return bytes;
  }

  private static TcpService readTcp(String name, MappingReader svc, Defaults defaults, Map<Integer, String> listeners) {
    int listen = svc.port("listen", 0, false);
    if (!svc.has("listen")) {
      svc.problem("listen", "required: the port every edge node listens on");
    } else if (listen > 0) {
      String other = listeners.putIfAbsent(listen, name);
      if (other != null) {
        svc.problem("listen", "port " + listen + " is already used by tcp." + other);
      }
    }
    List<TcpBackend> backends = new ArrayList<>();
    for (MappingReader b : svc.mappingList("backends")) {
      String address = b.string("address", null);
      String node = b.string("node", null);
      if (address == null) {
        b.problem("address", "required: host:port");
      } else {
        int colon = address.lastIndexOf(':');
        int port = -1;
        if (colon > 0) {
          try {
            port = Integer.parseInt(address.substring(colon + 1));
          } catch (NumberFormatException e) {
            port = -1;
          }
        }
        if (port < 1 || port > 65535) {
          b.problem("address", "expected host:port, got '" + address + "'");
        } else if (backends.stream().anyMatch(x -> x.address().equals(address) && Objects.equals(x.node(), node))) {
          b.problem("address", "backend " + address + (node == null ? "" : " on node " + node) + " is listed twice");
        } else {
          String host = address.substring(0, colon);
          backends.add(new TcpBackend(address, host.startsWith("[") ? host.substring(1, host.length() - 1) : host, port, node));
        }
      }
      b.finish();
    }
    if (backends.isEmpty() && !svc.has("backends")) {
      svc.problem("backends", "required: at least one backend");
    }
    MappingReader h = svc.mapping("health");
    HealthSpec base = defaults.health();
    TcpHealthSpec.Kind kind = enumOf(h, "kind", TcpHealthSpec.Kind.values(), TcpHealthSpec.Kind::yamlName, TcpHealthSpec.Kind.TCP);
    Duration interval = h.duration("interval", base.interval());
    Duration timeout = h.duration("timeout", base.timeout());
    if (timeout.compareTo(interval) >= 0 && (h.has("timeout") || h.has("interval"))) {
      h.problem(h.has("timeout") ? "timeout" : "interval", "timeout must be shorter than interval");
    }
    TcpHealthSpec health = new TcpHealthSpec(kind, interval, timeout,
        h.integer("unhealthy_after", base.unhealthyAfter(), 1, 100), h.integer("healthy_after", base.healthyAfter(), 1, 100));
    h.finish();
    svc.finish();
    return new TcpService(name, listen, backends, health);
  }

  private static <E> E enumOf(MappingReader map, String key, E[] values, Function<E, String> yamlName, E defaultValue) {
    List<String> names = Arrays.stream(values).map(yamlName).toList();
    String chosen = map.oneOf(key, yamlName.apply(defaultValue), names);
    return Arrays.stream(values).filter(v -> yamlName.apply(v).equals(chosen)).findFirst().orElse(defaultValue);
  }
}
