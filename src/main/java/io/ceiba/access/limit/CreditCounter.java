package io.ceiba.access.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.ceiba.access.Plan;
import io.ceiba.bus.Contexts;
import io.ceiba.store.redis.RedisService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Credit balances for the whole node (thread-safe). With Redis, each charge is one atomic script call
 * ({@code redis/credits.lua}): cluster-wide, exact, never below 0, and no database round trip. A balance's Redis key
 * names its period ({@code ceiba:cr:<project>:<plan>:<period start>}), so a refill is a new key seeded with the grant.
 *
 * <p>Redis is not the source of truth: a balance Redis does not hold (a new period, or one lost to a restart or an
 * eviction) is rebuilt as the grant plus the period's top-ups minus the costs its usage events carry
 * ({@link CreditLedger}), and seeded with {@code SET NX}, so the first rebuild wins.
 *
 * <p>Without Redis each node spends its share of the balance it last learned (from Redis, else from the ledger)
 * divided by the edge nodes in the cluster, so the cluster never spends more than the balance.
 */
public final class CreditCounter {

  private static final Logger LOG = LoggerFactory.getLogger(CreditCounter.class);
  private static final LuaScript CHARGE = LuaScript.load("/redis/credits.lua");
  private static final LuaScript TOP_UP = LuaScript.load("/redis/credits-topup.lua");
  private static final long MISSING = -1;

  private final Vertx vertx;
  private final RedisService redis;
  private final IntSupplier countingNodes;
  private final CreditLedger ledger;
  private final LongSupplier wallMillis;
  /** What this node last learned of each balance, and what it spent alone since (per key of a period). */
  private final Cache<String, Known> known = Caffeine.newBuilder().executor(Runnable::run)
      .maximumSize(100_000).expireAfterAccess(Duration.ofHours(1)).build();
  private final Counter rebuilt;

  /** A balance as last learned, and what this node charged without Redis since; guarded by its monitor. */
  private static final class Known {
    long balance;
    long spentAlone;

    Known(long balance) {
      this.balance = balance;
    }
  }

  public CreditCounter(Vertx vertx, RedisService redis, IntSupplier countingNodes, CreditLedger ledger, MeterRegistry meters) {
    this(vertx, redis, countingNodes, ledger, meters, System::currentTimeMillis);
  }

  CreditCounter(Vertx vertx, RedisService redis, IntSupplier countingNodes, CreditLedger ledger, MeterRegistry meters,
      LongSupplier wallMillis) {
    this.vertx = vertx;
    this.redis = redis;
    this.countingNodes = countingNodes;
    this.ledger = ledger;
    this.wallMillis = wallMillis;
    this.rebuilt = Counter.builder("ceiba.credits.balances.rebuilt")
        .description("credit balances missing in Redis and rebuilt from the usage ledger").register(meters);
  }

  /** The Redis key of {@code owner}'s balance in the credit period starting {@code periodStart}. */
  public static String key(QuotaOwner owner, Instant periodStart) {
    return "ceiba:cr:" + owner.projectId() + ":" + owner.plan() + ":" + periodStart.getEpochSecond();
  }

  /**
   * Charges {@code cost} to {@code owner}'s balance under {@code credits} ({@code take} false: only looks whether it
   * would be covered, for {@code /v1/verify}). Fails only when neither Redis nor the ledger can tell the balance.
   */
  public Future<CreditResult> charge(QuotaOwner owner, Plan.Credits credits, long cost, boolean take) {
    Instant now = Instant.ofEpochMilli(wallMillis.getAsLong());
    Instant start = credits.periodStart(now);
    Instant end = credits.periodEnd(now);
    String key = key(owner, start);
    if (!redis.available()) {
      return alone(key, owner, credits, start, end, cost, take);
    }
    return run(key, take ? cost : 0, MISSING, end, now)
        .compose(reply -> reply[0] != MISSING ? Future.succeededFuture(reply)
            : rebuild(owner, credits, start).compose(seed -> run(key, take ? cost : 0, seed, end, now)))
        .map(reply -> {
          learn(key, reply[1]);
          boolean covered = take ? reply[0] == 1 : cost <= reply[1];
          return new CreditResult(covered, cost, reply[1], credits.amount(), end, true);
        })
        .recover(e -> {
          LOG.debug("credits of {} counted per node: {}", owner, e.getMessage());
          return alone(key, owner, credits, start, end, cost, take);
        });
  }

  /**
   * Adds a stored top-up to the balance Redis holds for the period holding {@code at}; the new balance, or null when
   * Redis holds none (the next charge rebuilds it from the ledger, which has the top-up) or cannot be reached.
   */
  public Future<Long> topUp(QuotaOwner owner, Plan.Credits credits, long amount, Instant at) {
    if (!redis.available()) {
      return Future.succeededFuture(null);
    }
    String key = key(owner, credits.periodStart(at));
    return TOP_UP.run(redis, 1, key, amount).map(r -> {
      long balance = r.toLong();
      if (balance < 0) {
        return (Long) null;
      }
      learn(key, balance);
      return balance;
    }).otherwise(e -> {
      LOG.warn("top-up of {} stored but not added in Redis ({}); the balance is rebuilt from the ledger when Redis loses it",
          owner, e.getMessage());
      return null;
    });
  }

  /** {charged (1) / refused (0) / missing (-1), balance}. */
  private Future<long[]> run(String key, long cost, long seed, Instant end, Instant now) {
    long ttl = end == null ? 0 : Duration.between(now, end).toMillis() + 3_600_000;
    return CHARGE.run(redis, 1, key, cost, seed, ttl).map(r -> new long[] {r.get(0).toLong(), r.get(1).toLong()});
  }

  private void learn(String key, long balance) {
    Known k = known.get(key, x -> new Known(balance));
    synchronized (k) {
      k.balance = balance;
      k.spentAlone = 0;
    }
  }

  /** The balance from the ledger: the grant plus the period's top-ups minus its costs, never below 0. */
  private Future<Long> rebuild(QuotaOwner owner, Plan.Credits credits, Instant start) {
    return Contexts.onContext(vertx.getOrCreateContext(), ledger.net(owner, start)).map(net -> {
      long balance = Math.max(0, credits.amount() + net);
      rebuilt.increment();
      LOG.info("credit balance of {} missing in Redis; rebuilt from usage and top-ups since {}: {}", owner, start, balance);
      return balance;
    });
  }

  /** Per-node counting: this node's share of the balance it last learned (asking the ledger when it knows none). */
  private Future<CreditResult> alone(String key, QuotaOwner owner, Plan.Credits credits, Instant start, Instant end, long cost,
      boolean take) {
    Known k = known.getIfPresent(key);
    Future<Known> knownFuture = k != null ? Future.succeededFuture(k)
        : rebuild(owner, credits, start).map(balance -> known.get(key, x -> new Known(balance)));
    int nodes = Math.max(1, countingNodes.getAsInt());
    return knownFuture.map(held -> {
      synchronized (held) {
        long share = held.balance / nodes - held.spentAlone;
        boolean covered = cost <= share;
        if (covered && take) {
          held.spentAlone += cost;
          share -= cost;
        }
        return new CreditResult(covered, cost, Math.max(0, share), credits.amount(), end, false);
      }
    });
  }
}
