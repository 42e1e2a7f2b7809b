package io.ceiba.tls;

import io.ceiba.bus.Addresses;
import io.ceiba.config.TlsConfig;
import io.ceiba.node.NodeContext;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.VerticleBase;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the certificates of the node's TLS listener: reads the configured PEM pairs at start (a bad pair fails the
 * start, saying which file), then polls them and, when any file changed, checks every pair again and publishes the
 * new set to the edge instances, which swap it into their listeners without closing a connection. The cluster's
 * stored certificates ({@code PUT /v1/certificates/{name}}) are served beside the files' ones: fetched at start, on
 * every change published and every 30 s (so a node that joins later, or missed a publish, gets them). A set with any bad
 * pair (unreadable, key of another certificate, expired, not yet valid) is refused whole and logged with its file;
 * the old one keeps serving. Also keeps {@code ceiba_tls_certificate_expiry_seconds{name}} and warns 14 days ahead.
 */
public final class CertificateWatcher extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(CertificateWatcher.class);
  static final Duration EXPIRY_WARNING = Duration.ofDays(14);
  static final String EXPIRY_METRIC = "ceiba.tls.certificate.expiry.seconds";

  /** How often the cluster's stored certificates are fetched again, besides on every change published. */
  static final Duration STORED_REFRESH = Duration.ofSeconds(30);
  /** Until the stored certificates were fetched once, a failed fetch is retried this soon. */
  static final Duration STORED_FIRST_RETRY = Duration.ofSeconds(2);

  private final NodeContext node;
  private final TlsConfig tls;
  /** What the listener serves: the files' pairs first (the first answers clients without SNI), then stored ones. */
  private CertificateSet current;
  private List<ServedCertificate> fromFiles = List.of();
  private List<ServedCertificate> stored = List.of();
  /** The sealed rows {@link #stored} came from, so an unchanged list is not swapped in again. */
  private JsonArray storedRows = new JsonArray();
  private boolean fetchedOnce;
  private boolean retryPending;
  /** sha-256 of every watched file's bytes when {@link #current} was read; a change triggers a reload. */
  private Map<String, String> readShas = Map.of();
  /** The refused state last logged, so an unchanged bad file is not logged on every poll. */
  private Map<String, String> refusedShas = Map.of();
  private final Set<String> warnedExpiry = new HashSet<>();
  private final List<Meter> gauges = new ArrayList<>();
  private long timer = -1;
  private long storedTimer = -1;

  public CertificateWatcher(NodeContext node) {
    this.node = node;
    this.tls = node.config().edge().tls();
  }

  @Override
  public Future<?> start() {
    vertx.eventBus().<Object>localConsumer(Addresses.TLS_CURRENT, msg -> msg.reply(current));
    vertx.eventBus().<Object>localConsumer(Addresses.NODE_RELOAD, msg -> poll(true));
    vertx.eventBus().<Object>consumer(Addresses.TLS_STORED_CHANGED, msg -> fetchStored());
    vertx.eventBus().<Object>consumer(Addresses.tlsServed(node.nodeId()), msg -> msg.reply(served()));
    return vertx.executeBlocking(this::read).compose(read -> {
      if (read.refused() != null) {
        return Future.failedFuture("edge.tls: " + read.refused() + "; fix the file or edge.tls.certificates");
      }
      readShas = read.shas();
      fromFiles = read.set().certificates();
      adopt();
      timer = vertx.setPeriodic(tls.watchInterval().toMillis(), t -> poll(false));
      storedTimer = vertx.setPeriodic(STORED_REFRESH.toMillis(), t -> fetchStored());
      // not waited for: a node serves its files' certificates even when no database answers yet
      fetchStored();
      return Future.succeededFuture();
    });
  }

  /**
   * Fetches the cluster's stored certificates (from this node's database or any node with one), opens their keys and
   * checks each; a bad one is skipped with an ERROR, the others serve. A failed fetch keeps what was fetched before.
   */
  private void fetchStored() {
    vertx.eventBus().<JsonArray>request(Addresses.TLS_STORED_LIST, null,
            new DeliveryOptions().setSendTimeout(5000))
        .compose(reply -> reply.body().equals(storedRows) ? Future.succeededFuture()
            : vertx.executeBlocking(() -> openAll(reply.body())).onSuccess(opened -> {
              storedRows = reply.body();
              stored = opened;
              adopt();
              LOG.info("stored TLS certificates now served: {}", describe(current));
              vertx.eventBus().publish(Addresses.TLS_CHANGED, current, new DeliveryOptions().setLocalOnly(true));
            }).mapEmpty())
        .onSuccess(v -> fetchedOnce = true)
        .onFailure(e -> {
          LOG.debug("stored TLS certificates not fetched: {}", e.getMessage());
          if (!fetchedOnce && !retryPending) {
            // a node just started may ask before the cluster knows a node with a database: ask again soon, not in 30 s
            retryPending = true;
            vertx.setTimer(STORED_FIRST_RETRY.toMillis(), t -> {
              retryPending = false;
              if (!fetchedOnce) {
                fetchStored();
              }
            });
          }
        });
  }

  private List<ServedCertificate> openAll(JsonArray rows) {
    List<ServedCertificate> opened = new ArrayList<>();
    for (Object o : rows) {
      JsonObject row = (JsonObject) o;
      String name = row.getString("name");
      try {
        String key = node.vault().open(name, row.getString("key_sealed"));
        opened.add(CertificateChecks.check(vertx, row.getString("cert"), key, "stored certificate " + name, Instant.now()));
      } catch (GeneralSecurityException | CertificateChecks.Refused e) {
        LOG.error("stored TLS certificate {} not served: {}", name, e.getMessage());
      }
    }
    return opened;
  }

  private JsonArray served() {
    JsonArray out = new JsonArray();
    if (current != null) {
      for (ServedCertificate c : current.certificates()) {
        out.add(new JsonObject().put("name", c.name()).put("dns_names", new JsonArray(c.dnsNames()))
            .put("issuer", c.issuer()).put("not_after", c.notAfter().toString())
            .put("source", fromFiles.contains(c) ? "file" : "stored"));
      }
    }
    return out;
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    vertx.cancelTimer(storedTimer);
    gauges.forEach(node.meters()::remove);
    return Future.succeededFuture();
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** What one reading of the files gave: a checked set, or why it is refused; and the files' hashes. */
  private record Read(CertificateSet set, String refused, Map<String, String> shas) {
  }

  private void poll(boolean forced) {
    vertx.executeBlocking(() -> shas()).compose(shas -> {
      if (!forced && (shas.equals(readShas) || shas.equals(refusedShas))) {
        return Future.succeededFuture();
      }
      return vertx.executeBlocking(this::read).onSuccess(read -> {
        if (read.refused() != null) {
          if (forced || !read.shas().equals(refusedShas)) {
            LOG.error("TLS certificates not reloaded, the old ones keep serving: {}", read.refused());
          }
          refusedShas = read.shas();
          return;
        }
        readShas = read.shas();
        refusedShas = Map.of();
        fromFiles = read.set().certificates();
        adopt();
        LOG.info("TLS certificates reloaded: {}", describe(current));
        vertx.eventBus().publish(Addresses.TLS_CHANGED, current, new DeliveryOptions().setLocalOnly(true));
      }).mapEmpty();
    }).onFailure(e -> LOG.warn("TLS certificate files not checked: {}", e.getMessage()));
  }

  private void adopt() {
    List<ServedCertificate> all = new ArrayList<>(fromFiles);
    all.addAll(stored);
    current = new CertificateSet(all);
    gauges.forEach(node.meters()::remove);
    gauges.clear();
    MeterRegistry meters = node.meters();
    for (ServedCertificate c : current.certificates()) {
      Instant notAfter = c.notAfter();
      gauges.add(Gauge.builder(EXPIRY_METRIC, () -> Duration.between(Instant.now(), notAfter).toSeconds())
          .description("Seconds until the served certificate expires").tag("node", node.nodeId()).tag("name", c.name())
          .register(meters));
      Duration left = Duration.between(Instant.now(), notAfter);
      if (left.compareTo(EXPIRY_WARNING) < 0 && warnedExpiry.add(c.name() + ' ' + notAfter)) {
        LOG.warn("TLS certificate {} ({}) expires in {} h, at {}", c.name(), c.source(), left.toHours(), notAfter);
      }
    }
  }

  private Map<String, String> shas() throws IOException {
    Map<String, String> shas = new HashMap<>();
    for (TlsConfig.CertificatePair pair : tls.certificates()) {
      shas.put(pair.cert().toString(), sha256(Files.readString(pair.cert(), StandardCharsets.US_ASCII)));
      shas.put(pair.key().toString(), sha256(Files.readString(pair.key(), StandardCharsets.US_ASCII)));
    }
    return shas;
  }

  /** Reads and checks every pair; any failure refuses the whole set. */
  private Read read() {
    Map<String, String> shas = new HashMap<>();
    List<ServedCertificate> served = new ArrayList<>();
    for (TlsConfig.CertificatePair pair : tls.certificates()) {
      String source = pair.cert().toString();
      try {
        String cert = Files.readString(pair.cert(), StandardCharsets.US_ASCII);
        String key = Files.readString(pair.key(), StandardCharsets.US_ASCII);
        shas.put(pair.cert().toString(), sha256(cert));
        shas.put(pair.key().toString(), sha256(key));
        served.add(CertificateChecks.check(vertx, cert, key, source + " + " + pair.key(), Instant.now()));
      } catch (IOException | java.io.UncheckedIOException e) {
        return new Read(null, "cannot read " + source + " or " + pair.key() + ": " + e.getMessage(), shas);
      } catch (CertificateChecks.Refused e) {
        return new Read(null, e.getMessage(), shas);
      }
    }
    return new Read(new CertificateSet(served), null, shas);
  }

  private static String describe(CertificateSet set) {
    return set.certificates().stream().map(c -> c.name() + " (expires " + c.notAfter() + ")").toList().toString();
  }
}
