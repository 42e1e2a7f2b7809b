package io.ceiba.access;

import io.ceiba.error.ErrorCode;

/**
 * Why a request was allowed or refused: the {@code reason} label of {@code ceiba_auth_decisions_total}
 * and the {@code reason} field of access log lines and {@code /v1/verify}, so every decision can be
 * explained afterwards.
 */
public enum Reason {
  /** A public service, within its per-IP limit. */
  PUBLIC(null),
  /** A valid key, limits and quota not spent. */
  VALID_KEY(null),
  /** Authorization could not answer and the service is {@code fail-open}. */
  FAIL_OPEN(null),
  MISSING_KEY(ErrorCode.MISSING_KEY),
  INVALID_KEY(ErrorCode.INVALID_KEY),
  KEY_REVOKED(ErrorCode.KEY_REVOKED),
  KEY_EXPIRED(ErrorCode.KEY_EXPIRED),
  PLAN_REQUIRED(ErrorCode.PLAN_REQUIRED),
  RATE_LIMITED(ErrorCode.RATE_LIMITED),
  QUOTA_EXCEEDED(ErrorCode.QUOTA_EXCEEDED),
  /** The plan's credit balance does not cover the request's cost. */
  CREDITS_EXHAUSTED(ErrorCode.CREDITS_EXHAUSTED),
  /** Authorization could not answer and the service is {@code fail-closed}. */
  AUTH_UNAVAILABLE(ErrorCode.AUTH_UNAVAILABLE);

  private final ErrorCode refusal;
  private final String label;

  Reason(ErrorCode refusal) {
    this.refusal = refusal;
    this.label = name().toLowerCase();
  }

  /** The error a refused request gets, or null when this reason allows the request. */
  public ErrorCode refusal() {
    return refusal;
  }

  public boolean allows() {
    return refusal == null;
  }

  public String label() {
    return label;
  }
}
