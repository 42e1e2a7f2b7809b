package io.ceiba.cli;

import io.ceiba.config.CliOverrides;
import io.ceiba.config.NodeConfig;
import io.ceiba.config.NodeConfigLoader;
import io.ceiba.registry.Registry;
import io.ceiba.registry.RegistryParser;
import io.ceiba.registry.RegistrySummary;
import io.ceiba.yaml.InvalidDocumentException;
import java.io.PrintWriter;
import java.nio.file.Path;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ceiba validate}: a dry run of a registry and/or a node config; exit 0 valid, 1 invalid. */
@Command(name = "validate", description = "Check a registry (and optionally a node config) without starting anything.",
    mixinStandardHelpOptions = true)
public final class ValidateCommand implements Callable<Integer> {

  @Option(names = "--registry", paramLabel = "FILE", description = "registry YAML to check")
  Path registry;

  @Option(names = "--config", paramLabel = "FILE", description = "node config YAML to check (with CEIBA_* variables applied)")
  Path config;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (registry == null && config == null) {
      err.println("validate: give --registry FILE and/or --config FILE");
      return 2;
    }
    boolean valid = true;
    if (config != null) {
      try {
        NodeConfig node = NodeConfigLoader.load(config, System.getenv(), CliOverrides.NONE, Path.of("").toAbsolutePath());
        out.printf("node config %s is valid: node %s, roles %s, registry %s%n", config, node.nodeId(), node.roles(), node.registry().file());
      } catch (InvalidDocumentException e) {
        err.println(e.getMessage());
        valid = false;
      }
    }
    if (registry != null) {
      try {
        Registry r = RegistryParser.parseFile(registry);
        out.printf("registry %s is valid%n%s", registry, RegistrySummary.describe(r));
      } catch (InvalidDocumentException e) {
        err.println(e.getMessage());
        valid = false;
      }
    }
    out.flush();
    err.flush();
    return valid ? 0 : 1;
  }

}
