package io.ceiba.cli.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where {@code ceiba admin} takes its server and token from, and what it refuses before sending anything. */
class AdminOptionsTest {

  @TempDir
  Path dir;

  @Test
  void should_take_the_server_from_the_option_then_the_environment_then_the_default() {
    AdminOptions options = new AdminOptions();
    Map<String, String> env = Map.of("CEIBA_ADMIN_TOKEN", "t0ken");
    assertThat(options.client(env).server()).isEqualTo("http://127.0.0.1:9090");
    assertThat(options.client(Map.of("CEIBA_ADMIN_TOKEN", "t", "CEIBA_SERVER", "https://ctl.example:9443/")).server())
        .isEqualTo("https://ctl.example:9443");
    options.server = "http://10.0.0.1:9090";
    assertThat(options.client(Map.of("CEIBA_ADMIN_TOKEN", "t", "CEIBA_SERVER", "http://other:1")).server()).isEqualTo("http://10.0.0.1:9090");
    options.server = "10.0.0.1:9090";
    assertThatThrownBy(() -> options.client(env)).isInstanceOf(AdminOptions.UsageProblem.class).hasMessageContaining("--server");
  }

  @Test
  void should_prefer_the_token_file_to_the_environment_and_refuse_a_token_it_cannot_send() throws Exception {
    AdminOptions options = new AdminOptions();
    options.tokenFile = Files.writeString(dir.resolve("token"), "from-file\n");
    assertThat(options.client(Map.of("CEIBA_ADMIN_TOKEN", "from-env")).token()).isEqualTo("from-file");
    options.tokenFile = Files.writeString(dir.resolve("two-lines"), "one\ntwo\n");
    assertThatThrownBy(() -> options.client(Map.of())).isInstanceOf(AdminOptions.UsageProblem.class)
        .hasMessageContaining("one line");
    options.tokenFile = dir.resolve("absent");
    assertThatThrownBy(() -> options.client(Map.of())).isInstanceOf(AdminOptions.UsageProblem.class)
        .hasMessageContaining("cannot read the token file");
    options.tokenFile = null;
    assertThat(options.client(Map.of("CEIBA_ADMIN_TOKEN", " from-env ")).token()).isEqualTo("from-env");
  }
}
