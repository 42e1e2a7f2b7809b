package io.ceiba.cli;

import io.ceiba.config.CliOverrides;
import io.ceiba.config.NodeConfig;
import io.ceiba.config.NodeConfigLoader;
import io.ceiba.yaml.InvalidDocumentException;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The {@code --config} option of an offline command (a picocli mixin) and the node config it names, with the same
 * environment overrides a node start applies.
 */
public final class CommandConfigs {

  @Option(names = "--config", paramLabel = "FILE", description = "node config YAML (default: the built-in single node)")
  Path config;

  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  /** The config, or null after printing why it is invalid. */
  NodeConfig load() {
    try {
      return NodeConfigLoader.load(config, System.getenv(), CliOverrides.NONE, Path.of("").toAbsolutePath());
    } catch (InvalidDocumentException e) {
      spec.commandLine().getErr().println("ceiba: " + e.getMessage());
      return null;
    }
  }
}
