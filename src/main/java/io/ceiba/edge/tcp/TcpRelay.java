package io.ceiba.edge.tcp;

import io.ceiba.cluster.Peers;
import io.netty.handler.timeout.IdleStateHandler;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import java.net.ConnectException;

/**
 * A TCP connection to a backend on another node's loopback, relayed through that node's edge. The relaying node
 * asks the peer's edge (its {@code edge.advertise} URL, plain or TLS) for an HTTP/1.1 upgrade to {@code ceiba-tcp},
 * authenticated as HTTP relays are (the relay token in {@code X-Ceiba-Peer}) and naming the service and backend
 * ({@code X-Ceiba-Service}, {@code X-Ceiba-Backend: host:port}). The peer connects to its backend first and
 * answers {@code 101} only once that worked; then the connection carries the TCP bytes both ways. A backend the
 * peer cannot reach, or does not have, is a {@code 502} with {@code X-Ceiba-Relay-Failed}: to the relaying node the
 * same as a refused connect.
 */
public final class TcpRelay {

  /** The protocol a relay upgrades to. */
  public static final String PROTOCOL = "ceiba-tcp";

  private TcpRelay() {
  }

  /**
   * The client a node opens relays with (TLS peers are members: their edge certificate is not checked, as for HTTP
   * relays). An upgraded connection leaves the pool, so the pool bounds only relays being set up at once.
   */
  public static HttpClient client(Vertx vertx, int connectTimeoutMs) {
    return vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setTrustAll(true)
        .setVerifyHost(false).setConnectTimeout(connectTimeoutMs), new PoolOptions().setHttp1MaxSize(32));
  }

  /** Opens a relayed connection to backend {@code address} of {@code service} on the node whose edge is {@code peer}. */
  public static Future<NetSocket> open(HttpClient client, Peers peers, Peers.Edge peer, String service, String address) {
    RequestOptions options = peer.aim(new RequestOptions()).setMethod(HttpMethod.GET).setURI("/")
        .putHeader(HttpHeaders.CONNECTION, HttpHeaders.UPGRADE).putHeader(HttpHeaders.UPGRADE, PROTOCOL);
    peers.markRelay(options.getHeaders(), service, address);
    return client.request(options)
        .compose(request -> request.connect())
        .compose(response -> {
          if (response.statusCode() == 101) {
            return Future.succeededFuture(response.netSocket());
          }
          String why = response.getHeader("x-ceiba-relay-failed");
          response.request().connection().close();
          return Future.failedFuture(new ConnectException("relay through " + peer.host() + ":" + peer.port() + " answered "
              + response.statusCode() + (why == null ? "" : " (" + why + ")")));
        });
  }

  /** Whether a request to this node's edge asks for a TCP relay and carries a member's relay token. */
  public static boolean isRelay(HttpServerRequest request, Peers peers) {
    MultiMap headers = request.headers();
    return PROTOCOL.equalsIgnoreCase(headers.get(HttpHeaders.UPGRADE)) && peers.isRelay(headers);
  }

  /**
   * A relay's connection came from the edge's HTTP listener, whose idle timeout would cut a quiet TCP session (an
   * idle Redis client) that a direct connection to the TCP listener keeps: the upgraded connection drops it.
   * Reaches into Vert.x internals; when they change, the idle timeout stays.
   */
  static void withoutIdleTimeout(NetSocket socket) {
    if (socket instanceof NetSocketInternal internal) {
      var pipeline = internal.channelHandlerContext().pipeline();
      IdleStateHandler idle = pipeline.get(IdleStateHandler.class);
      if (idle != null) {
        pipeline.remove(idle);
      }
    }
  }
}
