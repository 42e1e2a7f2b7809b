package io.ceiba.edge;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpVersion;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.VertxConnection;

/**
 * The edge's HTTP/1 request decoder: Netty's, stricter where the edge must see what a client sent.
 * <ul>
 * <li>Keeps both {@code Content-Length} and {@code Transfer-Encoding} (RFC 9112 §6.3 allows a server to reject
 * such a request; proxies that disagree on its length are how requests get smuggled). Netty's decoder silently
 * drops the length and reads the body as chunked; with both headers kept, {@link FramingStep} sees the conflict
 * and answers 400 and closes the connection. The body is still read as chunked, so the connection's framing
 * stays Netty's.
 * <li>Takes only {@code HTTP/1.0} and {@code HTTP/1.1} as the version (the name is case-sensitive, RFC 9112
 * §2.3): anything else ({@code http/1.1}, {@code HTTP/2.0}, {@code HTTP/1.2}) is a malformed request line,
 * answered 400 through the invalid-request handler. Netty would pass it on as a version of its own, and Vert.x
 * then answers {@code 501} itself (a 5xx for the client's mistake, no access-log line) when, as on the edge,
 * upgrades come to the request handler.
 * </ul>
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
  protected HttpMessage createMessage(String[] initialLine) {
    HttpMessage message = super.createMessage(initialLine);
    HttpVersion version = message.protocolVersion();
    if (version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0) {
      // thrown here, Netty's decoder makes it an invalid message and reads nothing more of the connection
      throw new IllegalArgumentException("unsupported HTTP version: " + initialLine[2]);
    }
    return message;
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
