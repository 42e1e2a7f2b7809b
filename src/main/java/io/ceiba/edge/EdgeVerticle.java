package io.ceiba.edge;

import io.ceiba.bus.Addresses;
import io.ceiba.config.EdgeConfig;
import io.ceiba.config.Role;
import io.ceiba.edge.cache.EdgeCache;
import io.ceiba.edge.http.RequestHygiene;
import io.ceiba.edge.http.TrustedProxies;
import io.ceiba.edge.tcp.TcpProxy;
import io.ceiba.edge.tcp.TcpRelay;
import io.ceiba.listener.ListenerGuard;
import io.ceiba.node.NodeContext;
import io.ceiba.registry.Registry;
import io.ceiba.tls.CertificateSet;
import io.ceiba.tls.CertificateWatcher;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge: HTTP listeners (plain and TLS) whose requests go through the {@link HttpPipeline}, and the TCP proxy.
 * This class starts, wires and stops them; it applies each registry version as one {@link EdgeSnapshot} and feeds
 * the instance's {@link HealthView}. Everything here runs on the instance's own event loop.
 */
public final class EdgeVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(EdgeVerticle.class);

  /** Largest body chunk handed on, both ways: Netty reads at most 64 KB at once (Vert.x's default is 8 KB). */
  static final int MAX_CHUNK_SIZE = 64 * 1024;

  private final NodeContext node;
  private final EdgeConfig config;
  private final String nodeId;
  private EdgeCache cache;
  private HealthView health;
  private UpstreamClients upstreams;
  private UsageRecorder usage;
  /** Null when {@code edge.access_log} is off. */
  private AccessLog accessLog;
  private HttpPipeline pipeline;
  private TcpProxy tcp;
  private HttpServer server;
  private HttpServer tlsServer;
  /** The certificate swap under way (or the last one): the next starts after it. */
  private Future<Void> lastSwap = Future.succeededFuture();
  private static final String TLS_SWAPPER = "ceiba.edge.tls-swapper";
  private final String swapperId = java.util.UUID.randomUUID().toString();

  public EdgeVerticle(NodeContext node) {
    this.node = node;
    this.config = node.config().edge();
    this.nodeId = node.nodeId();
  }

  @Override
  public Future<?> start() {
    var bus = vertx.eventBus();
    cache = node.edgeCache();
    health = new HealthView(bus);
    upstreams = new UpstreamClients(vertx);
    usage = new UsageRecorder(vertx, nodeId, node.config().has(Role.USAGE), node.config().cluster().enabled(), node.usageSpool());
    usage.start();
    pipeline = wire();
    tcp = new TcpProxy(vertx, config.host(), nodeId, node.peers(), health, health::suspect);

    List<MessageConsumer<?>> consumers = List.of(
        bus.<Registry>localConsumer(Addresses.REGISTRY_CHANGED, msg -> apply(msg.body())),
        bus.<JsonObject>localConsumer(Addresses.HEALTH_CHANGED, msg -> {
          health.onHealth(msg.body());
          tcp.onHealth(msg.body());
        }),
        bus.<JsonObject>localConsumer(Addresses.EDGE_EJECTED, msg -> health.onEjected(msg.body())),
        // the node stops: keep serving through the drain delay, but send every client elsewhere after its answer
        bus.<Object>localConsumer(Addresses.NODE_DRAINING, msg -> pipeline.drain(node.config().shutdown().grace())));
    DeliveryOptions local = new DeliveryOptions().setLocalOnly(true).setSendTimeout(5000);
    HttpServerOptions options = listenerOptions();
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList())
        .compose(v -> bus.<Registry>request(Addresses.REGISTRY_CURRENT, null, local))
        .onSuccess(reply -> apply(reply.body()))
        .compose(v -> bus.<JsonArray>request(Addresses.HEALTH_SNAPSHOT, null, local)
            .onSuccess(reply -> reply.body().forEach(o -> health.onHealth(((JsonObject) o).copy().put("url", ((JsonObject) o).getString("backend")))))
            .otherwise(e -> null)) // no health verticle on this node: every backend counts as up
        .compose(v -> listen(options))
        .onSuccess(s -> server = s)
        .compose(s -> config.tls() == null ? Future.succeededFuture() : listenTls(options, local));
  }

  /**
   * The TLS listener, with the certificates the node's {@link CertificateWatcher} checked; a renewal it publishes is
   * swapped in without closing a connection (handshakes from then on get the new certificate).
   */
  private Future<Void> listenTls(HttpServerOptions plain, DeliveryOptions local) {
    boolean http2 = config.tls().http2();
    return vertx.eventBus().<CertificateSet>request(Addresses.TLS_CURRENT, null, local)
        .compose(reply -> listen(tlsListenerOptions(plain, http2).setKeyCertOptions(reply.body().keyCertOptions())))
        .onSuccess(t -> {
          tlsServer = t;
          if (claimCertificateSwaps()) {
            vertx.eventBus().<CertificateSet>localConsumer(Addresses.TLS_CHANGED, msg -> swapCertificates(msg.body(), http2));
            // a change published between the first TLS_CURRENT and this consumer (stored certificates fetched while
            // the listener bound) would be missed for good: ask once more now that nothing can slip through
            vertx.eventBus().<CertificateSet>request(Addresses.TLS_CURRENT, null, local)
                .onSuccess(reply -> swapCertificates(reply.body(), http2));
          }
        })
        .mapEmpty();
  }

  /**
   * Whether this instance swaps the certificates of the node's TLS listener. The instances share one server, so one
   * update serves them all; and Vert.x 5.0's {@code updateSSLOptions} called from two event loops at once can recurse
   * until the stack overflows (seen in CI: "not swapped in: null", the old certificate kept). So the first instance to
   * listen does every swap, one after the other.
   */
  private boolean claimCertificateSwaps() {
    return vertx.sharedData().<String, String>getLocalMap(TLS_SWAPPER).putIfAbsent(nodeId, swapperId) == null;
  }

  private void swapCertificates(CertificateSet certificates, boolean http2) {
    lastSwap = lastSwap.transform(ar -> tlsServer.updateSSLOptions(certificates.serverOptions(http2))
        .onFailure(e -> LOG.error("edge: TLS certificates not swapped in: {}", String.valueOf(e)))
        .<Void>mapEmpty());
  }

  /** The steps of the request path, each with what it needs; one set per edge instance. */
  private HttpPipeline wire() {
    LimitHeaders limitHeaders = new LimitHeaders();
    accessLog = node.accessLog() == null ? null : new AccessLog(nodeId, vertx, node.accessLog(), node.meters());
    ExchangeEnd end = new ExchangeEnd(new EdgeMetrics(node.meters()), usage, accessLog, limitHeaders);
    CacheStep cacheStep = new CacheStep(cache, end, limitHeaders);
    StreamStep stream = new StreamStep(end, cacheStep, limitHeaders);
    return new HttpPipeline(node.peers(),
        new FramingStep(nodeId, config.maxHeaderSize(), new RequestHygiene(new TrustedProxies(config.trustedProxies())), end),
        new RouteStep(nodeId, end),
        new AcmeChallengeStep(node.acmeChallenges(), end),
        new MiddlewareStep(end),
        new AccessStep(node.access(), end),
        cacheStep,
        new ForwardStep(node.peers(), health, end, stream),
        new WebSocketStep(node.peers(), health, upstreams.webSockets(), end));
  }

  private HttpServerOptions listenerOptions() {
    return new HttpServerOptions()
        .setHost(config.host())
        .setPort(config.port())
        .setMaxHeaderSize(config.maxHeaderSize())
        .setMaxInitialLineLength(8 * 1024)
        // request body chunks as large as a socket read, so each is one write (and one send) to the backend
        .setMaxChunkSize(MAX_CHUNK_SIZE)
        .setIdleTimeout((int) config.idleTimeout().toSeconds())
        .setTcpNoDelay(true)
        .setCompressionSupported(false)
        // HTTP/1.1 only: an h2c upgrade would be accepted and then fail on hop-by-hop headers; clients fall back
        .setHttp2ClearTextEnabled(false)
        // no permessage-deflate: keeps the WebSocket extension handler out of every connection's pipeline
        .setPerMessageWebSocketCompressionSupported(false)
        .setPerFrameWebSocketCompressionSupported(false)
        // the edge answers Expect: 100-continue itself, once the request is admitted (FramingStep)
        .setHandle100ContinueAutomatically(false)
        // every exchange is answered from its connection's event loop: writes go to the channel directly instead of
        // through a per-connection queue whose first chunk (4 KB) every idle connection would otherwise hold
        .setStrictThreadMode(true);
  }

  /**
   * The plain listener's options with TLS and SNI; with {@code http2}, ALPN offers {@code h2} before {@code http/1.1}.
   * HTTP/2 requests take the same pipeline; the cleartext listener stays HTTP/1.1 only (no h2c upgrade).
   */
  private HttpServerOptions tlsListenerOptions(HttpServerOptions plain, boolean http2) {
    HttpServerOptions options = new HttpServerOptions(plain).setPort(config.tls().port()).setSsl(true).setSni(true).setUseAlpn(http2);
    if (http2) {
      options.setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
    }
    return options;
  }

  /**
   * WebSocket upgrades come to the request handler too: they take the same steps as any request. Each connection
   * passes the listener's guard (connection cap, request-head deadline) before any byte of it is read.
   */
  private Future<HttpServer> listen(HttpServerOptions options) {
    ListenerGuard guard = ListenerGuard.of(vertx, node.meters(), "edge", config.listener()); // plain and TLS share the cap
    return vertx.createHttpServer(options)
        .connectionHandler(connection -> {
          if (guard.admit(connection)) {
            StrictFraming.install(connection, options);
          }
        })
        .requestHandler(this::handle)
        .invalidRequestHandler(pipeline::invalid)
        .listen()
        .onSuccess(s -> LOG.info("edge listening on {}:{}{}", config.host(), s.actualPort(), options.isSsl() ? " (TLS)" : ""));
  }

  /** A request, or a TCP relay another node's edge asked for (an upgrade to {@code ceiba-tcp} with the relay token). */
  private void handle(HttpServerRequest request) {
    if (TcpRelay.isRelay(request, node.peers())) {
      tcp.acceptRelay(request);
    } else {
      pipeline.handle(request);
    }
  }

  /** A registry version, as one snapshot: exchanges in flight finish on the one they started with. */
  private void apply(Registry registry) {
    pipeline.use(EdgeSnapshot.build(registry, nodeId, upstreams, cache.apply(registry)));
    tcp.apply(registry);
  }

  @Override
  public Future<?> stop() {
    // after the drain delay: stop accepting; idle connections close now, busy ones after their response
    long grace = node.config().shutdown().grace().toMillis();
    vertx.sharedData().<String, String>getLocalMap(TLS_SWAPPER).remove(nodeId, swapperId);
    Future<Void> closing = Future.join(
        server == null ? Future.succeededFuture() : server.shutdown(grace, TimeUnit.MILLISECONDS),
        tlsServer == null ? Future.succeededFuture() : tlsServer.shutdown(grace, TimeUnit.MILLISECONDS)).mapEmpty();
    // the usage verticle stops after the edge: what the last requests recorded reaches it
    // what the spool does not get acknowledged within the grace waits on disk for the next start
    return closing.eventually(() -> accessLog == null ? Future.succeededFuture() : accessLog.flush().timeout(grace, TimeUnit.MILLISECONDS))
        .eventually(() -> usage.flush(true).timeout(grace, java.util.concurrent.TimeUnit.MILLISECONDS)).eventually(() -> Future.join(upstreams.close(), tcp.close()));
  }
}
