package io.ceiba.node;

import io.ceiba.acme.AcmeChallenges;
import io.ceiba.access.AccessGate;
import io.ceiba.access.limit.CreditCounter;
import io.ceiba.access.limit.Limiter;
import io.ceiba.backup.RevocationLedger;
import io.ceiba.bus.Addresses;
import io.ceiba.bus.LocalObjectCodec;
import io.ceiba.cluster.CeibaClusterManager;
import io.ceiba.cluster.ClusterCredentials;
import io.ceiba.cluster.CountingNodes;
import io.ceiba.cluster.Peers;
import io.ceiba.config.NodeConfig;
import io.ceiba.config.Role;
import io.ceiba.edge.accesslog.AccessLogWriter;
import io.ceiba.edge.cache.EdgeCache;
import io.ceiba.observability.MetricNames;
import io.ceiba.observability.ProcessMetrics;
import io.ceiba.registry.Registry;
import io.ceiba.store.pg.PostgresService;
import io.ceiba.store.redis.RedisService;
import io.ceiba.tls.CertificateSet;
import io.ceiba.tls.CertificateVault;
import io.ceiba.usage.UsageEvent;
import io.ceiba.usage.UsageLedger;
import io.ceiba.usage.UsageSpool;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Ceiba node: its Vert.x instance (clustered or not), metrics, Postgres when a role needs it,
 * and the {@link NodeSupervisor} that runs the roles. {@link #start} and {@link #stop} are what
 * {@code Main} and the multi-node tests use.
 */
public final class CeibaNode {

  private static final Logger LOG = LoggerFactory.getLogger(CeibaNode.class);
  /**
   * Joins of the cluster tried before a start fails, and the wait between them (see {@link #join}). Three were not
   * enough in 2 of 3 CI runs of a node killed and restarted under load: the coordinator kept refusing the join for more
   * than 25 s. Eight give it about a minute and a half; a node that cannot join at all still fails its start.
   */
  private static final int JOIN_ATTEMPTS = 8;
  private static final java.time.Duration JOIN_RETRY = java.time.Duration.ofSeconds(5);

  private final NodeConfig config;
  private final Vertx vertx;
  private final NodeContext context;
  private final NodeSupervisor supervisor;

  private CeibaNode(NodeConfig config, Vertx vertx, NodeContext context, NodeSupervisor supervisor) {
    this.config = config;
    this.vertx = vertx;
    this.context = context;
    this.supervisor = supervisor;
  }

  /**
   * Builds Vert.x, joins the cluster when enabled, starts Postgres when needed and deploys the roles: the embedded
   * PostgreSQL starts on a worker while the node prepares and deploys the steps that need no database.
   */
  public static Future<CeibaNode> start(NodeConfig config) {
    Instant startedAt = Instant.now();
    LOG.info("node {} starting (data in {})", config.nodeId(), config.dataDir());
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    meters.config().commonTags(MetricNames.TAG_NODE, config.nodeId());
    ClusterCredentials credentials;
    CertificateVault vault;
    try {
      credentials = clusterCredentials(config);
      vault = credentials != null ? new CertificateVault(credentials.sealingKeys()) : CertificateVault.ofNode(config.dataDir());
    } catch (Exception e) {
      return Future.failedFuture(new IllegalStateException("cluster set-up failed: " + e.getMessage(), e));
    }
    return join(config, meters, credentials, 1).compose(joined -> {
      Vertx vertx = joined.vertx();
      CeibaClusterManager clusterManager = joined.clusterManager();
      ProcessMetrics.bindTo(meters, vertx);
      vertx.eventBus().registerDefaultCodec(Registry.class, new LocalObjectCodec<>(Registry.class));
      vertx.eventBus().registerDefaultCodec(UsageEvent.Batch.class, new LocalObjectCodec<>(UsageEvent.Batch.class));
      vertx.eventBus().registerDefaultCodec(CertificateSet.class, new LocalObjectCodec<>(CertificateSet.class));
      Future<PostgresService> postgres = config.needsPostgres()
          ? PostgresService.starting(vertx, config.postgres(), config.dataDir())
          : Future.succeededFuture(null);
      return postgres.compose(pg -> AdminToken.resolve(vertx, config)
          .compose(token -> UsageSpool.start(vertx, config, meters).compose(spool -> Peers.join(vertx, config, credentials).map(peers -> {
            RedisService redis = RedisService.create(vertx, config.redis(), meters);
            CountingNodes countingNodes = new CountingNodes();
            Limiter limiter = new Limiter(vertx, redis, countingNodes, UsageLedger.forNode(vertx, config), meters);
            CreditCounter credits = new CreditCounter(vertx, redis, UsageLedger.creditsForNode(vertx, config), meters);
            AccessGate access = new AccessGate(vertx, limiter, credits, config.has(Role.AUTH), meters);
            // every node drops the cached key records a change touched (revocation within milliseconds); changes
            // arrive through ClusterPublishes, which hands them to local consumers and repairs a node that missed one
            RevocationLedger revocations = new RevocationLedger(vertx, config.dataDir());
            vertx.eventBus().<JsonObject>localConsumer(Addresses.ACCESS_CHANGED, msg -> {
              access.invalidate(msg.body());
              revocations.record(msg.body());
            });
            NodeContext context = new NodeContext(config, meters, HealthChecks.create(vertx), HealthChecks.create(vertx),
                pg, redis, access, config.has(Role.EDGE) ? new EdgeCache(meters) : null, accessLogWriter(config, meters), spool, clusterManager, countingNodes,
                peers, token, startedAt, vault, config.has(Role.EDGE) ? new AcmeChallenges() : null);
            if (context.acmeChallenges() != null) {
              context.acmeChallenges().listen(vertx, config.nodeId());
            }
            if (pg != null) {
              pg.registerReadiness(context.readiness());
            }
            redis.registerReadiness(context.readiness());
            DataDirSpace.watch(vertx, config.dataDir(), meters, spool == null ? () -> false : spool::diskWritesFailing)
                .registerReadiness(context.readiness());
            return context;
          })))
          .compose(context -> {
            NodeSupervisor supervisor = new NodeSupervisor(vertx, context);
            return supervisor.start(pg == null ? Future.succeededFuture() : pg.started())
                .map(v -> new CeibaNode(config, vertx, context, supervisor))
                .recover(failure -> closeSpool(vertx, context).eventually(() -> closeAccessLog(vertx, context))
                    .transform(ignored -> Future.failedFuture(failure)));
          })
          .recover(failure -> (pg == null ? Future.<Void>succeededFuture() : pg.close()).transform(ignored -> Future.failedFuture(failure))))
          .recover(failure -> closeAndFail(vertx, failure));
    }).onSuccess(node -> {
      LOG.info("node {} started in {} ms (roles {}, cluster {})", config.nodeId(),
          java.time.Duration.between(startedAt, Instant.now()).toMillis(), config.roles(),
          config.cluster().enabled() ? config.cluster().name() : "off");
      if (node.context.postgres() != null) {
        node.context.postgres().startDeferredWork();
      }
    });
  }

  /**
   * Fails with the start's own cause at once and closes the failed node's Vert.x behind it. Waiting for the close
   * would have the failure delivered on the closed Vert.x's event loop, which refuses it ("event executor
   * terminated"), and that refusal would replace the cause the operator needs to see.
   */
  private static <T> Future<T> closeAndFail(Vertx vertx, Throwable failure) {
    vertx.close().onFailure(e -> LOG.debug("closing the Vert.x of a node that failed to start: {}", e.toString()));
    return Future.failedFuture(failure);
  }

  /**
   * The node's cluster credentials (made on first start when absent), or null when it runs alone or in an insecure
   * cluster, which is said loudly.
   */
  private static ClusterCredentials clusterCredentials(NodeConfig config) {
    if (!config.cluster().enabled()) {
      return null;
    }
    if (config.cluster().insecure()) {
      LOG.warn("cluster {} is INSECURE (cluster.insecure: true): no authentication, no encryption; any process that reaches"
          + " {}:{} or the event bus can join, read and send every cluster message and relay past access checks",
          config.cluster().name(), config.cluster().publicHost(), config.cluster().port());
      return null;
    }
    ClusterCredentials credentials = ClusterCredentials.prepare(config.cluster(), config.nodeId(), config.dataDir());
    LOG.info("cluster {}: mutual TLS with the credentials in {}", config.cluster().name(), credentials.describe());
    return credentials;
  }

  /** Vert.x and, when clustered, the cluster manager it joined with. */
  private record Joined(Vertx vertx, CeibaClusterManager clusterManager) {
  }

  /**
   * Builds Vert.x and joins the cluster. A node restarted right after it died may find its previous incarnation still
   * in the members' view, and Infinispan can refuse the join of its caches then (seen: ISPN000659 on the locks cache,
   * an NPE in the coordinator); the dead member is out of the view seconds later, so the join is tried again with a
   * fresh cluster manager, {@link #JOIN_ATTEMPTS} times in all, before the start fails.
   */
  private static Future<Joined> join(NodeConfig config, PrometheusMeterRegistry meters, ClusterCredentials credentials, int attempt) {
    CeibaClusterManager clusterManager;
    try {
      clusterManager = config.cluster().enabled() ? CeibaClusterManager.create(config.cluster(), config.nodeId(), credentials) : null;
    } catch (Exception e) {
      return Future.failedFuture(new IllegalStateException("cluster set-up failed: " + e.getMessage(), e));
    }
    return buildVertx(config, meters, clusterManager, credentials).map(vertx -> new Joined(vertx, clusterManager)).recover(e -> {
      if (clusterManager == null || attempt >= JOIN_ATTEMPTS) {
        return Future.failedFuture(e);
      }
      LOG.warn("node {}: joining cluster {} failed ({}); trying again in {} s (attempt {} of {})", config.nodeId(),
          config.cluster().name(), e.getMessage(), JOIN_RETRY.toSeconds(), attempt + 1, JOIN_ATTEMPTS);
      Promise<Joined> next = Promise.promise();
      // no Vert.x to set a timer on yet: the JDK's delayed executor waits, nothing blocks
      CompletableFuture.delayedExecutor(JOIN_RETRY.toMillis(), TimeUnit.MILLISECONDS)
          .execute(() -> join(config, meters, credentials, attempt + 1).onComplete(next));
      return next.future();
    });
  }

  private static Future<Vertx> buildVertx(NodeConfig config, PrometheusMeterRegistry meters, CeibaClusterManager clusterManager,
      ClusterCredentials credentials) {
    VertxOptions options = new VertxOptions()
        .setPreferNativeTransport(true)
        .setMetricsOptions(new MicrometerMetricsOptions()
            .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true))
            // per-request HTTP and socket meters of Vert.x itself cost the proxy path measurable CPU;
            // the edge keeps its own bounded ones (ceiba_edge_requests_total, ceiba_upstream_duration_seconds)
            .addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER)
            .addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT)
            .addDisabledMetricsCategory(MetricsDomain.NET_SERVER)
            .addDisabledMetricsCategory(MetricsDomain.NET_CLIENT)
            .setEnabled(true));
    VertxBuilder builder = Vertx.builder().with(options).withMetrics(new MicrometerMetricsFactory(meters));
    if (clusterManager == null) {
      return Future.succeededFuture(builder.build());
    }
    options.getEventBusOptions().setHost(config.cluster().host()).setPort(config.cluster().busPort()).setClusterPublicHost(config.cluster().publicHost());
    if (credentials != null) {
      credentials.secure(options.getEventBusOptions());
    }
    return builder.withClusterManager(clusterManager).buildClustered();
  }

  /** SIGHUP: the registry file and the edge's certificates are read again now; nothing stops or restarts. */
  public void reload() {
    vertx.eventBus().publish(Addresses.NODE_RELOAD, null, new DeliveryOptions().setLocalOnly(true));
  }

  /**
   * Stops in order: readiness turns 503, peers are told we leave, roles stop (edge first), the limiter gives
   * back its unused leases, Postgres closes, then Vert.x closes and leaves the cluster.
   */
  public Future<Void> stop() {
    LOG.info("node {} stopping", config.nodeId());
    return supervisor.stop()
        .recover(failure -> {
          LOG.warn("node {}: stopping roles failed: {}", config.nodeId(), failure.getMessage());
          return Future.succeededFuture();
        })
        .compose(v -> context.access().giveBackLeases()) // the edge admits nothing more: unused leases go back
        // after the roles: the edge flushed the spool, what is unacknowledged waits on disk for the next start
        .compose(v -> closeSpool(vertx, context).otherwiseEmpty())
        .compose(v -> closeAccessLog(vertx, context).otherwiseEmpty())
        .compose(v -> context.postgres() == null ? Future.succeededFuture() : context.postgres().close())
        .eventually(() -> context.redis().close())
        .eventually(() -> vertx.close())
        .onComplete(ar -> LOG.info("node {} stopped", config.nodeId()));
  }

  /** The writer of the edge's access lines, with its count of lines the output refused; null when there are none. */
  private static AccessLogWriter accessLogWriter(NodeConfig config, PrometheusMeterRegistry meters) {
    if (!config.has(Role.EDGE) || !config.edge().accessLog()) {
      return null;
    }
    AccessLogWriter writer = AccessLogWriter.stdout(config.nodeId());
    FunctionCounter.builder(MetricNames.ACCESS_LOG_DROPPED, writer, AccessLogWriter::failedLines).tag("reason", "write_failed")
        .description("Access-log lines dropped: the writer's queue was full, or the output failed").register(meters);
    return writer;
  }

  /** After the edge stopped (it handed over its last lines): what is queued is written, then the writer's thread ends. */
  private static Future<Void> closeAccessLog(Vertx vertx, NodeContext context) {
    return context.accessLog() == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
      context.accessLog().close();
      return null;
    });
  }

  private static Future<Void> closeSpool(Vertx vertx, NodeContext context) {
    return context.usageSpool() == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
      context.usageSpool().close();
      return null;
    });
  }

  public Vertx vertx() {
    return vertx;
  }

  public NodeConfig config() {
    return config;
  }

  public NodeContext context() {
    return context;
  }
}
