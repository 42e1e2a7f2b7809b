package io.ceiba.cli;

import io.ceiba.backup.Backups;
import io.ceiba.config.NodeConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ceiba backup --to DIR}: a consistent snapshot of the node's database with a manifest. */
@Command(name = "backup", mixinStandardHelpOptions = true,
    description = "Write a consistent backup of the node's database (plans, projects, keys, audit, registry history, usage) under DIR.")
public final class BackupCommand implements Callable<Integer> {

  @Mixin
  CommandConfigs node;

  @Option(names = "--to", paramLabel = "DIR", required = true, description = "directory to write the backup under")
  Path to;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    NodeConfig config = node.load();
    if (config == null) {
      return 1;
    }
    try {
      Path backup = Backups.backup(config, to);
      spec.commandLine().getOut().println("backup written to " + backup);
      return 0;
    } catch (Exception e) {
      spec.commandLine().getErr().println("backup failed: " + e.getMessage());
      return 3;
    }
  }
}
