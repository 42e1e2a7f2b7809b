package io.ceiba.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ceiba.ExitCodes;
import io.ceiba.Main;
import io.ceiba.config.CliOverrides;
import io.ceiba.config.NodeConfigLoader;
import io.ceiba.yaml.InvalidDocumentException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A PostgreSQL URL the node cannot honour stops it at the config check: exit 1, one message, no stack trace. */
class DatabaseUrlConfigTest {

  @TempDir
  Path dir;

  @Test
  void should_exit_1_naming_the_setting_and_the_reason_without_the_password() throws Exception {
    Path config = dir.resolve("node.yaml");
    Files.writeString(config, """
        node: { id: n1 }
        postgres: { url: "postgres://app:hunter2@db.internal:5432/ceiba?sslmode=verify-full&sslrootcert=/etc/ceiba/missing-ca.pem" }
        """);
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new Main());
    cli.setErr(new PrintWriter(err));
    cli.setOut(new PrintWriter(new StringWriter()));

    int exit = cli.execute("--config", config.toString());

    assertThat(exit).isEqualTo(ExitCodes.CONFIG_INVALID);
    assertThat(err.toString()).contains(config + ":2: postgres.url:",
        "sslrootcert /etc/ceiba/missing-ca.pem is not a readable file").doesNotContain("hunter2", "Exception", "\tat ");
  }

  @Test
  void should_name_the_environment_variable_that_carried_the_url() {
    Map<String, String> env = Map.of("DATABASE_URL", "postgres://app:hunter2@db.internal/ceiba?sslmode=verify");
    assertThatThrownBy(() -> NodeConfigLoader.load(null, env, CliOverrides.NONE, dir))
        .isInstanceOf(InvalidDocumentException.class)
        .hasMessageContaining("DATABASE_URL")
        .hasMessageContaining("sslmode 'verify' is not one of disable, allow, prefer, require, verify-ca, verify-full")
        .hasMessageNotContaining("hunter2");
  }
}
