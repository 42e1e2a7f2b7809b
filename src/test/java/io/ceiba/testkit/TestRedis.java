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
