package io.ceiba.cli;

import io.ceiba.cli.admin.RegistryRollbackCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code ceiba registry rollback [--to VERSION]}: against a node's control API; the same command as
 * {@code ceiba admin registry rollback}, kept under its first name.
 */
@Command(name = "registry", mixinStandardHelpOptions = true, description = "Registry operations against a node's control API "
    + "(more under 'ceiba admin registry').", subcommands = RegistryRollbackCommand.class)
public final class RegistryCommand implements Runnable {

  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }
}
