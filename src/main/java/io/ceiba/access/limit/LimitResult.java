package io.ceiba.access.limit;

import io.ceiba.access.Reason;
import java.time.Instant;

/**
 * Outcome of taking one request from a bucket, with what the {@code RateLimit-*} headers report: the
 * tighter of the rate limit and the quota.
 *
 * @param refusal           null when allowed, else {@link Reason#RATE_LIMITED} or {@link Reason#QUOTA_EXCEEDED}
 * @param limit             {@code RateLimit-Limit}: requests per window of the reported limit
 * @param remaining         {@code RateLimit-Remaining}: an estimate, exact when counted per node
 * @param resetAt           when the reported limit is whole again ({@code RateLimit-Reset} counts the seconds to it)
 * @param retryAfterSeconds {@code Retry-After} when refused
 * @param clusterWide       counted in Redis (true) or per node (false)
 */
public record LimitResult(Reason refusal, long limit, long remaining, Instant resetAt, long retryAfterSeconds,
    boolean clusterWide) {

  public long resetSeconds() {
    return Math.max(0, (resetAt.toEpochMilli() - System.currentTimeMillis() + 999) / 1000);
  }

  public boolean allowed() {
    return refusal == null;
  }
}
