package io.ceiba.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RegistryRollbackTest {

  @Test
  void should_set_only_the_top_level_version_line() {
    String text = "# comment\nversion: 2   # old\nhttp:\n  a:\n    version: 7\n";
    assertThat(RegistryRollback.withVersion(text, 9)).isEqualTo("# comment\nversion: 9\nhttp:\n  a:\n    version: 7\n");
    assertThatThrownBy(() -> RegistryRollback.withVersion("http: {}\n", 3)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void should_accept_only_a_positive_whole_target() {
    assertThat(RegistryRollback.target("{\"to\": 3}")).isEqualTo(3);
    for (String bad : new String[] {"{\"to\": 0}", "{\"to\": -1}", "{\"to\": 2.5}", "{\"to\": \"3\"}", "{\"to\": 3, \"x\": 1}", "{}", "[3]", "to=3",
        "{\"to\": 1e40}"}) {
      assertThatThrownBy(() -> RegistryRollback.target(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }
}
