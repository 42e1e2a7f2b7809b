package io.ceiba.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real single node watching its registry file, with the control API in front. */
class RegistryReloadIT {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir
  Path dir;

  private final Vertx client = Vertx.vertx();
  private CeibaNode node;

  @AfterEach
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    client.close().await(10, TimeUnit.SECONDS);
  }

  private static Future<Long> version(ControlClient control) {
    return control.json("/v1/registry").map(json -> json.getLong("version"));
  }

  private static double metric(String metrics, String series) {
    Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  private Future<Double> reloads(ControlClient control, String result) {
    return control.get("/metrics").map(r -> metric(r.bodyAsString(), "ceiba_registry_reloads_total{node=\"n1\",result=\"" + result + "\"}"));
  }

  @Test
  void should_apply_edits_reject_broken_files_and_restart_from_last_known_good() throws Exception {
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(1));
    TestNodes.Spec spec = TestNodes.write(dir, "n1", null, null, registry, null);
    node = TestNodes.start(spec);
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    // the node's database is fresh: /ready is 503 until the migrations running in the background are done
    Eventually.until(client, WAIT, "node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200)).await(15, TimeUnit.SECONDS);
    assertThat(version(control).await(5, TimeUnit.SECONDS)).isEqualTo(1);

    // an edit reaches the running node
    Registries.write(registry, Registries.yaml(2));
    Duration took = Eventually.until(client, WAIT, "version 2 applied", () -> version(control).map(v -> v == 2)).await(15, TimeUnit.SECONDS);
    System.out.printf("file edit applied after %d ms%n", took.toMillis());

    // a broken file is rejected whole; the node keeps serving version 2
    Registries.write(registry, "version: 3\nhttp:\n  svc3: [unclosed\n");
    Eventually.until(client, WAIT, "broken file counted as invalid", () -> reloads(control, "invalid").map(n -> n == 1.0)).await(15, TimeUnit.SECONDS);
    assertThat(version(control).await(5, TimeUnit.SECONDS)).isEqualTo(2);
    JsonObject ready = control.get("/ready").await(5, TimeUnit.SECONDS).bodyAsJsonObject();
    assertThat(ready.getString("outcome")).isEqualTo("UP");

    // a lower version is refused, never applied
    Registries.write(registry, Registries.yaml(1));
    Eventually.until(client, WAIT, "lower version counted as stale", () -> reloads(control, "stale").map(n -> n == 1.0)).await(15, TimeUnit.SECONDS);
    assertThat(version(control).await(5, TimeUnit.SECONDS)).isEqualTo(2);
    String metrics = control.get("/metrics").await(5, TimeUnit.SECONDS).bodyAsString();
    assertThat(metric(metrics, "ceiba_registry_version{node=\"n1\"}")).isEqualTo(2.0);
    assertThat(metric(metrics, "ceiba_registry_reloads_total{node=\"n1\",result=\"applied\"}")).isEqualTo(2.0);

    // restarted on a broken file, the node comes up on its last-known-good registry
    TestNodes.stopQuietly(node);
    Registries.write(registry, "version: [this is not\n");
    node = TestNodes.start(spec);
    assertThat(version(control).await(5, TimeUnit.SECONDS)).isEqualTo(2);
    JsonObject status = control.get("/ready").await(5, TimeUnit.SECONDS).bodyAsJsonObject();
    assertThat(status.getString("outcome")).isEqualTo("UP");
    assertThat(Files.readString(dir.resolve("data-n1/registry/last-known-good.yaml"))).isEqualTo(Registries.yaml(2));
  }

  @Test
  void should_be_unready_when_no_registry_can_be_loaded() throws Exception {
    TestNodes.Spec spec = TestNodes.write(dir, "n1", null, null, dir.resolve("absent.yaml"), null);
    node = TestNodes.start(spec);
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    var ready = control.get("/ready").await(5, TimeUnit.SECONDS);
    assertThat(ready.statusCode()).isEqualTo(503);
    assertThat(ready.bodyAsString()).contains("registry").contains("no registry loaded");
    // once the file appears, the node picks it up and turns ready
    Registries.write(dir.resolve("absent.yaml"), Registries.yaml(1));
    Eventually.until(client, WAIT, "ready after the file appears", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(15, TimeUnit.SECONDS);
  }

  @Test
  void should_answer_admin_api_errors_with_json_codes() throws Exception {
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(5));
    TestNodes.Spec spec = TestNodes.write(dir, "n1", null, null, registry, null);
    node = TestNodes.start(spec);
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    ControlClient anonymous = new ControlClient(client, spec.controlPort(), null);
    ControlClient wrong = new ControlClient(client, spec.controlPort(), "not-the-token");

    assertThat(code(anonymous.get("/v1/cluster"))).isEqualTo("401 unauthorized");
    assertThat(code(wrong.get("/v1/registry"))).isEqualTo("401 unauthorized");
    assertThat(code(control.send(HttpMethod.PUT, "/v1/registry", "version: 6\nhttp: {oops"))).isEqualTo("400 invalid_registry");
    assertThat(code(control.send(HttpMethod.PUT, "/v1/registry", ""))).isEqualTo("400 invalid_registry");
    assertThat(code(control.send(HttpMethod.PUT, "/v1/registry", Registries.yaml(4)))).isEqualTo("409 stale_version");
    assertThat(code(control.get("/v1/nope"))).isEqualTo("404 not_found");
    assertThat(code(control.send(HttpMethod.PUT, "/v1/registry", "x".repeat(2 * 1024 * 1024)))).isEqualTo("413 body_too_large");

    var invalid = control.send(HttpMethod.POST, "/v1/registry/validate", "version: 6\nhttp:\n  a: [x\n").await(5, TimeUnit.SECONDS);
    JsonObject problem = invalid.bodyAsJsonObject().getJsonObject("error").getJsonArray("problems").getJsonObject(0);
    assertThat(problem.getInteger("line")).isGreaterThan(0);
    var valid = control.send(HttpMethod.POST, "/v1/registry/validate", Registries.yaml(6)).await(5, TimeUnit.SECONDS);
    assertThat(valid.statusCode()).isEqualTo(200);
    assertThat(valid.bodyAsJsonObject().getBoolean("valid")).isTrue();
    // a dry run changes nothing
    assertThat(version(control).await(5, TimeUnit.SECONDS)).isEqualTo(5);
    // curl --data-binary labels the body as a form; it is a registry all the same
    var put = control.send(HttpMethod.PUT, "/v1/registry", Registries.yaml(7), "application/x-www-form-urlencoded").await(10, TimeUnit.SECONDS);
    assertThat(put.statusCode()).as(put.bodyAsString()).isEqualTo(200);
    assertThat(version(control).await(5, TimeUnit.SECONDS)).isEqualTo(7);
  }

  private static String code(Future<io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer>> response) throws Exception {
    var r = response.await(10, TimeUnit.SECONDS);
    return r.statusCode() + " " + r.bodyAsJsonObject().getJsonObject("error").getString("code");
  }
}
