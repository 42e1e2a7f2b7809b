package io.ceiba.error;

import io.vertx.core.Future;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.ceiba.yaml.Problem;
import java.util.List;

/**
 * Renders every error the same way, here and on the control API:
 * {@code {"error": {"code": "...", "message": "...", "request_id": "..."}}}.
 */
public final class ErrorResponses {

  private ErrorResponses() {
  }

  public static JsonObject body(ErrorCode code, String message, String requestId, JsonObject details) {
    JsonObject error = new JsonObject().put("code", code.code()).put("message", message);
    if (requestId != null) {
      error.put("request_id", requestId);
    }
    if (details != null) {
      error.mergeIn(details);
    }
    return new JsonObject().put("error", error);
  }

  public static Future<Void> send(HttpServerResponse response, ErrorCode code, String message, String requestId) {
    return send(response, code, message, requestId, null);
  }

  public static Future<Void> send(HttpServerResponse response, ErrorCode code, String message, String requestId, JsonObject details) {
    if (response.headWritten()) {
      // too late for a status; cut the exchange so the client does not take a partial body as complete
      response.reset();
      return Future.succeededFuture();
    }
    return response.setStatusCode(code.status())
        .putHeader("content-type", "application/json")
        .end(body(code, message, requestId, details).encode());
  }

  /** Document problems as JSON, for the {@code problems} field of an {@code invalid_registry} error. */
  public static JsonArray problems(List<Problem> problems) {
    JsonArray out = new JsonArray();
    for (Problem p : problems) {
      out.add(new JsonObject().put("file", p.file()).put("line", p.line()).put("field", p.field()).put("reason", p.reason()));
    }
    return out;
  }

  public static Future<Void> send(HttpServerResponse response, CeibaException e, String requestId) {
    return send(response, e.code(), e.getMessage(), requestId, e.details());
  }
}
