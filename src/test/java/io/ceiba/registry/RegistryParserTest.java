package io.ceiba.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.ceiba.yaml.InvalidDocumentException;
import io.ceiba.yaml.Problem;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RegistryParserTest {

  private static final String SPEC_EXAMPLE = """
      version: 12
      defaults:
        health: { path: /healthz, interval: 2s, timeout: 500ms, unhealthy_after: 3, healthy_after: 2 }
      http:
        whoami:
          hosts: [whoami.example.test]
          backends:
            - { url: "http://127.0.0.1:9001", node: node1, weight: 1 }
            - { url: "http://127.0.0.1:9002", node: node2 }
          fallback:
            - { url: "http://127.0.0.1:9003", node: node3 }
          lb: round-robin
          health: { path: /healthz }
          access: { policy: public }
          rate_limit: { per_ip: "100/1s" }
          cache: { ttl: 10m }
          middlewares: [strip-www, https-redirect]
      tcp:
        redis-main:
          listen: 6380
          backends:
            - { address: "127.0.0.1:6379", node: node1 }
            - { address: "127.0.0.1:6479", node: node2 }
          health: { kind: redis-primary, interval: 2s }
      """;

  private static List<Problem> problems(String yaml) {
    try {
      RegistryParser.parse("r.yaml", yaml);
    } catch (InvalidDocumentException e) {
      return e.problems();
    }
    throw new AssertionError("expected the registry to be rejected");
  }

  @Test
  void should_mark_acme_services_and_refuse_acme_for_a_wildcard_name() throws Exception {
    Registry registry = RegistryParser.parse("r.yaml", """
        version: 1
        http:
          shop:
            hosts: [shop.example.com]
            backends: [{ url: "http://127.0.0.1:9001" }]
            tls: { acme: true }
          plain:
            hosts: [plain.example.com]
            backends: [{ url: "http://127.0.0.1:9001" }]
        """);
    assertThat(registry.http().get("shop").acme()).isTrue();
    assertThat(registry.http().get("plain").acme()).isFalse();
    assertThat(problems("""
        version: 1
        http:
          wild:
            hosts: ["*.example.com"]
            backends: [{ url: "http://127.0.0.1:9001" }]
            tls: { acme: true, colour: red }
        """)).extracting(Problem::field).containsExactlyInAnyOrder("http.wild.tls.acme", "http.wild.tls.colour");
  }

  @Test
  void should_parse_the_spec_example_into_records() {
    Registry r = RegistryParser.parse("r.yaml", SPEC_EXAMPLE);
    assertThat(r.version()).isEqualTo(12);
    HttpService whoami = r.http().get("whoami");
    assertThat(whoami.hosts()).containsExactly("whoami.example.test");
    assertThat(whoami.backends()).containsExactly(
        new Backend("http://127.0.0.1:9001", "http", "127.0.0.1", 9001, "node1", 1),
        new Backend("http://127.0.0.1:9002", "http", "127.0.0.1", 9002, "node2", 1));
    assertThat(whoami.fallback()).extracting(Backend::node).containsExactly("node3");
    assertThat(whoami.lb()).isEqualTo(LbPolicy.ROUND_ROBIN);
    assertThat(whoami.health()).isEqualTo(new HealthSpec(true, "/healthz", Duration.ofSeconds(2), Duration.ofMillis(500), 3, 2));
    assertThat(whoami.access()).isEqualTo(AccessSpec.PUBLIC);
    assertThat(whoami.rateLimit().perIp()).isEqualTo(new Rate(100, Duration.ofSeconds(1)));
    assertThat(whoami.cache().ttl()).isEqualTo(Duration.ofMinutes(10));
    assertThat(whoami.middlewares()).containsExactly(Middleware.STRIP_WWW, Middleware.HTTPS_REDIRECT);
    assertThat(whoami.maxBodyBytes()).isEqualTo(10L * 1024 * 1024);
    assertThat(whoami.timeouts()).isEqualTo(Timeouts.DEFAULT);
    TcpService redis = r.tcp().get("redis-main");
    assertThat(redis.listen()).isEqualTo(6380);
    assertThat(redis.backends()).extracting(TcpBackend::port).containsExactly(6379, 6479);
    assertThat(redis.health().kind()).isEqualTo(TcpHealthSpec.Kind.REDIS_PRIMARY);
    assertThat(r.sha256()).hasSize(64).isEqualTo(RegistryParser.parse("other.yaml", SPEC_EXAMPLE).sha256());
  }

  @Test
  void should_parse_the_shipped_example_registry() {
    Registry r = RegistryParser.parseFile(Path.of("node-configs/registry.yaml"));
    assertThat(r.http()).containsKeys("app", "whoami");
  }

  @Test
  void should_merge_defaults_field_by_field_and_read_access_sizes_and_rates() {
    Registry r = RegistryParser.parse("r.yaml", """
        version: 1
        defaults:
          health: { interval: 5s, unhealthy_after: 5 }
          timeouts: { upstream: 2s }
          max_body: 1MB
        http:
          api:
            hosts: ["API.Example.Test", "*.api.test"]
            backends: [{ url: "https://10.0.0.1" }]
            health: { path: /ping, healthy_after: 4 }
            access: { policy: plan, plans: [pro, team], on_unavailable: fail-open }
            rate_limit: { per_ip: 10/m }
            max_body: 512KB
            timeouts: { connect: 1s }
            lb: weighted
        """);
    HttpService api = r.http().get("api");
    assertThat(api.hosts()).containsExactly("api.example.test", "*.api.test");
    assertThat(api.backends().get(0)).isEqualTo(new Backend("https://10.0.0.1:443", "https", "10.0.0.1", 443, null, 1));
    assertThat(api.health()).isEqualTo(new HealthSpec(true, "/ping", Duration.ofSeconds(5), Duration.ofMillis(500), 5, 4));
    assertThat(api.access()).isEqualTo(new AccessSpec(AccessSpec.Policy.PLAN, List.of("pro", "team"), AccessSpec.OnUnavailable.FAIL_OPEN));
    assertThat(api.rateLimit().perIp()).isEqualTo(new Rate(10, Duration.ofMinutes(1)));
    assertThat(api.maxBodyBytes()).isEqualTo(512 * 1024);
    assertThat(api.timeouts()).isEqualTo(new Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(2)));
    assertThat(api.lb()).isEqualTo(LbPolicy.WEIGHTED);
  }

  @Test
  void should_report_every_problem_with_line_and_field_when_the_registry_is_invalid() {
    List<Problem> problems = problems("""
        version: -3
        http:
          api:
            hosts: [api.example.test, "http://x.test", "a.*.test"]
            backends:
              - { url: "ftp://127.0.0.1:9001" }
              - { url: "http://127.0.0.1:9002/path" }
              - { url: "http://127.0.0.1:9003", weight: 0 }
            lb: random
            health: { interval: 1s, timeout: 2s, path: healthz }
            access: { policy: plan }
            middlewares: [gzip]
          Web:
            hosts: [api.example.test]
            backends: []
            rate_limit: { per_ip: "fast" }
            max_body: lots
            colour: blue
        tcp:
          r1: { listen: 6380, backends: [{ address: "127.0.0.1:6379" }] }
          r2: { listen: 6380, backends: [{ address: "nohost" }], health: { kind: ping } }
        """);
    assertThat(problems).extracting(p -> p.line() + " " + p.field()).containsExactlyInAnyOrder(
        "1 version",
        "4 http.api.hosts", "4 http.api.hosts",
        "6 http.api.backends[0].url",
        "7 http.api.backends[1].url",
        "8 http.api.backends[2].weight",
        "9 http.api.lb",
        "10 http.api.health.path", "10 http.api.health.timeout",
        "11 http.api.access.policy",
        "12 http.api.middlewares",
        "13 http.Web",
        "14 http.Web.hosts",
        "15 http.Web.backends",
        "16 http.Web.rate_limit.per_ip",
        "17 http.Web.max_body",
        "18 http.Web.colour",
        "21 tcp.r2.listen", "21 tcp.r2.backends[0].address", "21 tcp.r2.health.kind");
    assertThat(problems).allSatisfy(p -> assertThat(p.file()).isEqualTo("r.yaml"));
    assertThat(problems).filteredOn(p -> p.field().equals("http.Web.hosts")).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("already served by http.api (line 4)"));
    assertThat(problems).filteredOn(p -> p.field().equals("http.api.lb")).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("round-robin, least-connections, weighted"));
  }

  @Test
  void should_require_version_hosts_and_backends() {
    assertThat(problems("http:\n  a: {}\n")).extracting(Problem::field)
        .containsExactlyInAnyOrder("version", "http.a.hosts", "http.a.backends");
  }

  @Test
  void should_reject_negative_and_zero_durations() {
    assertThat(problems("version: 1\nhttp:\n  a:\n    hosts: [a.test]\n    backends: [{url: 'http://h:1'}]\n    health: { interval: -2s, timeout: 0ms }\n"))
        .extracting(Problem::reason).anySatisfy(r -> assertThat(r).contains("negative"))
        .anySatisfy(r -> assertThat(r).contains("greater than zero"));
  }

  @Test
  void should_report_a_line_when_the_yaml_is_malformed() {
    assertThat(problems("version: 1\nhttp:\n  a:\n    hosts: [a.test\n  b: 1\n")).singleElement()
        .satisfies(p -> assertThat(p.line()).isGreaterThanOrEqualTo(4));
    assertThat(problems("version: 1\nhttp:\n\ta: {}\n")).singleElement()
        .satisfies(p -> assertThat(p.line()).isEqualTo(3));
    assertThat(problems("version: 1\nversion: 2\n")).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("duplicate key"));
  }

  @Test
  void should_accept_h2c_backends_and_name_the_field_of_a_bad_scheme() {
    Registry registry = RegistryParser.parse("r.yaml", """
        version: 1
        http:
          grpc:
            hosts: [grpc.test]
            backends:
              - { url: "h2c://127.0.0.1:9001", node: node1 }
              - { url: "H2C://backend.internal" }
        """);
    List<Backend> backends = registry.http().get("grpc").backends();
    assertThat(backends).containsExactly(new Backend("h2c://127.0.0.1:9001", "h2c", "127.0.0.1", 9001, "node1", 1),
        new Backend("h2c://backend.internal:80", "h2c", "backend.internal", 80, null, 1));
    assertThat(backends).allMatch(Backend::h2c).noneMatch(Backend::tls);
    assertThat(RegistrySummary.describe(registry)).contains("h2c 2");

    assertThat(problems("version: 1\nhttp:\n  a:\n    hosts: [a.test]\n    backends:\n      - { url: \"h2://127.0.0.1:1\" }\n"))
        .singleElement().satisfies(p -> {
          assertThat(p.line()).isEqualTo(6);
          assertThat(p.field()).isEqualTo("http.a.backends[0].url");
          assertThat(p.reason()).contains("http, https or h2c");
        });
  }

  @Test
  void should_take_the_same_local_url_on_two_nodes_as_two_backends_and_refuse_it_twice_on_one_node() {
    // issue 17 item 6: the natural multi-host registry, the same service on the same local port of each host
    Registry registry = RegistryParser.parse("r.yaml", """
        version: 1
        http:
          web:
            hosts: [web.test]
            backends:
              - { url: "http://127.0.0.1:9000", node: host1 }
              - { url: "http://127.0.0.1:9000", node: host2 }
        tcp:
          cache:
            listen: 6380
            backends:
              - { address: "127.0.0.1:6379", node: host1 }
              - { address: "127.0.0.1:6379", node: host2 }
        """);
    assertThat(registry.http().get("web").backends()).extracting(Backend::node, Backend::url)
        .containsExactly(tuple("host1", "http://127.0.0.1:9000"), tuple("host2", "http://127.0.0.1:9000"));
    assertThat(registry.tcp().get("cache").backends()).extracting(TcpBackend::node, TcpBackend::address)
        .containsExactly(tuple("host1", "127.0.0.1:6379"), tuple("host2", "127.0.0.1:6379"));

    // the same node and URL twice is one backend listed twice, also when the URL is spelled differently
    assertThat(problems("""
        version: 1
        http:
          web:
            hosts: [web.test]
            backends:
              - { url: "http://127.0.0.1:9000", node: host1 }
              - { url: "HTTP://127.0.0.1:9000/", node: host1 }
              - { url: "http://10.0.0.5:80" }
              - { url: "http://10.0.0.5" }
        tcp:
          cache:
            listen: 6380
            backends:
              - { address: "127.0.0.1:6379", node: host1 }
              - { address: "127.0.0.1:6379", node: host1 }
        """)).extracting(p -> p.line() + " " + p.field() + ": " + p.reason()).containsExactlyInAnyOrder(
        "7 http.web.backends[1].url: backend http://127.0.0.1:9000 on node host1 is listed twice",
        "9 http.web.backends[3].url: backend http://10.0.0.5:80 is listed twice",
        "15 tcp.cache.backends[1].address: backend 127.0.0.1:6379 on node host1 is listed twice");
  }

  @Test
  void should_read_routes_with_their_overrides() {
    Registry registry = RegistryParser.parse("r.yaml", RoutesTest.API + """
            access: { policy: api-key }
            cache: { ttl: 10s }
            routes:
              - path: /auth/login
                methods: [post]
                class: auth
                access: { policy: public }
                rate_limit: { per_ip: "5/1m" }
              - path: "/v1/users/{id}"
                class: read
                headers: { X-Version: "*" }
              - path: /legacy/*
                name: legacy
                backends: [{ url: "http://127.0.0.1:9002" }]
                cache: { ttl: 1m }
                middlewares: [https-redirect]
        """);
    HttpService api = registry.http().get("api");
    assertThat(RegistrySummary.describe(registry)).contains("  routes 3 (classes auth,read,default)");
    assertThat(api.routes().list()).hasSize(3);
    Route login = api.routes().list().get(0);
    assertThat(login.name()).isEqualTo("POST /auth/login");
    assertThat(login.className()).isEqualTo("auth");
    assertThat(login.methods()).containsExactly("POST");
    assertThat(login.service().access().policy()).isEqualTo(AccessSpec.Policy.PUBLIC);
    assertThat(login.service().rateLimit().perIp().requests()).isEqualTo(5);
    assertThat(login.service().backends()).isEqualTo(api.backends());
    assertThat(login.line()).isEqualTo(9);
    Route user = api.routes().list().get(1);
    assertThat(user.pattern().kind()).isEqualTo(RoutePattern.Kind.TEMPLATE);
    assertThat(user.headers()).containsEntry("x-version", "*");
    assertThat(user.service().access().policy()).isEqualTo(AccessSpec.Policy.API_KEY);
    assertThat(user.service().cache().ttl()).isEqualTo(Duration.ofSeconds(10));
    assertThat(user.className()).isEqualTo("read");
    Route legacy = api.routes().list().get(2);
    assertThat(legacy.ownBackends()).isTrue();
    assertThat(legacy.className()).isEqualTo(Route.DEFAULT_CLASS);
    assertThat(legacy.service().backends()).extracting(Backend::url).containsExactly("http://127.0.0.1:9002");
    assertThat(legacy.service().cache().ttl()).isEqualTo(Duration.ofMinutes(1));
    assertThat(legacy.service().middlewares()).containsExactly(Middleware.HTTPS_REDIRECT);
    assertThat(api.checkedBackends()).extracting(Backend::url).containsExactly("http://127.0.0.1:9001", "http://127.0.0.1:9002");
  }

  @Test
  void should_report_unreachable_routes_and_bad_paths_with_their_lines() {
    List<Problem> problems = problems(RoutesTest.API + """
            routes:
              - { path: /v1/, class: read }
              - { path: "/v1/users/{id}", methods: [GET, PUT] }
              - { path: /v1/*, class: other }
              - { path: "/v1/users/{name}", methods: [GET] }
              - { path: /v1/../admin }
              - { path: "/v1/%2e/x" }
              - { path: v1 }
              - { path: "/a/{id}/*" }
              - { path: /x, class: Read, colour: red }
        """);
    assertThat(problems).extracting(p -> p.line() + " " + p.field()).containsExactlyInAnyOrder(
        "9 http.api.routes[2]", "10 http.api.routes[3]", "11 http.api.routes[4].path", "12 http.api.routes[5].path",
        "13 http.api.routes[6].path", "14 http.api.routes[7].path", "15 http.api.routes[8].class", "15 http.api.routes[8].colour");
    assertThat(problems).filteredOn(p -> p.line() == 9).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("unreachable").contains("at line 7"));
    assertThat(problems).filteredOn(p -> p.line() == 10).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("unreachable").contains("at line 8"));
  }

  @Test
  void should_read_a_route_cost_and_refuse_one_out_of_range() {
    Registry registry = RegistryParser.parse("r.yaml", RoutesTest.API + """
            routes:
              - { path: /v1/report, cost: 10 }
              - { path: /v1/free, cost: 0 }
              - { path: /v1/ }
        """);
    assertThat(registry.http().get("api").routes().list()).extracting(Route::cost).containsExactly(10L, 0L, null);
    List<Problem> problems = problems(RoutesTest.API + """
            routes:
              - { path: /v1/a, cost: -1 }
              - { path: /v1/b, cost: lots }
              - { path: /v1/c, cost: 1000001 }
        """);
    assertThat(problems).extracting(p -> p.field()).containsExactly("http.api.routes[0].cost", "http.api.routes[1].cost",
        "http.api.routes[2].cost");
  }
}
