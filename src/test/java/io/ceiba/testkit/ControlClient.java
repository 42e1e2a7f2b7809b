package io.ceiba.testkit;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

/** Talks to one node's control server like an operator's curl would. */
public final class ControlClient {

  private final WebClient client;
  private final int port;
  private final String token;

  public ControlClient(Vertx vertx, int port, String token) {
    this.client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
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
    var request = client.request(method, path);
    if (token != null && path.startsWith("/v1")) {
      request.putHeader("authorization", "Bearer " + token);
    }
    return body == null ? request.send() : request.putHeader("content-type", contentType).sendBuffer(Buffer.buffer(body));
  }

  public Future<JsonObject> json(String path) {
    return get(path).map(r -> {
      if (r.statusCode() != 200) {
        throw new AssertionError(path + " answered " + r.statusCode() + ": " + r.bodyAsString());
      }
      return r.bodyAsJsonObject();
    });
  }

  public void close() {
    client.close();
  }
}
