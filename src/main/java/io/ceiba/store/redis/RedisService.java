package io.ceiba.store.redis;

import io.ceiba.bus.Contexts;
import io.ceiba.config.RedisConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis as Ceiba uses it: a cache and counter store that may vanish at any time. Every command has a
 * short timeout; a failure opens a breaker for {@link #BREAKER_MS} so callers go straight to their
 * fallback (per-node counters, Postgres) instead of each waiting for a timeout, and a ping every
 * second closes it again once Redis answers. Thread-safe: the client is made to be shared; the breaker
 * state is volatile. Futures complete on the caller's context.
 */
public final class RedisService {

  private static final Logger LOG = LoggerFactory.getLogger(RedisService.class);
  /** Longest wait for any command: the hot path waits on Redis only when a local lease ran out. */
  public static final long COMMAND_TIMEOUT_MS = 250;
  static final long BREAKER_MS = 5000;
  static final long PING_INTERVAL_MS = 1000;

  private final Vertx vertx;
  private final Redis client;
  private final String displayUrl;
  private volatile long downUntilNanos;
  private volatile boolean up;
  private volatile String lastError = "not connected yet";
  private long pingTimer = -1;

  private RedisService(Vertx vertx, RedisConfig config) {
    this.vertx = vertx;
    this.displayUrl = config == null ? "" : config.toString();
    this.client = config == null || !config.enabled() ? null : Redis.createClient(vertx, new RedisOptions()
        .setConnectionString(config.url())
        .setMaxPoolSize(8)
        .setMaxPoolWaiting(1024)
        .setMaxWaitingHandlers(4096)
        .setNetClientOptions(new NetClientOptions().setConnectTimeout(1000).setTcpNoDelay(true).setTcpKeepAlive(true)));
  }

  /** A service for {@code config}; with an empty URL it is permanently unavailable and says so. */
  public static RedisService create(Vertx vertx, RedisConfig config, MeterRegistry meters) {
    RedisService service = new RedisService(vertx, config);
    Gauge.builder("ceiba.redis.up", service, s -> s.available() ? 1 : 0)
        .description("1 while Redis answers; 0 while absent or down (counters are per node then)").register(meters);
    if (service.configured()) {
      service.pingTimer = vertx.setPeriodic(1, PING_INTERVAL_MS, t -> service.ping());
    }
    return service;
  }

  public boolean configured() {
    return client != null;
  }

  /** Whether callers should use Redis now: configured, and no failure within the last {@link #BREAKER_MS}. */
  public boolean available() {
    return client != null && up && System.nanoTime() - downUntilNanos >= 0;
  }

  /** Sends one command, bounded by {@link #COMMAND_TIMEOUT_MS}; any failure opens the breaker. */
  public Future<Response> send(Request request) {
    if (client == null) {
      return Future.failedFuture("redis is not configured");
    }
    Context caller = vertx.getOrCreateContext();
    Future<Response> sent = client.send(request).timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .onFailure(e -> {
          if (!String.valueOf(e.getMessage()).startsWith("NOSCRIPT")) {
            markDown(e);
          }
        });
    return Contexts.onContext(caller, sent);
  }

  private void ping() {
    client.send(Request.cmd(Command.PING)).timeout(COMMAND_TIMEOUT_MS * 4, TimeUnit.MILLISECONDS).onComplete(ar -> {
      if (ar.succeeded()) {
        if (!up) {
          LOG.info("redis {} is up", displayUrl);
        }
        up = true;
      } else {
        markDown(ar.cause());
      }
    });
  }

  private void markDown(Throwable cause) {
    String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    if (up || !reason.equals(lastError)) {
      LOG.warn("redis {} unavailable, counting per node for at least {} s: {}", displayUrl, BREAKER_MS / 1000, reason);
    }
    lastError = reason;
    up = false;
    downUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BREAKER_MS);
  }

  /**
   * Adds {@code redis} to {@code /ready}. It never fails readiness: without Redis a node still serves,
   * with per-node counters, and the check says {@code degraded} so operators see it.
   */
  public void registerReadiness(HealthChecks checks) {
    checks.register("redis", promise -> {
      JsonObject data = new JsonObject().put("configured", configured());
      if (!configured()) {
        data.put("degraded", true).put("counters", "per-node").put("reason", "no redis.url configured");
      } else if (available()) {
        data.put("degraded", false).put("counters", "cluster-wide");
      } else {
        data.put("degraded", true).put("counters", "per-node").put("reason", lastError);
      }
      promise.complete(Status.OK(data));
    });
  }

  public Future<Void> close() {
    vertx.cancelTimer(pingTimer);
    return client == null ? Future.succeededFuture() : client.close();
  }

  @Override
  public String toString() {
    return "RedisService[" + displayUrl + "]";
  }
}
