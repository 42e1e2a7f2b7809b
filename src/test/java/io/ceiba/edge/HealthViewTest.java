package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** An edge's view of backend health keeps a backend as its node plus its URL (issue 17 item 6). */
class HealthViewTest {

  private static final String URL = "http://127.0.0.1:9000";

  private final Vertx vertx = Vertx.vertx();
  private final HealthView view = new HealthView(vertx.eventBus());

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static JsonObject backend(String node, boolean up) {
    return new JsonObject().put("service", "web").put("node", node).put("url", URL).put("up", up);
  }

  @Test
  void should_take_down_only_the_node_whose_backend_failed_its_checks() {
    view.onHealth(backend("host1", false));
    assertThat(view.isUp("web", "host1", URL)).isFalse();
    assertThat(view.isUp("web", "host2", URL)).as("the same URL on host2 is another backend").isTrue();
    assertThat(view.isUp("web", null, URL)).isTrue();
    assertThat(view.isUp("other", "host1", URL)).as("health is per service").isTrue();

    view.onHealth(backend("host2", false));
    view.onHealth(backend("host1", true));
    assertThat(view.isUp("web", "host1", URL)).isTrue();
    assertThat(view.isUp("web", "host2", URL)).isFalse();
  }

  @Test
  void should_eject_only_the_node_whose_backend_refused_a_connection() {
    view.suspect("web", "host2", URL, "Connection refused");
    assertThat(view.isUp("web", "host2", URL)).isFalse();
    assertThat(view.isUp("web", "host1", URL)).isTrue();

    HealthView other = new HealthView(vertx.eventBus());
    other.onEjected(backend("host1", false));
    assertThat(other.isUp("web", "host1", URL)).isFalse();
    assertThat(other.isUp("web", "host2", URL)).isTrue();
  }
}
