package io.ceiba.registry;

import io.ceiba.bus.Addresses;
import io.ceiba.error.ErrorResponses;
import io.ceiba.node.NodeContext;
import io.ceiba.observability.MetricNames;
import io.ceiba.yaml.InvalidDocumentException;
import io.ceiba.yaml.Problem;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the node's current {@link Registry}. Loads it at start (the file, or the last-known-good copy when
 * the file is missing or invalid), polls the file, accepts registries distributed over the cluster, and
 * applies a candidate only when it is valid as a whole and newer: readers see the old snapshot or the new
 * one, never a mix. Each applied registry is published on {@link Addresses#REGISTRY_CHANGED} and kept as
 * last-known-good under {@code data_dir}.
 *
 * <p>Catch-up (anti-entropy): every {@link #CATCH_UP_MS} the node looks at the registry versions its peers announce
 * (the membership view); when one serves a newer version, it fetches that registry from the peer and offers it like
 * a distributed one. A node that was down or cut off while {@code PUT /v1/registry} went round so serves the newest
 * registry within seconds of hearing any peer again, instead of never.
 */
public final class RegistryVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(RegistryVerticle.class);
  static final String LAST_KNOWN_GOOD = "registry/last-known-good.yaml";
  static final long CATCH_UP_MS = 1000;
  /** A peer's version that could not be adopted (invalid here, or a fetch failed) is not asked for again this long. */
  static final long CATCH_UP_RETRY_MS = 30_000;

  /** What happened to a candidate registry; also the {@code result} label of the reload counter. */
  enum Outcome { APPLIED, UNCHANGED, STALE, INVALID }

  private final NodeContext node;
  private final Path file;
  /** Where relative paths in a registry (tls.ca, …) resolve, whichever way the registry arrived. */
  private final Path folder;
  private final Path lastKnownGood;

  private Registry current = Registry.EMPTY;
  private String source = "none";
  private Instant appliedAt;
  private JsonObject lastError;
  /** Digest of the file content last looked at, valid or not, so an unchanged file is not parsed again. */
  private String lastFileSha;
  /** Bumped when this verticle writes the file itself; a poll that started before is then ignored. */
  private long fileGeneration;
  private boolean fileMissingLogged;
  private long watchTimer = -1;
  private long catchUpTimer = -1;
  private boolean catchingUp;
  /** {@code node + ' ' + version} of a catch-up that failed, with when it may be tried again. */
  private final java.util.Map<String, Long> catchUpFailedUntil = new java.util.HashMap<>();
  private boolean stopped;

  private final AtomicLong versionGauge = new AtomicLong();
  private Counter applied;
  private Counter invalid;
  private Counter stale;

  public RegistryVerticle(NodeContext node) {
    this.node = node;
    this.file = node.config().registry().file();
    this.folder = RegistryParser.folderOf(file);
    this.lastKnownGood = node.config().dataDir().resolve(LAST_KNOWN_GOOD);
  }

  @Override
  public Future<?> start() {
    var meters = node.meters();
    Gauge.builder(MetricNames.REGISTRY_VERSION, versionGauge, AtomicLong::get)
        .description("Version of the registry this node serves").register(meters);
    applied = reloads("applied");
    invalid = reloads("invalid");
    stale = reloads("stale");

    var bus = vertx.eventBus();
    List<MessageConsumer<?>> consumers = List.of(
        bus.<Object>localConsumer(Addresses.REGISTRY_CURRENT, msg -> msg.reply(current)),
        bus.<Object>localConsumer(Addresses.REGISTRY_STATUS, msg -> msg.reply(status())),
        // SIGHUP: read the file now rather than at the next watch tick
        bus.<Object>localConsumer(Addresses.NODE_RELOAD, msg -> pollFile()
            .onFailure(e -> LOG.warn("registry file {} not re-read on reload: {}", file, e.getMessage()))),
        bus.<JsonObject>consumer(Addresses.registryApply(node.nodeId()), this::applyDistributed),
        bus.<Object>consumer(Addresses.registryFetch(node.nodeId()), msg -> msg.reply(new JsonObject()
            .put("version", current.version()).put("text", current.text()))));
    node.readiness().register("registry", 2000, promise -> bus.<JsonObject>request(Addresses.REGISTRY_STATUS, null,
            new DeliveryOptions().setSendTimeout(1500).setLocalOnly(true))
        .map(reply -> reply.body().getLong("version", 0L) > 0 ? Status.OK(reply.body()) : Status.KO(reply.body()))
        .onComplete(ar -> promise.tryComplete(ar.succeeded() ? ar.result() : Status.KO(new JsonObject().put("reason", "registry not answering")))));

    return Future.all(consumers.stream().map(MessageConsumer::completion).toList())
        .compose(v -> loadInitial())
        .onSuccess(v -> scheduleWatch())
        .onSuccess(v -> {
          if (node.config().cluster().enabled()) {
            catchUpTimer = vertx.setPeriodic(CATCH_UP_MS, t -> catchUp());
          }
        });
  }

  private Counter reloads(String result) {
    return Counter.builder(MetricNames.REGISTRY_RELOADS).tag(MetricNames.TAG_RESULT, result)
        .description("Registry candidates by outcome").register(node.meters());
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    vertx.cancelTimer(watchTimer);
    vertx.cancelTimer(catchUpTimer);
    return Future.succeededFuture();
  }

  /** The file when valid, else the last-known-good copy; the higher version when both are valid. */
  private Future<Void> loadInitial() {
    return vertx.executeBlocking(() -> List.of(RegistryFiles.read(file, null, folder), RegistryFiles.read(lastKnownGood, null, folder)))
        .compose(reads -> {
          RegistryFiles.Read fromFile = reads.get(0);
          RegistryFiles.Read fromLkg = reads.get(1);
          lastFileSha = fromFile.sha256();
          if (!fromFile.valid()) {
            recordError("file", fromFile.problems());
            LOG.error("registry {} not usable:\n  {}", file, join(fromFile.problems()));
          }
          RegistryFiles.Read chosen = fromFile.valid() && (!fromLkg.valid() || fromFile.registry().version() >= fromLkg.registry().version())
              ? fromFile : fromLkg.valid() ? fromLkg : null;
          if (chosen == null) {
            LOG.error("no registry to serve: {} is not usable and there is no last-known-good copy at {}", file, lastKnownGood);
            return Future.succeededFuture();
          }
          if (chosen == fromLkg) {
            LOG.warn("starting from the last-known-good registry {} (version {})", lastKnownGood, fromLkg.registry().version());
          }
          String origin = chosen == fromFile ? "file" : "last-known-good";
          offer(chosen.registry(), origin);
          return Future.succeededFuture();
        });
  }

  private void scheduleWatch() {
    if (!stopped) {
      watchTimer = vertx.setTimer(node.config().registry().watchInterval().toMillis(), t -> pollFile().onComplete(ar -> scheduleWatch()));
    }
  }

  private Future<Void> pollFile() {
    long generation = fileGeneration;
    String known = lastFileSha;
    return vertx.executeBlocking(() -> RegistryFiles.read(file, known, folder)).compose(read -> {
      if (generation != fileGeneration) {
        return Future.succeededFuture();
      }
      if (read.missing()) {
        if (!fileMissingLogged) {
          fileMissingLogged = true;
          LOG.warn("registry file {} is gone; keeping version {}", file, current.version());
        }
        return Future.succeededFuture();
      }
      fileMissingLogged = false;
      if (read.sha256().equals(lastFileSha)) {
        return Future.succeededFuture();
      }
      lastFileSha = read.sha256();
      if (!read.valid()) {
        invalid.increment();
        recordError("file", read.problems());
        LOG.error("registry {} rejected, keeping version {}:\n  {}", file, current.version(), join(read.problems()));
        return Future.succeededFuture();
      }
      offer(read.registry(), "file");
      return Future.succeededFuture();
    });
  }

  /** A registry sent by the control API of some node: validate, apply, write to our file and last-known-good. */
  private void applyDistributed(Message<JsonObject> message) {
    String text = message.body().getString("text", "");
    String from = message.body().getString("from", "?");
    vertx.executeBlocking(() -> parseOrProblems(text)).onComplete(ar -> {
      JsonObject reply = new JsonObject().put("node", node.nodeId());
      if (ar.failed()) {
        message.reply(reply.put("result", "invalid").put("message", ar.cause().getMessage()));
        return;
      }
      if (ar.result() instanceof InvalidDocumentException e) {
        invalid.increment();
        message.reply(reply.put("result", "invalid").put("problems", ErrorResponses.problems(e.problems())));
        return;
      }
      Registry candidate = (Registry) ar.result();
      Outcome outcome = offer(candidate, "cluster:" + from);
      reply.put("result", outcome.name().toLowerCase()).put("version", current.version());
      if (outcome == Outcome.STALE) {
        reply.put("message", staleReason(candidate));
      }
      if (outcome != Outcome.APPLIED) {
        message.reply(reply);
        return;
      }
      writeFile(candidate).onComplete(written -> {
        if (written.failed()) {
          reply.put("warning", "registry file not written: " + written.cause().getMessage());
        }
        message.reply(reply);
      });
    });
  }

  /** Keeps an applied cluster registry in our own file too, so a restart starts from it. */
  private Future<Void> writeFile(Registry applied) {
    fileGeneration++;
    lastFileSha = applied.sha256();
    return vertx.<Void>executeBlocking(() -> {
      RegistryFiles.writeAtomically(file, applied.text());
      return null;
    }).onFailure(e -> LOG.warn("registry version {} applied but {} not written: {}", applied.version(), file, e.getMessage()));
  }

  /** Fetches and offers the newest registry a peer announces, when it is newer than ours; one fetch at a time. */
  private void catchUp() {
    if (catchingUp || stopped) {
      return;
    }
    catchingUp = true;
    var bus = vertx.eventBus();
    bus.<io.vertx.core.json.JsonArray>request(Addresses.CLUSTER_VIEW, null, new DeliveryOptions().setLocalOnly(true).setSendTimeout(1000))
        .compose(view -> {
          JsonObject newest = newestPeer(view.body());
          if (newest == null) {
            return Future.succeededFuture();
          }
          String peer = newest.getString("id");
          long version = newest.getLong("registry_version");
          String attempt = peer + ' ' + version;
          return bus.<JsonObject>request(Addresses.registryFetch(peer), null, new DeliveryOptions().setSendTimeout(3000))
              .compose(reply -> vertx.executeBlocking(() -> parseOrProblems(reply.body().getString("text", ""))))
              .compose(parsed -> {
                if (!(parsed instanceof Registry candidate)) {
                  throw new IllegalStateException("its registry is invalid here: " + ((InvalidDocumentException) parsed).getMessage());
                }
                Outcome outcome = offer(candidate, "catch-up:" + peer);
                if (outcome == Outcome.APPLIED) {
                  LOG.info("caught up with {}: registry version {}", peer, candidate.version());
                  return writeFile(candidate).recover(e -> Future.succeededFuture());
                }
                return Future.succeededFuture();
              })
              .onFailure(e -> {
                catchUpFailedUntil.put(attempt, System.nanoTime() + CATCH_UP_RETRY_MS * 1_000_000);
                LOG.warn("registry catch-up from {} (version {}) failed, retrying in {} s: {}", peer, version,
                    CATCH_UP_RETRY_MS / 1000, e.getMessage());
              });
        })
        .onComplete(ar -> catchingUp = false);
  }

  /** The peer announcing the highest registry version above ours that did not fail lately, or null. */
  private JsonObject newestPeer(io.vertx.core.json.JsonArray view) {
    long now = System.nanoTime();
    catchUpFailedUntil.values().removeIf(until -> now - until >= 0);
    JsonObject newest = null;
    for (Object o : view) {
      JsonObject info = (JsonObject) o;
      long version = info.getLong("registry_version", 0L);
      if (Boolean.TRUE.equals(info.getBoolean("self")) || version <= current.version()
          || catchUpFailedUntil.containsKey(info.getString("id") + ' ' + version)) {
        continue;
      }
      if (newest == null || version > newest.getLong("registry_version")) {
        newest = info;
      }
    }
    return newest;
  }

  private Object parseOrProblems(String text) {
    try {
      return RegistryParser.parse("PUT /v1/registry", text, folder);
    } catch (InvalidDocumentException e) {
      return e;
    }
  }

  /** Applies {@code candidate} when it is newer than what we serve; the single place the snapshot changes. */
  private Outcome offer(Registry candidate, String origin) {
    if (candidate.sha256().equals(current.sha256())) {
      return Outcome.UNCHANGED;
    }
    if (candidate.version() <= current.version()) {
      stale.increment();
      String reason = staleReason(candidate);
      recordError(origin, List.of(new Problem(origin, 0, "version", reason)));
      LOG.warn("registry from {} rejected: {}", origin, reason);
      return Outcome.STALE;
    }
    Registry previous = current;
    current = candidate;
    source = origin;
    appliedAt = Instant.now();
    lastError = null;
    versionGauge.set(candidate.version());
    applied.increment();
    vertx.eventBus().publish(Addresses.REGISTRY_CHANGED, candidate, new DeliveryOptions().setLocalOnly(true));
    LOG.info("registry version {} applied from {} ({} http, {} tcp services; was version {})", candidate.version(), origin,
        candidate.http().size(), candidate.tcp().size(), previous.version());
    candidate.http().values().stream().filter(s -> s.upstreamTls().insecureSkipVerify()).forEach(s -> LOG.warn(
        "service {}: the certificates of its https backends are NOT verified (upstream_tls.insecure_skip_verify: true)", s.name()));
    vertx.executeBlocking(() -> {
      RegistryFiles.writeAtomically(lastKnownGood, candidate.text());
      return null;
    }).onFailure(e -> LOG.warn("last-known-good registry {} not written: {}", lastKnownGood, e.getMessage()));
    return Outcome.APPLIED;
  }

  private String staleReason(Registry candidate) {
    return candidate.version() < current.version()
        ? "version " + candidate.version() + " is lower than the applied version " + current.version()
        : "version " + candidate.version() + " is already applied with different content; raise the version";
  }

  private void recordError(String origin, List<Problem> problems) {
    lastError = new JsonObject().put("origin", origin).put("at", Instant.now().toString()).put("problems", ErrorResponses.problems(problems));
  }

  private JsonObject status() {
    JsonObject status = new JsonObject()
        .put("version", current.version())
        .put("sha256", current.sha256())
        .put("source", source)
        .put("file", file.toString())
        .put("http_services", current.http().size())
        .put("tcp_services", current.tcp().size());
    if (appliedAt != null) {
      status.put("applied_at", appliedAt.toString());
    }
    if (current.version() == 0) {
      status.put("reason", "no registry loaded");
    }
    if (lastError != null) {
      status.put("last_error", lastError);
    }
    return status;
  }

  private static String join(List<Problem> problems) {
    return String.join("\n  ", problems.stream().map(Problem::toString).toList());
  }
}
