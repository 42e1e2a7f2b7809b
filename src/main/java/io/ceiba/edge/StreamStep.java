package io.ceiba.edge;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.concurrent.TimeoutException;

/**
 * Streams the upstream answer to the client as it comes, with back-pressure: status, end-to-end headers, the limit
 * headers, then the body (copied for the cache on the way when it may be stored). A client that cannot read a
 * length-less body's end from chunks (HTTP/1.0) reads it to the connection's close.
 */
final class StreamStep {

  private final ExchangeEnd end;
  private final CacheStep cache;
  private final LimitHeaders limitHeaders;

  StreamStep(ExchangeEnd end, CacheStep cache, LimitHeaders limitHeaders) {
    this.end = end;
    this.cache = cache;
    this.limitHeaders = limitHeaders;
  }

  void respond(Exchange ex, HttpClientResponse upstream) {
    HttpServerResponse response = ex.response;
    int status = upstream.statusCode();
    response.setStatusCode(status);
    String message = upstream.statusMessage();
    // a custom reason phrase is passed on; the standard one is already there (setting it costs an object per response)
    boolean customMessage = message != null && !message.equals(HttpResponseStatus.valueOf(status).reasonPhrase());
    if (customMessage) {
      response.setStatusMessage(message);
    }
    cache.fill(ex, upstream, customMessage ? message : null);
    boolean counted = LimitHeaders.reports(ex.decision);
    ProxyHeaders.copyEndToEnd(upstream.headers(), response.headers(), counted ? ProxyHeaders.Drop.RATE_LIMIT : ProxyHeaders.Drop.NOTHING);
    if (counted) {
      limitHeaders.add(response.headers(), ex.decision);
    }
    if (!upstream.headers().contains(HttpHeaders.CONTENT_LENGTH) && ex.request.method() != HttpMethod.HEAD
        && status != 204 && status != 304) {
      if (ex.request.version() == HttpVersion.HTTP_1_0) {
        // no chunks in HTTP/1.0: the body ends where the connection does, whatever keep-alive the client asked for
        ex.closeAfter = true;
      } else {
        response.setChunked(true);
      }
    }
    upstream.handler(chunk -> {
      ex.bytesOut += chunk.length();
      if (ex.fill != null) {
        if (!ex.fill.append(chunk)) {
          ex.fill = null;
        } else if (ex.fill.isComplete()) {
          // stored before the last byte goes out: with Content-Length framing the client may send its next
          // request, to any edge instance, before the upstream's end is seen here
          cache.store(ex);
        }
      }
      response.write(chunk);
      if (response.writeQueueFull()) {
        upstream.pause();
        response.drainHandler(v -> upstream.resume());
      }
    });
    upstream.exceptionHandler(e -> {
      // the backend broke off mid-body: the client must not take a cut body as complete
      if (!ex.done) {
        response.reset();
        end.finish(ex, status, e instanceof TimeoutException ? "upstream timeout mid-body" : "upstream reset");
      }
    });
    upstream.endHandler(v -> {
      if (!ex.done) {
        if (ex.fill != null) {
          cache.store(ex); // an empty body: the client sees nothing before end()
        }
        if (ex.closeAfter) {
          response.end().onComplete(ar -> ex.request.connection().close());
        } else {
          response.end();
        }
        end.finish(ex, status, null);
      }
    });
  }
}
