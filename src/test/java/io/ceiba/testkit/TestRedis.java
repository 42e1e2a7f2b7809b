package io.ceiba.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import redis.embedded.RedisServer;

/**
 * A real Redis server (6.2, shipped inside the embedded-redis test artifact) on a free loopback port,
 * without persistence. Tests stop and start it to see Ceiba ride out a Redis outage.
 */
public final class TestRedis implements AutoCloseable {

  private final int port;
  private RedisServer server;

  private TestRedis(int port) {
    this.port = port;
  }

  /**
   * A node's {@link io.ceiba.store.redis.RedisService} for {@code url} ({@code ""}: none configured), once it reports
   * Redis available.
   */
  public static io.ceiba.store.redis.RedisService connected(io.vertx.core.Vertx vertx, String url) throws Exception {
    io.ceiba.store.redis.RedisService service = io.ceiba.store.redis.RedisService.create(vertx, new io.ceiba.config.RedisConfig(url),
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    if (!url.isEmpty()) {
      Eventually.until(vertx, java.time.Duration.ofSeconds(10), "redis " + url + " available",
          () -> io.vertx.core.Future.succeededFuture(service.available())).await(15, java.util.concurrent.TimeUnit.SECONDS);
    }
    return service;
  }

  public static TestRedis start() {
    TestRedis redis = new TestRedis(Ports.free());
    redis.startAgain();
    return redis;
  }

  /** Starts (again) on the same port, empty. */
  public synchronized void startAgain() {
    try {
      server = RedisServer.newRedisServer().port(port).bind("127.0.0.1")
          .setting("save \"\"").setting("appendonly no").build();
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("embedded redis did not start on " + port, e);
    }
  }

  public synchronized void stop() {
    if (server != null) {
      try {
        server.stop();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      server = null;
    }
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  @Override
  public void close() {
    stop();
  }
}
