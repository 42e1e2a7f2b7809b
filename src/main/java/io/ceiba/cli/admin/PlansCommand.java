package io.ceiba.cli.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ceiba admin plans list|create|update}. */
@Command(name = "plans", mixinStandardHelpOptions = true, description = "Plans: rate limit, quota and services of subscribed projects.",
    subcommands = {PlansCommand.ListPlans.class, PlansCommand.CreatePlan.class, PlansCommand.UpdatePlan.class})
final class PlansCommand extends AdminGroup {

  static Table table() {
    return new Table("NAME", "RATE", "BURST", "QUOTA", "SERVICES");
  }

  static void row(Table table, JsonObject plan) {
    JsonObject rate = plan.getJsonObject("rate_limit");
    JsonObject quota = plan.getJsonObject("quota");
    table.row(plan.getString("name"), rate == null ? null : rate.getValue("requests") + "/" + rate.getString("per"),
        rate == null ? null : rate.getValue("burst"), quota == null ? null : quota.getValue("requests") + "/" + quota.getString("per"),
        plan.getValue("services") == null ? "(all)" : plan.getJsonArray("services"));
  }

  static void print(AdminCall call, JsonObject plan) {
    Table table = table();
    row(table, plan);
    table.print(call.out());
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the plans.")
  static final class ListPlans extends AdminCall {
    @Override
    int run(AdminClient api) {
      return print(api.get("/v1/plans"), answer -> {
        Table table = table();
        answer.getJsonArray("plans", new JsonArray()).forEach(p -> row(table, (JsonObject) p));
        table.print(out());
      });
    }
  }

  /** What a plan is made of, as options (create and update take the same). */
  abstract static class Limits extends AdminCall {

    @Parameters(index = "0", paramLabel = "NAME", description = "plan name")
    String name;

    @Option(names = "--rate", paramLabel = "REQUESTS/PER", description = "rate limit, e.g. 10/1s or 600/1m")
    String rate;

    @Option(names = "--burst", paramLabel = "N", description = "bucket size of the rate limit (default: REQUESTS)")
    Long burst;

    @Option(names = "--quota", paramLabel = "REQUESTS/day|month", description = "quota, e.g. 1000/day")
    String quota;

    @Option(names = "--services", paramLabel = "SERVICE", split = ",", description = "services the plan covers (default: all)")
    List<String> services;

    JsonObject body(String name) {
      JsonObject plan = new JsonObject().put("name", name);
      if (rate != null) {
        String[] r = pair("--rate", rate);
        JsonObject limit = new JsonObject().put("requests", number("--rate", r[0])).put("per", r[1]);
        if (burst != null) {
          limit.put("burst", burst);
        }
        plan.put("rate_limit", limit);
      } else if (burst != null) {
        throw new AdminOptions.UsageProblem("--burst needs --rate");
      }
      if (quota != null) {
        String[] q = pair("--quota", quota);
        plan.put("quota", new JsonObject().put("requests", number("--quota", q[0])).put("per", q[1]));
      }
      if (services != null) {
        plan.put("services", new JsonArray(List.copyOf(services)));
      }
      return plan;
    }

    private static String[] pair(String option, String value) {
      String[] parts = value.split("/", -1);
      if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank()) {
        throw new AdminOptions.UsageProblem(option + " must be REQUESTS/PER such as 10/1s or 1000/day, got '" + value + "'");
      }
      return parts;
    }

    private static long number(String option, String value) {
      if (!value.matches("[0-9]{1,18}")) {
        throw new AdminOptions.UsageProblem(option + ": REQUESTS must be a whole number, got '" + value + "'");
      }
      return Long.parseLong(value);
    }
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a plan.")
  static final class CreatePlan extends Limits {
    @Override
    int run(AdminClient api) {
      return print(api.send("POST", "/v1/plans", body(name), 201), plan -> PlansCommand.print(this, plan));
    }
  }

  @Command(name = "update", mixinStandardHelpOptions = true,
      description = "Replace a plan's limits and services (what is not given is removed); keys of subscribed projects follow at once.")
  static final class UpdatePlan extends Limits {
    @Override
    int run(AdminClient api) {
      return print(api.send("PUT", "/v1/plans/" + Paths.segment(name), body(name), 200), plan -> PlansCommand.print(this, plan));
    }
  }
}
