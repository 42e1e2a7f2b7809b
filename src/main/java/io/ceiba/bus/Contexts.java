package io.ceiba.bus;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/** Keeps a verticle's state on its own event loop when a future comes from a node-wide service. */
public final class Contexts {

  private Contexts() {
  }

  /** A future that completes on {@code context}, whatever thread {@code future} completes on. */
  public static <T> Future<T> onContext(Context context, Future<T> future) {
    if (future.isComplete() && Vertx.currentContext() == context) {
      return future;
    }
    Promise<T> promise = Promise.promise();
    future.onComplete(ar -> {
      if (Vertx.currentContext() == context) {
        promise.handle(ar);
      } else {
        context.runOnContext(v -> promise.handle(ar));
      }
    });
    return promise.future();
  }
}
