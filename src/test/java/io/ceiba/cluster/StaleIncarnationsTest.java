package io.ceiba.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StaleIncarnationsTest {

  @Test
  void a_restarted_node_makes_its_earlier_incarnation_stale() {
    assertThat(StaleIncarnations.in(List.of("node3-662e539a", "node1-103fb73c", "node2-4ed59f46", "node2-1bb2aa9e")))
        .containsExactly("node2-4ed59f46");
  }

  @Test
  void node_ids_with_dashes_are_told_apart_by_their_last_part() {
    assertThat(StaleIncarnations.in(List.of("edge-a-0000aaaa", "edge-b-0000bbbb", "edge-a-1111cccc", "edge-0000dddd")))
        .containsExactly("edge-a-0000aaaa");
  }

  @Test
  void distinct_nodes_and_names_of_another_form_are_never_stale() {
    assertThat(StaleIncarnations.in(List.of("node1-aaaa", "node2-bbbb", "4dbeefe6", "-x", ""))).isEmpty();
    assertThat(StaleIncarnations.nodeIdOf("-abc")).isNull();
    assertThat(StaleIncarnations.nodeIdOf(null)).isNull();
  }

  /** Whatever the view: the newest incarnation of each node is kept, every earlier one is stale, nothing else is. */
  @Test
  void only_earlier_incarnations_are_stale_in_random_views() {
    Random random = new Random(18);
    for (int round = 0; round < 500; round++) {
      List<String> view = new ArrayList<>();
      int size = 1 + random.nextInt(8);
      for (int i = 0; i < size; i++) {
        view.add("node" + random.nextInt(4) + "-" + Integer.toHexString(round * 16 + i));
      }
      List<String> stale = StaleIncarnations.in(view);
      for (int i = 0; i < view.size(); i++) {
        String node = StaleIncarnations.nodeIdOf(view.get(i));
        boolean laterSameNode = view.subList(i + 1, view.size()).stream().anyMatch(n -> node.equals(StaleIncarnations.nodeIdOf(n)));
        assertThat(stale.contains(view.get(i))).as("%s in %s", view.get(i), view).isEqualTo(laterSameNode);
      }
    }
  }

  @Test
  void discovery_asks_about_once_a_second_within_the_join_timeout() {
    assertThat(JGroupsStack.discoveryRuns(10_000)).isEqualTo(10);
    assertThat(JGroupsStack.discoveryRuns(1_000)).isEqualTo(3);
    assertThat(JGroupsStack.discoveryRuns(120_000)).isEqualTo(30);
  }
}
