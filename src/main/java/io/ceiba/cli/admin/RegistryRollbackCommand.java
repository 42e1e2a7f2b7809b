package io.ceiba.cli.admin;

import io.vertx.core.json.JsonObject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ceiba admin registry rollback [--to VERSION]}, also reachable as {@code ceiba registry rollback}: an earlier
 * registry from {@code registry_history} distributed to the whole cluster as a new version.
 */
@Command(name = "rollback", mixinStandardHelpOptions = true,
    description = {"Distribute an earlier registry (default: the newest recorded below the current version) to the whole cluster "
        + "as a new version.", "Exit 0 when every node applied it, 4 when some did not, 1 when refused (e.g. no such version), "
        + "3 when the server is unreachable."})
public final class RegistryRollbackCommand extends AdminCall {

  @Option(names = "--to", paramLabel = "VERSION", description = "the version to go back to (from registry_history)")
  Long to;

  @Override
  int run(AdminClient api) {
    JsonObject body = to == null ? null : new JsonObject().put("to", to);
    JsonObject answer = api.send("POST", "/v1/registry/rollback", body, 200);
    print(answer, a -> out().printf("rolled back to version %s, distributed as version %s%n", a.getValue("rolled_back_to"),
        a.getValue("version")));
    return RegistryCommands.distributed(this, answer);
  }
}
