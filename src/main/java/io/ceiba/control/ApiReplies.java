package io.ceiba.control;

import io.ceiba.error.CeibaException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/** How the {@code /v1} handlers answer: a JSON body with a status, or a failure for the API's failure handler. */
final class ApiReplies {

  private ApiReplies() {
  }

  /** Runs a handler body, turning a validation exception thrown while reading input into a failed future. */
  static <T> Future<T> call(Supplier<Future<T>> body) {
    try {
      return body.get();
    } catch (CeibaException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * Ends the exchange with {@code status} and the JSON result, or fails it with what {@code failure} makes of the
   * error (each API decides which store failures are worth a retry, 503, and which are bugs).
   */
  static void send(RoutingContext ctx, int status, Future<JsonObject> result, UnaryOperator<Throwable> failure) {
    result.onSuccess(json -> ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(json.encode()))
        .onFailure(e -> ctx.fail(failure.apply(e)));
  }
}
