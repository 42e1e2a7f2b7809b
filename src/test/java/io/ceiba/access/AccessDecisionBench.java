package io.ceiba.access;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.access.limit.Limiter;
import io.ceiba.access.limit.QuotaLedger;
import io.ceiba.bus.Addresses;
import io.ceiba.config.RedisConfig;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.RegistryParser;
import io.ceiba.store.redis.RedisService;
import io.ceiba.testkit.OnContext;
import io.ceiba.testkit.TestRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What deciding one keyed request costs the edge's event loop, in nanoseconds: {@link AccessGate#authorize} for a
 * cached key, with and without a plan that has limits (counted in Redis leases, a real Redis), beside the key's hash
 * alone. Not part of the suite (the name matches neither surefire's nor failsafe's patterns); run it with
 * {@code mvn -o -q test -Dtest=AccessDecisionBench -Dsurefire.failIfNoSpecifiedTests=false} and read the figures in
 * {@code target/surefire-reports/io.ceiba.access.AccessDecisionBench-output.txt}.
 */
class AccessDecisionBench {

  private static final String KEY = "ck_0123456789abcdefghijklmnopqrstuvwxyzABCD";
  private static final SocketAddress CLIENT = SocketAddress.inetSocketAddress(40_000, "127.0.0.1");
  private static final int ROUNDS = 5;
  private static final int CALLS = 400_000;

  @Test
  void decision_cost() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestRedis redis = TestRedis.start()) {
      RedisService store = RedisService.create(vertx, new RedisConfig(redis.url()), new SimpleMeterRegistry());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!store.available()) {
        assertThat(System.nanoTime()).isLessThan(deadline);
        Thread.sleep(20);
      }
      Plan limited = new Plan("limited", new Plan.RateLimit(1_000_000_000L, Duration.ofSeconds(1), 1_000_000_000L),
          new Plan.Quota(1_000_000_000_000L, QuotaPeriod.MONTH), null);
      Plan unlimited = new Plan("unlimited", null, null, null);
      KeyRecord withLimits = record("key_1", limited);
      KeyRecord withoutLimits = record("key_2", unlimited);
      String otherKey = KEY.replace('0', '1');
      vertx.eventBus().<String>consumer(Addresses.AUTH_LOOKUP, msg -> {
        KeyRecord found = msg.body().equals(ApiKeys.hex(ApiKeys.hash(KEY))) ? withLimits : withoutLimits;
        msg.reply(new JsonObject().put("found", true).put("key", found.toJson()));
      });
      SimpleMeterRegistry meters = new SimpleMeterRegistry();
      AccessGate gate = new AccessGate(vertx, new Limiter(vertx, store, () -> 1, QuotaLedger.NONE, meters), true, meters);
      HttpService service = RegistryParser.parse("bench.yaml", """
          version: 1
          http:
            api:
              hosts: [api.local]
              backends: [{ url: "http://127.0.0.1:9" }]
              access: { policy: api-key }
          """).http().get("api");

      for (int round = 1; round <= ROUNDS; round++) {
        double hash = onContext(vertx, () -> {
          long start = System.nanoTime();
          int sink = 0;
          for (int i = 0; i < CALLS; i++) {
            sink += ApiKeys.hex(ApiKeys.hash(KEY)).length();
          }
          return Future.succeededFuture((System.nanoTime() - start) / (double) CALLS + (sink == 0 ? 1 : 0));
        });
        double plain = measure(vertx, gate, service, otherKey);
        double counted = measure(vertx, gate, service, KEY);
        System.out.printf("round %d: SHA-256 + hex %.0f ns; authorize, plan without limits %.0f ns; authorize, rate limit + quota %.0f ns%n",
            round, hash, plain, counted);
      }
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static KeyRecord record(String id, Plan plan) {
    return new KeyRecord(id, "prj_bench", "bench", null, null, List.of(new KeyRecord.Subscription(plan, Instant.EPOCH, null)));
  }

  /** Mean ns per authorize over {@link #CALLS} calls made one after the other on an event loop, as the edge does. */
  private static double measure(Vertx vertx, AccessGate gate, HttpService service, String key) throws Exception {
    return onContext(vertx, () -> {
      Promise<Double> done = Promise.promise();
      long start = System.nanoTime();
      next(gate, service, key, 0, start, done);
      return done.future();
    });
  }

  /** Completed decisions continue in the loop; one that waits for Redis continues when it is answered. */
  private static void next(AccessGate gate, HttpService service, String key, int from, long start, Promise<Double> done) {
    for (int i = from; i < CALLS; i++) {
      Future<Decision> decided = gate.authorize(service, key, CLIENT);
      if (!decided.isComplete()) {
        int resume = i + 1;
        decided.onComplete(ar -> next(gate, service, key, resume, start, done));
        return;
      }
      if (!decided.result().allowed()) {
        done.fail("refused: " + decided.result().reason());
        return;
      }
    }
    done.complete((System.nanoTime() - start) / (double) CALLS);
  }

  private static <T> T onContext(Vertx vertx, java.util.function.Supplier<Future<T>> work) throws Exception {
    return OnContext.call(vertx.getOrCreateContext(), work).await(120, TimeUnit.SECONDS);
  }
}
