package io.ceiba.cli.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import picocli.CommandLine.Command;

/** {@code ceiba admin cluster status}. */
@Command(name = "cluster", mixinStandardHelpOptions = true, description = "The cluster as a control node sees it.",
    subcommands = AdminClusterCommand.Status.class)
final class AdminClusterCommand extends AdminGroup {

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = {"Nodes in the control node's view: roles, registry version, serving, up since, and each node's view of "
          + "backend health (up/total, and the backends it sees down)."})
  static final class Status extends AdminCall {
    @Override
    int run(AdminClient api) {
      return print(api.get("/v1/cluster"), cluster -> {
        Table nodes = new Table("NODE", "ROLES", "REGISTRY", "SERVING", "UP_SINCE", "BACKENDS_UP");
        Table down = new Table("SEEN_BY", "SERVICE", "BACKEND", "BACKEND_NODE", "LAST_ERROR");
        boolean anyDown = false;
        for (Object o : cluster.getJsonArray("nodes", new JsonArray())) {
          JsonObject n = (JsonObject) o;
          String id = n.getString("id") + (n.getString("id").equals(cluster.getString("self")) ? " (self)" : "");
          String backends;
          if (n.containsKey("backends_error")) {
            backends = "no answer";
          } else if (n.getJsonArray("backends") == null) {
            backends = null;
          } else {
            JsonArray list = n.getJsonArray("backends");
            long up = list.stream().filter(b -> ((JsonObject) b).getBoolean("up", false)).count();
            backends = up + "/" + list.size();
            for (Object b : list) {
              JsonObject backend = (JsonObject) b;
              if (!backend.getBoolean("up", false)) {
                anyDown = true;
                down.row(n.getString("id"), backend.getString("service"), backend.getString("backend"), backend.getString("node"),
                    backend.getString("last_error"));
              }
            }
          }
          nodes.row(id, n.getJsonArray("roles"), n.getValue("registry_version"), n.getValue("serving"), n.getString("up_since"), backends);
        }
        nodes.print(out());
        if (anyDown) {
          out().println();
          down.print(out());
        }
      });
    }
  }
}
