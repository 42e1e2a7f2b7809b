package io.ceiba.testkit;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP backend on a free loopback port. Every answer names the origin ({@code x-origin}) and
 * echoes what it received (method, path, protocol version, headers, body size) as JSON; it speaks HTTP/1.1
 * and HTTP/2 over cleartext with prior knowledge ({@link #h2cUrl()}); {@code /healthz} answers 200 or
 * 503 as the test decides and remembers the protocol of the last check; {@code n} in the echo numbers the
 * requests, {@code body_sha256} is the hex SHA-256 of the body received, {@code ?set-<header>=value} adds a response
 * header, {@code ?bytes=N} answers N zero bytes instead and {@code ?pattern=N} N bytes of {@link #pattern(int)}; {@code /slow} never answers; {@code /delay} answers after 800 ms; {@code /sse} streams three events;
 * {@code /sse-held} sends its first event and holds the other two until the test calls {@link #releaseHeldEvents()}
 * (so a test can see the first event reach the client before the origin sent the last); WebSocket
 * upgrades echo every frame.
 */
public final class Origin implements AutoCloseable {

  private final Vertx vertx;
  private final String name;
  private final HttpServer server;
  private final AtomicBoolean healthy = new AtomicBoolean(true);
  /** Set: every request but health checks has its connection closed without an answer. */
  private final AtomicBoolean dropping = new AtomicBoolean();
  private final AtomicInteger requests = new AtomicInteger();
  /** What each /sse-held stream does when released: send its last two events and end. */
  private final java.util.Queue<Runnable> held = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final java.util.concurrent.atomic.AtomicReference<io.vertx.core.http.HttpVersion> lastCheckVersion =
      new java.util.concurrent.atomic.AtomicReference<>();

  private Origin(Vertx vertx, String name, HttpServer server) {
    this.vertx = vertx;
    this.name = name;
    this.server = server;
  }

  public static Origin start(Vertx vertx, String name) throws Exception {
    return start(vertx, name, 0);
  }

  public static Origin start(Vertx vertx, String name, int port) throws Exception {
    Origin[] self = new Origin[1];
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port).setHttp2ClearTextEnabled(true))
        .webSocketHandler(ws -> ws.handler(ws::write))
        .requestHandler(req -> self[0].handle(req));
    self[0] = new Origin(vertx, name, server);
    server.listen().await(10, TimeUnit.SECONDS);
    return self[0];
  }

  private void handle(io.vertx.core.http.HttpServerRequest req) {
    var response = req.response().putHeader("x-origin", name);
    if (req.path().equals("/healthz")) {
      lastCheckVersion.set(req.version());
      response.setStatusCode(healthy.get() ? 200 : 503).end();
      return;
    }
    int count = requests.incrementAndGet();
    if (dropping.get()) {
      req.connection().close();
      return;
    }
    switch (req.path()) {
      case "/slow" -> { } // never answers: the edge's upstream timeout must
      case "/delay" -> vertx.setTimer(800, t -> response.end("late but whole"));
      case "/sse" -> {
        response.setChunked(true).putHeader("content-type", "text/event-stream");
        long[] n = {0};
        vertx.setPeriodic(50, id -> {
          response.write("data: event-" + n[0]++ + "\n\n");
          if (n[0] == 3) {
            vertx.cancelTimer(id);
            response.end();
          }
        });
      }
      case "/sse-held" -> {
        response.setChunked(true).putHeader("content-type", "text/event-stream").write("data: event-0\n\n");
        io.vertx.core.Context context = vertx.getOrCreateContext();
        held.add(() -> context.runOnContext(v -> response.write("data: event-1\n\n").onSuccess(w -> response.end("data: event-2\n\n"))));
      }
      default -> req.body().onSuccess(body -> {
        // ?set-cache-control=no-store sets a response header; ?bytes=N answers N zero bytes instead of the echo
        req.params().forEach((name, value) -> {
          if (name.startsWith("set-")) {
            response.headers().add(name.substring(4), value);
          }
        });
        String bytes = req.getParam("bytes");
        if (bytes != null) {
          response.end(io.vertx.core.buffer.Buffer.buffer(new byte[Integer.parseInt(bytes)]));
          return;
        }
        String pattern = req.getParam("pattern");
        if (pattern != null) {
          response.end(io.vertx.core.buffer.Buffer.buffer(pattern(Integer.parseInt(pattern))));
          return;
        }
        JsonObject headers = new JsonObject();
        req.headers().forEach(e -> headers.put(e.getKey().toLowerCase(), e.getValue()));
        response.putHeader("content-type", "application/json").end(new JsonObject()
            .put("origin", name).put("n", count).put("method", req.method().name()).put("uri", req.uri()).put("version", req.version().name())
            .put("authority", req.authority() == null ? null : req.authority().toString())
            .put("headers", headers).put("body_bytes", body.length()).put("body_sha256", sha256(body.getBytes())).encode());
      });
    }
  }

  public String name() {
    return name;
  }

  /** {@code n} bytes where byte {@code i} is {@code i % 251}: a lost, repeated or reordered chunk shows. */
  public static byte[] pattern(int n) {
    byte[] bytes = new byte[n];
    for (int i = 0; i < n; i++) {
      bytes[i] = (byte) (i % 251);
    }
    return bytes;
  }

  /** Hex SHA-256 of {@code bytes}. */
  public static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public int port() {
    return server.actualPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  /** The same server as an {@code h2c://} backend. */
  public String h2cUrl() {
    return "h2c://127.0.0.1:" + port();
  }

  /** Protocol of the last {@code /healthz} request, null before the first. */
  public io.vertx.core.http.HttpVersion lastCheckVersion() {
    return lastCheckVersion.get();
  }

  /** From now on, requests (health checks aside) get their connection closed before any answer, or again answered. */
  public void dropRequests(boolean drop) {
    dropping.set(drop);
  }

  public void healthy(boolean up) {
    healthy.set(up);
  }

  /** The /sse-held streams that have sent their first event and wait. */
  public int heldStreams() {
    return held.size();
  }

  /** Lets every waiting /sse-held stream send its last two events and end; returns how many there were. */
  public int releaseHeldEvents() {
    int released = 0;
    for (Runnable rest; (rest = held.poll()) != null; released++) {
      rest.run();
    }
    return released;
  }

  public int requests() {
    return requests.get();
  }

  @Override
  public void close() throws Exception {
    server.close().await(10, TimeUnit.SECONDS);
  }
}
