package io.ceiba.access;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the access layer knows about one API key: who owns it, whether it still counts, and the plans its
 * project subscribes to. This is what the auth role looks up and the edge caches; the decision for a
 * request is computed from it by {@link AccessPolicy} without any further lookup. Travels as JSON over
 * the event bus and in the Redis key cache.
 */
public record KeyRecord(String keyId, String projectId, String projectName, Instant expiresAt, Instant revokedAt,
    List<Subscription> subscriptions) {

  public KeyRecord {
    subscriptions = List.copyOf(subscriptions);
  }

  /** A project's subscription to a plan, active in {@code [from, until)}; {@code until} null: open-ended. */
  public record Subscription(Plan plan, Instant from, Instant until) {

    public boolean activeAt(Instant now) {
      return !now.isBefore(from) && (until == null || now.isBefore(until));
    }
  }

  public JsonObject toJson() {
    JsonArray subs = new JsonArray();
    for (Subscription s : subscriptions) {
      subs.add(new JsonObject().put("plan", s.plan().toJson()).put("from", s.from().toString())
          .put("until", s.until() == null ? null : s.until().toString()));
    }
    return new JsonObject().put("key_id", keyId).put("project_id", projectId).put("project_name", projectName)
        .put("expires_at", expiresAt == null ? null : expiresAt.toString())
        .put("revoked_at", revokedAt == null ? null : revokedAt.toString())
        .put("subscriptions", subs);
  }

  public static KeyRecord fromJson(JsonObject json) {
    List<Subscription> subs = new ArrayList<>();
    for (Object o : json.getJsonArray("subscriptions", new JsonArray())) {
      JsonObject s = (JsonObject) o;
      subs.add(new Subscription(planFromJson(s.getJsonObject("plan")), Instant.parse(s.getString("from")), instant(s.getString("until"))));
    }
    return new KeyRecord(json.getString("key_id"), json.getString("project_id"), json.getString("project_name"),
        instant(json.getString("expires_at")), instant(json.getString("revoked_at")), subs);
  }

  static Plan planFromJson(JsonObject json) {
    JsonObject rate = json.getJsonObject("rate_limit");
    JsonObject quota = json.getJsonObject("quota");
    JsonArray services = json.getJsonArray("services");
    java.util.Map<String, Plan.RateLimit> classes = new java.util.HashMap<>();
    if (rate != null) {
      for (String field : rate.fieldNames()) {
        if (rate.getValue(field) instanceof JsonObject limit) {
          classes.put(field, Plan.RateLimit.fromJson(limit));
        }
      }
    }
    return new Plan(json.getString("name"),
        rate == null || !rate.containsKey("requests") ? null : Plan.RateLimit.fromJson(rate),
        quota == null ? null : new Plan.Quota(quota.getLong("requests"), QuotaPeriod.byName(quota.getString("per")).orElseThrow()),
        services == null ? null : services.stream().map(String::valueOf).toList(), classes,
        json.getJsonObject("credits") == null ? null : Plan.Credits.fromJson(json.getJsonObject("credits")));
  }

  private static Instant instant(String text) {
    return text == null ? null : Instant.parse(text);
  }
}
