package io.ceiba.access;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A plan: a rate limit (token bucket: {@code requests} per {@code per}, up to {@code burst} at once), a
 * quota per calendar day or month (UTC), and the services it grants ({@code null}: every service).
 *
 * @param classLimits rate limits per route class: a request a route of that class took is limited by its class's
 *                    limit (counted per project, plan and class) besides the plan-wide {@code rateLimit} and quota
 */
public record Plan(String name, RateLimit rateLimit, Quota quota, List<String> services, Map<String, RateLimit> classLimits) {

  public Plan {
    services = services == null ? null : List.copyOf(services);
    classLimits = classLimits == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(classLimits));
  }

  /** A plan without limits per route class. */
  public Plan(String name, RateLimit rateLimit, Quota quota, List<String> services) {
    this(name, rateLimit, quota, services, Map.of());
  }

  /** The limit of route class {@code className} (null: none, or no class). */
  public RateLimit classLimit(String className) {
    return className == null || classLimits.isEmpty() ? null : classLimits.get(className);
  }

  public boolean grants(String service) {
    return services == null || services.contains(service);
  }

  /** Requests per second the rate limit allows; a plan without one ranks above every limited plan. */
  public double ratePerSecond() {
    return rateLimit == null ? Double.POSITIVE_INFINITY : rateLimit.perSecond();
  }

  public record RateLimit(long requests, Duration per, long burst) {

    public double perSecond() {
      return requests * 1000.0 / per.toMillis();
    }

    /** {@code {"requests", "per", "burst"}}, as the control API takes it. */
    public JsonObject toJson() {
      return new JsonObject().put("requests", requests).put("per", io.ceiba.yaml.Durations.format(per)).put("burst", burst);
    }

    /** From {@link #toJson()}. */
    public static RateLimit fromJson(JsonObject json) {
      return new RateLimit(json.getLong("requests"), io.ceiba.yaml.Durations.parse(json.getString("per")), json.getLong("burst"));
    }

    /** Tokens per millisecond, the unit counters work in. */
    public double perMilli() {
      return (double) requests / per.toMillis();
    }
  }

  public record Quota(long requests, QuotaPeriod per) {
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject().put("name", name);
    JsonObject rate = rateLimit == null ? new JsonObject() : rateLimit.toJson();
    classLimits.forEach((c, limit) -> rate.put(c, limit.toJson()));
    json.put("rate_limit", rate.isEmpty() ? null : rate);
    json.put("quota", quota == null ? null : new JsonObject().put("requests", quota.requests()).put("per", quota.per().wireName()));
    json.put("services", services == null ? null : new JsonArray(services));
    return json;
  }
}
