package io.ceiba.testkit;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.function.Supplier;

/** Polls an asynchronous condition on a Vert.x timer (never sleeps) until it holds or time runs out. */
public final class Eventually {

  private static final long POLL_MS = 50;

  private Eventually() {
  }

  /**
   * @return a future that succeeds with the elapsed time when {@code check} first yields true, or fails
   *     after {@code timeout} with {@code what} and the last failure seen
   */
  public static Future<Duration> until(Vertx vertx, Duration timeout, String what, Supplier<Future<Boolean>> check) {
    Promise<Duration> promise = Promise.promise();
    long start = System.nanoTime();
    poll(vertx, start, timeout, what, check, promise, null);
    return promise.future();
  }

  private static void poll(Vertx vertx, long start, Duration timeout, String what, Supplier<Future<Boolean>> check,
      Promise<Duration> promise, Throwable lastFailure) {
    check.get().onComplete(ar -> {
      Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
      if (ar.succeeded() && Boolean.TRUE.equals(ar.result())) {
        promise.complete(elapsed);
      } else if (elapsed.compareTo(timeout) > 0) {
        Throwable cause = ar.failed() ? ar.cause() : lastFailure;
        promise.fail(new AssertionError("not true within " + timeout.toMillis() + " ms: " + what
            + (cause == null ? "" : " (last error: " + cause.getMessage() + ")")));
      } else {
        vertx.setTimer(POLL_MS, t -> poll(vertx, start, timeout, what, check, promise, ar.failed() ? ar.cause() : lastFailure));
      }
    });
  }
}
