package io.ceiba.edge;

import io.ceiba.access.Decision;
import io.ceiba.error.ErrorCode;
import io.ceiba.error.ErrorResponses;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;

/**
 * The one place where every exchange ends, HTTP and WebSocket alike, answered, refused, failed or abandoned: it
 * releases what the exchange held (its backend slot, a paused body, an upstream request still running) and writes
 * the metrics, the usage event and the access-log line, once.
 */
final class ExchangeEnd {

  /** As nginx logs it: the client closed the connection before the response was complete. */
  static final int CLIENT_CLOSED = 499;

  private final EdgeMetrics metrics;
  private final UsageRecorder usage;
  /** Null when {@code edge.access_log} is off. */
  private final AccessLog accessLog;
  private final LimitHeaders limitHeaders;

  ExchangeEnd(EdgeMetrics metrics, UsageRecorder usage, AccessLog accessLog, LimitHeaders limitHeaders) {
    this.metrics = metrics;
    this.usage = usage;
    this.accessLog = accessLog;
    this.limitHeaders = limitHeaders;
  }

  /** Answers with a JSON error (and the limit headers of a counted request) and ends the exchange. */
  Future<Void> fail(Exchange ex, ErrorCode code, String message) {
    if (ex.done) {
      return Future.succeededFuture();
    }
    if (LimitHeaders.reports(ex.decision)) {
      limitHeaders.set(ex.response.headers(), ex.decision);
    }
    boolean unasked = ex.expectContinue && !ex.continued;
    if (unasked) {
      // refused before its body was asked for: the client may send it or not, so nothing after it can be trusted
      ex.closeConnectionAfter();
    }
    Future<Void> sent = ErrorResponses.send(ex.response, code, message, ex.requestId);
    finish(ex, code.status(), message);
    if (unasked) {
      sent.onComplete(ar -> ex.request.connection().close());
    }
    return sent;
  }

  /** Answers with a bare status (no body) and ends the exchange. */
  void reply(Exchange ex, int status, String error) {
    if (ex.done) {
      return;
    }
    ex.response.setStatusCode(status).end();
    finish(ex, status, error);
  }

  /** The client's connection closed first: what runs upstream for it is cancelled, and it is logged as {@code 499}. */
  void clientGone(Exchange ex) {
    if (ex.done) {
      return;
    }
    // ended first: the reset below fails the upstream response at once, and that must not answer it again
    finish(ex, CLIENT_CLOSED, ex.response.headWritten() ? "client closed" : "client closed before the response");
    if (ex.upstream != null) {
      ex.upstream.reset(); // waiting for the head, or streaming: the upstream connection closes at once
    }
    // waiting for access, or connecting: the step that resumes sees the exchange done and drops what it got
  }

  /**
   * The client's request body broke off (its connection went, or a chunk did not parse) while it was sent
   * upstream: the client's doing, not the backend's. Ended here first, so that the upstream reset that follows is
   * not taken for a {@code 502}: {@code 499} once a response started or the client is gone, else {@code 400} and
   * the connection closes (its remaining bytes cannot be read as a request).
   */
  void bodyBrokeOff(Exchange ex) {
    if (!ex.done) {
      if (ex.response.closed() || ex.response.headWritten()) {
        finish(ex, CLIENT_CLOSED, "client request broke off");
      } else {
        ex.closeConnectionAfter();
        fail(ex, ErrorCode.BAD_REQUEST, "request body broke off");
      }
    }
    if (ex.upstream != null) {
      ex.upstream.reset();
    }
  }

  /**
   * An access decision came for an exchange that had ended already (its client went while it was decided): an
   * admitted keyed request was counted against its quota, so it is recorded as usage like any other.
   */
  void decidedAfterEnd(Exchange ex, Decision decision) {
    if (decision != null && decision.allowed() && ex.decision == null) {
      ex.decision = decision;
      usage.record(ex, decision, CLIENT_CLOSED, System.nanoTime());
    }
  }

  /** Ends the exchange once, whatever answered it. */
  void finish(Exchange ex, int status, String error) {
    if (ex.done) {
      return;
    }
    ex.done = true;
    long now = System.nanoTime();
    // first: the response is out, and a crash from here on must find its event in the spool
    usage.record(ex, ex.decision, status, now);
    if (ex.held && !ex.request.isEnded()) {
      // a paused request would stall its keep-alive connection: let the rest of it flow (and be dropped)
      ex.request.handler(null);
      ex.request.resume();
    }
    String service = ex.service == null ? "-" : ex.service.name();
    if (ex.backend != null) {
      ex.balancer.release(ex.backendIndex);
      if (ex.upstreamStart != 0) {
        metrics.upstream(service, ex.backend.node() == null ? "-" : ex.backend.node(), now - ex.upstreamStart);
      }
    }
    if (!ex.probe) {
      metrics.request(service, status);
      if (ex.matched != null) {
        metrics.routeRequest(service, ex.matched, status);
      }
    }
    if (accessLog != null) {
      accessLog.write(ex, service, status, error, now);
    }
  }
}
