package io.ceiba.acme;

import io.ceiba.bus.Addresses;
import io.ceiba.config.AcmeConfig;
import io.ceiba.error.CeibaException;
import io.ceiba.error.ErrorCode;
import io.ceiba.node.NodeContext;
import io.ceiba.observability.MetricNames;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Registry;
import io.ceiba.tls.StoredCertificates;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a certificate for each service marked {@code tls: { acme: true }}: stored as {@code acme-<service>} in the
 * cluster's certificate store (so every edge serves it), ordered when missing or when its names changed, renewed
 * after {@code acme.renew_at} of its lifetime. Runs on nodes with role {@code control}; a cluster lock lets one node
 * order at a time, and the check after the lock reads the store again, so two nodes never order the same
 * certificate. A failed order keeps the old certificate, is logged and counted, and is tried again after
 * {@code acme.retry_after}, doubling up to {@code acme.check_interval}.
 */
public final class AcmeVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(AcmeVerticle.class);
  static final String LOCK = "ceiba.acme.order";
  private static final long LOCK_WAIT_MS = 2000;
  /** The first check after start: the registry and the cluster view settle first. */
  private static final long FIRST_CHECK_MS = 2000;
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setLocalOnly(true).setSendTimeout(2000);
  private static final DeliveryOptions TO_EDGE = new DeliveryOptions().setSendTimeout(3000);

  private final NodeContext node;
  private final AcmeConfig config;
  private final StoredCertificates store;
  private AcmeTrust trust;
  private Counter issued;
  private Counter failed;
  private boolean running;
  private int failuresInARow;
  private long timer = -1;

  public AcmeVerticle(NodeContext node) {
    this.node = node;
    this.config = node.config().acme();
    this.store = new StoredCertificates(node.postgres().pool());
  }

  @Override
  public Future<?> start() {
    issued = Counter.builder(MetricNames.ACME_ORDERS).tag("result", "issued").description("ACME certificate orders by result")
        .register(node.meters());
    failed = Counter.builder(MetricNames.ACME_ORDERS).tag("result", "failed").description("ACME certificate orders by result")
        .register(node.meters());
    vertx.eventBus().<JsonObject>localConsumer(Addresses.ACME_RENEW, msg -> {
      boolean force = msg.body() != null && msg.body().getBoolean("force", false);
      check(force).onSuccess(msg::reply).onFailure(e -> msg.fail(e instanceof CeibaException c && c.code() == ErrorCode.CONFLICT
          ? 409 : 500, e.getMessage()));
    });
    vertx.eventBus().localConsumer(Addresses.REGISTRY_CHANGED, msg -> scheduleCheck(FIRST_CHECK_MS));
    return vertx.executeBlocking(() -> AcmeTrust.of(config.ca())).onSuccess(t -> {
      trust = t;
      scheduleCheck(FIRST_CHECK_MS);
      LOG.info("ACME: certificates for services with tls.acme from {} (renewed after {} of their lifetime, checked every {})",
          config.directory(), String.format("%.2f", config.renewAt()), config.checkInterval());
    });
  }

  private void scheduleCheck(long delayMs) {
    vertx.cancelTimer(timer);
    timer = vertx.setTimer(Math.max(1, delayMs), t -> check(false).onComplete(ar -> {
      if (ar.succeeded() && ar.result().getJsonArray("failed").isEmpty()) {
        failuresInARow = 0;
        scheduleCheck(config.checkInterval().toMillis());
      } else if (ar.failed() && ar.cause() instanceof CeibaException c && c.code() == ErrorCode.CONFLICT) {
        scheduleCheck(config.checkInterval().toMillis()); // another check runs: it schedules the retries
      } else {
        failuresInARow++;
        long backoff = config.retryAfter().toMillis() << Math.min(20, failuresInARow - 1);
        scheduleCheck(Math.min(backoff, config.checkInterval().toMillis()));
      }
    }));
  }

  /**
   * Orders what is missing or due (with {@code force}, every ACME certificate) under the cluster lock; the outcome per
   * certificate. Fails with a conflict while another check of this node runs.
   */
  Future<JsonObject> check(boolean force) {
    if (running) {
      return Future.failedFuture(new CeibaException(ErrorCode.CONFLICT, "an ACME check is under way on this node"));
    }
    running = true;
    return vertx.eventBus().<Registry>request(Addresses.REGISTRY_CURRENT, null, LOCAL)
        .compose(reply -> {
          List<HttpService> wanted = reply.body().http().values().stream().filter(HttpService::acme).toList();
          if (wanted.isEmpty()) {
            return Future.succeededFuture(outcome());
          }
          return vertx.sharedData().getLockWithTimeout(LOCK, force ? AcmeOrder.CA_WAIT.toMillis() : LOCK_WAIT_MS)
              .recover(e -> Future.failedFuture(new CeibaException(ErrorCode.CONFLICT,
                  "another node is ordering ACME certificates right now")))
              .compose(lock -> checkUnderLock(wanted, force).eventually(() -> {
                lock.release();
                return Future.succeededFuture();
              }));
        })
        .onComplete(ar -> running = false);
  }

  private static JsonObject outcome() {
    return new JsonObject().put("checked", new JsonArray()).put("ordered", new JsonArray()).put("failed", new JsonArray());
  }

  private Future<JsonObject> checkUnderLock(List<HttpService> wanted, boolean force) {
    return store.rows(true).compose(rows -> {
      Map<String, String> stored = new HashMap<>();
      rows.forEach(o -> stored.put(((JsonObject) o).getString("name"), ((JsonObject) o).getString("cert")));
      JsonObject result = outcome();
      Future<Void> chain = Future.succeededFuture();
      for (HttpService service : wanted) {
        String name = certificateName(service.name());
        List<String> names = List.copyOf(new TreeSet<>(service.hosts()));
        result.getJsonArray("checked").add(name);
        String why = force ? "renewal asked for" : dueBecause(stored.get(name), names, Instant.now(), config.renewAt());
        if (why == null) {
          continue;
        }
        chain = chain.compose(v -> order(name, names, why)
            .map(cert -> {
              result.getJsonArray("ordered").add(new JsonObject().put("name", name).put("dns_names", new JsonArray(names))
                  .put("not_after", cert.getNotAfter().toInstant().toString()).put("reason", why));
              return (Void) null;
            })
            .recover(e -> {
              failed.increment();
              LOG.error("ACME: no certificate for {} ({}): {}; the current one, if any, keeps serving", names, why, e.getMessage());
              result.getJsonArray("failed").add(new JsonObject().put("name", name).put("error", String.valueOf(e.getMessage())));
              return Future.succeededFuture();
            }));
      }
      return chain.map(v -> result);
    });
  }

  /** Null when the stored certificate serves these names and is not yet due; else why it is ordered. */
  static String dueBecause(String storedPem, List<String> names, Instant now, double renewAt) {
    if (storedPem == null) {
      return "no certificate yet";
    }
    X509Certificate leaf;
    try {
      leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(storedPem.getBytes(StandardCharsets.US_ASCII)));
    } catch (Exception e) {
      return "the stored certificate does not parse";
    }
    Set<String> covered = new TreeSet<>();
    try {
      if (leaf.getSubjectAlternativeNames() != null) {
        leaf.getSubjectAlternativeNames().stream().filter(san -> Integer.valueOf(2).equals(san.get(0)))
            .forEach(san -> covered.add(String.valueOf(san.get(1))));
      }
    } catch (Exception e) {
      return "the stored certificate's names do not parse";
    }
    if (!covered.equals(new TreeSet<>(names))) {
      return "the names changed (stored " + covered + ")";
    }
    Instant from = leaf.getNotBefore().toInstant();
    Instant to = leaf.getNotAfter().toInstant();
    return renewalTime(from, to, renewAt).isAfter(now) ? null : "past the renewal time";
  }

  /** When a certificate valid from {@code from} to {@code to} is renewed: after {@code renewAt} of its lifetime. */
  static Instant renewalTime(Instant from, Instant to, double renewAt) {
    long lifetimeMs = Duration.between(from, to).toMillis();
    return from.plusMillis((long) (lifetimeMs * renewAt));
  }

  private Future<X509Certificate> order(String name, List<String> names, String why) {
    LOG.info("ACME: ordering a certificate for {} from {} ({})", names, config.directory(), why);
    AcmeOrder acme = new AcmeOrder(URI.create(config.directory()), trust, config.email(),
        node.config().dataDir().resolve("acme").resolve("account.pem"));
    return vertx.executeBlocking(() -> acme.run(names, new EdgePublisher()), false)
        .compose(issuedPair -> store.store(vertx, node.vault(), name, issuedPair.certPem(), issuedPair.keyPem())
            .map(stored -> {
              issued.increment();
              return issuedPair.leaf();
            }));
  }

  /** {@code acme-<service>}, within the certificate store's name rules. */
  static String certificateName(String service) {
    String cleaned = service.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
    String name = "acme-" + cleaned;
    return name.length() > 63 ? name.substring(0, 63) : name;
  }

  /**
   * Sends each challenge to every node of the view and waits for their edges to hold it (nodes without an edge do not
   * answer, and are skipped). Called on the order's worker thread: blocking on the replies is fine there.
   */
  private final class EdgePublisher implements AcmeOrder.ChallengePublisher {

    @Override
    public void publish(String token, String keyAuthorization) throws IOException {
      JsonObject message = new JsonObject().put("token", token).put("key_authorization", keyAuthorization);
      int held = sendToEveryNode(message);
      if (held == 0) {
        throw new IOException("no edge took the HTTP-01 challenge");
      }
    }

    @Override
    public void withdraw(String token) {
      try {
        sendToEveryNode(new JsonObject().put("token", token).put("remove", true));
      } catch (IOException e) {
        LOG.debug("ACME: challenge {} not withdrawn everywhere (it expires by itself): {}", token, e.getMessage());
      }
    }

    private int sendToEveryNode(JsonObject message) throws IOException {
      try {
        JsonArray view = vertx.eventBus().<JsonArray>request(Addresses.CLUSTER_VIEW, null, LOCAL)
            .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).body();
        List<Future<Object>> sent = new ArrayList<>();
        for (Object o : view) {
          String nodeId = ((JsonObject) o).getString("id");
          sent.add(vertx.eventBus().request(Addresses.acmeChallenge(nodeId), message, TO_EDGE).map(r -> (Object) r.body()));
        }
        Future.join(sent).otherwiseEmpty().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        return (int) sent.stream().filter(Future::succeeded).count();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while the challenge went out", e);
      } catch (Exception e) {
        throw new IOException("the challenge did not reach the edges: " + e.getMessage(), e);
      }
    }
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return Future.succeededFuture();
  }
}
