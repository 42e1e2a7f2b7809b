package io.ceiba.access.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.ceiba.access.Plan;
import io.ceiba.access.Reason;
import io.ceiba.bus.Contexts;
import io.ceiba.store.redis.RedisService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rate limits and quotas for the whole node, shared by its edge instances (thread-safe: buckets live in
 * a Caffeine cache and each is guarded by its own monitor, held for a few field updates only; no Redis or
 * ledger call is started while a monitor is held).
 *
 * <p>With Redis available, counters are cluster-wide: a node takes a <em>lease</em> of several requests at
 * once from Redis ({@code redis/take.lua}, atomic) and serves them from memory, asking for the next
 * lease before this one runs out. A lease is at most a fair share of what is left (left / (2 x nodes)),
 * so near a limit every node asks for one request at a time, and the cluster never admits more than the
 * limit. A lease serves for {@link #LEASE_TTL} after it was last topped up (and a quota lease only within
 * its period); what is left of it then is given back ({@code redis/give.lua}): a timer per bucket that
 * holds a lease sees it lapse even when no request comes again. So the quota consumed is the requests
 * admitted, and a rate bucket gets back the tokens that were not used. A refusal is remembered until the
 * next token is due, so a client hammering a spent limit costs no Redis round trip.
 *
 * <p>Redis is not the source of truth for quotas: when a quota counter is missing (a new period, or Redis lost
 * it to a restart or an eviction) the limiter counts what the period has used so far from the {@link QuotaLedger}
 * (the usage rollups) and seeds the counter with it before taking anything.
 *
 * <p>Without Redis, or while its breaker is open, each node counts alone and enforces its share of the
 * limit: rate, burst and quota divided by the number of edge nodes in the cluster ({@code countingNodes}).
 * A per-node quota counter starts from the ledger too (its share of what the period used so far), so a
 * restart does not hand out the quota again.
 */
public final class Limiter {

  /** How long a lease serves after it was last topped up before what is left of it is given back. */
  static final Duration LEASE_TTL = Duration.ofSeconds(1);
  static final int MIN_LEASE = 1;
  static final int MAX_LEASE = 1000;
  /** After the ledger did not answer for a per-node quota counter, it is asked again no sooner than this. */
  static final Duration LEDGER_RETRY = Duration.ofSeconds(5);
  /** take.lua's "refused by" when the period's quota counter is missing and no seed was given. */
  private static final int COUNTER_MISSING = 3;
  private static final Logger LOG = LoggerFactory.getLogger(Limiter.class);
  private static final LuaScript TAKE = LuaScript.load("/redis/take.lua");
  private static final LuaScript GIVE = LuaScript.load("/redis/give.lua");

  private final Vertx vertx;
  private final RedisService redis;
  private final IntSupplier countingNodes;
  private final QuotaLedger ledger;
  private final long leaseNanos;
  private final LongSupplier wallMillis;
  /**
   * Read on every counted request. Caffeine's upkeep (draining its read buffers, evicting) runs on the thread that
   * triggers it, not in the common ForkJoinPool: handing it over there woke a pool thread every few dozen requests,
   * which cost more CPU than the upkeep itself (~2 µs per keyed request at 17k req/s).
   */
  private final Cache<String, Bucket> buckets = Caffeine.newBuilder()
      .executor(Runnable::run)
      .maximumSize(200_000).expireAfterAccess(Duration.ofMinutes(10)).build();
  private final Counter redisDecisions;
  private final Counter localDecisions;
  private final Counter rebuilt;
  private final Counter unusedReturned;
  private final Counter unusedLost;

  public Limiter(Vertx vertx, RedisService redis, IntSupplier countingNodes, QuotaLedger ledger, MeterRegistry meters) {
    this(vertx, redis, countingNodes, ledger, meters, LEASE_TTL, System::currentTimeMillis);
  }

  /**
   * @param leaseLifetime how long a lease serves after it was last topped up ({@link #LEASE_TTL}; tests shorten it)
   * @param wallMillis    the wall clock that quota periods are read from (tests move it across midnight)
   */
  Limiter(Vertx vertx, RedisService redis, IntSupplier countingNodes, QuotaLedger ledger, MeterRegistry meters,
      Duration leaseLifetime, LongSupplier wallMillis) {
    this.vertx = vertx;
    this.redis = redis;
    this.countingNodes = countingNodes;
    this.ledger = ledger;
    this.leaseNanos = leaseLifetime.toNanos();
    this.wallMillis = wallMillis;
    this.rebuilt = Counter.builder("ceiba.quota.counters.rebuilt")
        .description("quota counters missing in Redis mid-period and seeded again from the usage ledger").register(meters);
    this.redisDecisions = Counter.builder("ceiba.ratelimit.decisions").tag("counting", "cluster")
        .description("limit decisions by where they were counted").register(meters);
    this.localDecisions = Counter.builder("ceiba.ratelimit.decisions").tag("counting", "node")
        .description("limit decisions by where they were counted").register(meters);
    this.unusedReturned = Counter.builder("ceiba.ratelimit.leases.unused").tag("outcome", "returned")
        .description("requests leased from Redis that lapsed unused, by whether they were given back").register(meters);
    this.unusedLost = Counter.builder("ceiba.ratelimit.leases.unused").tag("outcome", "lost")
        .description("requests leased from Redis that lapsed unused, by whether they were given back").register(meters);
  }

  /**
   * Takes one request from {@code bucket}; at least one of {@code rate} and {@code quota} is set.
   *
   * @param owner whose usage the quota counts (required with a quota): where a lost counter is counted again
   */
  public Future<LimitResult> acquire(String bucketKey, Plan.RateLimit rate, Plan.Quota quota, QuotaOwner owner) {
    return acquire(bucket(bucketKey, owner), rate, quota);
  }

  /**
   * The node's counter {@code bucketKey}, to hold on to and {@link #acquire(Bucket, Plan.RateLimit, Plan.Quota)} from
   * without looking it up by name on every request. A holder looks it up again now and then (the edge: whenever it
   * fetches the key record again, every 30 s under traffic), which keeps it from expiring here.
   *
   * @param owner whose usage the quota counts (required with a quota): where a lost counter is counted again
   */
  public Bucket bucket(String bucketKey, QuotaOwner owner) {
    return buckets.get(bucketKey, k -> new Bucket(k, owner));
  }

  /** Takes one request from {@code bucket}; at least one of {@code rate} and {@code quota} is set. */
  public Future<LimitResult> acquire(Bucket bucket, Plan.RateLimit rate, Plan.Quota quota) {
    if (!redis.available()) {
      return local(bucket, rate, quota, true);
    }
    long now = System.nanoTime();
    long wallMs = wallMillis.getAsLong();
    UnusedLease lapsed;
    LimitResult served;
    Refill refill = null;
    Future<Void> leaseComing = null;
    synchronized (bucket) {
      lapsed = bucket.lapse(now, wallMs);
      served = bucket.serve(rate, quota, now, wallMs);
      if (served != null) {
        if (bucket.leased <= bucket.want / 4 && bucket.pending == null) {
          // running low: ask for the next lease now, so requests rarely wait for Redis
          bucket.want = Math.min(MAX_LEASE, bucket.want * 2);
          refill = bucket.startRefill();
        }
      } else {
        // nothing leased: wait for the lease in flight, or ask for one sized for everyone waiting
        bucket.waiting++;
        if (bucket.pending != null) {
          leaseComing = bucket.pending;
        } else {
          if (bucket.refusal == null) {
            // the lease ran dry with requests waiting: it was too small for this traffic (without this, concurrent
            // requests kept the lease at the size of one wave and every wave waited for Redis)
            bucket.want = Math.min(MAX_LEASE, bucket.want * 2);
          }
          refill = bucket.startRefill();
          leaseComing = refill.done().future();
        }
      }
    }
    if (lapsed != null) {
      give(lapsed);
    }
    if (refill != null) {
      refill(bucket, rate, quota, refill);
    }
    if (served != null) {
      redisDecisions.increment();
      return Future.succeededFuture(served);
    }
    return Contexts.onContext(vertx.getOrCreateContext(), leaseComing).transform(ar -> {
      synchronized (bucket) {
        bucket.waiting--;
        if (ar.succeeded()) {
          LimitResult result = bucket.serve(rate, quota, System.nanoTime(), wallMillis.getAsLong());
          if (result != null) {
            redisDecisions.increment();
            return Future.succeededFuture(result);
          }
        }
      }
      // the lease went to others before us: ask again (or count locally if Redis just failed)
      return ar.succeeded() ? acquire(bucket, rate, quota) : local(bucket, rate, quota, true);
    });
  }

  /** A lease request decided under the bucket's monitor and sent after it is released. */
  record Refill(Promise<Void> done, long want) {
  }

  /** Runs the lease request {@code refill} started (no monitor held) and adds what Redis granted to the lease. */
  private void refill(Bucket bucket, Plan.RateLimit rate, Plan.Quota quota, Refill refill) {
    take(bucket, rate, quota, refill.want(), -1).onComplete(ar -> {
      UnusedLease replaced = null;
      boolean watch = false;
      synchronized (bucket) {
        bucket.pending = null;
        if (ar.succeeded() && ar.result().granted() > 0) {
          replaced = bucket.addLease(ar.result(), rate, System.nanoTime() + leaseNanos);
          watch = bucket.startWatching();
        }
      }
      if (replaced != null) {
        give(replaced);
      }
      if (watch) {
        watchLapse(bucket, leaseNanos);
      }
      if (ar.succeeded()) {
        refill.done().complete();
      } else {
        refill.done().fail(ar.cause());
      }
    });
  }

  /** Looks at {@code bucket}'s lease once it may have lapsed, however long the traffic stays away. */
  private void watchLapse(Bucket bucket, long delayNanos) {
    vertx.setTimer(Math.max(1, delayNanos / 1_000_000 + 1), id -> {
      long now = System.nanoTime();
      UnusedLease lapsed;
      long again = -1;
      synchronized (bucket) {
        lapsed = bucket.lapse(now, wallMillis.getAsLong());
        if (bucket.leased > 0) {
          again = Math.max(0, bucket.leaseExpires - now); // topped up since: look again when that lapses
        } else {
          bucket.watched = false;
        }
      }
      if (lapsed != null) {
        give(lapsed);
      }
      if (again >= 0) {
        watchLapse(bucket, again);
      }
    });
  }

  /** Gives {@code unused} back to Redis; never fails (what cannot be given back is counted as lost). */
  private Future<Void> give(UnusedLease unused) {
    if (!redis.available()) {
      unusedLost.increment(unused.requests());
      return Future.succeededFuture();
    }
    String quotaKey = unused.quotaKey() == null ? quotaKey(unused.bucketKey(), null) : unused.quotaKey();
    Plan.RateLimit rate = unused.rate();
    return GIVE.run(redis, 3, "ceiba:rl:" + unused.bucketKey(), quotaKey, generationKey(quotaKey), unused.requests(),
            rate == null ? 0 : rate.perMilli(), rate == null ? 0 : rate.burst(), unused.generation() == null ? "-" : unused.generation())
        .<Void>transform(ar -> {
          if (ar.succeeded()) {
            unusedReturned.increment(unused.requests());
          } else {
            unusedLost.increment(unused.requests());
            LOG.debug("could not give back {} unused leased requests of {}: {}", unused.requests(), unused.bucketKey(),
                ar.cause().getMessage());
          }
          return Future.succeededFuture();
        });
  }

  /**
   * Gives back every lease this node holds, at once (a node that stops: its edge no longer admits anything). A lease
   * request still in flight is not waited for; what it grants lapses and is given back by its timer while Redis is
   * still open, or is lost.
   */
  public Future<Void> giveBackLeases() {
    List<Future<Void>> gives = new ArrayList<>();
    for (Bucket bucket : buckets.asMap().values()) {
      UnusedLease unused;
      synchronized (bucket) {
        unused = bucket.surrender();
      }
      if (unused != null) {
        gives.add(give(unused));
      }
    }
    return Future.join(gives).mapEmpty();
  }

  /** What {@link #acquire} would answer now, without taking anything ({@code POST /v1/verify}). */
  public Future<LimitResult> peek(String bucketKey, Plan.RateLimit rate, Plan.Quota quota, QuotaOwner owner) {
    return peek(bucket(bucketKey, owner), rate, quota);
  }

  /** What {@link #acquire(Bucket, Plan.RateLimit, Plan.Quota)} would answer now, without taking anything. */
  public Future<LimitResult> peek(Bucket bucket, Plan.RateLimit rate, Plan.Quota quota) {
    if (!redis.available()) {
      return local(bucket, rate, quota, false);
    }
    return take(bucket, rate, quota, 0, -1).map(none -> {
      long wallMs = wallMillis.getAsLong();
      synchronized (bucket) {
        boolean leaseLeft = bucket.serving(System.nanoTime(), wallMs);
        return bucket.refusal != null && !leaseLeft ? bucket.refused(rate, quota, wallMs) : bucket.fromLease(rate, quota, wallMs);
      }
    }).recover(e -> local(bucket, rate, quota, false));
  }

  /** What take.lua granted, and where from: the lease is given back there. */
  record Grant(long granted, String quotaKey, String generation, long periodEndMs) {
  }

  private static String quotaKey(String bucketKey, Instant periodStart) {
    return "ceiba:q:" + bucketKey + (periodStart == null ? "" : ":" + periodStart.getEpochSecond());
  }

  private static String generationKey(String quotaKey) {
    return quotaKey + ":g";
  }

  /**
   * Runs the lease script; records what Redis said in the bucket and returns what it granted.
   *
   * @param seed what the quota period has used so far when Redis lost its counter, else -1
   */
  private Future<Grant> take(Bucket bucket, Plan.RateLimit rate, Plan.Quota quota, long want, long seed) {
    Instant now = Instant.ofEpochMilli(wallMillis.getAsLong());
    Instant periodStart = quota == null ? null : quota.per().start(now);
    Instant periodEnd = quota == null ? null : quota.per().end(now);
    String quotaKey = quotaKey(bucket.key, periodStart);
    long quotaTtl = quota == null ? 0 : Duration.between(now, periodEnd).toMillis() + 3_600_000;
    return TAKE.run(redis, 3, "ceiba:rl:" + bucket.key, quotaKey, generationKey(quotaKey), want, countingNodes.getAsInt(),
            rate == null ? 0 : rate.perMilli(), rate == null ? 0 : rate.burst(), quota == null ? 0 : quota.requests(), quotaTtl, seed)
        .compose(reply -> {
          if (reply.get(5).toInteger() == COUNTER_MISSING) {
            return seed >= 0 ? Future.failedFuture(new IllegalStateException("quota counter not seeded"))
                : usedSoFar(bucket, quota, periodStart).compose(used -> take(bucket, rate, quota, want, used));
          }
          long granted = reply.get(0).toLong();
          synchronized (bucket) {
            bucket.rateLeft = reply.get(1).toLong();
            bucket.quotaLeft = reply.get(3).toLong();
            bucket.quotaPeriod = periodStart;
            bucket.quotaPeriodEnd = periodEnd;
            bucket.rateFullMs = reply.get(4).toLong();
            int refusedBy = reply.get(5).toInteger();
            if (refusedBy == 0) {
              bucket.refusal = null;
            } else {
              bucket.refusal = refusedBy == 1 ? Reason.RATE_LIMITED : Reason.QUOTA_EXCEEDED;
              long waitMs = refusedBy == 1 ? reply.get(2).toLong() : Duration.between(now, periodEnd).toMillis();
              // remembered at most a second: a quota raised by the operator takes effect soon
              bucket.refusedUntil = System.nanoTime() + Math.min(Math.max(waitMs, 1), 1000) * 1_000_000L;
              bucket.retryAfterMs = Math.max(waitMs, 1);
            }
          }
          return Future.succeededFuture(quota == null ? new Grant(granted, null, null, Long.MAX_VALUE)
              : new Grant(granted, quotaKey, reply.get(6).toString(), periodEnd.toEpochMilli()));
        });
  }

  /**
   * What the quota period has used so far, for a counter Redis does not have: the ledger's count, or what Redis
   * last told this node when that is more (the ledger misses events not written yet) or the ledger cannot answer.
   */
  private Future<Long> usedSoFar(Bucket bucket, Plan.Quota quota, Instant periodStart) {
    long known;
    synchronized (bucket) {
      known = periodStart.equals(bucket.quotaPeriod) && bucket.quotaLeft >= 0 ? Math.max(0, quota.requests() - bucket.quotaLeft) : 0;
    }
    Future<Long> counted = bucket.owner == null ? Future.succeededFuture(0L) : ledger.used(bucket.owner, periodStart);
    return Contexts.onContext(vertx.getOrCreateContext(), counted).transform(ar -> {
      if (ar.failed()) {
        LOG.warn("quota counter of {} missing in Redis and the usage ledger did not answer ({}); seeded with {}",
            bucket.owner, ar.cause().getMessage(), known);
        return Future.succeededFuture(known);
      }
      long used = Math.max(ar.result(), known);
      if (used > 0) {
        rebuilt.increment();
        LOG.info("quota counter of {} missing in Redis; rebuilt from usage: {} used since {}", bucket.owner, used, periodStart);
      }
      return Future.succeededFuture(used);
    });
  }

  /**
   * Per-node counting: this node enforces its share of the limit. A quota's per-node counter first learns from the
   * ledger what the period has used so far (once per period; the bucket's requests wait for that one answer).
   */
  private Future<LimitResult> local(Bucket bucket, Plan.RateLimit rate, Plan.Quota quota, boolean take) {
    localDecisions.increment();
    int nodes = Math.max(1, countingNodes.getAsInt());
    Instant wallNow = Instant.ofEpochMilli(wallMillis.getAsLong());
    Future<Void> seeding;
    Promise<Void> seed = null;
    Instant periodEnd = null;
    synchronized (bucket) {
      seeding = bucket.ledgerAsked;
      if (seeding == null && quota != null) {
        periodEnd = bucket.periodEnd(quota.per(), wallNow);
        if (!periodEnd.equals(bucket.ledgerSeeded) && System.nanoTime() - bucket.ledgerRetryAt >= 0) {
          seed = Promise.promise();
          seeding = bucket.ledgerAsked = seed.future();
        }
      }
      if (seeding == null) {
        return Future.succeededFuture(bucket.local(rate, quota, nodes, wallNow, System.nanoTime(), take));
      }
    }
    if (seed != null) {
      seedFromLedger(bucket, quota.per().start(wallNow), periodEnd, nodes, seed);
    }
    return Contexts.onContext(vertx.getOrCreateContext(), seeding).map(v -> {
      Instant at = Instant.ofEpochMilli(wallMillis.getAsLong());
      synchronized (bucket) {
        return bucket.local(rate, quota, nodes, at, System.nanoTime(), take);
      }
    });
  }

  /** Asks the ledger what the period used so far and starts the bucket's per-node quota counter from its share. */
  private void seedFromLedger(Bucket bucket, Instant periodStart, Instant periodEnd, int nodes, Promise<Void> done) {
    Future<Long> counted = bucket.owner == null ? Future.succeededFuture(0L) : ledger.used(bucket.owner, periodStart);
    counted.onComplete(ar -> {
      synchronized (bucket) {
        bucket.ledgerAsked = null;
        if (ar.succeeded()) {
          bucket.ledgerSeeded = periodEnd;
          bucket.countFromLedger(periodEnd, ar.result(), nodes);
        } else {
          bucket.ledgerRetryAt = System.nanoTime() + LEDGER_RETRY.toNanos();
        }
      }
      if (ar.failed()) {
        LOG.warn("counting {} per node: the usage ledger did not answer ({}); counting from what this node knows, asking "
            + "again in {} s", bucket.owner, ar.cause().getMessage(), LEDGER_RETRY.toSeconds());
      } else if (ar.result() > 0) {
        LOG.info("counting {} per node from usage: {} used since {}, this node's share {}", bucket.owner, ar.result(),
            periodStart, (ar.result() + nodes - 1) / nodes);
      }
      done.complete();
    });
  }
}
