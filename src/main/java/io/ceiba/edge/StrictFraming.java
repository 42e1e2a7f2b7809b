package io.ceiba.edge;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpMessage;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.VertxConnection;

/**
 * Lets the edge refuse a request that carries both {@code Content-Length} and {@code Transfer-Encoding}
 * (RFC 9112 §6.3 allows a server to reject it; proxies that disagree on its length are how requests get
 * smuggled). Netty's decoder silently drops the length and reads the body as chunked; this decoder keeps both
 * headers, so {@link EdgeVerticle} sees the conflict and answers 400 and closes the connection. The body is
 * still read as chunked, so the connection's framing stays Netty's.
 *
 * <p>Installed per connection in place of Vert.x's own decoder (same options), before any byte is read.
 * It reaches into Vert.x internals ({@code VertxConnection}, the {@code httpDecoder} handler name); when they
 * change, {@link #install} does nothing and the edge falls back to Netty's behaviour.
 */
final class StrictFraming extends VertxHttpRequestDecoder {

  private static final String DECODER = "httpDecoder";

  private StrictFraming(HttpServerOptions options) {
    super(options);
  }

  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    // keep Content-Length: the request is refused as a whole; the decoder reads the body by its chunks
  }

  /** Swaps the connection's HTTP/1 decoder for this one; true when it did. */
  static boolean install(HttpConnection connection, HttpServerOptions options) {
    if (!(connection instanceof VertxConnection vertxConnection)) {
      return false;
    }
    ChannelPipeline pipeline = vertxConnection.channel().pipeline();
    ChannelHandler decoder = pipeline.get(DECODER);
    if (!(decoder instanceof VertxHttpRequestDecoder) || decoder instanceof StrictFraming) {
      return false;
    }
    pipeline.replace(DECODER, DECODER, new StrictFraming(options));
    return true;
  }
}
