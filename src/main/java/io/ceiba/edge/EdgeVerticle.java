package io.ceiba.edge;

import static net.logstash.logback.argument.StructuredArguments.kv;

import io.ceiba.access.AccessGate;
import io.ceiba.access.CallerHeaders;
import io.ceiba.access.Decision;
import io.ceiba.access.Reason;
import io.ceiba.access.WallClock;
import io.ceiba.access.limit.LimitResult;
import io.ceiba.cluster.Peers;
import io.ceiba.bus.Addresses;
import io.ceiba.config.EdgeConfig;
import io.ceiba.config.TlsConfig;
import io.ceiba.edge.cache.CacheFill;
import io.ceiba.edge.cache.CacheRules;
import io.ceiba.edge.cache.CachedResponse;
import io.ceiba.edge.cache.EdgeCache;
import io.ceiba.edge.lb.ServiceBalancer;
import io.ceiba.edge.tcp.TcpProxy;
import io.ceiba.error.ErrorCode;
import io.ceiba.error.ErrorResponses;
import io.ceiba.node.NodeContext;
import io.ceiba.registry.AccessSpec;
import io.ceiba.usage.UsageEvent;
import io.ceiba.usage.UsageSpool;
import io.ceiba.registry.Backend;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Middleware;
import io.ceiba.registry.Registry;
import io.netty.handler.codec.TooLongFrameException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.http.ServerWebSocketHandshake;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge: an HTTP server that routes by Host and proxies to a healthy backend, streaming both ways.
 * Each instance keeps its own route table (swapped whole on a registry change), balancers and health
 * view (fed by the node's health verticle), all touched only on its own event loop.
 */
public final class EdgeVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(EdgeVerticle.class);
  private static final Logger ACCESS = LoggerFactory.getLogger("ceiba.access");
  private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
      HttpMethod.PUT, HttpMethod.DELETE);
  /** A backend that refused a connection is skipped this long by every edge instance of the node (passive check). */
  static final long LOCAL_EJECTION_NANOS = 10_000_000_000L;

  private final NodeContext node;
  private final EdgeConfig config;
  private final String nodeId;
  private RouteTable routes = RouteTable.EMPTY;
  private Map<String, ServiceBalancer> balancers = Map.of();
  /** Backends reported down by the health verticle, as {@code service + ' ' + url}. */
  private final Set<String> down = new HashSet<>();
  /** Backends this instance saw refuse a connection, with the time they may be tried again. */
  private final Map<String, Long> ejectedUntil = new HashMap<>();
  /** Connections that sent a request with ambiguous framing: closing, and nothing after it is served. */
  private final Set<io.vertx.core.http.HttpConnection> doomed = new HashSet<>();
  /**
   * HTTP/1.1 upstream clients by connect timeout (services rarely differ, so usually one): the timeout lives
   * on the client's sockets instead of a timer per request.
   */
  private final Map<Long, HttpClient> clients = new HashMap<>();
  /** The same for {@code h2c://} backends: HTTP/2 with prior knowledge, one multiplexed connection per backend. */
  private final Map<Long, HttpClient> h2cClients = new HashMap<>();
  /** Each service's clients, resolved when the registry is applied, so a request does no keyed (boxing) lookup. */
  private Map<String, Upstreams> serviceClients = Map.of();
  private WebSocketClient webSockets;
  private TcpProxy tcp;
  private HttpServer server;
  private HttpServer tlsServer;
  private EdgeMetrics metrics;
  private AccessGate access;
  private Peers peers;
  /** The node's response cache; this instance's view of it is {@link #cacheScopes}. */
  private EdgeCache cache;
  /** The cache scope of each cached service of the applied registry. */
  private Map<String, EdgeCache.Scope> cacheScopes = Map.of();
  /** The node's usage spool (crash-safe until a usage role stored the event); null when nobody records usage. */
  private UsageSpool usage;
  private long lastLimit = -1;
  private String lastLimitText;

  public EdgeVerticle(NodeContext node) {
    this.node = node;
    this.config = node.config().edge();
    this.nodeId = node.nodeId();
  }

  @Override
  public Future<?> start() {
    metrics = new EdgeMetrics(node.meters());
    access = node.access();
    peers = node.peers();
    cache = node.edgeCache();
    usage = node.usageSpool();

    tcp = new TcpProxy(vertx, config.host(), nodeId, this::isUp, this::suspect);
    webSockets = vertx.createWebSocketClient(new WebSocketClientOptions().setTrustAll(true).setVerifyHost(false)
        .setMaxFrameSize(1024 * 1024).setMaxMessageSize(16 * 1024 * 1024));
    var bus = vertx.eventBus();
    List<MessageConsumer<?>> consumers = List.of(
        bus.<Registry>localConsumer(Addresses.REGISTRY_CHANGED, msg -> apply(msg.body())),
        bus.<JsonObject>localConsumer(Addresses.HEALTH_CHANGED, msg -> onHealth(msg.body())),
        bus.<JsonObject>localConsumer(Addresses.EDGE_EJECTED, msg -> ejectedUntil.put(
            msg.body().getString("service") + ' ' + msg.body().getString("url"), System.nanoTime() + LOCAL_EJECTION_NANOS)));
    DeliveryOptions local = new DeliveryOptions().setLocalOnly(true).setSendTimeout(5000);
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.host())
        .setPort(config.port())
        .setMaxHeaderSize(config.maxHeaderSize())
        .setMaxInitialLineLength(8 * 1024)
        .setIdleTimeout((int) config.idleTimeout().toSeconds())
        .setTcpNoDelay(true)
        .setCompressionSupported(false)
        // HTTP/1.1 only: an h2c upgrade would be accepted and then fail on hop-by-hop headers; clients fall back
        .setHttp2ClearTextEnabled(false)
        // no permessage-deflate: keeps the WebSocket extension handler out of every connection's pipeline
        .setPerMessageWebSocketCompressionSupported(false)
        .setPerFrameWebSocketCompressionSupported(false)
        .setHandle100ContinueAutomatically(false);
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList())
        .compose(v -> bus.<Registry>request(Addresses.REGISTRY_CURRENT, null, local))
        .onSuccess(reply -> apply(reply.body()))
        .compose(v -> bus.<JsonArray>request(Addresses.HEALTH_SNAPSHOT, null, local)
            .onSuccess(reply -> reply.body().forEach(o -> onHealth(((JsonObject) o).copy().put("url", ((JsonObject) o).getString("backend")))))
            .otherwise(e -> null)) // no health verticle on this node: every backend counts as up
        .compose(v -> listen(options))
        .onSuccess(s -> server = s)
        .compose(s -> config.tls() == null ? Future.succeededFuture() : listen(tlsOptions(options, config.tls()))
            .onSuccess(t -> tlsServer = t));
  }

  private Future<HttpServer> listen(HttpServerOptions options) {
    return vertx.createHttpServer(options)
        .connectionHandler(connection -> StrictFraming.install(connection, options))
        .requestHandler(this::handle)
        .webSocketHandshakeHandler(this::webSocketHandshake)
        .invalidRequestHandler(this::invalid)
        .listen()
        .onSuccess(s -> LOG.info("edge listening on {}:{}{}", config.host(), s.actualPort(), options.isSsl() ? " (TLS)" : ""));
  }

  /** The same listener with TLS; SNI picks the certificate whose names match the requested host. */
  private static HttpServerOptions tlsOptions(HttpServerOptions plain, TlsConfig tls) {
    PemKeyCertOptions certificates = new PemKeyCertOptions();
    for (TlsConfig.CertificatePair pair : tls.certificates()) {
      certificates.addCertPath(pair.cert().toString()).addKeyPath(pair.key().toString());
    }
    return new HttpServerOptions(plain).setPort(tls.port()).setSsl(true).setSni(true).setKeyCertOptions(certificates)
        .setUseAlpn(false);
  }

  @Override
  public Future<?> stop() {
    // stop accepting first; the client closes after in-flight exchanges had their chance
    long grace = node.config().shutdown().grace().toMillis();
    Future<Void> closing = Future.join(
        server == null ? Future.succeededFuture() : server.shutdown(grace, java.util.concurrent.TimeUnit.MILLISECONDS),
        tlsServer == null ? Future.succeededFuture() : tlsServer.shutdown(grace, java.util.concurrent.TimeUnit.MILLISECONDS)).mapEmpty();
    // the usage verticle stops after the edge: what the last requests recorded reaches it (else it waits in the spool)
    List<HttpClient> all = new ArrayList<>(clients.values());
    all.addAll(h2cClients.values());
    Future<Void> flushed = closing.eventually(() -> usage == null ? Future.succeededFuture()
        : usage.flush().timeout(grace, java.util.concurrent.TimeUnit.MILLISECONDS));
    return flushed.eventually(() -> Future.join(all.stream().map(HttpClient::close).toList())
        .compose(v -> Future.all(webSockets.close(), tcp.close())));
  }

  private void apply(Registry registry) {
    RouteTable table = RouteTable.build(registry);
    Map<String, ServiceBalancer> next = new HashMap<>();
    Map<String, Upstreams> nextClients = new HashMap<>();
    for (HttpService service : registry.http().values()) {
      next.put(service.name(), new ServiceBalancer(service, nodeId));
      long connectTimeout = service.timeouts().connect().toMillis();
      boolean anyH2c = service.allBackends().stream().anyMatch(Backend::h2c);
      nextClients.put(service.name(), new Upstreams(clientFor(connectTimeout, false), anyH2c ? clientFor(connectTimeout, true) : null));
    }
    routes = table;
    balancers = next;
    serviceClients = nextClients;
    cacheScopes = cache.apply(registry);
    tcp.apply(registry);
  }

  private void onHealth(JsonObject change) {
    String key = change.getString("service") + ' ' + change.getString("url");
    if (change.getBoolean("up", true)) {
      down.remove(key);
      ejectedUntil.remove(key);
    } else {
      down.add(key);
    }
  }

  private boolean isUp(String service, String url) {
    if (down.isEmpty() && ejectedUntil.isEmpty()) {
      return true;
    }
    String key = service + ' ' + url;
    if (down.contains(key)) {
      return false;
    }
    Long until = ejectedUntil.get(key);
    if (until == null) {
      return true;
    }
    if (System.nanoTime() - until >= 0) {
      ejectedUntil.remove(key);
      return true;
    }
    return false;
  }

  /** Requests the HTTP codec refused: head too large, bad request line, malformed headers. */
  private void invalid(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    ErrorCode code = ErrorCode.BAD_REQUEST;
    String message = "malformed request";
    if (cause instanceof TooLongFrameException) {
      boolean line = cause.getMessage() != null && cause.getMessage().contains("line");
      code = line ? ErrorCode.BAD_REQUEST : ErrorCode.HEADERS_TOO_LARGE;
      message = line ? "request line too long" : "request headers larger than " + config.maxHeaderSize() + " bytes";
    }
    HttpServerResponse response = request.response();
    response.putHeader(ProxyHeaders.X_CEIBA_NODE, nodeId).putHeader(HttpHeaders.CONNECTION, "close");
    metrics.request("-", code.status());
    ErrorResponses.send(response, code, message, null).onComplete(ar -> request.connection().close());
  }

  private void handle(HttpServerRequest request) {
    if (!doomed.isEmpty() && doomed.contains(request.connection())) {
      // pipelined behind a request refused for its framing: its bytes cannot be trusted, nothing more is served
      return;
    }
    Exchange ex = new Exchange(request, System.nanoTime());
    HttpServerResponse response = request.response();
    String requestId = request.getHeader(ProxyHeaders.X_REQUEST_ID);
    if (requestId == null || requestId.isEmpty() || requestId.length() > 200) {
      requestId = RequestIds.next();
      ex.requestIdIsOurs = true;
    }
    ex.requestId = requestId;
    response.putHeader(ProxyHeaders.X_CEIBA_NODE, nodeId).putHeader(ProxyHeaders.X_REQUEST_ID, requestId);
    if (peers.isRelay(request.headers())) {
      relayIn(ex);
      return;
    }

    var authority = request.authority();
    String host = authority == null ? null : authority.host();
    if (host == null || host.isEmpty()) {
      fail(ex, ErrorCode.BAD_REQUEST, "missing Host header");
      return;
    }
    HttpService service = routes.lookup(host);
    if (service == null) {
      fail(ex, ErrorCode.UNKNOWN_HOST, "no service for host " + RouteTable.hostOnly(host));
      return;
    }
    ex.service = service;
    if (request.headers().contains(HttpHeaders.CONTENT_LENGTH) && request.headers().contains(HttpHeaders.TRANSFER_ENCODING)) {
      // ambiguous framing (request smuggling): refuse, and never use this connection again, not even for
      // requests already pipelined behind it
      var connection = request.connection();
      doomed.add(connection);
      connection.closeHandler(v -> doomed.remove(connection));
      response.putHeader(HttpHeaders.CONNECTION, "close");
      fail(ex, ErrorCode.BAD_REQUEST, "both Content-Length and Transfer-Encoding");
      connection.close();
      return;
    }
    if (redirected(ex, service, RouteTable.hostOnly(host))) {
      return;
    }
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length != null) {
      long declared = ProxyHeaders.contentLength(length);
      if (declared < 0) {
        response.putHeader(HttpHeaders.CONNECTION, "close");
        fail(ex, ErrorCode.BAD_REQUEST, "invalid Content-Length");
        return;
      }
      if (declared > service.maxBodyBytes()) {
        response.putHeader(HttpHeaders.CONNECTION, "close");
        fail(ex, ErrorCode.BODY_TOO_LARGE, "request body larger than " + service.maxBodyBytes() + " bytes");
        return;
      }
    }
    holdBody(ex, length);
    if (service.access().policy() == AccessSpec.Policy.PUBLIC && service.rateLimit().perIp() == null) {
      route(ex);
      return;
    }
    String apiKey = request.getHeader(ProxyHeaders.X_API_KEY);
    String key = apiKey != null ? apiKey : bearer(request.headers());
    ex.keyInAuthorization = apiKey == null && key != null;
    Future<Decision> decided = access.authorize(service, key, request.remoteAddress());
    if (decided.isComplete()) {
      admit(ex, decided.result());
    } else {
      decided.onComplete(ar -> admit(ex, ar.succeeded() ? ar.result() : null));
    }
  }

  /** Holds the body until access is decided and a backend connected, so a refused connection can be retried. */
  private static void holdBody(Exchange ex, String contentLength) {
    HttpServerRequest request = ex.request;
    ex.hasBody = contentLength != null ? !contentLength.equals("0") : request.headers().contains(HttpHeaders.TRANSFER_ENCODING);
    if (ex.hasBody) {
      request.pause();
    }
  }

  /**
   * A request another node's edge relays to a backend on this node's loopback. That edge authorized, counted and
   * chose already: the request goes to exactly the named backend, with the identity headers it carries, and is
   * neither retried here nor recorded again.
   */
  private void relayIn(Exchange ex) {
    HttpServerRequest request = ex.request;
    ex.relayed = true;
    ex.probe = request.headers().contains(Peers.PROBE_HEADER);
    ServiceBalancer balancer = relayedService(request.headers());
    int index = relayedBackend(balancer, request.headers());
    if (index < 0) {
      // the nodes' registries differ for a moment (a change still spreading): nothing reached a backend
      ex.request.response().putHeader(ProxyHeaders.X_CEIBA_RELAY_FAILED, "unknown-backend");
      fail(ex, ErrorCode.BAD_GATEWAY, "no backend " + request.getHeader(Peers.BACKEND_HEADER) + " of "
          + request.getHeader(Peers.SERVICE_HEADER) + " on " + nodeId);
      return;
    }
    ex.attempt = 1;
    ex.balancer = balancer;
    ex.service = balancer.service();
    holdBody(ex, request.getHeader(HttpHeaders.CONTENT_LENGTH));
    forward(ex, index);
  }

  /** The service a relay names, or null when this node does not route it (registries differ for a moment). */
  private ServiceBalancer relayedService(io.vertx.core.MultiMap headers) {
    String service = headers.get(Peers.SERVICE_HEADER);
    return service == null ? null : balancers.get(service);
  }

  /** The index of the backend a relay names, when it is one of this node's own; else -1. */
  private int relayedBackend(ServiceBalancer balancer, io.vertx.core.MultiMap headers) {
    String url = headers.get(Peers.BACKEND_HEADER);
    return balancer == null || url == null ? -1 : balancer.indexOf(url, nodeId);
  }

  /** Goes on with an allowed request; answers a refused one with its code and the limit headers. */
  private void admit(Exchange ex, Decision decision) {
    if (ex.done) {
      return;
    }
    if (decision == null) {
      fail(ex, ErrorCode.AUTH_UNAVAILABLE, "authorization failed");
      return;
    }
    ex.decision = decision;
    if (decision.allowed()) {
      route(ex); // the limit headers go on the response once it comes (respond), or on its error (fail)
      return;
    }
    LimitResult limits = decision.limits();
    if (limits != null && !limits.allowed()) {
      ex.request.response().putHeader(ProxyHeaders.RETRY_AFTER, Long.toString(limits.retryAfterSeconds()));
    }
    fail(ex, decision.reason().refusal(), refusalMessage(ex.service, decision));
  }

  /** Sets the {@code RateLimit-*} headers, replacing any already there (a stored response's, on a cache hit). */
  private void setLimitHeaders(io.vertx.core.MultiMap headers, LimitResult limits) {
    headers.set(ProxyHeaders.RATELIMIT_LIMIT, limitText(limits.limit()));
    headers.set(ProxyHeaders.RATELIMIT_REMAINING, Long.toString(limits.remaining()));
    headers.set(ProxyHeaders.RATELIMIT_RESET, Long.toString(limits.resetSeconds()));
  }

  /** Adds the {@code RateLimit-*} headers to {@code headers}, which has none (they were left out of the copy). */
  private void addLimitHeaders(io.vertx.core.MultiMap headers, LimitResult limits) {
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

  private static String refusalMessage(HttpService service, Decision d) {
    return switch (d.reason()) {
      case MISSING_KEY -> "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>";
      case INVALID_KEY -> "the API key is not valid";
      case KEY_REVOKED -> "the API key has been revoked";
      case KEY_EXPIRED -> "the API key has expired";
      case PLAN_REQUIRED -> "the key's project has no active subscription to a plan granting " + service.name();
      case RATE_LIMITED -> d.plan() == null ? "too many requests from this address" : "rate limit of plan " + d.plan().name() + " exceeded";
      case QUOTA_EXCEEDED -> "quota of plan " + d.plan().name() + " is spent until " + d.limits().resetAt();
      case AUTH_UNAVAILABLE -> "authorization is unavailable; try again shortly";
      default -> d.reason().label();
    };
  }

  private void route(Exchange ex) {
    if (ex.service.cache() != null && servedFromCache(ex)) {
      return;
    }
    ex.balancer = balancers.get(ex.service.name());
    if (ex.balancer == null) {
      // the service went away with a registry change while its access was being decided
      fail(ex, ErrorCode.NO_HEALTHY_BACKEND, "service " + ex.service.name() + " is no longer routed");
      return;
    }
    int index = ex.balancer.select(this::isUp, -1);
    if (index < 0) {
      fail(ex, ErrorCode.NO_HEALTHY_BACKEND, "no healthy backend for " + ex.service.name());
      return;
    }
    forward(ex, index);
  }

  /**
   * The edge cache, after access and limits were decided: a fresh stored response answers the request here;
   * otherwise the exchange keeps its key so that the upstream answer may be stored.
   *
   * @return true when the request was answered from the cache
   */
  private boolean servedFromCache(Exchange ex) {
    EdgeCache.Scope scope = cacheScopes.get(ex.service.name());
    if (scope == null) {
      return false; // the service changed with a registry applied while access was being decided
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
      ex.cacheKey = new EdgeCache.Key(scope, request.authority().host().toLowerCase(Locale.ROOT), request.uri(), project, null);
      if (mode == CacheRules.RequestMode.LOOKUP) {
        hit = cache.lookup(ex.cacheKey, request.headers());
        result = hit == null ? EdgeCache.Result.MISS : EdgeCache.Result.HIT;
      }
    }
    cache.count(result);
    request.response().putHeader(ProxyHeaders.X_CEIBA_CACHE, result.label());
    if (hit == null) {
      return false;
    }
    HttpServerResponse response = request.response();
    response.setStatusCode(hit.status());
    if (hit.statusMessage() != null) {
      response.setStatusMessage(hit.statusMessage());
    }
    response.headers().addAll(hit.headers());
    response.putHeader(HttpHeaders.AGE, Long.toString(hit.ageSeconds(System.nanoTime())));
    if (ex.decision != null && ex.decision.limits() != null) {
      setLimitHeaders(response.headers(), ex.decision.limits());
    }
    if (method == HttpMethod.HEAD) {
      response.end();
    } else {
      ex.bytesOut = hit.body().length();
      response.end(hit.body());
    }
    finish(ex, hit.status(), null);
    return true;
  }

  /** A copy of the upstream answer to keep, when the cache may store it and its length is known and small enough. */
  private CacheFill cacheFill(HttpClientResponse upstream, String customMessage, EdgeCache.Key key) {
    int status = upstream.statusCode();
    long lifetime = CacheRules.lifetimeNanos(status, upstream.headers(), key.scope().ttlNanos());
    if (lifetime < 0) {
      return null;
    }
    String length = upstream.getHeader(HttpHeaders.CONTENT_LENGTH);
    long declared = length != null ? ProxyHeaders.contentLength(length) : status == 204 ? 0 : -1;
    if (declared < 0 || declared > cache.maxEntryBytes()) {
      return null; // unknown length or too large: streamed as usual, not kept
    }
    io.vertx.core.MultiMap headers = io.vertx.core.MultiMap.caseInsensitiveMultiMap();
    ProxyHeaders.copyEndToEnd(upstream.headers(), headers);
    headers.remove(HttpHeaders.AGE);
    return new CacheFill(new CacheFill.Head(status, customMessage, headers, declared, CacheRules.age(upstream.headers()), lifetime));
  }

  private void storeFill(Exchange ex) {
    CachedResponse stored = ex.fill.complete(System.nanoTime());
    ex.fill = null;
    if (stored != null) {
      cache.store(ex.cacheKey, ex.request.headers(), stored);
    }
  }

  /** The {@code https-redirect} and {@code strip-www} middlewares: 308 keeps method and body. */
  private boolean redirected(Exchange ex, HttpService service, String host) {
    if (service.middlewares().isEmpty()) {
      return false;
    }
    boolean https = ex.request.isSSL();
    String target = null;
    if (service.middlewares().contains(Middleware.STRIP_WWW) && host.startsWith("www.")) {
      target = (https ? "https://" : "http://") + host.substring(4) + ex.request.uri();
    }
    if (service.middlewares().contains(Middleware.HTTPS_REDIRECT) && !https) {
      String h = target == null ? host : host.startsWith("www.") && target != null ? host.substring(4) : host;
      target = "https://" + h + ex.request.uri();
    }
    if (target == null) {
      return false;
    }
    ex.request.response().setStatusCode(308).putHeader(HttpHeaders.LOCATION, target).end();
    finish(ex, 308, null);
    return true;
  }

  private void forward(Exchange ex, int index) {
    Backend backend = ex.balancer.backend(index);
    ex.backendIndex = index;
    ex.backend = backend;
    ex.balancer.acquire(index);
    HttpServerRequest request = ex.request;
    HttpService service = ex.service;
    Peers.Edge peer = null;
    ex.viaPeer = !ex.relayed && peers.relays(backend.node(), backend.host());
    if (ex.viaPeer) {
      peer = peers.edgeOf(backend.node());
      if (peer == null) {
        connectFailed(ex, new ConnectException("node " + backend.node() + " is not in the cluster view"));
        return;
      }
    }
    RequestOptions options = aim(new RequestOptions(), backend, peer)
        .setMethod(request.method())
        .setURI(request.uri())
        .setIdleTimeout(service.timeouts().upstream().toMillis());
    var headers = options.getHeaders() == null ? io.vertx.core.MultiMap.caseInsensitiveMultiMap() : options.getHeaders();
    if (ex.relayed) {
      ProxyHeaders.copyRelayed(request.headers(), headers);
    } else {
      ProxyHeaders.copyEndToEnd(request.headers(), headers, keyHeaders(ex.decision, ex.keyInAuthorization));
      ProxyHeaders.setForwarded(headers, request.remoteAddress(), request.isSSL(), request.authority(), ex.requestId);
      if (ex.decision != null) {
        passAccess(headers, ex.decision);
      }
    }
    if (peer != null) {
      peers.markRelay(headers, service.name(), backend.url());
    }
    // to a peer's edge it is HTTP/1.1, whatever the backend behind it speaks
    boolean h2c = peer == null && backend.h2c();
    if (h2c) {
      // HTTP/2 names the target in :authority; a Host header beside it is redundant (RFC 9113 8.3.1)
      headers.remove(HttpHeaders.HOST);
    }
    ex.upstreamStart = System.nanoTime();
    options.setHeaders(headers);
    HttpClient client = serviceClients.get(service.name()).of(h2c);
    client.request(options).onComplete(ar -> {
      if (ar.failed()) {
        connectFailed(ex, ar.cause());
      } else {
        HttpClientRequest upstream = ar.result();
        if (h2c) {
          upstream.authority(request.authority());
        }
        send(ex, upstream);
      }
    });
  }

  /** Points a request at the backend itself, or at the edge of its node when {@code peer} relays it. */
  private static <T extends RequestOptions> T aim(T options, Backend backend, Peers.Edge peer) {
    if (peer != null) {
      return peer.aim(options);
    }
    options.setHost(backend.host()).setPort(backend.port()).setSsl(backend.tls());
    return options;
  }

  /** The key never goes upstream: what the copy of a request's headers leaves out once access was decided. */
  private static ProxyHeaders.Drop keyHeaders(Decision d, boolean keyInAuthorization) {
    return d == null ? ProxyHeaders.Drop.NOTHING
        : keyInAuthorization ? ProxyHeaders.Drop.API_KEY_AND_AUTHORIZATION : ProxyHeaders.Drop.API_KEY;
  }

  /**
   * Who is calling goes upstream, in headers the backend can trust. {@code headers} were copied with
   * {@link ProxyHeaders#copyEndToEnd}, which drops every {@code X-Ceiba-*} a client sent: ours are added, not set.
   */
  private static void passAccess(io.vertx.core.MultiMap headers, Decision d) {
    CallerHeaders caller = d.caller();
    if (caller != null) {
      headers.add(ProxyHeaders.X_CEIBA_PROJECT, caller.project());
      headers.add(ProxyHeaders.X_CEIBA_KEY_ID, caller.keyId());
      if (caller.plan() != null) {
        headers.add(ProxyHeaders.X_CEIBA_PLAN, caller.plan());
      }
    } else if (d.reason() == Reason.FAIL_OPEN) {
      headers.add(ProxyHeaders.X_CEIBA_AUTH, "unverified");
    }
  }

  private HttpClient clientFor(long connectTimeout, boolean h2c) {
    Map<Long, HttpClient> byTimeout = h2c ? h2cClients : clients;
    HttpClient client = byTimeout.get(connectTimeout);
    if (client == null) {
      HttpClientOptions options = new HttpClientOptions()
          .setKeepAlive(true)
          .setTcpNoDelay(true)
          .setDecompressionSupported(false)
          .setMaxInitialLineLength(16 * 1024)
          .setMaxHeaderSize(64 * 1024)
          .setTrustAll(true)
          .setVerifyHost(false)
          .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout))
          .setKeepAliveTimeout(30);
      if (h2c) {
        // prior knowledge: the first bytes are the HTTP/2 preface, no HTTP/1.1 Upgrade round trip
        options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false).setHttp2KeepAliveTimeout(30);
      }
      // HTTP/2 multiplexes: a second connection to a backend only once the first has no stream left
      client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(256).setHttp2MaxSize(4));
      byTimeout.put(connectTimeout, client);
    }
    return client;
  }

  /** A service's upstream clients: HTTP/1.1 (and TLS) always, HTTP/2 cleartext when it has {@code h2c://} backends. */
  private record Upstreams(HttpClient http1, HttpClient h2c) {
    HttpClient of(boolean h2cBackend) {
      return h2cBackend ? h2c : http1;
    }
  }

  /** Nothing reached the backend: eject it and, for idempotent methods, try another one once. */
  private void connectFailed(Exchange ex, Throwable cause) {
    ex.balancer.release(ex.backendIndex);
    Backend failed = ex.backend;
    int failedIndex = ex.backendIndex;
    ex.backend = null;
    ex.backendIndex = -1;
    String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    suspect(ex.service.name(), failed.url(), reason);
    if (ex.attempt == 0 && IDEMPOTENT.contains(ex.request.method())) {
      int next = ex.balancer.select(this::isUp, failedIndex);
      if (next >= 0) {
        ex.attempt++;
        forward(ex, next);
        return;
      }
    }
    if (ex.relayed) {
      // nothing reached the backend: the relaying edge may try another one
      ex.request.response().putHeader(ProxyHeaders.X_CEIBA_RELAY_FAILED, "connect");
    }
    fail(ex, ErrorCode.BAD_GATEWAY, "cannot connect to a backend of " + ex.service.name());
  }

  private void suspect(String service, String url, String reason) {
    // every edge instance of the node skips it, even for services without active checks
    vertx.eventBus().publish(Addresses.EDGE_EJECTED, new JsonObject().put("service", service).put("url", url),
        new DeliveryOptions().setLocalOnly(true));
    ejectedUntil.put(service + ' ' + url, System.nanoTime() + LOCAL_EJECTION_NANOS);
    vertx.eventBus().send(Addresses.HEALTH_SUSPECT, new JsonObject().put("service", service).put("url", url).put("reason", reason),
        new DeliveryOptions().setLocalOnly(true));
    LOG.warn("backend {} of {} refused a connection ({}); taken out", url, service, reason);
  }

  private void send(Exchange ex, HttpClientRequest upstream) {
    HttpServerRequest request = ex.request;
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    upstream.response().onComplete(ar -> {
      if (ar.succeeded()) {
        respond(ex, ar.result());
      } else {
        upstreamFailed(ex, ar.cause());
      }
    });
    upstream.exceptionHandler(e -> { }); // reported through response()
    if (!ex.hasBody) {
      upstream.end();
      return;
    }
    if (length == null) {
      upstream.setChunked(true);
    }
    long max = ex.service.maxBodyBytes();
    request.handler(chunk -> {
      ex.bytesIn += chunk.length();
      if (ex.bytesIn > max) {
        request.handler(null);
        upstream.reset();
        ex.request.response().putHeader(HttpHeaders.CONNECTION, "close");
        fail(ex, ErrorCode.BODY_TOO_LARGE, "request body larger than " + max + " bytes");
        return;
      }
      upstream.write(chunk);
      if (upstream.writeQueueFull()) {
        request.pause();
        upstream.drainHandler(v -> request.resume());
      }
    });
    request.endHandler(v -> {
      if (!ex.done) {
        upstream.end();
      }
    });
    request.exceptionHandler(e -> upstream.reset());
    request.resume();
  }

  private void respond(Exchange ex, HttpClientResponse upstream) {
    HttpServerResponse response = ex.request.response();
    if (ex.done) {
      upstream.request().reset();
      return;
    }
    int status = upstream.statusCode();
    if (ex.viaPeer && status == 502 && upstream.headers().contains(ProxyHeaders.X_CEIBA_RELAY_FAILED)) {
      // the backend's node could not connect to it: the same as failing to connect here
      upstream.body();
      connectFailed(ex, new ConnectException("relayed through " + ex.backend.node() + ": backend refused the connection"));
      return;
    }
    response.setStatusCode(status);
    String message = upstream.statusMessage();
    // a custom reason phrase is passed on; the standard one is already there (setting it costs an object per response)
    boolean customMessage = message != null && !message.equals(io.netty.handler.codec.http.HttpResponseStatus.valueOf(status).reasonPhrase());
    if (customMessage) {
      response.setStatusMessage(message);
    }
    if (ex.cacheKey != null && ex.request.method() == HttpMethod.GET) {
      ex.fill = cacheFill(upstream, customMessage ? message : null, ex.cacheKey);
    }
    LimitResult limits = ex.decision == null ? null : ex.decision.limits();
    ProxyHeaders.copyEndToEnd(upstream.headers(), response.headers(), limits == null ? ProxyHeaders.Drop.NOTHING : ProxyHeaders.Drop.RATE_LIMIT);
    if (limits != null) {
      addLimitHeaders(response.headers(), limits);
    }
    if (!upstream.headers().contains(HttpHeaders.CONTENT_LENGTH) && ex.request.method() != HttpMethod.HEAD
        && upstream.statusCode() != 204 && upstream.statusCode() != 304) {
      response.setChunked(true);
    }
    upstream.handler(chunk -> {
      ex.bytesOut += chunk.length();
      if (ex.fill != null) {
        if (!ex.fill.append(chunk)) {
          ex.fill = null;
        } else if (ex.fill.isComplete()) {
          // stored before the last byte goes out: with Content-Length framing the client may send its next
          // request, to any edge instance, before the upstream's end is seen here
          storeFill(ex);
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
        finish(ex, upstream.statusCode(), e instanceof TimeoutException ? "upstream timeout mid-body" : "upstream reset");
      }
    });
    upstream.endHandler(v -> {
      if (!ex.done) {
        if (ex.fill != null) {
          storeFill(ex); // an empty body: the client sees nothing before end()
        }
        response.end();
        finish(ex, upstream.statusCode(), null);
      }
    });
    response.closeHandler(v -> {
      if (!ex.done) {
        upstream.request().reset();
        finish(ex, 499, "client closed");
      }
    });
  }

  private void upstreamFailed(Exchange ex, Throwable cause) {
    if (ex.done) {
      return;
    }
    if (cause instanceof TimeoutException || (cause.getMessage() != null && cause.getMessage().contains("timeout"))) {
      fail(ex, ErrorCode.UPSTREAM_TIMEOUT, ex.service.name() + " did not answer within "
          + ex.service.timeouts().upstream().toMillis() + " ms");
    } else if (cause instanceof ConnectException) {
      connectFailed(ex, cause);
    } else {
      fail(ex, ErrorCode.BAD_GATEWAY, "backend of " + ex.service.name() + " failed: " + cause.getMessage());
    }
  }

  /**
   * WebSocket: route the handshake like a request, connect to a backend first (a refused connection is
   * retried once elsewhere, as nothing was sent), then accept the client's upgrade and relay frames both
   * ways, keeping text, binary, ping and close as they are.
   */
  private void webSocketHandshake(ServerWebSocketHandshake handshake) {
    if (peers.isRelay(handshake.headers())) {
      ServiceBalancer balancer = relayedService(handshake.headers());
      connectWebSocket(handshake, balancer == null ? null : balancer.service(), balancer, relayedBackend(balancer, handshake.headers()), 1,
          handshake.headers().get(ProxyHeaders.X_REQUEST_ID), null, true);
      return;
    }
    String host = handshake.authority() == null ? null : handshake.authority().host();
    HttpService service = host == null ? null : routes.lookup(host);
    if (service == null) {
      metrics.request("-", 404);
      handshake.reject(404);
      return;
    }
    ServiceBalancer balancer = balancers.get(service.name());
    String header = handshake.headers().get(ProxyHeaders.X_REQUEST_ID);
    String requestId = header == null || header.isEmpty() ? RequestIds.next() : header;
    if (service.access().policy() == AccessSpec.Policy.PUBLIC && service.rateLimit().perIp() == null) {
      connectWebSocket(handshake, service, balancer, balancer.select(this::webSocketCapable, -1), 0, requestId, null, false);
      return;
    }
    // an upgrade is a request like any other: the same key, plan and limits apply
    String key = presentedKey(handshake.headers());
    access.authorize(service, key, handshake.remoteAddress())
        .onComplete(ar -> {
          Decision d = ar.succeeded() ? ar.result() : null;
          if (d == null || !d.allowed()) {
            int status = d == null ? 503 : d.reason().refusal().status();
            metrics.request(service.name(), status);
            handshake.reject(status);
            return;
          }
          connectWebSocket(handshake, service, balancer, balancer.select(this::webSocketCapable, -1), 0, requestId, d, false);
        });
  }

  /** The key from {@code X-API-Key}, else from {@code Authorization: Bearer}; null when neither is sent. */
  private static String presentedKey(io.vertx.core.MultiMap headers) {
    String key = headers.get(ProxyHeaders.X_API_KEY);
    return key != null ? key : bearer(headers);
  }

  private static String bearer(io.vertx.core.MultiMap headers) {
    String authorization = headers.get(HttpHeaders.AUTHORIZATION);
    return authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7) ? authorization.substring(7).trim() : null;
  }

  private void connectWebSocket(ServerWebSocketHandshake handshake, HttpService service, ServiceBalancer balancer,
      int index, int attempt, String requestId, Decision decision, boolean relayed) {
    if (index < 0) {
      // relayed: the named backend is not here; otherwise a service served only over h2c cannot take an HTTP/1.1
      // upgrade (WebSocket over HTTP/2, RFC 8441, is not relayed): 501 says so; the handshake API has no body for JSON
      int status = relayed ? 502 : onlyH2c(service) ? 501 : 503;
      metrics.request(service == null ? "-" : service.name(), status);
      handshake.reject(status);
      return;
    }
    Backend backend = balancer.backend(index);
    boolean viaPeer = !relayed && peers.relays(backend.node(), backend.host());
    Peers.Edge peer = viaPeer ? peers.edgeOf(backend.node()) : null;
    if (viaPeer && peer == null) {
      metrics.request(service.name(), 502);
      handshake.reject(502);
      return;
    }
    WebSocketConnectOptions options = aim(new WebSocketConnectOptions(), backend, peer)
        .setURI(handshake.uri())
        .setConnectTimeout(service.timeouts().connect().toMillis());
    io.vertx.core.MultiMap headers = io.vertx.core.MultiMap.caseInsensitiveMultiMap();
    if (relayed) {
      ProxyHeaders.copyRelayed(handshake.headers(), headers);
    } else {
      boolean keyInAuthorization = handshake.headers().get(ProxyHeaders.X_API_KEY) == null && bearer(handshake.headers()) != null;
      ProxyHeaders.copyEndToEnd(handshake.headers(), headers, keyHeaders(decision, keyInAuthorization));
      ProxyHeaders.setForwarded(headers, handshake.remoteAddress(), handshake.isSsl(), handshake.authority(), requestId);
      if (decision != null) {
        passAccess(headers, decision);
      }
    }
    if (peer != null) {
      peers.markRelay(headers, service.name(), backend.url());
    }
    for (var header : headers) {
      String name = header.getKey();
      // the client's handshake keys are its own; the WebSocket client negotiates with the backend afresh
      if (!name.regionMatches(true, 0, "sec-websocket-", 0, 14) && !name.equalsIgnoreCase("host")) {
        options.addHeader(name, header.getValue());
      }
    }
    String protocols = handshake.headers().get("sec-websocket-protocol");
    if (protocols != null) {
      for (String p : protocols.split(",")) {
        options.addSubProtocol(p.trim());
      }
    }
    webSockets.connect(options).onComplete(ar -> {
      if (ar.failed()) {
        if (!(ar.cause() instanceof UpgradeRejectedException) && attempt == 0) {
          suspect(service.name(), backend.url(), String.valueOf(ar.cause().getMessage()));
          connectWebSocket(handshake, service, balancer, balancer.select(this::webSocketCapable, index), 1, requestId, decision, false);
          return;
        }
        metrics.request(service.name(), 502);
        handshake.reject(502);
        return;
      }
      WebSocket upstream = ar.result();
      handshake.accept().onComplete(accepted -> {
        if (accepted.failed()) {
          upstream.close();
          return;
        }
        metrics.request(service.name(), 101);
        relay(accepted.result(), upstream);
        relay(upstream, accepted.result());
      });
    });
  }

  /** A WebSocket upgrade goes to an HTTP/1.1 (or TLS) backend that is up, never to an h2c one. */
  private boolean webSocketCapable(String service, String url) {
    return !url.startsWith("h2c:") && isUp(service, url);
  }

  private static boolean onlyH2c(HttpService service) {
    return service.allBackends().stream().allMatch(Backend::h2c);
  }

  private static void relay(WebSocketBase from, WebSocketBase to) {
    from.frameHandler(frame -> {
      if (!to.isClosed()) {
        to.writeFrame(frame);
        if (to.writeQueueFull()) {
          from.pause();
          to.drainHandler(v -> from.resume());
        }
      }
    });
    from.closeHandler(v -> {
      if (!to.isClosed()) {
        to.close(from.closeStatusCode() == null ? (short) 1000 : from.closeStatusCode(), from.closeReason());
      }
    });
    from.exceptionHandler(e -> to.close());
  }

  private void fail(Exchange ex, ErrorCode code, String message) {
    if (ex.done) {
      return;
    }
    if (ex.decision != null && ex.decision.limits() != null) {
      setLimitHeaders(ex.request.response().headers(), ex.decision.limits());
    }
    ErrorResponses.send(ex.request.response(), code, message, ex.requestId);
    finish(ex, code.status(), message);
  }

  private void finish(Exchange ex, int status, String error) {
    if (ex.done) {
      return;
    }
    ex.done = true;
    // first: the response is out, and a crash from here on must find its event in the spool
    if (usage != null && ex.decision != null && ex.decision.key() != null) {
      recordUsage(ex, status);
    }
    if (ex.hasBody && !ex.request.isEnded()) {
      // a paused request would stall its keep-alive connection: let the rest of it flow (and be dropped)
      ex.request.handler(null);
      ex.request.resume();
    }
    if (ex.backend != null) {
      ex.balancer.release(ex.backendIndex);
      if (ex.upstreamStart != 0) {
        metrics.upstream(ex.service.name(), ex.backend.node() == null ? "-" : ex.backend.node(), System.nanoTime() - ex.upstreamStart);
      }
    }
    String service = ex.service == null ? "-" : ex.service.name();
    if (!ex.probe) {
      metrics.request(service, status);
    }
    if (config.accessLog()) {
      logAccess(ex, service, status, error);
    }
  }

  /** {@code {} {} …} for n arguments: the access line's pattern, made once per field count. */
  private static final String[] ACCESS_PATTERNS = new String[24];

  static {
    for (int n = 0; n < ACCESS_PATTERNS.length; n++) {
      ACCESS_PATTERNS[n] = String.join(" ", java.util.Collections.nCopies(n, "{}"));
    }
  }

  /**
   * One line per request: {@code key=value} pairs in text, the same as fields of their own in JSON
   * ({@code CEIBA_LOG_FORMAT=json}), so a decision can be explained afterwards and log tools need no parsing.
   */
  private void logAccess(Exchange ex, String service, int status, String error) {
    List<Object> f = new ArrayList<>(20);
    f.add(kv("request_id", ex.requestId));
    f.add(kv("node", nodeId));
    f.add(kv("client", ex.request.remoteAddress() == null ? "-" : ex.request.remoteAddress().hostAddress()));
    f.add(kv("method", ex.request.method().name()));
    f.add(kv("path", ex.request.path()));
    f.add(kv("host", ex.request.authority() == null ? "-" : ex.request.authority().host()));
    f.add(kv("service", service));
    f.add(kv("backend", ex.backend == null ? "-" : ex.backend.url()));
    f.add(kv("status", status));
    f.add(kv("bytes_in", ex.bytesIn));
    f.add(kv("bytes_out", ex.bytesOut));
    long now = System.nanoTime();
    f.add(kv("ms", (now - ex.startNanos) / 1_000_000));
    if (ex.upstreamStart != 0) {
      f.add(kv("upstream_ms", (now - ex.upstreamStart) / 1_000_000));
    }
    Decision d = ex.decision;
    if (d != null) {
      f.add(kv("auth", d.reason().label()));
      if (d.key() != null) {
        f.add(kv("project", d.key().projectId()));
        f.add(kv("key", d.key().keyId()));
        f.add(kv("plan", d.plan() == null ? "-" : d.plan().name()));
      }
      if (d.stale()) {
        f.add(kv("stale", true));
      }
    }
    if (ex.relayed) {
      f.add(kv("relayed", true));
    } else if (ex.viaPeer && ex.backend != null) {
      f.add(kv("via", ex.backend.node()));
    }
    if (error != null) {
      f.add(kv("error", error));
    }
    ACCESS.info(ACCESS_PATTERNS[f.size()], f.toArray());
  }

  /**
   * One usage event per keyed request, handed to the usage role without waiting for anything. Its id is
   * ours: a client-chosen {@code X-Request-Id} could repeat and would then be counted once. Its plan is the
   * one the request was admitted and counted under (none when refused): quota counters are rebuilt from it.
   */
  private void recordUsage(Exchange ex, int status) {
    Decision d = ex.decision;
    String countedUnder = d.allowed() && d.plan() != null ? d.plan().name() : null;
    UsageEvent event = new UsageEvent(ex.requestIdIsOurs ? ex.requestId : RequestIds.next(), WallClock.now(),
        d.key().projectId(), d.key().keyId(), countedUnder, ex.service.name(), status,
        (System.nanoTime() - ex.startNanos) / 1_000_000, ex.bytesIn, ex.bytesOut, nodeId);
    usage.record(event);
  }

  /** One request on its way through the edge; touched only on this verticle's event loop. */
  private static final class Exchange {
    final HttpServerRequest request;
    final long startNanos;
    String requestId;
    HttpService service;
    ServiceBalancer balancer;
    Backend backend;
    int backendIndex = -1;
    int attempt;
    boolean hasBody;
    /** Relayed here by another node's edge, for a backend on this node. */
    boolean relayed;
    /** A relayed health check of another node: not traffic, so not counted. */
    boolean probe;
    /** Sent through the backend's node's edge. */
    boolean viaPeer;
    /** The API key came in {@code Authorization: Bearer}, which is then not passed upstream. */
    boolean keyInAuthorization;
    /** The request id was made here, not taken from the client. */
    boolean requestIdIsOurs;
    Decision decision;
    /** Set when the service is cached and the request may be stored (a miss, or a refresh). */
    EdgeCache.Key cacheKey;
    /** The copy of the upstream answer being kept for the cache, dropped when it cannot be stored. */
    CacheFill fill;
    long upstreamStart;
    long bytesIn;
    long bytesOut;
    boolean done;

    Exchange(HttpServerRequest request, long startNanos) {
      this.request = request;
      this.startNanos = startNanos;
    }
  }
}
