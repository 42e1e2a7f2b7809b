package io.ceiba.cli.admin;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code ceiba admin completion}: picocli's bash/zsh completion script for every {@code ceiba} command. */
@Command(name = "completion", mixinStandardHelpOptions = true,
    description = {"Print a bash (and zsh, with bashcompinit) completion script for the 'ceiba' command and all its subcommands.",
        "  source <(ceiba admin completion)     or     ceiba admin completion > /etc/bash_completion.d/ceiba",
        "'ceiba' must be on the PATH (a wrapper running java -jar ceiba.jar \"$@\")."})
final class CompletionCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getOut().print(AutoComplete.bash(spec.root().name(), spec.root().commandLine()));
    spec.commandLine().getOut().flush();
    return AdminCall.OK;
  }
}
