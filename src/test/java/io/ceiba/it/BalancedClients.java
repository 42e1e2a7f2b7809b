package io.ceiba.it;

import io.ceiba.testkit.ControlClient;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Keep-alive clients in front of a cluster's edges, as a load balancer's pool sends them: each request goes to the
 * first node (in the given order) whose {@code /ready} last answered 200 (polled every 100 ms), on a pooled keep-alive
 * connection; a connection refused before anything was sent goes to the next node, as a load balancer retries a
 * failed connect. Every other outcome that is not a 200 from an origin is a failed request, recorded by method and
 * cause. Bounded: each loop ends when stopped or after {@link #MAX_PER_LOOP} requests.
 */
final class BalancedClients {

  /** One kind of request the loops send in turn. */
  record Call(HttpMethod method, String host, String path, Buffer body) {
  }

  static final int MAX_PER_LOOP = 100_000;
  private static final long READY_POLL_MS = 100;

  private final Vertx vertx;
  private final Context context;
  private final HttpClient http;
  private final List<Integer> edgePorts;
  private final List<ControlClient> controls;
  private final List<Call> calls;
  private final AtomicIntegerArray ready;
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final List<Promise<Void>> loops = new ArrayList<>();
  private long readyTimer = -1;

  final AtomicLong sent = new AtomicLong();
  final AtomicLong ok = new AtomicLong();
  /** Connects refused before anything was sent, each tried on the next node. */
  final AtomicLong refusedConnects = new AtomicLong();
  /** 200s that said {@code Connection: close}: a draining node sent the client elsewhere. */
  final AtomicLong closeAnswers = new AtomicLong();
  /** Failed requests by {@code METHOD cause} (a status and error code, or an exception). */
  final Map<String, LongAdder> failures = new ConcurrentHashMap<>();

  BalancedClients(Vertx vertx, List<Integer> edgePorts, List<ControlClient> controls, List<Call> calls, int connections) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(2000),
        new PoolOptions().setHttp1MaxSize(connections));
    this.edgePorts = edgePorts;
    this.controls = controls;
    this.calls = calls;
    this.ready = new AtomicIntegerArray(edgePorts.size());
    for (int i = 0; i < edgePorts.size(); i++) {
      ready.set(i, 1);
    }
  }

  /** Starts {@code count} request loops and the readiness poller. */
  void start(int count) {
    for (int i = 0; i < count; i++) {
      loops.add(Promise.promise());
    }
    context.runOnContext(v -> {
      readyTimer = vertx.setPeriodic(READY_POLL_MS, t -> pollReadiness());
      for (int i = 0; i < count; i++) {
        next(loops.get(i), i, 0);
      }
    });
  }

  private void pollReadiness() {
    for (int i = 0; i < controls.size(); i++) {
      int node = i;
      controls.get(i).get("/ready").onComplete(ar -> ready.set(node, ar.succeeded() && ar.result().statusCode() == 200 ? 1 : 0));
    }
  }

  private void next(Promise<Void> done, int loop, int n) {
    if (stopped.get() || n >= MAX_PER_LOOP) {
      done.tryComplete();
      return;
    }
    Call call = calls.get((loop + n) % calls.size());
    sent.incrementAndGet();
    send(call, firstReady(), 0).onComplete(ar -> {
      if (ar.succeeded()) {
        ok.incrementAndGet();
      } else {
        failures.computeIfAbsent(call.method() + " " + call.host() + " " + ar.cause().getMessage(), k -> new LongAdder()).increment();
      }
      next(done, loop, n + 1);
    });
  }

  private int firstReady() {
    for (int i = 0; i < ready.length(); i++) {
      if (ready.get(i) == 1) {
        return i;
      }
    }
    return 0;
  }

  /** Sends {@code call} to node {@code node}; a refused connect moves on to the next node, up to every node once. */
  private Future<Void> send(Call call, int node, int tried) {
    int port = edgePorts.get(node);
    RequestOptions options = new RequestOptions().setMethod(call.method())
        .setServer(SocketAddress.inetSocketAddress(port, "127.0.0.1")).setHost(call.host()).setPort(port).setURI(call.path())
        .setTimeout(30_000);
    return http.request(options).transform(connected -> {
      if (connected.failed()) {
        if (connected.cause() instanceof ConnectException && tried + 1 < edgePorts.size()) {
          refusedConnects.incrementAndGet();
          return send(call, (node + 1) % edgePorts.size(), tried + 1);
        }
        return Future.failedFuture("connect: " + connected.cause());
      }
      return (call.body() == null ? connected.result().send() : connected.result().send(call.body()))
          .compose(response -> response.body().map(body -> {
            if ("close".equalsIgnoreCase(response.getHeader("connection"))) {
              closeAnswers.incrementAndGet();
            }
            if (response.statusCode() != 200 || response.getHeader("x-origin") == null) {
              throw new IllegalStateException(response.statusCode() + " " + errorCode(body) + " from " + response.getHeader("x-ceiba-node"));
            }
            return (Void) null;
          }), e -> Future.failedFuture(e.getClass().getSimpleName() + ": " + e.getMessage()));
    });
  }

  private static String errorCode(Buffer body) {
    try {
      return new JsonObject(body).getJsonObject("error").getString("code");
    } catch (RuntimeException e) {
      return body.length() > 80 ? body.getString(0, 80) : body.toString();
    }
  }

  /** Ends every loop after its request in flight, and the poller. */
  void stop() throws Exception {
    stopped.set(true);
    context.runOnContext(v -> vertx.cancelTimer(readyTimer));
    Future.join(loops.stream().map(Promise::future).toList()).await(60, TimeUnit.SECONDS);
    http.close().await(10, TimeUnit.SECONDS);
  }

  long failed() {
    return failures.values().stream().mapToLong(LongAdder::sum).sum();
  }

  /** Failures in a stable order, for a message. */
  Map<String, Long> failureCounts() {
    Map<String, Long> out = new TreeMap<>();
    failures.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  String summary() {
    return String.format("%d sent, %d ok, %d failed %s, %d refused connects tried on the next node, %d answers with Connection: close",
        sent.get(), ok.get(), failed(), failureCounts(), refusedConnects.get(), closeAnswers.get());
  }
}
