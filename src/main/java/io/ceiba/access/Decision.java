package io.ceiba.access;

import io.ceiba.access.limit.CreditResult;
import io.ceiba.access.limit.LimitResult;

/**
 * The answer for one request: why it is allowed or refused, and what the edge passes on (project, plan
 * and key id upstream, {@code RateLimit-*} headers to the client).
 *
 * @param key    the key's record when one was found, else null
 * @param plan   the plan whose limits applied, or null
 * @param limits the limit outcome when the plan (or a per-IP limit) counted this request, else null
 * @param stale  decided from a cached key record past its freshness because authorization could not answer
 * @param caller the identity headers' values when a key was found, else null
 * @param credits the credit charge when the plan grants credits and the request got that far, else null
 */
public record Decision(Reason reason, KeyRecord key, Plan plan, LimitResult limits, boolean stale, CallerHeaders caller,
    CreditResult credits) {

  /** A decision without credits. */
  public Decision(Reason reason, KeyRecord key, Plan plan, LimitResult limits, boolean stale, CallerHeaders caller) {
    this(reason, key, plan, limits, stale, caller, null);
  }

  /** This decision after the credit charge {@code charge}: refused when the balance did not cover the cost. */
  Decision charged(CreditResult charge) {
    return new Decision(charge.allowed() ? reason : Reason.CREDITS_EXHAUSTED, key, plan, limits, stale, caller, charge);
  }

  static final Decision PUBLIC = new Decision(Reason.PUBLIC, null, null, null, false, null);

  public boolean allowed() {
    return reason.allows();
  }

  static Decision of(Reason reason) {
    return new Decision(reason, null, null, null, false, null);
  }
}
