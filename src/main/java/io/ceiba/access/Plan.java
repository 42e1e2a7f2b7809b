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
public record Plan(String name, RateLimit rateLimit, Quota quota, List<String> services, Map<String, RateLimit> classLimits,
    Credits credits) {

  public Plan {
    services = services == null ? null : List.copyOf(services);
    classLimits = classLimits == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(classLimits));
  }

  /** A plan without credits. */
  public Plan(String name, RateLimit rateLimit, Quota quota, List<String> services, Map<String, RateLimit> classLimits) {
    this(name, rateLimit, quota, services, classLimits, null);
  }

  /** A plan without limits per route class and without credits. */
  public Plan(String name, RateLimit rateLimit, Quota quota, List<String> services) {
    this(name, rateLimit, quota, services, Map.of(), null);
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

  /**
   * A credit grant: {@code amount} credits per {@code refill} period (null: granted once, never refilled), which keyed
   * requests consume by their cost (the route's {@code cost}, else {@code costs} of the route class, else 1).
   *
   * @param costs cost of a request per route class when its route names none
   */
  public record Credits(long amount, QuotaPeriod refill, Map<String, Long> costs) {

    /** Start of the period a balance at {@code now} belongs to (the epoch when the grant is never refilled). */
    public java.time.Instant periodStart(java.time.Instant now) {
      return refill == null ? java.time.Instant.EPOCH : refill.start(now);
    }

    /** End (exclusive) of the period holding {@code now}; null when the grant is never refilled. */
    public java.time.Instant periodEnd(java.time.Instant now) {
      return refill == null ? null : refill.end(now);
    }

    public Credits {
      costs = costs == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(costs));
    }

    /** What one request costs: the route's own cost when it sets one, else its class's, else 1. */
    public long cost(String routeClass, Long routeCost) {
      if (routeCost != null) {
        return routeCost;
      }
      Long byClass = routeClass == null ? null : costs.get(routeClass);
      return byClass == null ? 1 : byClass;
    }

    /** {@code refill}'s wire name: {@code day}, {@code month} or {@code none}. */
    public String refillName() {
      return refill == null ? "none" : refill.wireName();
    }

    /** {@code {"amount", "refill", "costs"}}, as the control API takes it. */
    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("amount", amount).put("refill", refillName());
      if (!costs.isEmpty()) {
        JsonObject c = new JsonObject();
        costs.forEach(c::put);
        json.put("costs", c);
      }
      return json;
    }

    /** From {@link #toJson()}. */
    public static Credits fromJson(JsonObject json) {
      String refill = json.getString("refill", "none");
      java.util.Map<String, Long> costs = new java.util.HashMap<>();
      JsonObject c = json.getJsonObject("costs");
      if (c != null) {
        c.fieldNames().forEach(f -> costs.put(f, c.getLong(f)));
      }
      return new Credits(json.getLong("amount"), "none".equals(refill) ? null : QuotaPeriod.byName(refill).orElseThrow(), costs);
    }
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject().put("name", name);
    JsonObject rate = rateLimit == null ? new JsonObject() : rateLimit.toJson();
    classLimits.forEach((c, limit) -> rate.put(c, limit.toJson()));
    json.put("rate_limit", rate.isEmpty() ? null : rate);
    json.put("quota", quota == null ? null : new JsonObject().put("requests", quota.requests()).put("per", quota.per().wireName()));
    json.put("services", services == null ? null : new JsonArray(services));
    if (credits != null) {
      json.put("credits", credits.toJson());
    }
    return json;
  }
}
