package io.ceiba.access;

import io.ceiba.registry.AccessSpec;
import java.time.Instant;

/**
 * The key-level half of a decision, a pure function of a {@link KeyRecord}, the service and the time:
 * is the key usable, and which plan applies. Limits and quotas come after, in the limiter.
 */
public final class AccessPolicy {

  private AccessPolicy() {
  }

  /**
   * @param reason {@link Reason#VALID_KEY} when the key may call the service (then {@code plan} is the
   *               plan whose limits apply, or null for an {@code api-key} service with no applicable plan),
   *               else the refusal
   */
  public record Verdict(Reason reason, Plan plan) {
  }

  public static Verdict evaluate(KeyRecord key, String service, AccessSpec access, Instant now) {
    if (key.revokedAt() != null && !now.isBefore(key.revokedAt())) {
      return new Verdict(Reason.KEY_REVOKED, null);
    }
    if (key.expiresAt() != null && !now.isBefore(key.expiresAt())) {
      return new Verdict(Reason.KEY_EXPIRED, null);
    }
    Plan best = null;
    for (KeyRecord.Subscription s : key.subscriptions()) {
      Plan plan = s.plan();
      if (!s.activeAt(now) || !plan.grants(service)) {
        continue;
      }
      if (access.policy() == AccessSpec.Policy.PLAN && !access.plans().contains(plan.name())) {
        continue;
      }
      // several apply: the one with the highest rate limit (ties: the larger quota, then the name, to be stable)
      if (best == null || ranksAbove(plan, best)) {
        best = plan;
      }
    }
    if (best == null && access.policy() == AccessSpec.Policy.PLAN) {
      return new Verdict(Reason.PLAN_REQUIRED, null);
    }
    return new Verdict(Reason.VALID_KEY, best);
  }

  private static boolean ranksAbove(Plan a, Plan b) {
    int byRate = Double.compare(a.ratePerSecond(), b.ratePerSecond());
    if (byRate != 0) {
      return byRate > 0;
    }
    long qa = a.quota() == null ? Long.MAX_VALUE : a.quota().requests();
    long qb = b.quota() == null ? Long.MAX_VALUE : b.quota().requests();
    if (qa != qb) {
      return qa > qb;
    }
    return a.name().compareTo(b.name()) < 0;
  }
}
