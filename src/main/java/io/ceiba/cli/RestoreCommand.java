package io.ceiba.cli;

import io.ceiba.backup.Backups;
import io.ceiba.backup.RestoreRunner;
import io.ceiba.config.NodeConfig;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ceiba restore --from DIR}: restore a backup into the node's (empty) database and write the evidence. */
@Command(name = "restore", mixinStandardHelpOptions = true,
    description = "Restore a backup into the node's database (empty unless --force), replay revocations made since, verify, "
        + "and write DIR/restore-evidence.json. Exit 0 when every check passed, 1 when one failed, 2 when refused.")
public final class RestoreCommand implements Callable<Integer> {

  @Mixin
  CommandConfigs node;

  @Option(names = "--from", paramLabel = "DIR", required = true, description = "the backup directory (holds manifest.json)")
  Path from;

  @Option(names = "--force", description = "replace the data of a database that is not empty")
  boolean force;

  @Option(names = "--revocations", paramLabel = "FILE", description = "revocation ledger(s) to replay (default: this node's "
      + "data_dir/revocations.jsonl; 'none' for none)")
  List<String> revocations;

  @Option(names = "--canary-key", paramLabel = "KEY", description = "a key known to be valid, verified through the access path "
      + "(default: $CEIBA_CANARY_KEY)")
  String canaryKey;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    NodeConfig config = node.load();
    if (config == null) {
      return 1;
    }
    String canary = canaryKey != null ? canaryKey : System.getenv("CEIBA_CANARY_KEY");
    try {
      JsonObject evidence = Backups.restore(config, from, force, revocations, canary);
      spec.commandLine().getOut().println(evidence.encodePrettily());
      spec.commandLine().getOut().println("restore evidence written to " + from.resolve(RestoreRunner.EVIDENCE));
      return evidence.getBoolean("ok") ? 0 : 1;
    } catch (RestoreRunner.NotEmptyException e) {
      spec.commandLine().getErr().println("restore refused: " + e.getMessage());
      return 2;
    } catch (Exception e) {
      spec.commandLine().getErr().println("restore failed: " + e.getMessage());
      return 1;
    }
  }
}
