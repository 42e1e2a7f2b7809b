package io.ceiba.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RoutesTest {

  /** The start of a registry with one service {@code api}: its fields follow, indented by four spaces. */
  static final String API = """
      version: 1
      http:
        api:
          hosts: [api.test]
          backends: [{ url: "http://127.0.0.1:9001" }]
      """;

  private static final HttpService SERVICE = RegistryParser.parse("r.yaml", API + """
          routes:
            - { path: /, class: any, name: catch-all }
            - { path: /v1/*, class: read, name: v1 }
            - { path: /v1/, methods: [POST, PUT, DELETE], class: write, name: v1-write }
            - { path: "/v1/users/{id}", class: read, name: user }
            - { path: "/v1/{kind}/me", class: read, name: me }
            - { path: /v1/users/me, class: read, name: exact-me }
            - { path: "/v1/users/{id}", methods: [DELETE], class: write, name: user-delete }
            - { path: "/v1/users/{id}", headers: { X-Version: "2" }, class: read, name: user-v2 }
            - { path: /v1/admin/, class: admin, name: admin, access: { policy: api-key } }
            - { path: /auth/login, methods: [POST], class: auth, name: login, rate_limit: { per_ip: "5/1m" } }
      """).http().get("api");

  private static String route(String method, String target, Map<String, String> headers) {
    RequestPaths.Normalised n = RequestPaths.normalise(target);
    if (n.refused()) {
      return "400";
    }
    Route r = SERVICE.routes().match(n.path(), method, headers::get);
    return r == null ? "404" : r.name();
  }

  /** Each row: method, target, the route expected to take it (404: none, 400: refused), and a comment. */
  @Test
  void should_take_the_most_specific_route() {
    expect(new String[][] {
        {"GET", "/v1/users/me", "exact-me", "exact over templates"},
        {"GET", "/v1/users/7", "user", "a template over prefixes"},
        {"GET", "/v1/things/me", "me", ""},
        {"DELETE", "/v1/users/7", "user-delete", "constraints over none, same path"},
        {"GET", "/v1/users/7/x", "v1", "a template takes whole segments only"},
        {"POST", "/v1/users/7/x", "v1-write", ""},
        {"GET", "/v1/admin/x", "admin", "the longer prefix"},
        {"GET", "/v1/admin", "admin", "a prefix takes its own path without '/'"},
        {"GET", "/v1", "v1", ""},
        {"GET", "/v2", "catch-all", ""},
        {"POST", "/auth/login", "login", ""},
        {"GET", "/auth/login", "catch-all", "methods are a constraint"}});
    assertThat(route("GET", "/v1/users/7", Map.of("x-version", "2"))).isEqualTo("user-v2");
    assertThat(route("GET", "/v1/users/7", Map.of("x-version", "3"))).isEqualTo("user");
  }

  @Test
  void should_match_traversal_attempts_as_the_path_they_resolve_to() {
    expect(new String[][] {
        {"GET", "/v1/users/../admin/keys", "admin", ""},
        {"GET", "/v1/users/%2e%2e/admin/keys", "admin", ""},
        {"GET", "/v1//admin//keys", "admin", ""},
        {"GET", "/v1/%61dmin/keys", "admin", ""},
        {"GET", "/v1/users%2F..%2Fadmin", "400", "an encoded slash a backend could decode"},
        {"POST", "/v1/../auth/./login", "login", ""}});
  }

  private static void expect(String[][] rows) {
    for (String[] row : rows) {
      assertThat(route(row[0], row[1], Map.of())).as(row[0] + " " + row[1] + " " + row[3]).isEqualTo(row[2]);
    }
  }

  @Test
  void should_answer_no_route_when_no_catch_all_exists() {
    Routes routes = RegistryParser.parse("r.yaml", API + """
            routes:
              - { path: /health, class: public }
              - { path: /v1/, class: read }
        """).http().get("api").routes();
    assertThat(routes.match("/health", "GET", n -> null).className()).isEqualTo("public");
    assertThat(routes.match("/health/x", "GET", n -> null)).isNull();
    assertThat(routes.match("/admin", "GET", n -> null)).isNull();
    assertThat(routes.match("/v1x", "GET", n -> null)).isNull();
    assertThat(routes.match("/", "GET", n -> null)).isNull();
  }
}
