package io.ceiba.cli.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ceiba admin usage PROJECT}: exact counts per service (or route class) and hour or day. */
@Command(name = "usage", mixinStandardHelpOptions = true,
    description = "A project's usage per service and hour (or day): requests, errors, bytes, mean latency; with --by"
        + " route_class per service and route class: requests, errors, 429s, credits.")
final class UsageCommand extends AdminCall {

  @Parameters(index = "0", paramLabel = "PROJECT", description = "project id (prj_...)")
  String project;

  @Option(names = "--granularity", paramLabel = "hour|day", description = "bucket size (default: hour)")
  String granularity;

  @Option(names = "--from", paramLabel = "TIME", description = "UTC timestamp (default: a day before --to for hours, 30 days for days)")
  String from;

  @Option(names = "--to", paramLabel = "TIME", description = "UTC timestamp (default: now)")
  String to;

  @Option(names = "--by", paramLabel = "service|route_class", description = "rows per service (default) or per route class")
  String by;

  @Override
  int run(AdminClient api) {
    StringBuilder query = new StringBuilder();
    append(query, "granularity", granularity);
    append(query, "from", from);
    append(query, "to", to);
    append(query, "by", by);
    return print(api.get("/v1/projects/" + Paths.segment(project) + "/usage" + query), usage -> {
      out().printf("project %s, %s to %s by %s: %s requests%n%n", usage.getString("project"), usage.getString("from"),
          usage.getString("to"), usage.getString("granularity"), usage.getValue("total"));
      if ("route_class".equals(usage.getString("by"))) {
        Table table = new Table("START", "SERVICE", "CLASS", "REQUESTS", "ERRORS", "429S", "CREDITS");
        usage.getJsonArray("rows", new JsonArray()).forEach(o -> {
          JsonObject r = (JsonObject) o;
          table.row(r.getString("start"), r.getString("service"), r.getString("route_class"), r.getValue("requests"),
              r.getValue("errors"), r.getValue("limited"), r.getValue("cost"));
        });
        table.print(out());
        return;
      }
      Table table = new Table("START", "SERVICE", "REQUESTS", "ERRORS", "BYTES_IN", "BYTES_OUT", "MEAN_MS");
      usage.getJsonArray("rows", new JsonArray()).forEach(o -> {
        JsonObject r = (JsonObject) o;
        long requests = r.getLong("requests", 0L);
        table.row(r.getString("start"), r.getString("service"), requests, r.getValue("errors"), r.getValue("bytes_in"),
            r.getValue("bytes_out"), requests == 0 ? null : String.format("%.1f", r.getLong("latency_ms_sum", 0L) / (double) requests));
      });
      table.print(out());
    });
  }

  private static void append(StringBuilder query, String name, String value) {
    if (value != null) {
      query.append(query.length() == 0 ? '?' : '&').append(name).append('=').append(Paths.query(value));
    }
  }
}
