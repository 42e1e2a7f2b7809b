package io.ceiba.edge;

import io.ceiba.access.AccessGate;
import io.ceiba.access.Decision;
import io.ceiba.access.limit.LimitResult;
import io.ceiba.error.ErrorCode;
import io.ceiba.registry.AccessSpec;
import io.ceiba.registry.HttpService;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;

/**
 * Who is calling and may they: the key from {@code X-API-Key} or {@code Authorization: Bearer}, decided by the
 * node's {@link AccessGate} (key, plan, rate limit, quota; per-IP limits of public services). An allowed exchange
 * goes on to the next step; a refused one is answered with its code, {@code Retry-After} and the limit headers.
 * The decision is usually at hand (cached key); only a key lookup makes the exchange wait.
 */
final class AccessStep {

  /** Where an admitted exchange goes on. */
  interface Next {
    void admitted(Exchange ex);
  }

  private final AccessGate gate;
  private final ExchangeEnd end;

  AccessStep(AccessGate gate, ExchangeEnd end) {
    this.gate = gate;
    this.end = end;
  }

  void decide(Exchange ex, Next next) {
    HttpService service = ex.service;
    if (service.access().policy() == AccessSpec.Policy.PUBLIC && service.rateLimit().perIp() == null) {
      next.admitted(ex);
      return;
    }
    MultiMap headers = ex.request.headers();
    String apiKey = headers.get(ProxyHeaders.X_API_KEY);
    String key = apiKey != null ? apiKey : bearer(headers);
    ex.keyInAuthorization = apiKey == null && key != null;
    // the client as the framing step found it: a trusted proxy's forwarded address, else the connection's peer
    Future<Decision> decided = gate.authorize(service, ex.matched == null ? null : ex.matched.className(),
        ex.matched == null ? null : ex.matched.cost(), key, ex.head.forwarding().client());
    if (decided.isComplete()) {
      admit(ex, decided.succeeded() ? decided.result() : null, next);
    } else {
      decided.onComplete(ar -> admit(ex, ar.succeeded() ? ar.result() : null, next));
    }
  }

  private void admit(Exchange ex, Decision decision, Next next) {
    if (ex.done) {
      end.decidedAfterEnd(ex, decision); // the client went while this was decided
      return;
    }
    if (decision == null) {
      end.fail(ex, ErrorCode.AUTH_UNAVAILABLE, "authorization failed");
      return;
    }
    ex.decision = decision;
    if (decision.allowed()) {
      next.admitted(ex); // the limit headers go on the answer, whichever step gives it
      return;
    }
    LimitResult limits = decision.limits();
    if (limits != null && !limits.allowed()) {
      ex.response.putHeader(ProxyHeaders.RETRY_AFTER, Long.toString(limits.retryAfterSeconds()));
    }
    end.fail(ex, decision.reason().refusal(), refusalMessage(ex.service, decision));
  }

  private static String bearer(MultiMap headers) {
    String authorization = headers.get(HttpHeaders.AUTHORIZATION);
    return authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7) ? authorization.substring(7).trim() : null;
  }

  private static String refusalMessage(HttpService service, Decision d) {
    return switch (d.reason()) {
      case MISSING_KEY -> "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>";
      case INVALID_KEY -> "the API key is not valid";
      case KEY_REVOKED -> "the API key has been revoked";
      case KEY_EXPIRED -> "the API key has expired";
      case PLAN_REQUIRED -> "the key's project has no active subscription to a plan granting " + service.name();
      case RATE_LIMITED -> d.plan() == null ? "too many requests from this address" : "rate limit of plan " + d.plan().name() + " exceeded";
      case QUOTA_EXCEEDED -> "quota of plan " + d.plan().name() + " is spent until " + d.limits().resetAt();
      case CREDITS_EXHAUSTED -> "the credit balance of plan " + d.plan().name() + " (" + d.credits().remaining()
          + ") does not cover this request's cost (" + d.credits().cost() + ")"
          + (d.credits().resetAt() == null ? "; top up to continue" : "; it is refilled at " + d.credits().resetAt());
      case AUTH_UNAVAILABLE -> "authorization is unavailable; try again shortly";
      default -> d.reason().label();
    };
  }
}
