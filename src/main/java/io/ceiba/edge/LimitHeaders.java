package io.ceiba.edge;

import io.ceiba.access.Decision;
import io.ceiba.access.limit.LimitResult;
import io.vertx.core.MultiMap;

/**
 * The {@code RateLimit-*} headers of a counted request and the {@code X-Credits-Remaining} of a charged one, on
 * whatever answers it (upstream, cache, refusal or error).
 */
final class LimitHeaders {

  /** Whether {@code d} has anything to report. */
  static boolean reports(Decision d) {
    return d != null && (d.limits() != null || d.credits() != null);
  }

  /** Sets what {@code d} counted, replacing any such header already there. */
  void set(MultiMap headers, Decision d) {
    if (d.limits() != null) {
      set(headers, d.limits());
    }
    if (d.credits() != null) {
      headers.set(ProxyHeaders.CREDITS_REMAINING, Long.toString(d.credits().remaining()));
    }
  }

  /** Adds what {@code d} counted to {@code headers}, which has none of these (they were left out of the copy). */
  void add(MultiMap headers, Decision d) {
    if (d.limits() != null) {
      add(headers, d.limits());
    }
    if (d.credits() != null) {
      headers.add(ProxyHeaders.CREDITS_REMAINING, Long.toString(d.credits().remaining()));
    }
  }

  private long lastLimit = -1;
  private String lastLimitText;

  /** Sets them, replacing any already there (a stored response's, on a cache hit). */
  void set(MultiMap headers, LimitResult limits) {
    headers.set(ProxyHeaders.RATELIMIT_LIMIT, limitText(limits.limit()));
    headers.set(ProxyHeaders.RATELIMIT_REMAINING, Long.toString(limits.remaining()));
    headers.set(ProxyHeaders.RATELIMIT_RESET, Long.toString(limits.resetSeconds()));
  }

  /** Adds them to {@code headers}, which has none (they were left out of the copy). */
  void add(MultiMap headers, LimitResult limits) {
    headers.add(ProxyHeaders.RATELIMIT_LIMIT, limitText(limits.limit()));
    headers.add(ProxyHeaders.RATELIMIT_REMAINING, Long.toString(limits.remaining()));
    headers.add(ProxyHeaders.RATELIMIT_RESET, Long.toString(limits.resetSeconds()));
  }

  /** The plan's limit is the same number request after request: its text is made when it changes. */
  private String limitText(long limit) {
    if (limit != lastLimit || lastLimitText == null) {
      lastLimit = limit;
      lastLimitText = Long.toString(limit);
    }
    return lastLimitText;
  }
}
