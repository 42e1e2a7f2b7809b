package io.ceiba.testkit;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Talks to one node's control server like an operator's curl would. */
public final class ControlClient {

  private final WebClient client;
  private final io.vertx.core.Context context;
  private final int port;
  private final String token;

  public ControlClient(Vertx vertx, int port, String token) {
    this.client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
    this.context = vertx.getOrCreateContext();
    this.port = port;
    this.token = token;
  }

  public int port() {
    return port;
  }

  public Future<HttpResponse<Buffer>> get(String path) {
    return send(HttpMethod.GET, path, null);
  }

  public Future<HttpResponse<Buffer>> send(HttpMethod method, String path, String body) {
    return send(method, path, body, "application/yaml");
  }

  public Future<HttpResponse<Buffer>> send(HttpMethod method, String path, String body, String contentType) {
    return OnContext.call(context, () -> {
      var request = client.request(method, path);
      if (token != null && path.startsWith("/v1")) {
        request.putHeader("authorization", "Bearer " + token);
      }
      return body == null ? request.send() : request.putHeader("content-type", contentType).sendBuffer(Buffer.buffer(body));
    });
  }

  public Future<JsonObject> json(String path) {
    return get(path).map(r -> {
      if (r.statusCode() != 200) {
        throw new AssertionError(path + " answered " + r.statusCode() + ": " + r.bodyAsString());
      }
      return r.bodyAsJsonObject();
    });
  }

  /** POSTs a JSON body and expects {@code 201}: the created resource. */
  public Future<JsonObject> create(String path, String json) {
    return send(HttpMethod.POST, path, json, "application/json").map(r -> {
      if (r.statusCode() != 201) {
        throw new AssertionError("POST " + path + " answered " + r.statusCode() + ": " + r.bodyAsString());
      }
      return r.bodyAsJsonObject();
    });
  }

  /** A project and the one API key it was given, made over the {@code /v1} API. */
  public record KeyedProject(String id, String key) {
  }

  public Future<KeyedProject> newProjectWithKey(String name) {
    return create("/v1/projects", new JsonObject().put("name", name).encode())
        .compose(project -> create("/v1/projects/" + project.getString("id") + "/keys", "{\"name\": \"k\"}")
            .map(key -> new KeyedProject(project.getString("id"), key.getString("key"))));
  }

  /** The {@code total} of {@code GET /v1/projects/{id}/usage} over the last two hours: what a test's requests add up to. */
  public Future<Long> usageTotal(String projectId) {
    String from = Instant.now().minus(2, ChronoUnit.HOURS).toString();
    return json("/v1/projects/" + projectId + "/usage?from=" + from + "&granularity=hour").map(usage -> usage.getLong("total"));
  }

  /** The sum of every series of {@code name} on {@code /metrics} (0 when there is none). */
  public Future<Double> metric(String name) {
    Pattern series = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? (\\S+)$");
    return get("/metrics").map(r -> {
      Matcher m = series.matcher(r.bodyAsString());
      double sum = 0;
      while (m.find()) {
        sum += Double.parseDouble(m.group(1));
      }
      return sum;
    });
  }

  /** The check {@code id} of {@code /ready} ({@code {id, status, data}}), whatever the overall status; fails when absent. */
  public Future<JsonObject> readyCheck(String id) {
    return get("/ready").map(r -> r.bodyAsJsonObject().getJsonArray("checks").stream().map(JsonObject.class::cast)
        .filter(check -> id.equals(check.getString("id"))).findFirst()
        .orElseThrow(() -> new AssertionError("no check '" + id + "' on /ready: " + r.bodyAsString())));
  }

  public void close() {
    client.close();
  }
}
