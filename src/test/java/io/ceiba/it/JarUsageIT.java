package io.ceiba.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.EdgeClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.StoppablePostgres;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Usage across a stop of the fat jar run as a real process (roles edge, auth, usage, control) on a Postgres of this
 * test's own: SIGTERM right after the last response, with every event of the run still buffered, and SIGTERM while
 * Postgres is down, after which the events wait in the journal under data_dir until the next start.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JarUsageIT {

  private static final int REQUESTS = 200;
  /** Nothing reaches Postgres before the stop: no flush for an hour and no batch before 10000 events. */
  private static final String HOLDING = "usage: { flush_interval: 1h, batch_size: 10000, buffer_size: 10000 }\n";

  private final Vertx client = Vertx.vertx();
  private StoppablePostgres postgres;
  private Origin origin;
  private Path dir;
  private Path registry;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    this.dir = dir;
    postgres = StoppablePostgres.start(dir.resolve("pg"));
    origin = Origin.start(client, "origin");
    registry = Registries.write(dir.resolve("registry.yaml"), Registries.keyedService(origin));
  }

  @AfterAll
  void stop() throws Exception {
    origin.close();
    postgres.close();
    client.close().await(10, TimeUnit.SECONDS);
  }

  private TestNodes.Spec spec(String nodeId) {
    return TestNodes.write(dir, nodeId, null, null, registry, "roles: [edge, auth, usage, control]\n" + HOLDING
        + "postgres: { url: \"" + postgres.url() + "\", connect_timeout: 2s }\n");
  }

  /** {@code java -jar ceiba.jar --config <node>.yaml}, once it is ready. */
  private JarProcess startReady(TestNodes.Spec spec, ControlClient control) throws Exception {
    JarProcess jar = JarProcess.start(dir, Map.of(), "--config", spec.configFile().toString());
    try {
      Duration toReady = Eventually.until(client, Duration.ofSeconds(45), spec.nodeId() + " ready",
          () -> control.get("/ready").map(r -> r.statusCode() == 200).otherwise(false)).await(50, TimeUnit.SECONDS);
      System.out.printf("%s: ready %d ms after java -jar%n", spec.nodeId(), toReady.toMillis());
      return jar;
    } catch (Exception | AssertionError e) {
      jar.close();
      throw new AssertionError(e.getMessage() + "\n" + jar.output(), e);
    }
  }

  private Future<Long> rows(String project) {
    return postgres.count(client, "select count(*) from usage_events where project_id = ?", project);
  }

  @Test
  void should_write_every_buffered_event_when_sigterm_comes_right_after_the_last_response() throws Exception {
    TestNodes.Spec spec = spec("node1");
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    ControlClient.KeyedProject project;
    try (JarProcess jar = startReady(spec, control)) {
      project = control.newProjectWithKey("sigterm").await(10, TimeUnit.SECONDS);
      new EdgeClient(spec.edgePort()).expectOk(Registries.KEYED_HOST, project.key(), "/r", REQUESTS);
      assertThat(jar.terminate(60)).as(jar.output()).isZero();
      assertThat(jar.output()).contains("usage stopped: 0 events wait in the journal", "node node1 stopped");
    }
    assertThat(rows(project.id()).await(10, TimeUnit.SECONDS)).isEqualTo(REQUESTS);
  }

  @Test
  void should_write_every_journaled_event_once_after_a_restart_when_sigterm_comes_while_postgres_is_down() throws Exception {
    TestNodes.Spec spec = spec("node2");
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    EdgeClient edge = new EdgeClient(spec.edgePort());
    ControlClient.KeyedProject project;
    long expected = REQUESTS + 1;
    try (JarProcess jar = startReady(spec, control)) {
      project = control.newProjectWithKey("journal").await(10, TimeUnit.SECONDS);
      // the edge caches the key record: from now on requests need no Postgres to be authorized
      edge.expectOk(Registries.KEYED_HOST, project.key(), "/warm", 1);
      postgres.stop();
      edge.expectOk(Registries.KEYED_HOST, project.key(), "/outage-", REQUESTS);
      assertThat(jar.terminate(60)).as(jar.output()).isZero();
      assertThat(jar.output()).contains("usage stopped: " + expected + " events wait in the journal");
    } finally {
      postgres.startAgain();
    }
    String id = project.id();
    assertThat(rows(id).await(10, TimeUnit.SECONDS)).isZero();

    try (JarProcess jar = startReady(spec, control)) {
      assertThat(jar.output()).contains("holds " + expected + " events from before the restart; replaying");
      Eventually.until(client, Duration.ofSeconds(20), expected + " rows after the replay",
          () -> rows(id).map(n -> n == expected))
          .await(30, TimeUnit.SECONDS);
      assertThat(control.usageTotal(id).await(10, TimeUnit.SECONDS)).isEqualTo(expected);
      assertThat(jar.terminate(60)).as(jar.output()).isZero();
      assertThat(jar.output()).contains("usage stopped: 0 events wait in the journal");
    }
    assertThat(rows(id).await(10, TimeUnit.SECONDS)).isEqualTo(expected);
  }
}
