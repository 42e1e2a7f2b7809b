package io.ceiba.access.auth;

import io.ceiba.access.ApiKeys;
import io.ceiba.access.store.AccessStore;
import io.ceiba.bus.Addresses;
import io.ceiba.node.NodeContext;
import io.ceiba.store.redis.RedisService;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.security.MessageDigest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code auth} role: answers key lookups for every edge of the cluster on {@link Addresses#AUTH_LOOKUP}.
 * Redis caches records for {@link #REDIS_TTL_SECONDS} (found and not found); a miss or a Redis error
 * falls through to Postgres, the source of truth. Postgres down and no cache: the lookup fails with 503
 * and the edge applies the service's {@code on_unavailable} posture.
 */
public final class AuthVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(AuthVerticle.class);
  static final int REDIS_TTL_SECONDS = 30;
  private static final java.util.regex.Pattern HASH = java.util.regex.Pattern.compile("[0-9a-f]{64}");
  /** Prefix of the Redis key cache; the control API deletes entries under it when keys change. */
  public static final String REDIS_KEY_PREFIX = "ceiba:key:";

  private final NodeContext node;
  private AccessStore store;
  private RedisService redis;
  private MessageConsumer<String> consumer;

  public AuthVerticle(NodeContext node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    store = new AccessStore(node.postgres().pool());
    redis = node.redis();
    consumer = vertx.eventBus().consumer(Addresses.AUTH_LOOKUP, this::lookup);
    return consumer.completion();
  }

  private void lookup(Message<String> message) {
    String hash = message.body();
    if (hash == null || !HASH.matcher(hash).matches()) {
      message.fail(400, "expected a SHA-256 key hash in hex");
      return;
    }
    fromRedis(hash)
        .compose(cached -> cached != null ? Future.succeededFuture(cached) : fromPostgres(hash))
        .onSuccess(message::reply)
        .onFailure(e -> message.fail(503, "key store unavailable: " + e.getMessage()));
  }

  /** The cached answer, or null on a miss, when Redis is down or when the entry cannot be read. */
  private Future<JsonObject> fromRedis(String hash) {
    if (!redis.available()) {
      return Future.succeededFuture(null);
    }
    return redis.send(Request.cmd(Command.GET).arg(REDIS_KEY_PREFIX + hash))
        .map(response -> {
          if (response == null) {
            return null;
          }
          JsonObject cached = new JsonObject(response.toString());
          // an entry counts only for the hash it was written for (constant-time comparison)
          String stored = cached.getString("hash", "");
          return stored.length() == hash.length() && MessageDigest.isEqual(ApiKeys.fromHex(stored), ApiKeys.fromHex(hash)) ? cached : null;
        })
        .otherwise(e -> null);
  }

  private Future<JsonObject> fromPostgres(String hash) {
    return store.lookup(ApiKeys.fromHex(hash)).map(record -> {
      JsonObject answer = (record == null ? new JsonObject().put("found", false)
          : new JsonObject().put("found", true).put("key", record.toJson())).put("hash", hash);
      if (redis.available()) {
        redis.send(Request.cmd(Command.SET).arg(REDIS_KEY_PREFIX + hash).arg(answer.encode()).arg("EX").arg(REDIS_TTL_SECONDS))
            .onFailure(e -> LOG.debug("key cache write failed: {}", e.getMessage()));
      }
      return answer;
    });
  }

  @Override
  public Future<?> stop() {
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }
}
