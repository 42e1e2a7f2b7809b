package io.ceiba.cli.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ceiba admin subscriptions create}; a project's subscriptions are listed by {@code projects show}. */
@Command(name = "subscriptions", mixinStandardHelpOptions = true, description = "Subscriptions of projects to plans.",
    subcommands = SubscriptionsCommand.CreateSubscription.class)
final class SubscriptionsCommand extends AdminGroup {

  static void print(AdminCall call, JsonArray subscriptions) {
    Table table = new Table("SUBSCRIPTION", "PROJECT", "PLAN", "ACTIVE_FROM", "ACTIVE_UNTIL");
    subscriptions.forEach(o -> {
      JsonObject s = (JsonObject) o;
      table.row(s.getString("id"), s.getString("project"), s.getString("plan"), s.getString("active_from"), s.getString("active_until"));
    });
    table.print(call.out());
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Subscribe a project to a plan.")
  static final class CreateSubscription extends AdminCall {
    @Parameters(index = "0", paramLabel = "PROJECT", description = "project id (prj_...)")
    String project;

    @Parameters(index = "1", paramLabel = "PLAN", description = "plan name")
    String plan;

    @Option(names = "--from", paramLabel = "TIME", description = "start, a UTC timestamp such as 2027-01-01T00:00:00Z (default: now)")
    String from;

    @Option(names = "--until", paramLabel = "TIME", description = "end, a UTC timestamp (default: none)")
    String until;

    @Override
    int run(AdminClient api) {
      JsonObject body = new JsonObject().put("plan", plan);
      if (from != null) {
        body.put("active_from", from);
      }
      if (until != null) {
        body.put("active_until", until);
      }
      return print(api.send("POST", "/v1/projects/" + Paths.segment(project) + "/subscriptions", body, 201),
          s -> SubscriptionsCommand.print(this, new JsonArray().add(s)));
    }
  }
}
