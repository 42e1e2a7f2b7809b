package io.ceiba.node;

import io.ceiba.cluster.CeibaClusterManager;
import io.ceiba.cluster.CountingNodes;
import io.ceiba.cluster.Peers;
import io.ceiba.access.AccessGate;
import io.ceiba.edge.accesslog.AccessLogWriter;
import io.ceiba.acme.AcmeChallenges;
import io.ceiba.config.NodeConfig;
import io.ceiba.edge.cache.EdgeCache;
import io.ceiba.store.pg.PostgresService;
import io.ceiba.store.redis.RedisService;
import io.ceiba.tls.CertificateVault;
import io.ceiba.usage.UsageSpool;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.ext.healthchecks.HealthChecks;
import java.time.Instant;

/**
 * What the verticles of one node share, built once by {@link CeibaNode} and handed to each verticle's
 * constructor. Everything here is immutable or thread-safe by design (meter registry, health checks
 * registered at start, the shared pg pool behind {@link PostgresService}).
 *
 * @param readiness      checks behind {@code /ready}; each role registers its own at start
 * @param liveness       checks behind {@code /health}
 * @param postgres       null when no role of this node needs Postgres
 * @param redis          Redis for counters and the key cache; {@link RedisService#available()} false when absent or down
 * @param access         the edge's access gate (key cache and limiter), shared by the node's edge instances and
 *                       {@code /v1/verify}
 * @param edgeCache      the node's cache of GET/HEAD responses, shared by its edge instances
 * @param accessLog      writes the access lines of the node's edge instances (its own thread, large writes); null
 *                       without role edge or with {@code edge.access_log: false}
 * @param usageSpool     where the edge instances record usage events (crash-safe until a usage role stored them);
 *                       null when this node's edge records no usage
 * @param clusterManager null when the node is not clustered
 * @param countingNodes  the cluster's edge nodes, kept by the membership view; what per-node limits divide by
 * @param peers          the other edges of the cluster and the secret relayed requests carry
 * @param adminToken     bearer token of {@code /v1/*}
 * @param vault          seals and opens the private keys of certificates stored for the whole cluster
 * @param acmeChallenges the ACME HTTP-01 challenges the node's edge answers; null without role edge
 */
public record NodeContext(
    NodeConfig config,
    PrometheusMeterRegistry meters,
    HealthChecks readiness,
    HealthChecks liveness,
    PostgresService postgres,
    RedisService redis,
    AccessGate access,
    EdgeCache edgeCache,
    AccessLogWriter accessLog,
    UsageSpool usageSpool,
    CeibaClusterManager clusterManager,
    CountingNodes countingNodes,
    Peers peers,
    String adminToken,
    Instant startedAt,
    CertificateVault vault,
    AcmeChallenges acmeChallenges) {

  public String nodeId() {
    return config.nodeId();
  }

  @Override
  public String toString() {
    return "NodeContext[node=" + config.nodeId() + "]";
  }
}
