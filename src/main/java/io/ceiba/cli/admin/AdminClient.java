package io.ceiba.cli.admin;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A blocking client of one control node's {@code /v1} API (a command line waits anyway): the bearer token on every
 * request, JSON answers, a refusal or an unreachable server as an exception the command turns into an exit code.
 */
public final class AdminClient {

  /** How long one request may take; a registry distribution waits up to 5 s per node, a rollback as long. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  private final String server;
  private final String token;
  // HttpClient is not AutoCloseable on Java 17; its threads end with the command
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();

  AdminClient(String server, String token) {
    this.server = server.replaceAll("/+$", "");
    this.token = token;
  }

  String server() {
    return server;
  }

  String token() {
    return token;
  }

  /** The answer of the API: its status and body. */
  record Reply(int status, String body) {

    /** The body as JSON; an empty body is an empty object. */
    JsonObject json() {
      if (body.isBlank()) {
        return new JsonObject();
      }
      try {
        return new JsonObject(body);
      } catch (DecodeException e) {
        throw new Refused(status, "not_json", "the server answered something that is not a JSON object: " + clip(body), null);
      }
    }
  }

  /** The API answered with an error ({@code {"error": {"code", "message"}}}) or an unexpected status. */
  static final class Refused extends RuntimeException {
    final int status;
    final String code;
    final String body;

    Refused(int status, String code, String message, String body) {
      super(message);
      this.status = status;
      this.code = code;
      this.body = body;
    }
  }

  /** The server could not be reached or did not answer in time. */
  static final class Unreachable extends RuntimeException {
    Unreachable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  JsonObject get(String path) {
    return expect(send("GET", path, null, null), 200).json();
  }

  /** Sends a JSON body and expects {@code status}. */
  JsonObject send(String method, String path, JsonObject body, int status) {
    return expect(send(method, path, body == null ? null : body.encode(), "application/json"), status).json();
  }

  Reply send(String method, String path, String body, String contentType) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server + path))
        .timeout(REQUEST_TIMEOUT)
        .header("Authorization", "Bearer " + token)
        .header("Accept", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    try {
      HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(response.statusCode(), response.body());
    } catch (IOException e) {
      String why = e instanceof java.net.ConnectException ? "connection refused"
          : e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
      throw new Unreachable("cannot reach " + server + ": " + why, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unreachable("interrupted while waiting for " + server, e);
    }
  }

  /** The reply when its status is {@code status}; else a {@link Refused} with the error's code and message. */
  static Reply expect(Reply reply, int status) {
    if (reply.status() == status) {
      return reply;
    }
    String code = "http_" + reply.status();
    String message = clip(reply.body());
    try {
      JsonObject error = new JsonObject(reply.body()).getJsonObject("error");
      if (error != null) {
        code = error.getString("code", code);
        message = error.getString("message", message);
        if (error.containsKey("problems")) {
          StringBuilder all = new StringBuilder(message);
          error.getJsonArray("problems").forEach(p -> all.append("\n  ").append(problem((JsonObject) p)));
          message = all.toString();
        }
      }
    } catch (DecodeException | ClassCastException e) {
      // not the API's error shape (a proxy in between?): the status and the start of the body say enough
    }
    throw new Refused(reply.status(), code, message, reply.body());
  }

  private static String problem(JsonObject p) {
    return p.getString("file", "") + ":" + p.getValue("line", "") + ": " + p.getString("field", "") + ": " + p.getString("reason", "");
  }

  private static String clip(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "…" : s;
  }
}
