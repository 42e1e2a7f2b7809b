package io.ceiba.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestCertificates;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.validation.ResponseValidator;
import io.vertx.openapi.validation.ValidatableResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/openapi.json} against the node that serves it: the document is valid OpenAPI 3.1 (vertx-openapi checks
 * it against the 3.1 schema), it describes exactly the routes of the admin API's router, and real answers of every
 * route (successes and refusals) validate against it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiContractIT {

  private final Vertx vertx = Vertx.vertx();
  private CeibaNode node;
  private TestNodes.Spec spec;
  private ControlClient control;
  private Origin origin;
  /** Credit balances live there: {@code /v1/verify} reports one only when it can be read. */
  private TestRedis redis;
  private OpenAPIContract contract;
  private ResponseValidator validator;
  /** "METHOD /path/{param}" of every operation an answer was validated for. */
  private final Set<String> validated = new TreeSet<>();

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    origin = Origin.start(vertx, "origin");
    redis = TestRedis.start();
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n  api:\n    hosts: [api.test]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    access: { policy: plan, plans: [pro, metered] }\n");
    spec = TestNodes.write(dir, "node1", null, null, registry, "roles: [edge, auth, usage, health, control]\n"
        + "redis: { url: \"" + redis.url() + "\" }\n");
    node = TestNodes.start(spec);
    control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
    // the document is read without the token, as a gateway or a client generator would
    ControlClient anonymous = new ControlClient(vertx, spec.controlPort(), null);
    HttpResponse<Buffer> served = anonymous.get("/v1/openapi.json").await(10, TimeUnit.SECONDS);
    assertThat(served.statusCode()).as(served.bodyAsString()).isEqualTo(200);
    assertThat(served.getHeader("content-type")).isEqualTo("application/json");
    JsonObject document = served.bodyAsJsonObject();
    assertThat(document.getString("openapi")).isEqualTo("3.1.0");
    contract = OpenAPIContract.from(vertx, document).await(30, TimeUnit.SECONDS);
    validator = ResponseValidator.create(vertx, contract);
    anonymous.close();
  }

  @AfterAll
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    origin.close();
    redis.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** The operation of {@code template} ({@code /plans/{name}}) and {@code method}; fails when the document lacks it. */
  private Operation operation(HttpMethod method, String template) {
    return contract.operations().stream()
        .filter(o -> o.getHttpMethod().equals(method) && o.getOpenAPIPath().equals(template)).findFirst()
        .orElseThrow(() -> new AssertionError("no operation " + method + " " + template + " in /v1/openapi.json"));
  }

  /**
   * Sends {@code method path} (the template with {@code args} put in for its parameters, in order; a query after
   * {@code ?} is sent as it is), checks the status and validates the answer against the document's operation for the
   * template.
   */
  private HttpResponse<Buffer> call(HttpMethod method, String template, int status, String body, String... args) throws Exception {
    String path = template;
    for (String arg : args) {
      path = path.replaceFirst("\\{[a-z_]+\\}", arg);
    }
    return validate(method, template.replaceFirst("\\?.*", ""), status,
        control.send(method, "/v1" + path, body, "application/json").await(60, TimeUnit.SECONDS));
  }

  private HttpResponse<Buffer> validate(HttpMethod method, String template, int status, HttpResponse<Buffer> r) throws Exception {
    assertThat(r.statusCode()).as(method + " " + template + ": " + r.bodyAsString()).isEqualTo(status);
    Operation op = operation(method, template);
    String type = r.getHeader("content-type");
    ValidatableResponse answer = r.body() == null || r.body().length() == 0 ? ValidatableResponse.create(r.statusCode())
        : ValidatableResponse.create(r.statusCode(), Map.of(), r.body(), type);
    try {
      validator.validate(answer, op.getOperationId()).await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(method + " " + template + " answered " + r.statusCode() + " not as /v1/openapi.json says: "
          + e.getMessage() + "\n" + r.bodyAsString(), e);
    }
    validated.add(method + " " + template);
    return r;
  }

  @Test
  void should_describe_every_route_of_the_admin_api_and_only_those() {
    Set<String> routed = new TreeSet<>();
    for (Route route : new AdminApi(vertx, node.context()).router().getRoutes()) {
      if (route.getPath() != null && route.methods() != null && !route.methods().isEmpty()) {
        String template = route.getPath().replaceAll(":([a-z_]+)", "{$1}");
        route.methods().forEach(m -> routed.add(m.name() + " " + template));
      }
    }
    Set<String> described = new TreeSet<>();
    contract.operations().forEach(o -> described.add(o.getHttpMethod().name() + " " + o.getOpenAPIPath()));
    assertThat(routed).as("routes of AdminApi").hasSizeGreaterThan(20);
    assertThat(described).as("operations of /v1/openapi.json = routes of the admin API's router").isEqualTo(routed);
  }

  @Test
  void should_answer_every_route_as_the_document_says() throws Exception {
    // no token: 401 with the error shape
    ControlClient anonymous = new ControlClient(vertx, spec.controlPort(), null);
    HttpResponse<Buffer> refused = anonymous.send(HttpMethod.GET, "/v1/cluster", null).await(10, TimeUnit.SECONDS);
    anonymous.close();
    validate(HttpMethod.GET, "/cluster", 401, refused);
    assertThat(refused.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("unauthorized");
    call(HttpMethod.GET, "/openapi.json", 200, null);

    // cluster, with this node's view of the backend it checks
    Eventually.until(vertx, Duration.ofSeconds(20), "the health view has the backend", () -> control.json("/v1/cluster")
        .map(c -> c.getJsonArray("nodes").getJsonObject(0).getJsonArray("backends", new JsonArray()).size() == 1))
        .await(25, TimeUnit.SECONDS);
    call(HttpMethod.GET, "/cluster", 200, null);
    JsonObject status = call(HttpMethod.GET, "/cluster/status", 200, null).bodyAsJsonObject();
    assertThat(status.getJsonArray("nodes").getJsonObject(0).getJsonObject("ready").getString("status")).isEqualTo("UP");

    // registry: current, validate, apply, history, one version, rollback
    call(HttpMethod.GET, "/registry", 200, null);
    String v2 = control.json("/v1/registry").await(10, TimeUnit.SECONDS).getString("yaml").replace("version: 1", "version: 2");
    call(HttpMethod.POST, "/registry/validate", 200, v2);
    call(HttpMethod.POST, "/registry/validate", 400, "version: x\n");
    call(HttpMethod.PUT, "/registry", 200, v2);
    call(HttpMethod.PUT, "/registry", 200, v2.replace("version: 2", "version: 3"));
    call(HttpMethod.PUT, "/registry", 409, v2.replace("version: 2", "version: 1").replace("hosts: [api.test]", "hosts: [x.test]"));
    JsonArray versions = call(HttpMethod.GET, "/registry/history", 200, null).bodyAsJsonObject().getJsonArray("versions");
    assertThat(versions.getJsonObject(0).getLong("version")).isEqualTo(3);
    assertThat(versions.getJsonObject(0).getString("yaml")).startsWith("version: 3");
    assertThat(call(HttpMethod.GET, "/registry/history?limit=1", 200, null).bodyAsJsonObject().getJsonArray("versions")).hasSize(1);
    call(HttpMethod.GET, "/registry/history?limit=0", 400, null);
    assertThat(call(HttpMethod.GET, "/registry/history/{version}", 200, null, "2").bodyAsJsonObject().getString("yaml")).isEqualTo(v2);
    call(HttpMethod.GET, "/registry/history/{version}", 404, null, "99");
    call(HttpMethod.GET, "/registry/history/{version}", 400, null, "two");
    assertThat(call(HttpMethod.POST, "/registry/rollback", 200, "{\"to\": 2}").bodyAsJsonObject().getLong("version")).isEqualTo(4);
    call(HttpMethod.POST, "/registry/rollback", 404, "{\"to\": 77}");

    // access: plans, projects, subscriptions, keys, verify
    call(HttpMethod.POST, "/plans", 201, "{\"name\": \"pro\", \"rate_limit\": {\"requests\": 10, \"per\": \"1s\"}, "
        + "\"quota\": {\"requests\": 1000, \"per\": \"day\"}}");
    call(HttpMethod.POST, "/plans", 201, "{\"name\": \"free\"}");
    // limits per route class, with and without a plan-wide one
    call(HttpMethod.POST, "/plans", 201, "{\"name\": \"classes\", \"rate_limit\": {\"read\": {\"requests\": 50, \"per\": \"1s\"}, "
        + "\"write\": {\"requests\": 5, \"per\": \"1s\", \"burst\": 2}}}");
    call(HttpMethod.POST, "/plans", 201, "{\"name\": \"both\", \"rate_limit\": {\"requests\": 100, \"per\": \"1s\", "
        + "\"write\": {\"requests\": 5, \"per\": \"1s\"}}}");
    call(HttpMethod.POST, "/plans", 409, "{\"name\": \"pro\"}");
    call(HttpMethod.POST, "/plans", 400, "{\"name\": \"pro\", \"rate\": 1}");
    call(HttpMethod.POST, "/plans", 400, "{\"name\": ");
    call(HttpMethod.GET, "/plans", 200, null);
    call(HttpMethod.PUT, "/plans/{name}", 200, "{\"quota\": {\"requests\": 500, \"per\": \"month\"}, \"services\": [\"api\"]}", "free");
    call(HttpMethod.PUT, "/plans/{name}", 404, "{}", "nosuch");
    String project = call(HttpMethod.POST, "/projects", 201, "{\"name\": \"acme\"}").bodyAsJsonObject().getString("id");
    call(HttpMethod.GET, "/projects/{id}", 404, null, "prj_nosuch");
    call(HttpMethod.POST, "/projects/{id}/subscriptions", 201, "{\"plan\": \"pro\"}", project);
    call(HttpMethod.POST, "/projects/{id}/subscriptions", 201, "{\"plan\": \"free\", \"active_from\": \"2027-01-01T00:00:00Z\", "
        + "\"active_until\": \"2027-02-01T00:00:00Z\"}", project);
    call(HttpMethod.GET, "/projects/{id}", 200, null, project);
    assertThat(call(HttpMethod.GET, "/projects", 200, null).bodyAsJsonObject().getJsonArray("projects").getJsonObject(0)
        .getString("id")).isEqualTo(project);
    JsonObject key = call(HttpMethod.POST, "/projects/{id}/keys", 201, "{\"name\": \"ci\"}", project).bodyAsJsonObject();
    call(HttpMethod.POST, "/projects/{id}/keys", 201, "{\"expires_at\": \"2030-01-01T00:00:00Z\"}", project);
    call(HttpMethod.POST, "/projects/{id}/keys", 404, "{}", "prj_nosuch");
    call(HttpMethod.GET, "/projects/{id}/keys", 200, null, project);
    String verify = new JsonObject().put("key", key.getString("key")).put("service", "api").encode();
    assertThat(call(HttpMethod.POST, "/verify", 200, verify).bodyAsJsonObject().getBoolean("allowed")).isTrue();
    call(HttpMethod.POST, "/verify", 200, "{\"key\": \"ck_wrong\", \"service\": \"api\"}");
    call(HttpMethod.POST, "/verify", 404, "{\"key\": \"ck_wrong\", \"service\": \"nosuch\"}");
    // credits: a plan granting them, a top-up, and the balance on verify
    call(HttpMethod.POST, "/plans", 201, "{\"name\": \"metered\", \"credits\": {\"amount\": 100, \"refill\": \"month\", "
        + "\"costs\": {\"write\": 5}}}");
    call(HttpMethod.POST, "/plans", 400, "{\"name\": \"bad-credits\", \"credits\": {\"amount\": 1, \"refill\": \"week\"}}");
    String buyer = call(HttpMethod.POST, "/projects", 201, "{\"name\": \"buyer\"}").bodyAsJsonObject().getString("id");
    call(HttpMethod.POST, "/projects/{id}/subscriptions", 201, "{\"plan\": \"metered\"}", buyer);
    String buyerKey = call(HttpMethod.POST, "/projects/{id}/keys", 201, "{}", buyer).bodyAsJsonObject().getString("key");
    assertThat(call(HttpMethod.POST, "/projects/{id}/credits", 201, "{\"amount\": 25}", buyer).bodyAsJsonObject().getString("plan"))
        .isEqualTo("metered");
    call(HttpMethod.POST, "/projects/{id}/credits", 400, "{\"amount\": 0}", buyer);
    call(HttpMethod.POST, "/projects/{id}/credits", 400, "{\"amount\": 5}", project);
    call(HttpMethod.POST, "/projects/{id}/credits", 404, "{\"amount\": 5}", "prj_nosuch");
    JsonObject credits = call(HttpMethod.POST, "/verify", 200, new JsonObject().put("key", buyerKey).put("service", "api").encode())
        .bodyAsJsonObject().getJsonObject("credits");
    assertThat(credits.getLong("balance")).isEqualTo(125);

    // usage: reported events, then read back by hour and by day
    String now = Instant.now().toString();
    String event = new JsonObject().put("request_id", "r-1").put("time", now).put("project", project).put("service", "api")
        .put("status", 200).put("latency_ms", 12).put("bytes_in", 10).put("bytes_out", 200).encode();
    call(HttpMethod.POST, "/usage/events", 202, "{\"events\": [" + event + "]}");
    call(HttpMethod.POST, "/usage/events", 400, "{\"events\": []}");
    JsonObject usage = call(HttpMethod.GET, "/projects/{id}/usage", 200, null, project).bodyAsJsonObject();
    assertThat(usage.getLong("total")).isEqualTo(1);
    call(HttpMethod.GET, "/projects/{id}/usage?granularity=day", 200, null, project);
    call(HttpMethod.GET, "/projects/{id}/usage?granularity=week", 400, null, project);
    // per route class: an event of a request a route of class "read" took
    String classed = new JsonObject().put("request_id", "r-2").put("time", now).put("project", project).put("service", "api")
        .put("status", 429).put("latency_ms", 1).put("bytes_in", 0).put("bytes_out", 80).put("route_class", "read").encode();
    call(HttpMethod.POST, "/usage/events", 202, "{\"events\": [" + classed + "]}");
    JsonObject byClass = call(HttpMethod.GET, "/projects/{id}/usage?by=route_class", 200, null, project).bodyAsJsonObject();
    assertThat(byClass.getJsonArray("rows").getJsonObject(0).getString("route_class")).isEqualTo("read");
    assertThat(byClass.getJsonArray("rows").getJsonObject(0).getLong("limited")).isEqualTo(1);
    call(HttpMethod.GET, "/projects/{id}/usage?by=plan", 400, null, project);
    call(HttpMethod.DELETE, "/keys/{id}", 204, null, key.getString("id"));
    call(HttpMethod.DELETE, "/keys/{id}", 404, null, "key_nosuch");

    // certificates and ACME (this node has no ACME directory: 404 with the error shape)
    Path[] pair = TestCertificates.selfSigned(spec.dir(), "api.test");
    String certificate = new JsonObject().put("cert", Files.readString(pair[0])).put("key", Files.readString(pair[1])).encode();
    call(HttpMethod.PUT, "/certificates/{name}", 200, certificate, "api");
    call(HttpMethod.PUT, "/certificates/{name}", 400, certificate, "Bad_Name");
    call(HttpMethod.GET, "/certificates", 200, null);
    call(HttpMethod.DELETE, "/certificates/{name}", 200, null, "api");
    call(HttpMethod.DELETE, "/certificates/{name}", 404, null, "api");
    call(HttpMethod.POST, "/acme/renew", 404, null);

    Set<String> described = new TreeSet<>();
    contract.operations().forEach(o -> described.add(o.getHttpMethod().name() + " " + o.getOpenAPIPath()));
    assertThat(validated).as("operations with a validated answer").isEqualTo(described);
  }
}
