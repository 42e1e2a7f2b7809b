package io.ceiba.edge;

import io.ceiba.edge.cache.CacheFill;
import io.ceiba.edge.cache.CacheRules;
import io.ceiba.edge.cache.CachedResponse;
import io.ceiba.edge.cache.EdgeCache;
import io.ceiba.registry.AccessSpec;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/**
 * The edge cache, after access and limits were decided: a fresh stored response answers the exchange here;
 * otherwise the exchange keeps its key, and the upstream answer is copied while it streams ({@link #fill}) and
 * stored once whole ({@link #store}).
 */
final class CacheStep {

  private final EdgeCache cache;
  private final ExchangeEnd end;
  private final LimitHeaders limitHeaders;

  CacheStep(EdgeCache cache, ExchangeEnd end, LimitHeaders limitHeaders) {
    this.cache = cache;
    this.end = end;
    this.limitHeaders = limitHeaders;
  }

  /** @return true when the exchange was answered from the cache */
  boolean served(Exchange ex) {
    EdgeCache.Scope scope = ex.route.cacheScope();
    if (scope == null) {
      return false;
    }
    HttpServerRequest request = ex.request;
    HttpMethod method = request.method();
    CacheRules.RequestMode mode = (method == HttpMethod.GET || method == HttpMethod.HEAD) && !ex.hasBody
        ? CacheRules.requestMode(request.headers(), !ex.keyInAuthorization && request.headers().contains(HttpHeaders.AUTHORIZATION))
        : CacheRules.RequestMode.PASS;
    String project = null;
    if (mode != CacheRules.RequestMode.PASS && ex.service.access().policy() != AccessSpec.Policy.PUBLIC) {
      // one project's response never goes to another: the project is part of the key (none when unverified)
      project = ex.decision == null || ex.decision.key() == null ? null : ex.decision.key().projectId();
      mode = project == null ? CacheRules.RequestMode.PASS : mode;
    }
    CachedResponse hit = null;
    EdgeCache.Result result = EdgeCache.Result.BYPASS;
    if (mode != CacheRules.RequestMode.PASS) {
      // everything that reaches the origin and may shape its answer: scheme, Host with port, X-Forwarded-Host, target
      ex.cacheKey = EdgeCache.Key.of(scope, ex.head.forwarding().proto(), ex.head.hostHeader(), ex.head.forwarding().host(),
          ex.target(), project);
      if (mode == CacheRules.RequestMode.LOOKUP) {
        hit = cache.lookup(ex.cacheKey, request.headers());
        result = hit == null ? EdgeCache.Result.MISS : EdgeCache.Result.HIT;
      }
    }
    cache.count(result);
    HttpServerResponse response = ex.response;
    response.putHeader(ProxyHeaders.X_CEIBA_CACHE, result.label());
    if (hit == null) {
      return false;
    }
    response.setStatusCode(hit.status());
    if (hit.statusMessage() != null) {
      response.setStatusMessage(hit.statusMessage());
    }
    response.headers().addAll(hit.headers());
    response.putHeader(HttpHeaders.AGE, Long.toString(hit.ageSeconds(System.nanoTime())));
    if (LimitHeaders.reports(ex.decision)) {
      limitHeaders.set(response.headers(), ex.decision);
    }
    if (method == HttpMethod.HEAD) {
      response.end();
    } else {
      ex.bytesOut = hit.body().length();
      response.end(hit.body());
    }
    end.finish(ex, hit.status(), null);
    return true;
  }

  /**
   * Starts a copy of the upstream answer when the exchange may be stored and the answer's length is known and small
   * enough; leaves {@link Exchange#fill} null otherwise.
   */
  void fill(Exchange ex, HttpClientResponse upstream, String customMessage) {
    if (ex.cacheKey == null || ex.request.method() != HttpMethod.GET) {
      return;
    }
    int status = upstream.statusCode();
    long lifetime = CacheRules.lifetimeNanos(status, upstream.headers(), ex.cacheKey.scope().ttlNanos());
    if (lifetime < 0) {
      return;
    }
    String length = upstream.getHeader(HttpHeaders.CONTENT_LENGTH);
    long declared = length != null ? ProxyHeaders.contentLength(length) : status == 204 ? 0 : -1;
    if (declared < 0 || declared > cache.maxEntryBytes()) {
      return; // unknown length or too large: streamed as usual, not kept
    }
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    ProxyHeaders.copyEndToEnd(upstream.headers(), headers);
    headers.remove(HttpHeaders.AGE);
    ex.fill = new CacheFill(new CacheFill.Head(status, customMessage, headers, declared, CacheRules.age(upstream.headers()), lifetime));
  }

  /** Stores the whole copy (when all of the declared body came) and lets go of it. */
  void store(Exchange ex) {
    CachedResponse stored = ex.fill.complete(System.nanoTime());
    ex.fill = null;
    if (stored != null) {
      cache.store(ex.cacheKey, ex.request.headers(), stored);
    }
  }
}
