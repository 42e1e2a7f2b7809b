package io.ceiba.health;

import io.ceiba.bus.Addresses;
import io.ceiba.cluster.Peers;
import io.ceiba.edge.UpstreamTlsOptions;
import io.ceiba.edge.lb.BackendHealth;
import io.ceiba.edge.tcp.TcpRelay;
import io.ceiba.node.NodeContext;
import io.ceiba.registry.Backend;
import io.ceiba.registry.HealthSpec;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Registry;
import io.ceiba.registry.TcpBackend;
import io.ceiba.registry.TcpHealthSpec;
import io.ceiba.registry.TcpService;
import io.ceiba.registry.UpstreamTls;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.Promise;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active health checks of every backend in the registry, from this node's vantage point. A backend goes
 * down after {@code unhealthy_after} failed checks in a row and up again after {@code healthy_after}
 * good ones; only these transitions are published ({@link Addresses#HEALTH_CHANGED}), so every edge
 * instance of the node shares one view. Each check is re-armed after it completes, with jitter, so
 * checks never pile up and never fire in lockstep. An edge that fails to connect reports the backend
 * ({@link Addresses#HEALTH_SUSPECT}): it is taken out at once and checked right away.
 */
public final class HealthVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(HealthVerticle.class);
  static final String BACKEND_UP = "ceiba.backend.up";
  static final String CHECK_FAILURES = "ceiba.health.check.failures";
  /** The label naming the node a backend belongs to ({@code node} is the node that checks it). */
  static final String TAG_BACKEND_NODE = "backend_node";
  private static final Buffer REDIS_ROLE = Buffer.buffer("*1\r\n$4\r\nROLE\r\n");

  /** One backend (its node plus its URL) of one service, checked on its own schedule. */
  private static final class Target {
    final String service;
    /** The node the backend belongs to, or null. */
    final String node;
    final String url;
    final String kind; // http | h2c | tcp | redis-primary
    final String host;
    final int port;
    final boolean ssl;
    final String path;
    final Duration interval;
    final Duration timeout;
    final int unhealthyAfter;
    final int healthyAfter;
    /** The node whose edge relays the check (the backend listens on that node's loopback), or null. */
    String viaNode;
    /** How a TLS backend is verified: the service's tls block, the same as for its requests. */
    UpstreamTls tls = UpstreamTls.SYSTEM;
    UpstreamTlsOptions tlsOptions;
    final AtomicInteger upGauge = new AtomicInteger(1);
    final List<Meter> meters = new ArrayList<>();
    Counter failures;
    boolean up = true;
    int goodInARow;
    int badInARow;
    String lastError;
    Instant lastCheck;
    long timer = -1;
    boolean removed;

    Target(String service, String node, String url, String kind, String host, int port, boolean ssl, String path,
        Duration interval, Duration timeout, int unhealthyAfter, int healthyAfter) {
      this.service = service;
      this.node = node;
      this.url = url;
      this.kind = kind;
      this.host = host;
      this.port = port;
      this.ssl = ssl;
      this.path = path;
      this.interval = interval;
      this.timeout = timeout;
      this.unhealthyAfter = unhealthyAfter;
      this.healthyAfter = healthyAfter;
    }

    String key() {
      return BackendHealth.key(service, node, url);
    }

    /** Same check as {@code other}: then its state carries over a registry change. */
    boolean sameCheck(Target other) {
      return kind.equals(other.kind) && host.equals(other.host) && port == other.port && path.equals(other.path)
          && interval.equals(other.interval) && timeout.equals(other.timeout)
          && unhealthyAfter == other.unhealthyAfter && healthyAfter == other.healthyAfter
          && java.util.Objects.equals(viaNode, other.viaNode) && tls.equals(other.tls);
    }
  }

  private final NodeContext node;
  private final Map<String, Target> targets = new LinkedHashMap<>();
  private HttpClient http;
  private HttpClient h2c;
  private NetClient net;
  private HttpClient relays;
  private boolean stopped;

  public HealthVerticle(NodeContext node) {
    this.node = node;
  }

  @Override
  public Future<?> start() {
    // TLS backends are checked as their requests are sent: verified, with the service's tls block (Target.tlsOptions)
    http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false).setVerifyHost(true));
    // HTTP/2 with prior knowledge; one multiplexed connection per backend carries its checks
    h2c = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
        .setHttp2KeepAliveTimeout(10));
    net = vertx.createNetClient(new NetClientOptions());
    relays = TcpRelay.client(vertx, 5000);
    var bus = vertx.eventBus();
    List<MessageConsumer<?>> consumers = List.of(
        bus.<Registry>localConsumer(Addresses.REGISTRY_CHANGED, msg -> sync(msg.body())),
        bus.<Object>localConsumer(Addresses.HEALTH_SNAPSHOT, msg -> msg.reply(snapshot())),
        bus.<JsonObject>localConsumer(Addresses.HEALTH_SUSPECT, msg -> suspect(msg.body())),
        bus.<Object>consumer(Addresses.healthView(node.nodeId()), msg -> msg.reply(new JsonObject()
            .put("node", node.nodeId()).put("backends", snapshot()))));
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList())
        .compose(v -> bus.<Registry>request(Addresses.REGISTRY_CURRENT, null, new DeliveryOptions().setLocalOnly(true)))
        .onSuccess(reply -> sync(reply.body()));
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    targets.values().forEach(this::retire);
    targets.clear();
    return Future.all(http.close(), h2c.close(), net.close(), relays.close());
  }

  /** Brings the target set in line with a registry; unchanged checks keep their state and schedule. */
  private void sync(Registry registry) {
    Map<String, Target> wanted = new LinkedHashMap<>();
    for (HttpService service : registry.http().values()) {
      HealthSpec spec = service.health();
      if (!spec.enabled()) {
        continue;
      }
      for (Backend b : service.checkedBackends()) {
        Target t = new Target(service.name(), b.node(), b.url(), b.h2c() ? "h2c" : "http", b.host(), b.port(), b.tls(), spec.path(),
            spec.interval(), spec.timeout(), spec.unhealthyAfter(), spec.healthyAfter());
        // checked from here through its node's edge: the path requests from here would take
        t.viaNode = node.peers().relays(b.node(), b.host()) ? b.node() : null;
        if (b.tls()) {
          t.tls = service.upstreamTls();
          t.tlsOptions = UpstreamTlsOptions.of(service.upstreamTls());
        }
        wanted.put(t.key(), t);
      }
    }
    for (TcpService service : registry.tcp().values()) {
      TcpHealthSpec spec = service.health();
      String kind = spec.kind() == TcpHealthSpec.Kind.REDIS_PRIMARY ? "redis-primary" : "tcp";
      for (TcpBackend b : service.backends()) {
        Target t = new Target(service.name(), b.node(), b.address(), kind, b.host(), b.port(), false, "",
            spec.interval(), spec.timeout(), spec.unhealthyAfter(), spec.healthyAfter());
        // on its node's loopback: checked through that node's edge, the path connections from here take
        t.viaNode = node.peers().relays(b.node(), b.host()) ? b.node() : null;
        wanted.put(t.key(), t);
      }
    }
    for (Map.Entry<String, Target> e : new HashMap<>(targets).entrySet()) {
      Target existing = e.getValue();
      Target replacement = wanted.get(e.getKey());
      if (replacement != null && existing.sameCheck(replacement)) {
        wanted.put(e.getKey(), existing);
      } else {
        retire(existing);
        targets.remove(e.getKey());
      }
    }
    for (Target t : wanted.values()) {
      if (targets.putIfAbsent(t.key(), t) == null) {
        register(t);
        // first check soon, spread over the interval so a big registry does not check all at once
        schedule(t, ThreadLocalRandom.current().nextLong(Math.max(1, Math.min(t.interval.toMillis(), 1000))));
      }
    }
  }

  private void register(Target t) {
    // node (the common tag) is the node that checks; backend_node the node the backend belongs to
    String backendNode = t.node == null ? "-" : t.node;
    t.meters.add(Gauge.builder(BACKEND_UP, t.upGauge, AtomicInteger::get)
        .tag("service", t.service).tag("backend", t.url).tag(TAG_BACKEND_NODE, backendNode)
        .description("1 when the backend passes its health checks from this node").register(node.meters()));
    t.failures = Counter.builder(CHECK_FAILURES).tag("service", t.service).tag("backend", t.url).tag(TAG_BACKEND_NODE, backendNode)
        .description("Failed active health checks").register(node.meters());
    t.meters.add(t.failures);
  }

  private void retire(Target t) {
    t.removed = true;
    vertx.cancelTimer(t.timer);
    t.meters.forEach(node.meters()::remove);
    if (!t.up) {
      // a backend that leaves the registry is no longer down anywhere
      publish(t, true);
    }
  }

  private void schedule(Target t, long delayMs) {
    if (!stopped && !t.removed) {
      vertx.cancelTimer(t.timer);
      t.timer = vertx.setTimer(Math.max(1, delayMs), id -> check(t));
    }
  }

  private long nextDelay(Target t) {
    long interval = t.interval.toMillis();
    long jitter = interval / 10;
    return interval + (jitter > 0 ? ThreadLocalRandom.current().nextLong(-jitter, jitter + 1) : 0);
  }

  private void check(Target t) {
    t.timer = -1;
    if (t.viaNode != null && node.peers().edgeOf(t.viaNode) == null) {
      // its node is not in this node's view (not heard yet after a start, draining, gone): no check can be made, and
      // the edge sends nothing there anyway. Counting it as failed would take the backend out for checks after
      // the node is heard again (a restarted node answered 503 no_healthy_backend for a moment in RollingRestartIT).
      schedule(t, nextDelay(t));
      return;
    }
    Future<Void> probe = switch (t.kind) {
      case "http" -> probeHttp(http, t);
      case "h2c" -> probeHttp(h2c, t);
      case "redis-primary" -> probeRedisPrimary(t);
      default -> probeTcp(t);
    };
    probe.timeout(t.timeout.toMillis(), TimeUnit.MILLISECONDS).onComplete(ar -> {
      if (t.removed) {
        return;
      }
      t.lastCheck = Instant.now();
      record(t, ar.succeeded(), ar.succeeded() ? null : describe(ar.cause()));
      schedule(t, nextDelay(t));
    });
  }

  /** GET {@code path}; up on a status below 400. Over h2c the backend is checked the way the edge talks to it. */
  private Future<Void> probeHttp(HttpClient client, Target t) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(t.host).setPort(t.port).setSsl(t.ssl)
        .setURI(t.path).setConnectTimeout(t.timeout.toMillis()).setIdleTimeout(t.timeout.toMillis())
        .putHeader("user-agent", "ceiba-health/" + node.nodeId());
    HttpClient via = client;
    if (t.viaNode != null) {
      Peers.Edge peer = node.peers().edgeOf(t.viaNode);
      if (peer == null) {
        return Future.failedFuture("node " + t.viaNode + " is not in the cluster view");
      }
      // the peer's edge speaks HTTP/1.1 whatever its backend speaks
      via = http;
      peer.aim(options).putHeader(Peers.PROBE_HEADER, "1");
      node.peers().markRelay(options.getHeaders(), t.service, t.url);
    } else if (t.tlsOptions != null) {
      t.tlsOptions.aim(options, t.host, t.port);
    }
    return via.request(options)
        .compose(req -> req.send())
        .compose(resp -> resp.body().compose(body -> resp.statusCode() < 400
            ? Future.<Void>succeededFuture() : Future.failedFuture("HTTP " + resp.statusCode())));
  }

  private Future<Void> probeTcp(Target t) {
    return connect(t).compose(NetSocket::close);
  }

  /** A TCP connection to the backend, or through its node's edge when it listens on that node's loopback. */
  private Future<NetSocket> connect(Target t) {
    if (t.viaNode == null) {
      return net.connect(t.port, t.host);
    }
    Peers.Edge peer = node.peers().edgeOf(t.viaNode);
    if (peer == null) {
      return Future.failedFuture("node " + t.viaNode + " is not in the cluster view");
    }
    return TcpRelay.open(relays, node.peers(), peer, t.service, t.url);
  }

  /** Up only when Redis answers ROLE with {@code master}: a replica must not take writes. */
  private Future<Void> probeRedisPrimary(Target t) {
    return connect(t).compose(socket -> {
      Promise<Void> answer = Promise.promise();
      Buffer received = Buffer.buffer();
      socket.handler(chunk -> {
        received.appendBuffer(chunk);
        String text = received.toString();
        if (text.contains("master")) {
          answer.tryComplete();
        } else if (text.contains("slave") || text.contains("sentinel") || text.startsWith("-")) {
          answer.tryFail("not a primary: " + text.lines().findFirst().orElse(""));
        }
      });
      socket.closeHandler(v -> answer.tryFail("connection closed"));
      socket.write(REDIS_ROLE);
      // closed on a late answer too: a relayed check must not hold its relay open
      return answer.future().timeout(t.timeout.toMillis(), TimeUnit.MILLISECONDS).eventually(socket::close);
    });
  }

  private void record(Target t, boolean ok, String error) {
    if (ok) {
      t.goodInARow++;
      t.badInARow = 0;
      t.lastError = null;
      if (!t.up && t.goodInARow >= t.healthyAfter) {
        setUp(t, true, "passed " + t.goodInARow + " checks");
      }
    } else {
      t.badInARow++;
      t.goodInARow = 0;
      t.lastError = error;
      t.failures.increment();
      if (t.up && t.badInARow >= t.unhealthyAfter) {
        setUp(t, false, "failed " + t.badInARow + " checks, last: " + error);
      }
    }
  }

  private void suspect(JsonObject body) {
    Target t = targets.get(BackendHealth.key(body.getString("service"), body.getString("node"), body.getString("url")));
    if (t == null || !t.up) {
      return;
    }
    t.badInARow = t.unhealthyAfter;
    t.goodInARow = 0;
    t.lastError = body.getString("reason", "connect failed");
    setUp(t, false, "edge could not connect: " + t.lastError);
    schedule(t, 0);
  }

  private void setUp(Target t, boolean up, String why) {
    t.up = up;
    t.upGauge.set(up ? 1 : 0);
    String where = t.node == null ? "" : " on " + t.node;
    if (up) {
      LOG.info("backend {}{} of {} is up ({})", t.url, where, t.service, why);
    } else {
      LOG.warn("backend {}{} of {} is down ({})", t.url, where, t.service, why);
    }
    publish(t, up);
  }

  private void publish(Target t, boolean up) {
    vertx.eventBus().publish(Addresses.HEALTH_CHANGED,
        new JsonObject().put("service", t.service).put("node", t.node).put("url", t.url).put("up", up),
        new DeliveryOptions().setLocalOnly(true));
  }

  private JsonArray snapshot() {
    JsonArray out = new JsonArray();
    for (Target t : targets.values()) {
      JsonObject o = new JsonObject().put("service", t.service).put("backend", t.url);
      if (t.node != null) {
        o.put("node", t.node);
      }
      o.put("check", t.kind).put("up", t.up);
      if (t.viaNode != null) {
        o.put("via", t.viaNode);
      }
      if (t.lastCheck != null) {
        o.put("last_check", t.lastCheck.toString());
      }
      if (t.lastError != null) {
        o.put("last_error", t.lastError);
      }
      out.add(o);
    }
    return out;
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
