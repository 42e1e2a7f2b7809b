package io.ceiba.access.limit;

import io.ceiba.access.Plan;
import io.ceiba.bus.Contexts;
import io.ceiba.store.redis.RedisService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Credit balances for the whole node (thread-safe: no state of its own). Each charge is one atomic script call
 * ({@code redis/credits.lua}): cluster-wide, exact, never below 0, and no database round trip. A balance's Redis key
 * names its period ({@code ceiba:cr:<project>:<plan>:<period start>}), so a refill is a new key seeded with the grant.
 *
 * <p>Redis is not the source of truth: a balance Redis does not hold (a new period, or one lost to a restart or an
 * eviction) is rebuilt as the grant plus the period's top-ups minus the costs its usage events carry
 * ({@link CreditLedger}), and seeded with {@code SET NX}, so the first rebuild wins.
 *
 * <p>Without Redis (none configured, down, or its breaker open) a charge fails: a node counting alone could only
 * guess what the others spend meanwhile, and a balance must never be overspent, so requests that cost credits are
 * refused until Redis answers again (see {@link io.ceiba.access.AccessGate}).
 */
public final class CreditCounter {

  private static final Logger LOG = LoggerFactory.getLogger(CreditCounter.class);
  private static final LuaScript CHARGE = LuaScript.load("/redis/credits.lua");
  private static final LuaScript TOP_UP = LuaScript.load("/redis/credits-topup.lua");
  private static final long MISSING = -1;

  private final Vertx vertx;
  private final RedisService redis;
  private final CreditLedger ledger;
  private final LongSupplier wallMillis;
  private final Counter rebuilt;
  /**
   * Rebuilds under way, by Redis key: the requests that find a balance missing together (a burst right after Redis
   * lost it, on every edge event loop of this node) share one ledger query instead of one each.
   */
  private final Map<String, Future<Long>> rebuilding = new ConcurrentHashMap<>();

  /** Thrown (stackless) when no balance can be charged: Redis is not available. */
  public static final class CreditsUnavailable extends RuntimeException {
    CreditsUnavailable(String message) {
      super(message, null, false, false);
    }
  }

  public CreditCounter(Vertx vertx, RedisService redis, CreditLedger ledger, MeterRegistry meters) {
    this(vertx, redis, ledger, meters, System::currentTimeMillis);
  }

  CreditCounter(Vertx vertx, RedisService redis, CreditLedger ledger, MeterRegistry meters, LongSupplier wallMillis) {
    this.vertx = vertx;
    this.redis = redis;
    this.ledger = ledger;
    this.wallMillis = wallMillis;
    this.rebuilt = Counter.builder("ceiba.credits.balances.rebuilt")
        .description("credit balances missing in Redis (a new period, or lost) and seeded from the grant and the usage ledger")
        .register(meters);
  }

  /** The Redis key of {@code owner}'s balance in the credit period starting {@code periodStart}. */
  public static String key(QuotaOwner owner, Instant periodStart) {
    return "ceiba:cr:" + owner.projectId() + ":" + owner.plan() + ":" + periodStart.getEpochSecond();
  }

  /**
   * Charges {@code cost} to {@code owner}'s balance under {@code credits} ({@code take} false: only looks whether it
   * would be covered, for {@code /v1/verify}). Fails when Redis is not available or the balance cannot be rebuilt.
   */
  public Future<CreditResult> charge(QuotaOwner owner, Plan.Credits credits, long cost, boolean take) {
    if (!redis.available()) {
      return Future.failedFuture(new CreditsUnavailable("redis is not available"));
    }
    Instant now = Instant.ofEpochMilli(wallMillis.getAsLong());
    Instant start = credits.periodStart(now);
    Instant end = credits.periodEnd(now);
    String key = key(owner, start);
    // the Redis client answers on its own context: the caller (an edge's event loop) gets the answer on its own
    return Contexts.onContext(vertx.getOrCreateContext(), run(key, take ? cost : 0, MISSING, end, now)
        .compose(reply -> reply[0] != MISSING ? Future.succeededFuture(reply)
            : rebuildOnce(key, owner, credits, start).compose(seed -> run(key, take ? cost : 0, seed, end, now)))
        .map(reply -> new CreditResult(take ? reply[0] == 1 : cost <= reply[1], cost, reply[1], credits.amount(), end, true)));
  }

  /**
   * Adds a stored top-up to the balance Redis holds for the period holding {@code at}; the new balance, or null when
   * Redis holds none (the next charge rebuilds it from the ledger, which has the top-up) or cannot be reached.
   */
  public Future<Long> topUp(QuotaOwner owner, Plan.Credits credits, long amount, Instant at) {
    if (!redis.available()) {
      return Future.succeededFuture(null);
    }
    return Contexts.onContext(vertx.getOrCreateContext(), TOP_UP.run(redis, 1, key(owner, credits.periodStart(at)), amount)
        .map(r -> r.toLong() < 0 ? (Long) null : r.toLong())
        .otherwise(e -> {
          LOG.warn("top-up of {} stored but not added in Redis ({}); it counts once the balance is rebuilt from the ledger",
              owner, e.getMessage());
          return null;
        }));
  }

  /** {charged (1) / refused (0) / missing (-1), balance}. */
  private Future<long[]> run(String key, long cost, long seed, Instant end, Instant now) {
    long ttl = end == null ? 0 : Duration.between(now, end).toMillis() + 3_600_000;
    return CHARGE.run(redis, 1, key, cost, seed, ttl).map(r -> new long[] {r.get(0).toLong(), r.get(1).toLong()});
  }

  /** {@link #rebuild}, shared by every charge that asks for the same key while it runs. */
  private Future<Long> rebuildOnce(String key, QuotaOwner owner, Plan.Credits credits, Instant start) {
    Future<Long> shared = rebuilding.computeIfAbsent(key, k -> rebuild(owner, credits, start));
    return shared.onComplete(ar -> rebuilding.remove(key, shared));
  }

  /** The balance from the ledger: the grant plus the period's top-ups minus its costs, never below 0. */
  private Future<Long> rebuild(QuotaOwner owner, Plan.Credits credits, Instant start) {
    return ledger.net(owner, start).map(net -> {
      long balance = Math.max(0, credits.amount() + net);
      rebuilt.increment();
      LOG.info("credit balance of {} not in Redis; seeded from the grant, usage and top-ups since {}: {}", owner, start, balance);
      return balance;
    });
  }
}
