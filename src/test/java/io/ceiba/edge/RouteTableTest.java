package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.registry.Registry;
import io.ceiba.registry.RegistryParser;
import org.junit.jupiter.api.Test;

class RouteTableTest {

  private final RouteTable table = RouteTable.build(RegistryParser.parse("r.yaml", """
      version: 3
      http:
        exact:
          hosts: [api.example.test]
          backends: [{ url: "http://127.0.0.1:1" }]
        wild:
          hosts: ["*.example.test"]
          backends: [{ url: "http://127.0.0.1:2" }]
      """));

  private String route(String authority) {
    var service = table.lookup(authority);
    return service == null ? null : service.name();
  }

  @Test
  void should_match_exact_names_before_wildcards_ignoring_port_case_and_trailing_dot() {
    assertThat(table.version()).isEqualTo(3);
    assertThat(route("api.example.test")).isEqualTo("exact");
    assertThat(route("API.Example.Test:8080")).isEqualTo("exact");
    assertThat(route("api.example.test.")).isEqualTo("exact");
    assertThat(route("web.example.test")).isEqualTo("wild");
  }

  @Test
  void should_let_a_wildcard_match_exactly_one_label() {
    assertThat(route("a.b.example.test")).isNull();
    assertThat(route("example.test")).isNull();
    assertThat(route("")).isNull();
    assertThat(route(null)).isNull();
    assertThat(RouteTable.build(Registry.EMPTY).lookup("api.example.test")).isNull();
  }
}
