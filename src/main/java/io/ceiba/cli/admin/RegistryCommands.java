package io.ceiba.cli.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ceiba admin registry show|history|diff|validate|apply|rollback}. */
@Command(name = "registry", mixinStandardHelpOptions = true, description = "The registry every node serves: read, compare, change, roll back.",
    subcommands = {RegistryCommands.Show.class, RegistryCommands.History.class, RegistryCommands.Diff.class,
        RegistryCommands.Validate.class, RegistryCommands.Apply.class, RegistryRollbackCommand.class})
final class RegistryCommands extends AdminGroup {

  /** Prints each node's outcome of a distribution (apply, rollback); exit 0 when every node has it, else 4. */
  static int distributed(AdminCall call, JsonObject answer) {
    boolean complete = answer.getBoolean("complete", false);
    if (!call.options.json) {
      Table table = new Table("NODE", "RESULT", "VERSION", "MESSAGE");
      JsonObject nodes = answer.getJsonObject("nodes", new JsonObject());
      nodes.fieldNames().stream().sorted().forEach(id -> {
        JsonObject n = nodes.getJsonObject(id);
        table.row(id, n.getString("result"), n.getValue("version"), n.getString("message", n.getString("warning")));
      });
      table.print(call.out());
      call.out().println(complete ? "version " + answer.getValue("version") + " applied on every node"
          : "version " + answer.getValue("version") + " is NOT applied on every node");
    }
    return complete ? AdminCall.OK : AdminCall.INCOMPLETE;
  }

  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new AdminOptions.UsageProblem("cannot read " + file + ": " + e.getMessage());
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = "The registry this node serves (or a recorded version): version, sha256, services, YAML.")
  static final class Show extends AdminCall {
    @Parameters(index = "0", arity = "0..1", paramLabel = "VERSION", description = "a version from registry_history instead of the current one")
    Long version;

    @Option(names = "--yaml", description = "print only the YAML (e.g. to edit it and apply it)")
    boolean yaml;

    @Override
    int run(AdminClient api) {
      JsonObject registry = api.get(version == null ? "/v1/registry" : "/v1/registry/history/" + version);
      if (yaml && !options.json) {
        out().print(registry.getString("yaml"));
        return OK;
      }
      return print(registry, r -> {
        out().printf("version %s  sha256 %s%n", r.getValue("version"), r.getString("sha256"));
        if (r.containsKey("http")) {
          out().printf("http services: %s%ntcp services: %s%n", Table.text(r.getJsonArray("http")), Table.text(r.getJsonArray("tcp")));
        } else {
          out().printf("recorded %s by %s%n", r.getString("created_at"), r.getString("applied_by"));
        }
        out().println();
        out().print(r.getString("yaml"));
      });
    }
  }

  @Command(name = "history", mixinStandardHelpOptions = true,
      description = "The versions recorded in registry_history (every one distributed with apply or rollback), newest first.")
  static final class History extends AdminCall {
    @Override
    int run(AdminClient api) {
      return print(api.get("/v1/registry/history"), h -> {
        Table table = new Table("VERSION", "SHA256", "APPLIED_BY", "RECORDED");
        h.getJsonArray("versions", new JsonArray()).forEach(o -> {
          JsonObject v = (JsonObject) o;
          table.row(v.getValue("version"), v.getString("sha256").substring(0, Math.min(12, v.getString("sha256").length())),
              v.getString("applied_by"), v.getString("created_at"));
        });
        table.print(out());
      });
    }
  }

  @Command(name = "diff", mixinStandardHelpOptions = true,
      description = {"Compare two registries as a unified diff. Each of FROM and TO is 'current' (what the node serves), "
          + "a VERSION recorded in registry_history, or a local FILE.",
          "With one argument, FROM is 'current': 'diff registry.yaml' shows what applying the file would change, 'diff 3' what "
              + "a rollback to version 3 would change. Exit 0 whether or not they differ (--json has \"same\")."})
  static final class Diff extends AdminCall {
    @Parameters(index = "0", arity = "1..2", paramLabel = "FROM [TO]", description = "current, VERSION or FILE")
    java.util.List<String> sides;

    @Option(names = {"-U", "--context"}, paramLabel = "LINES", description = "lines of context around each change (default: 3)")
    int context = 3;

    @Override
    int run(AdminClient api) {
      if (context < 0) {
        throw new AdminOptions.UsageProblem("--context must not be negative");
      }
      String fromName = sides.size() == 1 ? "current" : sides.get(0);
      String toName = sides.get(sides.size() - 1);
      String from = text(api, fromName);
      String to = text(api, toName);
      String diff = LineDiff.unified(label(fromName), from, label(toName), to, context);
      return print(new JsonObject().put("from", fromName).put("to", toName).put("same", diff.isEmpty()).put("diff", diff),
          d -> out().print(diff.isEmpty() ? "no differences between " + label(fromName) + " and " + label(toName) + "\n" : diff));
    }

    private static String label(String side) {
      return side.equals("current") ? "current (served)" : side.matches("[0-9]+") && !Files.exists(Path.of(side))
          ? "version " + side : side;
    }

    private static String text(AdminClient api, String side) {
      if (side.equals("current")) {
        return api.get("/v1/registry").getString("yaml");
      }
      if (side.matches("[0-9]{1,18}") && !Files.exists(Path.of(side))) {
        return api.get("/v1/registry/history/" + side).getString("yaml");
      }
      Path file = Path.of(side);
      if (!Files.isRegularFile(file)) {
        throw new AdminOptions.UsageProblem("'" + side + "' is neither 'current', a version number, nor a file");
      }
      return read(file);
    }
  }

  /** A command sending a registry file. */
  abstract static class FileCall extends AdminCall {
    @Parameters(index = "0", paramLabel = "FILE", description = "registry YAML")
    Path file;

    JsonObject sendFile(AdminClient api, String method, String path) {
      return AdminClient.expect(api.send(method, path, read(file), "application/yaml"), 200).json();
    }
  }

  @Command(name = "validate", mixinStandardHelpOptions = true, description = "Check a registry file on the node without applying it.")
  static final class Validate extends FileCall {
    @Override
    int run(AdminClient api) {
      return print(sendFile(api, "POST", "/v1/registry/validate"),
          v -> out().printf("%s is valid (version %s)%n%s", file, v.getValue("version"), v.getString("summary")));
    }
  }

  @Command(name = "apply", mixinStandardHelpOptions = true,
      description = {"Distribute a registry file to every node of the cluster (its version must be higher than the current one).",
          "Exit 0 when every node applied it, 4 when some did not, 1 when refused (invalid, stale version)."})
  static final class Apply extends FileCall {
    @Override
    int run(AdminClient api) {
      JsonObject answer = sendFile(api, "PUT", "/v1/registry");
      print(answer, a -> { });
      return distributed(this, answer);
    }
  }
}
