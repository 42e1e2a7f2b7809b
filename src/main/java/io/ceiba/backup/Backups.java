package io.ceiba.backup;

import io.ceiba.config.NodeConfig;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/** Backup and restore of a node's database, as the {@code backup} and {@code restore} commands run them. Blocking. */
public final class Backups {

  private Backups() {
  }

  public static Path backup(NodeConfig node, Path parent) throws Exception {
    try (NodeDatabase db = NodeDatabase.of(node)) {
      return BackupWriter.write(db.url(), parent, node.nodeId());
    }
  }

  /**
   * @param revocations ledger files to replay; null means this node's own ledger, {@code ["none"]} none
   */
  public static JsonObject restore(NodeConfig node, Path backup, boolean force, List<String> revocations, String canaryKey)
      throws Exception {
    List<Path> ledgers = new ArrayList<>();
    if (revocations == null) {
      Path own = node.dataDir().resolve(RevocationLedger.FILE);
      if (Files.isRegularFile(own)) {
        ledgers.add(own);
      }
    } else if (!(revocations.size() == 1 && revocations.get(0).equals("none"))) {
      revocations.forEach(r -> ledgers.add(Path.of(r)));
    }
    JsonObject evidence;
    try (NodeDatabase db = NodeDatabase.of(node)) {
      evidence = RestoreRunner.restore(db.url(), backup, force, ledgers, canaryKey);
    }
    Path file = backup.resolve(RestoreRunner.EVIDENCE);
    Path tmp = backup.resolve(RestoreRunner.EVIDENCE + ".tmp");
    Files.writeString(tmp, evidence.encodePrettily());
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return evidence;
  }
}
