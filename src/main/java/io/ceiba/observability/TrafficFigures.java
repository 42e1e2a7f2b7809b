package io.ceiba.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A node's traffic as its own meters count it since it started, for the console: per service the requests the edge
 * answered by status class and the upstream latency histogram (its buckets are the edge timer's service-level
 * objectives, so a percentile is known to the bucket), and the access decisions by reason. Totals, not rates: a
 * reader takes two and divides the difference by the time between them.
 */
public final class TrafficFigures {

  private TrafficFigures() {
  }

  public static JsonObject of(MeterRegistry meters) {
    TreeMap<String, JsonObject> services = new TreeMap<>();
    for (Counter c : meters.find(MetricNames.EDGE_REQUESTS).counters()) {
      JsonObject s = services.computeIfAbsent(tag(c.getId().getTag("service")), TrafficFigures::emptyService);
      long n = (long) c.count();
      String code = tag(c.getId().getTag("code"));
      String statusClass = code.length() == 3 ? code.charAt(0) + "xx" : "other";
      JsonObject classes = s.getJsonObject("codes");
      classes.put(statusClass, classes.getLong(statusClass, 0L) + n);
      s.put("requests", s.getLong("requests") + n);
    }
    for (Timer t : meters.find(MetricNames.UPSTREAM_DURATION).timers()) {
      JsonObject up = services.computeIfAbsent(tag(t.getId().getTag("service")), TrafficFigures::emptyService)
          .getJsonObject("upstream");
      add(up, t.takeSnapshot());
    }
    JsonObject decisions = new JsonObject();
    for (Counter c : meters.find(MetricNames.AUTH_DECISIONS).counters()) {
      long n = (long) c.count();
      if (n > 0) {
        decisions.put(tag(c.getId().getTag("reason")), decisions.getLong(tag(c.getId().getTag("reason")), 0L) + n);
      }
    }
    JsonObject out = new JsonObject();
    services.forEach(out::put);
    return new JsonObject().put("services", out).put("decisions", decisions);
  }

  private static JsonObject emptyService(String name) {
    return new JsonObject().put("requests", 0L).put("codes", new JsonObject())
        .put("upstream", new JsonObject().put("count", 0L).put("total_ms", 0.0).put("max_ms", 0.0).put("buckets", new JsonArray()));
  }

  /** Adds one backend node's timer into the service's figures; bucket counts are cumulative ({@code le}). */
  private static void add(JsonObject up, HistogramSnapshot snapshot) {
    up.put("count", up.getLong("count") + snapshot.count())
        .put("total_ms", up.getDouble("total_ms") + snapshot.total(TimeUnit.MILLISECONDS))
        .put("max_ms", Math.max(up.getDouble("max_ms"), snapshot.max(TimeUnit.MILLISECONDS)));
    JsonArray buckets = up.getJsonArray("buckets");
    CountAtBucket[] counts = snapshot.histogramCounts();
    for (int i = 0; i < counts.length; i++) {
      long n = (long) counts[i].count();
      if (i < buckets.size()) {
        JsonObject b = buckets.getJsonObject(i);
        b.put("count", b.getLong("count") + n);
      } else {
        buckets.add(new JsonObject().put("le_ms", counts[i].bucket(TimeUnit.MILLISECONDS)).put("count", n));
      }
    }
  }

  private static String tag(String value) {
    return value == null ? "-" : value;
  }
}
