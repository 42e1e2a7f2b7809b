package io.ceiba.access;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;

/**
 * A plan: a rate limit (token bucket: {@code requests} per {@code per}, up to {@code burst} at once), a
 * quota per calendar day or month (UTC), and the services it grants ({@code null}: every service).
 */
public record Plan(String name, RateLimit rateLimit, Quota quota, List<String> services) {

  public Plan {
    services = services == null ? null : List.copyOf(services);
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

    /** Tokens per millisecond, the unit counters work in. */
    public double perMilli() {
      return (double) requests / per.toMillis();
    }
  }

  public record Quota(long requests, QuotaPeriod per) {
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject().put("name", name);
    json.put("rate_limit", rateLimit == null ? null : new JsonObject()
        .put("requests", rateLimit.requests())
        .put("per", io.ceiba.yaml.Durations.format(rateLimit.per()))
        .put("burst", rateLimit.burst()));
    json.put("quota", quota == null ? null : new JsonObject().put("requests", quota.requests()).put("per", quota.per().wireName()));
    json.put("services", services == null ? null : new JsonArray(services));
    return json;
  }
}
