package io.ceiba.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TrafficFiguresTest {

  private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  private void requests(String service, int code, int n) {
    Counter.builder(MetricNames.EDGE_REQUESTS).tag("service", service).tag("code", String.valueOf(code)).register(meters).increment(n);
  }

  private Timer upstream(String service, String backendNode) {
    // the edge's own buckets (EdgeMetrics)
    return Timer.builder(MetricNames.UPSTREAM_DURATION).tag("service", service).tag("backend_node", backendNode)
        .serviceLevelObjectives(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(25), Duration.ofMillis(100),
            Duration.ofMillis(500), Duration.ofSeconds(2), Duration.ofSeconds(10))
        .register(meters);
  }

  @Test
  void should_sum_requests_by_status_class_and_merge_the_upstream_histograms_of_every_backend_node() {
    requests("shop", 200, 7);
    requests("shop", 204, 3);
    requests("shop", 404, 2);
    requests("shop", 503, 1);
    requests("blog", 200, 4);
    for (int i = 0; i < 9; i++) {
      upstream("shop", "node1").record(3, TimeUnit.MILLISECONDS);
    }
    upstream("shop", "node2").record(300, TimeUnit.MILLISECONDS);
    Counter.builder(MetricNames.AUTH_DECISIONS).tag("decision", "denied").tag("reason", "rate_limited").register(meters).increment(5);
    Counter.builder(MetricNames.AUTH_DECISIONS).tag("decision", "denied").tag("reason", "quota_exceeded").register(meters);

    JsonObject figures = TrafficFigures.of(meters);

    JsonObject shop = figures.getJsonObject("services").getJsonObject("shop");
    assertThat(shop.getLong("requests")).isEqualTo(13);
    assertThat(shop.getJsonObject("codes").getMap()).containsEntry("2xx", 10L).containsEntry("4xx", 2L).containsEntry("5xx", 1L);
    JsonObject up = shop.getJsonObject("upstream");
    assertThat(up.getLong("count")).isEqualTo(10);
    assertThat(up.getDouble("max_ms")).isEqualTo(300.0);
    JsonArray buckets = up.getJsonArray("buckets");
    // cumulative, as a reader of le buckets expects: 9 within 5 ms, all 10 within 500 ms
    assertThat(buckets.stream().map(b -> ((JsonObject) b).getDouble("le_ms"))).containsExactly(1.0, 5.0, 25.0, 100.0, 500.0, 2000.0, 10000.0);
    assertThat(buckets.stream().map(b -> ((JsonObject) b).getLong("count"))).containsExactly(0L, 9L, 9L, 9L, 10L, 10L, 10L);
    assertThat(figures.getJsonObject("services").getJsonObject("blog").getJsonObject("upstream").getLong("count")).isZero();
    // reasons that never happened are left out
    assertThat(figures.getJsonObject("decisions").getMap()).containsOnly(java.util.Map.entry("rate_limited", 5L));
  }

  @Test
  void should_answer_empty_figures_on_a_node_without_an_edge() {
    JsonObject figures = TrafficFigures.of(meters);
    assertThat(figures.getJsonObject("services")).isEmpty();
    assertThat(figures.getJsonObject("decisions")).isEmpty();
  }
}
