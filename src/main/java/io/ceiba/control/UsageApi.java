package io.ceiba.control;

import io.ceiba.error.CeibaException;
import io.ceiba.error.ErrorCode;
import io.ceiba.node.NodeContext;
import io.ceiba.usage.UsageEvent;
import io.ceiba.usage.UsageStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The usage part of {@code /v1}: {@code GET /v1/projects/{id}/usage} (exact counts per service and hour or day) and
 * {@code POST /v1/usage/events} for an SDK or a service that reports its own usage.
 *
 * <p>Reported events are validated whole (shape and the table's value ranges, so a bad one is a 400 naming it and
 * nothing is written) and then inserted in the request, with the same idempotency as the pipeline: a request id
 * already stored is ignored. {@code 202} means they are stored; on a database failure the caller gets a 503 and may
 * send the same events again.
 */
final class UsageApi {

  private static final Logger LOG = LoggerFactory.getLogger(UsageApi.class);
  static final int MAX_EVENTS = 1000;
  /** Longest range per query, so one answer stays small: 31 days of hours, 366 of days. */
  static final Duration MAX_HOURLY_RANGE = Duration.ofDays(31);
  static final Duration MAX_DAILY_RANGE = Duration.ofDays(366);
  private static final Set<String> EVENT_FIELDS = Set.of("request_id", "time", "project", "key_id", "plan", "service", "status",
      "latency_ms", "bytes_in", "bytes_out", "node", "cost", "route_class");

  private final UsageStore store;

  UsageApi(NodeContext node) {
    this.store = new UsageStore(node.postgres().pool());
  }

  void mount(Router router, Function<RoutingContext, String> body) {
    router.get("/projects/:id/usage").handler(ctx -> respond(ctx, 200, ApiReplies.call(() -> usage(ctx))));
    router.post("/usage/events").handler(ctx -> respond(ctx, 202, ApiReplies.call(() -> report(body.apply(ctx)))));
  }

  /**
   * {@code from} (default: {@code to} minus a day for hours, 30 days for days) is rounded down and {@code to}
   * (default: now) up to the granularity, because rollups are whole hours; the answer says which range it covers.
   */
  private Future<JsonObject> usage(RoutingContext ctx) {
    String projectId = ctx.pathParam("id");
    String granularity = param(ctx, "granularity");
    if (granularity == null) {
      granularity = "hour";
    }
    if (!granularity.equals("hour") && !granularity.equals("day")) {
      throw JsonInput.invalidField("granularity", "must be 'hour' or 'day', got '" + JsonInput.clip(granularity) + "'");
    }
    ChronoUnit unit = granularity.equals("hour") ? ChronoUnit.HOURS : ChronoUnit.DAYS;
    Instant to = ceil(instant(ctx, "to", Instant.now()), unit);
    Instant from = instant(ctx, "from", to.minus(unit == ChronoUnit.HOURS ? Duration.ofDays(1) : Duration.ofDays(30))).truncatedTo(unit);
    if (!from.isBefore(to)) {
      throw JsonInput.invalidField("from", "must be before to");
    }
    Duration max = unit == ChronoUnit.HOURS ? MAX_HOURLY_RANGE : MAX_DAILY_RANGE;
    if (Duration.between(from, to).compareTo(max) > 0) {
      throw JsonInput.invalidField("from", "the range may span at most " + max.toDays() + " days with granularity " + granularity);
    }
    String g = granularity;
    String by = param(ctx, "by");
    if (by != null && !by.equals("service") && !by.equals("route_class")) {
      throw JsonInput.invalidField("by", "must be 'service' or 'route_class', got '" + JsonInput.clip(by) + "'");
    }
    boolean byClass = "route_class".equals(by);
    return store.projectExists(projectId).compose(exists -> {
      if (!exists) {
        return Future.failedFuture(new CeibaException(ErrorCode.NOT_FOUND, "no project '" + JsonInput.clip(projectId) + "'"));
      }
      return (byClass ? store.usageByClass(projectId, from, to, g) : store.usage(projectId, from, to, g)).map(rows -> {
        long total = 0;
        for (int i = 0; i < rows.size(); i++) {
          total += rows.getJsonObject(i).getLong("requests");
        }
        return new JsonObject().put("project", projectId).put("from", from.toString()).put("to", to.toString())
            .put("granularity", g).put("by", byClass ? "route_class" : "service").put("rows", rows).put("total", total);
      });
    });
  }

  private Future<JsonObject> report(String body) {
    JsonInput in = JsonInput.parse(body, Set.of("events"));
    List<JsonObject> items = in.objects("events");
    if (items == null || items.isEmpty() || items.size() > MAX_EVENTS) {
      throw in.invalid("events", "must be a list of 1 to " + MAX_EVENTS + " events");
    }
    List<UsageEvent> events = new ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      String where = "events[" + i + "].";
      JsonObject item = items.get(i);
      for (String field : item.fieldNames()) {
        if (!EVENT_FIELDS.contains(field)) {
          throw JsonInput.invalidField(where + field, "unknown field (known: " + String.join(", ", EVENT_FIELDS.stream().sorted().toList()) + ")");
        }
      }
      UsageEvent event;
      try {
        event = UsageEvent.fromJson(item);
      } catch (UsageEvent.InvalidEventException e) {
        throw JsonInput.invalidField(where + e.field(), e.getMessage().substring(e.field().length() + 2));
      }
      String problem = event.rangeProblem();
      if (problem != null) {
        int colon = problem.indexOf(':');
        throw JsonInput.invalidField(where + problem.substring(0, colon), problem.substring(colon + 2));
      }
      events.add(event);
    }
    return store.insert(events).map(inserted -> new JsonObject()
        .put("accepted", events.size()).put("inserted", inserted).put("duplicates", events.size() - inserted));
  }

  private static String param(RoutingContext ctx, String name) {
    String v = ctx.queryParams().get(name);
    return v == null || v.isBlank() ? null : v.trim();
  }

  private static Instant instant(RoutingContext ctx, String name, Instant defaultValue) {
    String v = param(ctx, name);
    if (v == null) {
      return defaultValue;
    }
    try {
      return Instant.parse(v);
    } catch (DateTimeParseException e) {
      throw JsonInput.invalidField(name, "must be a UTC timestamp such as 2026-05-01T00:00:00Z, got '" + JsonInput.clip(v) + "'");
    }
  }

  private static Instant ceil(Instant t, ChronoUnit unit) {
    Instant floor = t.truncatedTo(unit);
    return floor.equals(t) ? t : floor.plus(1, unit);
  }

  /** A database that fails is a 503: reads and (idempotent) reports can be repeated. */
  private static void respond(RoutingContext ctx, int status, Future<JsonObject> result) {
    ApiReplies.send(ctx, status, result, e -> {
      if (e instanceof CeibaException) {
        return e;
      }
      LOG.warn("usage API {} {}: database failed: {}", ctx.request().method(), ctx.request().path(), e.getMessage());
      return new CeibaException(ErrorCode.UNAVAILABLE, "database unavailable, try again: " + e.getMessage());
    });
  }
}
