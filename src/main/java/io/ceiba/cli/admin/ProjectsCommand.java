package io.ceiba.cli.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code ceiba admin projects create|show}. */
@Command(name = "projects", mixinStandardHelpOptions = true, description = "Projects: who holds keys and subscriptions.",
    subcommands = {ProjectsCommand.CreateProject.class, ProjectsCommand.ShowProject.class})
final class ProjectsCommand extends AdminGroup {

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a project; prints its id.")
  static final class CreateProject extends AdminCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "project name")
    String name;

    @Override
    int run(AdminClient api) {
      return print(api.send("POST", "/v1/projects", new JsonObject().put("name", name), 201), project ->
          new Table("ID", "NAME", "CREATED").row(project.getString("id"), project.getString("name"), project.getString("created_at"))
              .print(out()));
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "A project, its subscriptions and how many active keys it has.")
  static final class ShowProject extends AdminCall {
    @Parameters(index = "0", paramLabel = "PROJECT", description = "project id (prj_...)")
    String id;

    @Override
    int run(AdminClient api) {
      return print(api.get("/v1/projects/" + Paths.segment(id)), project -> {
        new Table("ID", "NAME", "CREATED", "ACTIVE_KEYS").row(project.getString("id"), project.getString("name"),
            project.getString("created_at"), project.getValue("active_keys")).print(out());
        out().println();
        SubscriptionsCommand.print(this, project.getJsonArray("subscriptions", new JsonArray()));
      });
    }
  }
}
