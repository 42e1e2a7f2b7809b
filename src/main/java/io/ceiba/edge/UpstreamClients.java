package io.ceiba.edge;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One edge instance's connections to upstreams: HTTP/1.1 (and TLS) clients by connect timeout (services rarely
 * differ, so usually one; the timeout lives on the client's sockets instead of a timer per request), the same for
 * {@code h2c://} backends, and one WebSocket client. Clients outlive registry versions (their pools stay warm) and
 * close with the verticle.
 */
final class UpstreamClients {

  private final Vertx vertx;
  private final Map<Long, HttpClient> http1 = new HashMap<>();
  private final Map<Long, HttpClient> h2c = new HashMap<>();
  private final WebSocketClient webSockets;

  UpstreamClients(Vertx vertx) {
    this.vertx = vertx;
    // TLS is verified by default; each request to a TLS backend carries its service's UpstreamTlsOptions
    this.webSockets = vertx.createWebSocketClient(new WebSocketClientOptions().setVerifyHost(true)
        .setMaxFrameSize(1024 * 1024).setMaxMessageSize(16 * 1024 * 1024));
  }

  /** A service's clients: HTTP/1.1 (and TLS) always, HTTP/2 cleartext when it has {@code h2c://} backends. */
  record Pair(HttpClient http1, HttpClient h2c) {
    HttpClient of(boolean h2cBackend) {
      return h2cBackend ? h2c : http1;
    }
  }

  Pair pair(long connectTimeout, boolean anyH2c) {
    return new Pair(client(connectTimeout, false), anyH2c ? client(connectTimeout, true) : null);
  }

  WebSocketClient webSockets() {
    return webSockets;
  }

  private HttpClient client(long connectTimeout, boolean prior) {
    Map<Long, HttpClient> byTimeout = prior ? h2c : http1;
    HttpClient client = byTimeout.get(connectTimeout);
    if (client == null) {
      HttpClientOptions options = new HttpClientOptions()
          .setKeepAlive(true)
          .setTcpNoDelay(true)
          .setDecompressionSupported(false)
          .setMaxInitialLineLength(16 * 1024)
          .setMaxHeaderSize(64 * 1024)
          // a body chunk as large as a socket read (Netty reads at most 64 KB): each chunk is one write, and one send,
          // to the client; at the default 8 KB a 1 MB body took 128 sends
          .setMaxChunkSize(EdgeVerticle.MAX_CHUNK_SIZE)
          .setVerifyHost(true)
          .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout))
          .setKeepAliveTimeout(30);
      if (prior) {
        // prior knowledge: the first bytes are the HTTP/2 preface, no HTTP/1.1 Upgrade round trip
        options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false).setHttp2KeepAliveTimeout(30);
      }
      // HTTP/2 multiplexes: a second connection to a backend only once the first has no stream left
      client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(256).setHttp2MaxSize(4));
      byTimeout.put(connectTimeout, client);
    }
    return client;
  }

  Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    http1.values().forEach(c -> closing.add(c.close()));
    h2c.values().forEach(c -> closing.add(c.close()));
    closing.add(webSockets.close());
    return Future.join(closing).mapEmpty();
  }
}
