package io.ceiba.it;

import io.ceiba.testkit.Registries;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keyed GETs to {@link Registries#KEYED_HOST} from a number of request loops on keep-alive connections, counting 200s
 * and other answers, until the node dies or {@link #stop}. Bounded: a loop ends at its first failure or after 100 000
 * requests. As fast as the node answers, or paced ({@link #paced}): at most a given number of requests a second in all.
 */
final class KeyedLoad {

  private final HttpClient http;
  private final Context context;
  private final String key;
  private final int edgePort;
  private final int connections;
  final AtomicLong ok = new AtomicLong();
  final AtomicLong other = new AtomicLong();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final List<Promise<Void>> loops = new ArrayList<>();
  /** Nanoseconds between two requests of one loop; 0: none. */
  private long loopIntervalNanos;
  private long startNanos;

  KeyedLoad(HttpClient http, Context context, String key, int edgePort, int connections) {
    this.http = http;
    this.context = context;
    this.key = key;
    this.edgePort = edgePort;
    this.connections = connections;
  }

  /** At most {@code perSecond} requests a second from all loops together (a loop that falls behind does not burst). */
  KeyedLoad paced(int perSecond) {
    loopIntervalNanos = 1_000_000_000L * connections / perSecond;
    return this;
  }

  void start() {
    startNanos = System.nanoTime();
    for (int i = 0; i < connections; i++) {
      Promise<Void> done = Promise.promise();
      loops.add(done);
      context.runOnContext(v -> next(done, 0));
    }
  }

  long elapsedMs() {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  private void next(Promise<Void> done, int n) {
    if (stopped.get() || n >= 100_000) {
      done.tryComplete();
      return;
    }
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET)
        .setServer(SocketAddress.inetSocketAddress(edgePort, "127.0.0.1"))
        .setHost(Registries.KEYED_HOST).setPort(edgePort).setURI("/c" + n).putHeader("X-API-Key", key);
    long sentNanos = System.nanoTime();
    http.request(options)
        .compose(req -> req.send())
        .compose(resp -> resp.body().map(body -> resp.statusCode()))
        .onSuccess(status -> {
          (status == 200 ? ok : other).incrementAndGet();
          long waitMs = (loopIntervalNanos - (System.nanoTime() - sentNanos)) / 1_000_000;
          if (waitMs >= 1) {
            context.owner().setTimer(waitMs, t -> next(done, n + 1));
          } else {
            next(done, n + 1);
          }
        })
        .onFailure(e -> done.tryComplete());
  }

  /** Waits until every loop ended and returns the 200s. */
  long stop() throws Exception {
    stopped.set(true);
    Future.join(loops.stream().map(Promise::future).toList()).await(30, TimeUnit.SECONDS);
    return ok.get();
  }

  /** Loops still running (a loop ends at its first failed request). */
  long running() {
    return loops.stream().filter(p -> !p.future().isComplete()).count();
  }
}
