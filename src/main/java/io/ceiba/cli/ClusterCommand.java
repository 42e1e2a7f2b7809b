package io.ceiba.cli;

import io.ceiba.cluster.CredentialsStore;
import io.ceiba.config.CliOverrides;
import io.ceiba.config.ClusterConfig;
import io.ceiba.config.NodeConfig;
import io.ceiba.config.NodeConfigLoader;
import io.ceiba.yaml.InvalidDocumentException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ceiba cluster ...}: the cluster's credentials. */
@Command(name = "cluster", description = "Cluster credentials.", mixinStandardHelpOptions = true,
    subcommands = ClusterCommand.Init.class)
public final class ClusterCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  /**
   * {@code ceiba cluster init}: makes (or completes) a credentials folder, or rotates it. Exit 0 done, 1 failed,
   * 2 usage.
   */
  @Command(name = "init", mixinStandardHelpOptions = true,
      description = {"Make the cluster's credentials: a cluster CA, a certificate per node, a relay key (cluster.key).",
          "Existing files are kept; run again with more --nodes to add nodes. Copy ca.pem, cluster.key and NODE.pem/NODE.key",
          "to each node's cluster.credentials folder; keep ca.key where new certificates are made.",
          "Rotation without a cluster stop: --rotate, copy, restart nodes one by one; then --finish-rotation, copy, restart again."})
  static final class Init implements Callable<Integer> {

    @Option(names = "--dir", paramLabel = "DIR", description = "credentials folder (default: cluster.credentials of --config)")
    Path dir;

    @Option(names = "--config", paramLabel = "FILE", description = "a node config: its cluster name, credentials folder and node id")
    Path config;

    @Option(names = "--name", paramLabel = "CLUSTER", description = "cluster name (in the CA's name; default: the config's, else "
        + ClusterConfig.DEFAULT_NAME + ")")
    String name;

    @Option(names = "--nodes", paramLabel = "ID,...", split = ",", description = "node ids to make certificates for")
    List<String> nodes = List.of();

    @ArgGroup(exclusive = true)
    Rotation rotation;

    static final class Rotation {
      @Option(names = "--rotate", description = "new CA cross-signed by the old one, node certificates issued again, a new relay key accepted")
      boolean rotate;

      @Option(names = "--finish-rotation", description = "after every node runs the rotated files: trust only the new CA, sign with the new relay key")
      boolean finish;
    }

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      String clusterName = name;
      Path folder = dir;
      List<String> ids = nodes;
      if (config != null) {
        try {
          NodeConfig node = NodeConfigLoader.load(config, System.getenv(), CliOverrides.NONE, Path.of("").toAbsolutePath());
          clusterName = clusterName != null ? clusterName : node.cluster().name();
          folder = folder != null ? folder : node.cluster().credentialsDir(node.dataDir());
          ids = ids.isEmpty() ? List.of(node.nodeId()) : ids;
        } catch (InvalidDocumentException e) {
          err.println(e.getMessage());
          err.flush();
          return 1;
        }
      }
      if (folder == null) {
        err.println("cluster init: give --dir DIR or --config FILE");
        err.flush();
        return 2;
      }
      if (ids.stream().anyMatch(id -> !id.matches("[A-Za-z0-9][A-Za-z0-9._-]*"))) {
        err.println("cluster init: node ids are letters, digits, '.', '_' and '-': " + ids);
        err.flush();
        return 2;
      }
      CredentialsStore store = new CredentialsStore(folder);
      try {
        List<String> made;
        if (rotation != null && rotation.rotate) {
          made = store.rotate(clusterName != null ? clusterName : ClusterConfig.DEFAULT_NAME);
        } else if (rotation != null && rotation.finish) {
          made = store.finishRotation();
        } else {
          made = store.init(clusterName != null ? clusterName : ClusterConfig.DEFAULT_NAME, ids);
        }
        if (made.isEmpty()) {
          out.println("cluster credentials in " + store.dir() + " are complete for " + ids + "; nothing made");
        }
        made.forEach(line -> out.println("made " + line));
        out.println("nodes with a certificate in " + store.dir() + ": " + String.join(", ", store.nodes()));
        out.flush();
        return 0;
      } catch (IllegalStateException | IllegalArgumentException | UncheckedIOException e) {
        err.println("cluster init: " + e.getMessage());
        err.flush();
        return 1;
      }
    }
  }
}
