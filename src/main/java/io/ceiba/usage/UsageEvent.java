package io.ceiba.usage;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * One request's usage, as the edge sends it on {@link io.ceiba.bus.Addresses#USAGE_RECORD}: JSON with
 * {@code request_id}, {@code time} (ISO-8601 instant), {@code project}, {@code key_id} and {@code plan} (may be null),
 * {@code service}, {@code status}, {@code latency_ms}, {@code bytes_in}, {@code bytes_out}, {@code node} (may be
 * null) and {@code cost} (credits the request consumed; absent: 0). Unknown fields are ignored, so an edge of a newer
 * version can add some.
 *
 * <p>{@link #fromJson} checks only the shape (presence and types): value ranges (status 100-599, no negative bytes
 * or latency, lengths) are the {@code usage_events} table's check constraints, one rule set in one place; an event
 * that breaks one is dead-lettered after the batch insert fails. {@link #rangeProblem} repeats those ranges for
 * callers that must answer synchronously ({@code POST /v1/usage/events}).
 */
public record UsageEvent(String requestId, Instant time, String project, String keyId, String plan, String service,
    int status, long latencyMs, long bytesIn, long bytesOut, String node, long cost, String routeClass) implements UsageRecord {

  /** An event of a request that consumed no credits, of a service without routes. */
  public UsageEvent(String requestId, Instant time, String project, String keyId, String plan, String service,
      int status, long latencyMs, long bytesIn, long bytesOut, String node) {
    this(requestId, time, project, keyId, plan, service, status, latencyMs, bytesIn, bytesOut, node, 0, null);
  }

  /** An event of a service without routes (no route class). */
  public UsageEvent(String requestId, Instant time, String project, String keyId, String plan, String service,
      int status, long latencyMs, long bytesIn, long bytesOut, String node, long cost) {
    this(requestId, time, project, keyId, plan, service, status, latencyMs, bytesIn, bytesOut, node, cost, null);
  }

  /**
   * Events an edge collected over a few milliseconds, handed to its own node's usage verticle by reference in
   * one message: one cross-thread hand-off per batch instead of one per request.
   */
  public record Batch(java.util.List<UsageEvent> events) {
  }

  /** Longest text field the table accepts. */
  public static final int MAX_TEXT = 256;

  /** Why a message is not a usage event, naming the field; stackless, it is an outcome, not a bug. */
  public static final class InvalidEventException extends RuntimeException {
    private final String field;

    InvalidEventException(String field, String reason) {
      super(field + ": " + reason, null, false, false);
      this.field = field;
    }

    public String field() {
      return field;
    }
  }

  /**
   * Reads an event, checking presence and types only.
   *
   * @throws InvalidEventException naming the first field at fault
   */
  public static UsageEvent fromJson(JsonObject json) {
    String requestId = text(json, "request_id", true);
    if (requestId.isEmpty()) {
      throw new InvalidEventException("request_id", "must not be empty");
    }
    String time = text(json, "time", true);
    Instant instant;
    try {
      instant = Instant.parse(time);
    } catch (DateTimeParseException e) {
      throw new InvalidEventException("time", "must be an ISO-8601 instant such as 2026-05-01T12:00:00Z");
    }
    long status = whole(json, "status");
    if (status < Integer.MIN_VALUE || status > Integer.MAX_VALUE) {
      throw new InvalidEventException("status", "must be an HTTP status code");
    }
    return new UsageEvent(requestId, instant, text(json, "project", true), text(json, "key_id", false), text(json, "plan", false),
        text(json, "service", true), (int) status, whole(json, "latency_ms"), whole(json, "bytes_in"), whole(json, "bytes_out"),
        text(json, "node", false), json.getValue("cost") == null ? 0 : whole(json, "cost"), text(json, "route_class", false));
  }

  private static String text(JsonObject json, String field, boolean required) {
    Object v = json.getValue(field);
    if (v == null) {
      if (required) {
        throw new InvalidEventException(field, "is required");
      }
      return null;
    }
    if (!(v instanceof String s)) {
      throw new InvalidEventException(field, "must be a string");
    }
    return s;
  }

  private static long whole(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      throw new InvalidEventException(field, "is required");
    }
    if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    throw new InvalidEventException(field, "must be a whole number (64-bit)");
  }

  /**
   * The first value outside what {@code usage_events} accepts, as {@code field: reason}, or null when the event would
   * be stored. Kept equal to the check constraints of {@code V3__usage.sql}.
   */
  public String rangeProblem() {
    if (status < 100 || status > 599) {
      return "status: must be between 100 and 599";
    }
    if (latencyMs < 0) {
      return "latency_ms: must not be negative";
    }
    if (bytesIn < 0) {
      return "bytes_in: must not be negative";
    }
    if (bytesOut < 0) {
      return "bytes_out: must not be negative";
    }
    if (cost < 0) {
      return "cost: must not be negative";
    }
    String[][] texts = {{"request_id", requestId}, {"project", project}, {"key_id", keyId}, {"plan", plan},
        {"service", service}, {"node", node}, {"route_class", routeClass}};
    for (String[] t : texts) {
      if (t[1] != null && (t[1].length() > MAX_TEXT || t[1].indexOf('\0') >= 0)) {
        return t[0] + ": must be at most " + MAX_TEXT + " characters without NUL";
      }
    }
    if (project.isEmpty() || service.isEmpty()) {
      return (project.isEmpty() ? "project" : "service") + ": must not be empty";
    }
    return null;
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("request_id", requestId)
        .put("time", time.toString())
        .put("project", project)
        .put("key_id", keyId)
        .put("plan", plan)
        .put("service", service)
        .put("status", status)
        .put("latency_ms", latencyMs)
        .put("bytes_in", bytesIn)
        .put("bytes_out", bytesOut)
        .put("node", node)
        .put("cost", cost)
        .put("route_class", routeClass);
  }

  @Override
  public String journalText() {
    return toJson().encode();
  }
}
