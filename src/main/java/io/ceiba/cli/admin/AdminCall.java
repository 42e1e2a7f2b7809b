package io.ceiba.cli.admin;

import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A {@code ceiba admin} command that talks to the {@code /v1} API: the shared options, the exit codes, and output as
 * a table for people or the API's JSON with {@code --json}.
 */
abstract class AdminCall implements Callable<Integer> {

  /** Exit codes of every {@code ceiba admin} command (and {@code ceiba registry rollback}). */
  static final int OK = 0;
  static final int REFUSED = 1;
  static final int USAGE = 2;
  static final int UNREACHABLE = 3;
  static final int INCOMPLETE = 4;

  @Mixin
  AdminOptions options;

  @Spec
  CommandSpec spec;

  /** Runs the command against the API; returns the exit code. */
  abstract int run(AdminClient api);

  @Override
  public final Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    try {
      return run(options.client(System.getenv()));
    } catch (AdminOptions.UsageProblem e) {
      err.println(spec.qualifiedName() + ": " + e.getMessage());
      return USAGE;
    } catch (AdminClient.Unreachable e) {
      err.println(spec.qualifiedName() + ": " + e.getMessage());
      return UNREACHABLE;
    } catch (AdminClient.Refused e) {
      if (options.json && e.body != null && e.body.startsWith("{")) {
        out().println(e.body);
      }
      err.println(spec.qualifiedName() + ": refused (" + e.status + " " + e.code + "): " + e.getMessage());
      return REFUSED;
    } finally {
      out().flush();
      err.flush();
    }
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /** Prints the JSON answer with {@code --json}, else what {@code table} makes of it. */
  int print(JsonObject answer, java.util.function.Consumer<JsonObject> table) {
    if (options.json) {
      out().println(answer.encodePrettily());
    } else {
      table.accept(answer);
    }
    return OK;
  }
}
