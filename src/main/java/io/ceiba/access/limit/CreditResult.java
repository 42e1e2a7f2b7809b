package io.ceiba.access.limit;

import java.time.Instant;

/**
 * Outcome of charging one request's cost to a credit balance.
 *
 * @param allowed     whether the balance covered the cost (and, when charging, paid it)
 * @param cost        what the request costs
 * @param remaining   the balance after the charge ({@code X-Credits-Remaining}); per node: this node's share
 * @param grant       the plan's grant per period
 * @param resetAt     when the balance is refilled to the grant, or null (never refilled)
 * @param clusterWide counted in Redis (true) or per node (false)
 */
public record CreditResult(boolean allowed, long cost, long remaining, long grant, Instant resetAt, boolean clusterWide) {

  /** What the usage event records as consumed: the cost when charged, else 0. */
  public long charged() {
    return allowed ? cost : 0;
  }
}
