package io.ceiba.access.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.ceiba.access.Plan;
import io.ceiba.access.QuotaPeriod;
import io.ceiba.access.Reason;
import io.ceiba.access.WallClock;
import io.ceiba.store.redis.RedisService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.ceiba.bus.Contexts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rate limits and quotas for the whole node, shared by its edge instances (thread-safe: buckets live in
 * a Caffeine cache and each is guarded by its own monitor, held for a few field updates only).
 *
 * <p>With Redis available, counters are cluster-wide: a node takes a <em>lease</em> of several requests
 * at once from Redis ({@code redis/take.lua}, atomic) and serves them from memory, asking for the next
 * lease before this one runs out. A lease is at most a fair share of what is left (left / (2 x nodes)),
 * so near a limit every node asks for one request at a time; the cluster never admits more than the
 * limit, and admits less only by leases left unused when their node's traffic stops (they lapse after
 * {@link #LEASE_TTL}). A refusal is remembered until the next token is due, so a client hammering a
 * spent limit costs no Redis round trip.
 *
 * <p>Redis is not the source of truth for quotas: when a quota counter is missing (a new period, or Redis lost
 * it to a restart or an eviction) the limiter counts what the period has used so far from the {@link QuotaLedger}
 * (the usage rollups) and seeds the counter with it before taking anything.
 *
 * <p>Without Redis, or while its breaker is open, each node counts alone and enforces its share of the
 * limit: rate, burst and quota divided by the number of edge nodes in the cluster ({@code countingNodes}).
 */
public final class Limiter {

  static final Duration LEASE_TTL = Duration.ofSeconds(1);
  static final int MIN_LEASE = 1;
  static final int MAX_LEASE = 1000;
  /** take.lua's "refused by" when the period's quota counter is missing and no seed was given. */
  private static final int COUNTER_MISSING = 3;
  private static final Logger LOG = LoggerFactory.getLogger(Limiter.class);
  private static final String SCRIPT = loadScript();
  private static final String SCRIPT_SHA = sha1(SCRIPT);

  private final Vertx vertx;
  private final RedisService redis;
  private final IntSupplier countingNodes;
  private final QuotaLedger ledger;
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

  public Limiter(Vertx vertx, RedisService redis, IntSupplier countingNodes, QuotaLedger ledger, MeterRegistry meters) {
    this.vertx = vertx;
    this.redis = redis;
    this.countingNodes = countingNodes;
    this.ledger = ledger;
    this.rebuilt = Counter.builder("ceiba.quota.counters.rebuilt")
        .description("quota counters missing in Redis mid-period and seeded again from the usage ledger").register(meters);
    this.redisDecisions = Counter.builder("ceiba.ratelimit.decisions").tag("counting", "cluster")
        .description("limit decisions by where they were counted").register(meters);
    this.localDecisions = Counter.builder("ceiba.ratelimit.decisions").tag("counting", "node")
        .description("limit decisions by where they were counted").register(meters);
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
    String bucketKey = bucket.key;
    if (!redis.available()) {
      return Future.succeededFuture(local(bucket, rate, quota, true));
    }
    LimitResult served;
    Future<Void> refill;
    synchronized (bucket) {
      served = bucket.serve(rate, quota, System.nanoTime());
      if (served != null) {
        if (bucket.leased <= bucket.want / 4 && bucket.pending == null) {
          // running low: ask for the next lease now, so requests rarely wait for Redis
          bucket.want = Math.min(MAX_LEASE, bucket.want * 2);
          refill(bucketKey, bucket, rate, quota);
        }
        redisDecisions.increment();
        return Future.succeededFuture(served);
      }
      // nothing leased: wait for the lease in flight, or ask for one sized for everyone waiting
      bucket.waiting++;
      if (bucket.pending != null) {
        refill = bucket.pending;
      } else {
        if (bucket.refusal == null) {
          // the lease ran dry with requests waiting: it was too small for this traffic (without this, concurrent
          // requests kept the lease at the size of one wave and every wave waited for Redis)
          bucket.want = Math.min(MAX_LEASE, bucket.want * 2);
        }
        refill = refill(bucketKey, bucket, rate, quota);
      }
    }
    return Contexts.onContext(vertx.getOrCreateContext(), refill).transform(ar -> {
      synchronized (bucket) {
        bucket.waiting--;
        if (ar.succeeded()) {
          LimitResult result = bucket.serve(rate, quota, System.nanoTime());
          if (result != null) {
            redisDecisions.increment();
            return Future.succeededFuture(result);
          }
        }
      }
      // the lease went to others before us: ask again (or count locally if Redis just failed)
      return ar.succeeded() ? acquire(bucket, rate, quota) : Future.succeededFuture(local(bucket, rate, quota, true));
    });
  }

  /** Starts a lease request for {@code bucket}; the caller holds its monitor. */
  private Future<Void> refill(String bucketKey, Bucket bucket, Plan.RateLimit rate, Plan.Quota quota) {
    long want = Math.max(bucket.want, bucket.waiting);
    Future<Void> pending = take(bucketKey, bucket, rate, quota, Math.min(MAX_LEASE, want), -1).map(granted -> {
      synchronized (bucket) {
        if (granted > 0) {
          bucket.leased += granted;
          bucket.leaseExpires = System.nanoTime() + LEASE_TTL.toNanos();
        }
      }
      return (Void) null;
    }).andThen(ar -> {
      synchronized (bucket) {
        bucket.pending = null;
      }
    });
    // a lease request that failed at once has already cleared itself and must not stay pending
    bucket.pending = pending.isComplete() ? null : pending;
    return pending;
  }

  /** What {@link #acquire} would answer now, without taking anything ({@code POST /v1/verify}). */
  public Future<LimitResult> peek(String bucketKey, Plan.RateLimit rate, Plan.Quota quota, QuotaOwner owner) {
    return peek(bucket(bucketKey, owner), rate, quota);
  }

  /** What {@link #acquire(Bucket, Plan.RateLimit, Plan.Quota)} would answer now, without taking anything. */
  public Future<LimitResult> peek(Bucket bucket, Plan.RateLimit rate, Plan.Quota quota) {
    String bucketKey = bucket.key;
    if (!redis.available()) {
      return Future.succeededFuture(local(bucket, rate, quota, false));
    }
    return take(bucketKey, bucket, rate, quota, 0, -1).map(none -> {
      synchronized (bucket) {
        boolean leaseLeft = bucket.leased > 0 && System.nanoTime() - bucket.leaseExpires < 0;
        return bucket.refusal != null && !leaseLeft ? bucket.refused(rate, quota) : bucket.fromLease(rate, quota);
      }
    }).recover(e -> Future.succeededFuture(local(bucket, rate, quota, false)));
  }

  /**
   * Runs the lease script; records what Redis said in the bucket and returns the number granted.
   *
   * @param seed what the quota period has used so far when Redis lost its counter, else -1
   */
  private Future<Long> take(String bucketKey, Bucket bucket, Plan.RateLimit rate, Plan.Quota quota, long want, long seed) {
    Instant now = Instant.now();
    Instant periodStart = quota == null ? null : quota.per().start(now);
    String quotaKey = "ceiba:q:" + bucketKey + (quota == null ? "" : ":" + periodStart.getEpochSecond());
    long quotaTtl = quota == null ? 0 : Duration.between(now, quota.per().end(now)).toMillis() + 3_600_000;
    Object[] args = {2, "ceiba:rl:" + bucketKey, quotaKey, want, countingNodes.getAsInt(),
        rate == null ? 0 : rate.perMilli(), rate == null ? 0 : rate.burst(), quota == null ? 0 : quota.requests(), quotaTtl, seed};
    return redis.send(command(Command.EVALSHA, SCRIPT_SHA, args))
        .recover(e -> String.valueOf(e.getMessage()).startsWith("NOSCRIPT")
            ? redis.send(command(Command.EVAL, SCRIPT, args)) : Future.failedFuture(e))
        .compose(reply -> {
          if (reply.get(5).toInteger() == COUNTER_MISSING) {
            return seed >= 0 ? Future.failedFuture(new IllegalStateException("quota counter not seeded"))
                : usedSoFar(bucket, quota, periodStart).compose(used -> take(bucketKey, bucket, rate, quota, want, used));
          }
          long granted = reply.get(0).toLong();
          synchronized (bucket) {
            bucket.rateLeft = reply.get(1).toLong();
            bucket.quotaLeft = reply.get(3).toLong();
            bucket.quotaPeriod = periodStart;
            bucket.rateFullMs = reply.get(4).toLong();
            int refusedBy = reply.get(5).toInteger();
            if (refusedBy == 0) {
              bucket.refusal = null;
            } else {
              bucket.refusal = refusedBy == 1 ? Reason.RATE_LIMITED : Reason.QUOTA_EXCEEDED;
              long waitMs = refusedBy == 1 ? reply.get(2).toLong() : Duration.between(now, quota.per().end(now)).toMillis();
              // remembered at most a second: a quota raised by the operator takes effect soon
              bucket.refusedUntil = System.nanoTime() + Math.min(Math.max(waitMs, 1), 1000) * 1_000_000L;
              bucket.retryAfterMs = Math.max(waitMs, 1);
            }
          }
          return Future.succeededFuture(granted);
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

  private static Request command(Command command, String script, Object[] args) {
    Request request = Request.cmd(command).arg(script);
    for (Object a : args) {
      request.arg(String.valueOf(a));
    }
    return request;
  }

  /** Per-node counting: this node enforces its share of the limit. */
  private LimitResult local(Bucket bucket, Plan.RateLimit rate, Plan.Quota quota, boolean take) {
    localDecisions.increment();
    int nodes = Math.max(1, countingNodes.getAsInt());
    Instant now = WallClock.now();
    synchronized (bucket) {
      return bucket.local(rate, quota, nodes, now, System.nanoTime(), take);
    }
  }

  private static String loadScript() {
    try (InputStream in = Limiter.class.getResourceAsStream("/redis/take.lua")) {
      if (in == null) {
        throw new IllegalStateException("redis/take.lua missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One plan-and-project (or client IP) counter on this node; every field guarded by the bucket's monitor. */
  public static final class Bucket {
    final String key;
    final QuotaOwner owner;
    // cluster-wide counting
    long leased;
    long leaseExpires;
    long want = 8;
    /** The lease request in flight, shared by every request that waits for it. */
    Future<Void> pending;
    int waiting;
    long rateLeft = -1;
    long quotaLeft = -1;
    /** Start of the quota period {@link #quotaLeft} belongs to. */
    Instant quotaPeriod;
    long rateFullMs;
    Reason refusal;
    long refusedUntil;
    long retryAfterMs;
    // per-node counting
    double tokens = Double.NaN;
    long tokensAt;
    /** End of the quota period {@link #quotaUsed} counts in. */
    Instant countedUntil;
    long quotaUsed;
    // the current quota period's end, worked out once per period rather than once per request
    private QuotaPeriod periodOf;
    private Instant periodEnd;

    Bucket(String key, QuotaOwner owner) {
      this.key = key;
      this.owner = owner;
    }

    Instant periodEnd(QuotaPeriod per, Instant now) {
      if (per != periodOf || periodEnd == null || !now.isBefore(periodEnd)) {
        periodOf = per;
        periodEnd = per.end(now);
      }
      return periodEnd;
    }

    /** One request from the lease, a remembered refusal, or null when Redis must be asked. */
    LimitResult serve(Plan.RateLimit rate, Plan.Quota quota, long now) {
      if (leased > 0 && now - leaseExpires < 0) {
        leased--;
        return fromLease(rate, quota);
      }
      if (leased > 0) {
        // a lease that lapsed unused: this node asked for too much
        leased = 0;
        want = Math.max(MIN_LEASE, want / 2);
      }
      if (refusal != null && now - refusedUntil < 0) {
        return refused(rate, quota);
      }
      return null;
    }

    LimitResult fromLease(Plan.RateLimit rate, Plan.Quota quota) {
      long rateRemaining = rateLeft < 0 ? Long.MAX_VALUE : rateLeft + leased;
      long quotaRemaining = quotaLeft < 0 ? Long.MAX_VALUE : quotaLeft + leased;
      return report(rate, quota, rateRemaining, quotaRemaining, rateFullMs, null, 0, true);
    }

    LimitResult refused(Plan.RateLimit rate, Plan.Quota quota) {
      long rateRemaining = refusal == Reason.RATE_LIMITED ? 0 : Math.max(rateLeft, 0);
      long quotaRemaining = refusal == Reason.QUOTA_EXCEEDED ? 0 : Math.max(quotaLeft, 0);
      return report(rate, quota, rateRemaining, quotaRemaining, rateFullMs, refusal, retryAfterMs, true);
    }

    LimitResult local(Plan.RateLimit rate, Plan.Quota quota, int nodes, Instant wallNow, long now, boolean take) {
      double capacity = 0;
      double perNano = 0;
      if (rate != null) {
        capacity = Math.max(1.0, (double) rate.burst() / nodes);
        perNano = rate.perMilli() / nodes / 1_000_000.0;
        tokens = Double.isNaN(tokens) ? capacity : Math.min(capacity, tokens + (now - tokensAt) * perNano);
        tokensAt = now;
      }
      long quotaShare = 0;
      if (quota != null) {
        quotaShare = Math.max(1, (quota.requests() + nodes - 1) / nodes);
        Instant end = periodEnd(quota.per(), wallNow);
        if (!end.equals(countedUntil)) {
          countedUntil = end;
          // carry over what Redis last said was used, so losing Redis does not hand out a fresh quota
          quotaUsed = quotaLeft >= 0 ? (quota.requests() - quotaLeft) / nodes : 0;
        }
      }
      Reason refusedBy = null;
      long retryMs = 0;
      if (rate != null && tokens < 1) {
        refusedBy = Reason.RATE_LIMITED;
        retryMs = (long) Math.ceil((1 - tokens) / perNano / 1_000_000.0);
      } else if (quota != null && quotaUsed >= quotaShare) {
        refusedBy = Reason.QUOTA_EXCEEDED;
        retryMs = Duration.between(wallNow, periodEnd(quota.per(), wallNow)).toMillis();
      } else if (take) {
        if (rate != null) {
          tokens -= 1;
        }
        quotaUsed++;
      }
      long fullMs = rate == null ? 0 : (long) Math.ceil((capacity - tokens) / perNano / 1_000_000.0);
      return report(rate, quota, rate == null ? Long.MAX_VALUE : (long) Math.floor(tokens),
          quota == null ? Long.MAX_VALUE : Math.max(0, quotaShare - quotaUsed), fullMs, refusedBy, retryMs, false);
    }

    private LimitResult report(Plan.RateLimit rate, Plan.Quota quota, long rateRemaining, long quotaRemaining,
        long rateFullMs, Reason refusal, long retryAfterMs, boolean clusterWide) {
      long retryAfter = refusal == null ? 0 : Math.max(1, (retryAfterMs + 999) / 1000);
      boolean reportQuota = quota != null && (rate == null || refusal == Reason.QUOTA_EXCEEDED
          || (refusal == null && quotaRemaining < rateRemaining));
      if (reportQuota) {
        return new LimitResult(refusal, quota.requests(), Math.min(quotaRemaining, quota.requests()),
            periodEnd(quota.per(), WallClock.now()), retryAfter, clusterWide);
      }
      return new LimitResult(refusal, rate.requests(), Math.max(0, Math.min(rateRemaining, rate.burst())),
          WallClock.inMillis(Math.max(0, rateFullMs)), retryAfter, clusterWide);
    }
  }
}
