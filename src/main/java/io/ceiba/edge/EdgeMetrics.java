package io.ceiba.edge;

import io.ceiba.observability.MetricNames;
import io.ceiba.registry.Route;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Edge meters, looked up once and cached per verticle instance (the registry is thread-safe, the
 * caches are not and need not be): {@code ceiba_edge_requests_total{service,code}} and
 * {@code ceiba_upstream_duration_seconds{service,backend_node}}. Labels are bounded: services and nodes
 * come from the registry, codes are HTTP status codes; unknown hosts count under {@code service="-"}. Requests
 * a route of a service took count besides in {@code ceiba_edge_route_requests_total{service,route,class,code}}: route
 * names and classes come from the registry too.
 */
final class EdgeMetrics {

  static final String REQUESTS = MetricNames.EDGE_REQUESTS;
  static final String UPSTREAM_DURATION = MetricNames.UPSTREAM_DURATION;
  static final String ROUTE_REQUESTS = "ceiba.edge.route.requests";
  /** Beyond this many routes seen (registry versions come and go), the lookup starts afresh; meters stay registered. */
  private static final int MAX_ROUTES_HELD = 10_000;

  private final MeterRegistry registry;
  private final Map<String, Counter[]> requests = new HashMap<>();
  /** By service, then backend node: two lookups instead of a key string made per request. */
  private final Map<String, Map<String, Timer>> upstream = new HashMap<>();
  /** By route identity: a route of one registry version is one object, and its record's hash would be deep. */
  private final Map<Route, Counter[]> routeRequests = new java.util.IdentityHashMap<>();

  EdgeMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  void request(String service, int status) {
    Counter[] byStatus = requests.computeIfAbsent(service, s -> new Counter[600]);
    int code = status >= 100 && status < 600 ? status : 0;
    Counter counter = byStatus[code];
    if (counter == null) {
      counter = Counter.builder(REQUESTS).tag("service", service).tag("code", String.valueOf(status))
          .description("Requests answered by the edge").register(registry);
      byStatus[code] = counter;
    }
    counter.increment();
  }

  void routeRequest(String service, Route route, int status) {
    if (routeRequests.size() > MAX_ROUTES_HELD) {
      routeRequests.clear();
    }
    Counter[] byStatus = routeRequests.computeIfAbsent(route, r -> new Counter[600]);
    int code = status >= 100 && status < 600 ? status : 0;
    Counter counter = byStatus[code];
    if (counter == null) {
      counter = Counter.builder(ROUTE_REQUESTS).tag("service", service).tag("route", route.name()).tag("class", route.className())
          .tag("code", String.valueOf(status)).description("Requests answered by the edge, by the route that took them")
          .register(registry);
      byStatus[code] = counter;
    }
    counter.increment();
  }

  void upstream(String service, String backendNode, long nanos) {
    Map<String, Timer> byNode = upstream.computeIfAbsent(service, s -> new HashMap<>());
    Timer timer = byNode.get(backendNode);
    if (timer == null) {
      timer = Timer.builder(UPSTREAM_DURATION).tag("service", service).tag("backend_node", backendNode)
          .description("Time from sending upstream to the end of the upstream response")
          .serviceLevelObjectives(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(25), Duration.ofMillis(100),
              Duration.ofMillis(500), Duration.ofSeconds(2), Duration.ofSeconds(10))
          .register(registry);
      byNode.put(backendNode, timer);
    }
    timer.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }
}
