package io.ceiba.access.limit;

import io.ceiba.access.Plan;
import io.ceiba.access.QuotaPeriod;
import io.ceiba.access.Reason;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Instant;
import java.util.Objects;

/** One plan-and-project (or client IP) counter on this node; every field guarded by the bucket's monitor. */
public final class Bucket {
  final String key;
  final QuotaOwner owner;
  // cluster-wide counting: the lease, what it was taken from, and when it stops serving
  long leased;
  long leaseExpires;
  /** Wall-clock ms when the quota period of the lease ends (a lease serves only in its own period). */
  long leasePeriodEndMs = Long.MAX_VALUE;
  String leaseQuotaKey;
  String leaseGeneration;
  Plan.RateLimit leaseRate;
  /** Whether a timer looks at the lease when it may have lapsed. */
  boolean watched;
  long want = 8;
  /** The lease request in flight, shared by every request that waits for it. */
  Future<Void> pending;
  int waiting;
  long rateLeft = -1;
  long quotaLeft = -1;
  /** Start and end of the quota period {@link #quotaLeft} belongs to. */
  Instant quotaPeriod;
  Instant quotaPeriodEnd;
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
  /** End of the quota period whose usage the ledger was asked for; the question in flight; when to ask again. */
  Instant ledgerSeeded;
  Future<Void> ledgerAsked;
  long ledgerRetryAt = System.nanoTime();
  // the current quota period's end, worked out once per period rather than once per request
  private QuotaPeriod periodOf;
  private Instant periodEnd;

  /** The counter's name (Redis keys are made from it). */
  public String key() {
    return key;
  }

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

  /** Whether the lease may still admit requests. */
  boolean serving(long now, long wallMs) {
    return leased > 0 && now - leaseExpires < 0 && wallMs < leasePeriodEndMs;
  }

  /** One request from the lease, a remembered refusal, or null when Redis must be asked. */
  LimitResult serve(Plan.RateLimit rate, Plan.Quota quota, long now, long wallMs) {
    if (serving(now, wallMs)) {
      leased--;
      return fromLease(rate, quota, wallMs);
    }
    if (refusal != null && now - refusedUntil < 0) {
      return refused(rate, quota, wallMs);
    }
    return null;
  }

  /** The lease if it lapsed with requests left (it stops serving: they are to be given back), else null. */
  UnusedLease lapse(long now, long wallMs) {
    if (leased <= 0 || serving(now, wallMs)) {
      return null;
    }
    want = Math.max(Limiter.MIN_LEASE, want / 2); // this node asked for too much
    return surrender();
  }

  /** The lease's requests left, which stop serving here; null when there are none. */
  UnusedLease surrender() {
    if (leased <= 0) {
      return null;
    }
    UnusedLease unused = new UnusedLease(key, leaseQuotaKey, leaseGeneration, leaseRate, leased);
    leased = 0;
    return unused;
  }

  /**
   * Adds a grant to the lease, which serves for another lifetime from now. What is left of a lease from another
   * counter (the period turned, or Redis seeded the counter again) is returned, to be given back there.
   */
  UnusedLease addLease(Limiter.Grant grant, Plan.RateLimit rate, long expires) {
    UnusedLease replaced = Objects.equals(grant.quotaKey(), leaseQuotaKey) && Objects.equals(grant.generation(), leaseGeneration)
        ? null : surrender();
    leased += grant.granted();
    leaseExpires = expires;
    leasePeriodEndMs = grant.periodEndMs();
    leaseQuotaKey = grant.quotaKey();
    leaseGeneration = grant.generation();
    leaseRate = rate;
    return replaced;
  }

  /** True when the caller is to start the timer that watches the lease (none runs yet). */
  boolean startWatching() {
    if (watched) {
      return false;
    }
    watched = true;
    return true;
  }

  /** Decides a lease request: it is in flight from now on, and the caller sends it once the monitor is released. */
  Limiter.Refill startRefill() {
    Promise<Void> done = Promise.promise();
    pending = done.future();
    return new Limiter.Refill(done, Math.min(Limiter.MAX_LEASE, Math.max(want, waiting)));
  }

  LimitResult fromLease(Plan.RateLimit rate, Plan.Quota quota, long wallMs) {
    long rateRemaining = rateLeft < 0 ? Long.MAX_VALUE : rateLeft + leased;
    long quotaRemaining = quotaLeft < 0 ? Long.MAX_VALUE : quotaLeft + leased;
    return report(rate, quota, rateRemaining, quotaRemaining, rateFullMs, null, 0, true, wallMs);
  }

  LimitResult refused(Plan.RateLimit rate, Plan.Quota quota, long wallMs) {
    long rateRemaining = refusal == Reason.RATE_LIMITED ? 0 : Math.max(rateLeft, 0);
    long quotaRemaining = refusal == Reason.QUOTA_EXCEEDED ? 0 : Math.max(quotaLeft, 0);
    return report(rate, quota, rateRemaining, quotaRemaining, rateFullMs, refusal, retryAfterMs, true, wallMs);
  }

  /**
   * Counts in the quota period ending {@code end} on this node, at least this node's share of what Redis last said
   * the period used: losing Redis (again) does not hand out what the cluster admitted meanwhile.
   */
  private void countIn(Instant end, Plan.Quota quota, int nodes) {
    if (!end.equals(countedUntil)) {
      countedUntil = end;
      quotaUsed = 0;
    }
    if (quotaLeft >= 0 && end.equals(quotaPeriodEnd)) {
      quotaUsed = Math.max(quotaUsed, share(quota.requests() - quotaLeft, nodes));
    }
  }

  /** Raises this node's count of the period ending {@code end} to its share of what the ledger says was used. */
  void countFromLedger(Instant end, long used, int nodes) {
    if (countedUntil != null && countedUntil.isAfter(end)) {
      return; // the answer came after midnight: this node counts in the next period already
    }
    if (!end.equals(countedUntil)) {
      countedUntil = end;
      quotaUsed = 0;
    }
    quotaUsed = Math.max(quotaUsed, share(used, nodes));
  }

  /** One node's share of {@code requests}, rounded up (so the shares never add up to less). */
  private static long share(long requests, int nodes) {
    return (Math.max(0, requests) + nodes - 1) / nodes;
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
      quotaShare = Math.max(1, share(quota.requests(), nodes));
      countIn(periodEnd(quota.per(), wallNow), quota, nodes);
    }
    Reason refusedBy = null;
    long retryMs = 0;
    long wallMs = wallNow.toEpochMilli();
    if (rate != null && tokens < 1) {
      refusedBy = Reason.RATE_LIMITED;
      retryMs = (long) Math.ceil((1 - tokens) / perNano / 1_000_000.0);
    } else if (quota != null && quotaUsed >= quotaShare) {
      refusedBy = Reason.QUOTA_EXCEEDED;
      retryMs = periodEnd(quota.per(), wallNow).toEpochMilli() - wallMs;
    } else if (take) {
      if (rate != null) {
        tokens -= 1;
      }
      quotaUsed++;
    }
    long fullMs = rate == null ? 0 : (long) Math.ceil((capacity - tokens) / perNano / 1_000_000.0);
    return report(rate, quota, rate == null ? Long.MAX_VALUE : (long) Math.floor(tokens),
        quota == null ? Long.MAX_VALUE : Math.max(0, quotaShare - quotaUsed), fullMs, refusedBy, retryMs, false, wallMs);
  }

  private LimitResult report(Plan.RateLimit rate, Plan.Quota quota, long rateRemaining, long quotaRemaining,
      long rateFullMs, Reason refusal, long retryAfterMs, boolean clusterWide, long wallMs) {
    long retryAfter = refusal == null ? 0 : Math.max(1, (retryAfterMs + 999) / 1000);
    boolean reportQuota = quota != null && (rate == null || refusal == Reason.QUOTA_EXCEEDED
        || (refusal == null && quotaRemaining < rateRemaining));
    if (reportQuota) {
      return new LimitResult(refusal, quota.requests(), Math.min(quotaRemaining, quota.requests()),
          periodEnd(quota.per(), Instant.ofEpochMilli(wallMs)), retryAfter, clusterWide);
    }
    return new LimitResult(refusal, rate.requests(), Math.max(0, Math.min(rateRemaining, rate.burst())),
        Instant.ofEpochMilli(wallMs + Math.max(0, rateFullMs)), retryAfter, clusterWide);
  }
}
