package io.ceiba;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line a start gets: without the subcommands for a node start, the full one otherwise. */
class MainTest {

  @Test
  void should_leave_the_subcommands_out_of_a_node_start() {
    assertThat(Main.commandLine(new String[0]).getSubcommands()).isEmpty();
    assertThat(Main.commandLine(new String[] {"--config", "node.yaml", "--roles", "edge", "--no-cluster"}).getSubcommands()).isEmpty();
    assertThat(Main.commandLine(new String[] {"--version"}).getSubcommands()).isEmpty();
  }

  @Test
  void should_build_the_full_command_line_for_a_subcommand_or_help() {
    assertThat(Main.commandLine(new String[] {"admin", "plans", "list"}).getSubcommands()).containsKeys("admin", "validate", "backup");
    assertThat(Main.commandLine(new String[] {"--help"}).getSubcommands()).containsKey("admin");
    assertThat(Main.commandLine(new String[] {"--config", "node.yaml", "backup"}).getSubcommands()).containsKey("backup");
  }

  @Test
  void should_answer_a_mistake_in_a_node_start_as_the_full_command_line_does() {
    String[] args = {"--config", "node.yaml", "--bogus"};
    StringWriter fast = new StringWriter();
    StringWriter full = new StringWriter();
    int fastExit = Main.commandLine(args).setErr(new PrintWriter(fast)).execute(args);
    int fullExit = new CommandLine(new Main()).setErr(new PrintWriter(full)).execute(args);
    assertThat(fastExit).isEqualTo(fullExit).isEqualTo(CommandLine.ExitCode.USAGE);
    assertThat(full.toString()).contains("Unknown option: '--bogus'").contains("Commands:");
    assertThat(fast.toString()).isEqualTo(full.toString());
  }
}
