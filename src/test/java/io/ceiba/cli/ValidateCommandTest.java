package io.ceiba.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ValidateCommandTest {

  @TempDir
  Path dir;

  private record Run(int exit, String out, String err) {
  }

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void should_exit_0_with_a_summary_when_the_registry_is_valid() {
    Run run = run("validate", "--registry", "node-configs/registry.yaml");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("is valid").contains("version");
  }

  @Test
  void should_exit_1_listing_every_problem_with_its_line_when_the_registry_is_invalid() throws IOException {
    Path file = dir.resolve("broken.yaml");
    Files.writeString(file, """
        version: 2
        http:
          api:
            hosts: [api.example.test]
            backends:
              - { url: "http://127.0.0.1:9001" }
            lb: random
          web:
            hosts: [api.example.test]
            backends:
              - { url: "ftp://127.0.0.1:9002" }
            health: { interval: -2s }
        """);
    Run run = run("validate", "--registry", file.toString());
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err())
        .contains(file + ":7: http.api.lb:")
        .contains(file + ":9: http.web.hosts")
        .contains(file + ":11: http.web.backends[0].url")
        .contains(file + ":12: http.web.health.interval");
  }

  @Test
  void should_exit_1_when_the_node_config_is_invalid() throws IOException {
    Path file = dir.resolve("node.yaml");
    Files.writeString(file, "edge: { prot: 80 }\n");
    Run run = run("validate", "--config", file.toString());
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).contains(file + ":1: edge.prot: unknown key");
  }

  @Test
  void should_exit_1_with_the_key_at_fault_when_starting_with_a_bad_node_config() throws IOException {
    Path file = dir.resolve("node.yaml");
    Files.writeString(file, "roles: [edgy]\n");
    Run run = run("--config", file.toString());
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).contains(file + ":1: roles: unknown role 'edgy'");
  }

  @Test
  void should_print_the_version() {
    Run run = run("--version");
    assertThat(run.exit()).isZero();
    assertThat(run.out()).startsWith("ceiba ");
  }
}
