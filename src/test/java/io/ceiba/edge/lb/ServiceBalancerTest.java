package io.ceiba.edge.lb;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.registry.HttpService;
import io.ceiba.registry.RegistryParser;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ServiceBalancerTest {

  private static HttpService service(String lb, String backends, String fallback) {
    return RegistryParser.parse("r.yaml", "version: 1\nhttp:\n  s:\n    hosts: [s.test]\n    lb: " + lb + "\n    backends:\n" + backends
        + (fallback.isEmpty() ? "" : "    fallback:\n" + fallback)).http().get("s");
  }

  private static Map<Integer, Integer> spread(ServiceBalancer b, BackendHealth health, int n) {
    Map<Integer, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      counts.merge(b.backend(b.select(health, -1)).port(), 1, Integer::sum);
    }
    return counts;
  }

  private static BackendHealth downAre(Set<Integer> ports) {
    return (svc, node, url) -> ports.stream().noneMatch(p -> url.endsWith(":" + p));
  }

  @Test
  void should_prefer_local_then_remote_then_fallback_tiers() {
    HttpService s = service("round-robin",
        "      - { url: \"http://h:1\", node: n2 }\n      - { url: \"http://h:2\", node: n1 }\n",
        "      - { url: \"http://h:3\", node: n1 }\n");
    ServiceBalancer b = new ServiceBalancer(s, "n1");
    assertThat(spread(b, downAre(Set.of()), 10)).containsOnlyKeys(2);
    assertThat(spread(b, downAre(Set.of(2)), 10)).containsOnlyKeys(1);
    assertThat(spread(b, downAre(Set.of(1, 2)), 10)).containsOnlyKeys(3);
    assertThat(b.isFallback(2)).isTrue();
    assertThat(b.select(downAre(Set.of(1, 2, 3)), -1)).isEqualTo(-1);
    // an excluded (just failed) backend is skipped even when it counts as up
    assertThat(b.backend(b.select(downAre(Set.of()), 1)).port()).isEqualTo(1);
  }

  @Test
  void should_split_exactly_by_weight_and_evenly_by_round_robin() {
    ServiceBalancer weighted = new ServiceBalancer(service("weighted",
        "      - { url: \"http://h:1\", weight: 3 }\n      - { url: \"http://h:2\", weight: 1 }\n", ""), "n1");
    assertThat(spread(weighted, downAre(Set.of()), 400)).containsEntry(1, 300).containsEntry(2, 100);
    ServiceBalancer roundRobin = new ServiceBalancer(service("round-robin",
        "      - { url: \"http://h:1\" }\n      - { url: \"http://h:2\" }\n      - { url: \"http://h:3\" }\n", ""), "n1");
    assertThat(spread(roundRobin, downAre(Set.of()), 300)).containsEntry(1, 100).containsEntry(2, 100).containsEntry(3, 100);
  }

  @Test
  void should_pick_the_backend_with_fewest_requests_in_flight() {
    ServiceBalancer b = new ServiceBalancer(service("least-connections",
        "      - { url: \"http://h:1\" }\n      - { url: \"http://h:2\" }\n", ""), "n1");
    b.acquire(0);
    b.acquire(0);
    b.acquire(1);
    for (int i = 0; i < 5; i++) {
      assertThat(b.select(downAre(Set.of()), -1)).isEqualTo(1);
    }
    b.release(0);
    b.release(0);
    assertThat(b.select(downAre(Set.of()), -1)).isEqualTo(0);
  }

  @Test
  void should_keep_the_same_url_on_two_nodes_apart() {
    // issue 17 item 6: the same local URL on n1 and n2 are two backends; n1's being down says nothing of n2's
    HttpService s = service("round-robin",
        "      - { url: \"http://127.0.0.1:9000\", node: n1 }\n      - { url: \"http://127.0.0.1:9000\", node: n2 }\n", "");
    ServiceBalancer b = new ServiceBalancer(s, "n1");
    assertThat(b.indexOf("http://127.0.0.1:9000", "n1")).isZero();
    assertThat(b.indexOf("http://127.0.0.1:9000", "n2")).isEqualTo(1);
    BackendHealth n1Down = (svc, node, url) -> !"n1".equals(node);
    assertThat(b.select((svc, node, url) -> true, -1)).as("the local one first").isZero();
    for (int i = 0; i < 5; i++) {
      assertThat(b.select(n1Down, -1)).as("n1's backend is down: n2's takes the traffic").isEqualTo(1);
    }
    BackendHealth n2Down = (svc, node, url) -> !"n2".equals(node);
    assertThat(new ServiceBalancer(s, "n2").select(n2Down, -1)).isZero();
  }
}
