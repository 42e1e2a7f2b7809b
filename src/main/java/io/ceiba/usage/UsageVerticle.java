package io.ceiba.usage;

import io.ceiba.bus.Addresses;
import io.ceiba.config.UsageConfig;
import io.ceiba.node.NodeContext;
import io.ceiba.usage.journal.Batch;
import io.ceiba.usage.journal.UsageJournal;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code usage} role: takes usage events from {@link Addresses#USAGE_RECORD} (a clustered consumer, so edges of
 * nodes without the role reach it too), holds them in a bounded buffer and writes them to Postgres in batches,
 * exactly once per request id. Recording never answers, blocks or fails the sender.
 *
 * <p>Writes: a batch of {@code batch_size} events is inserted as soon as the buffer holds one, and whatever the
 * buffer holds every {@code flush_interval}, with up to {@link #MAX_WRITES_IN_FLIGHT} inserts in flight. The journal
 * ({@code <data_dir>/usage-journal}) takes what Postgres cannot take now: the batch of a write that failed or took
 * longer than {@link #WRITE_TIMEOUT_MS}; the whole buffer when it reaches {@code buffer_size} (the writes in flight are
 * too slow); and, while writes keep failing, everything, every {@code flush_interval}. The journal is replayed oldest
 * first ({@link #REPLAY_RECORDS} per step: read, insert, commit), with backoff while Postgres fails; once a write
 * works again, new events go straight to Postgres again while the backlog drains beside them (a single route through
 * the journal would have to drain faster than events arrive, through two fsyncs per step, to ever get back). Inserts
 * ignore known request ids, which makes the at-least-once journal (and a write that timed out but committed anyway)
 * exactly-once in the table. Event order is not significant: rows are keyed by request id and every aggregate is by
 * event time.
 *
 * <p>Threading: a standard (event-loop) verticle owning all its state; the journal is blocking, so every journal call
 * runs through {@code executeBlocking(..., ordered = true)} on this verticle's context, which runs them one at a time
 * in submission order: the journal has a single writer and never sees two threads at once, while the event loop keeps
 * taking events into the buffer during an fsync. One instance per node (the node config refuses any other
 * {@code instances.usage}): the journal directory must have exactly one owner.
 *
 * <p>Stop (after the edge, see {@code NodeSupervisor}): stop taking events, let the running write finish, write the
 * buffer to Postgres or, if that fails, to the journal, then close the journal; the stop future completes after that.
 * A restarted node replays what the journal holds.
 */
public final class UsageVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(UsageVerticle.class);

  /** A write that has not finished by then counts as failed; its events go to the journal (a late commit is harmless). */
  static final long WRITE_TIMEOUT_MS = 5000;
  /** Upper bound of the backoff between replay attempts while Postgres fails; the first wait is {@code flush_interval}. */
  static final long MAX_BACKOFF_MS = 5000;
  static final long ROLLUP_INTERVAL_MS = 60_000;
  /**
   * Direct batch inserts in flight at once (at most half of {@code postgres.max_connections}): one at a time caps the
   * rate at batch_size per insert round trip, below the edge's peak on a small machine.
   */
  static final int MAX_WRITES_IN_FLIGHT = 4;
  /** Records read and inserted per replay step (at least batch_size): a backlog must drain faster than events arrive. */
  static final int REPLAY_RECORDS = 5000;
  static final long JOURNAL_SEGMENT_BYTES = 16L * 1024 * 1024;
  static final String JOURNAL_DIR = "usage-journal";

  private final NodeContext node;
  private final UsageConfig config;
  private UsageStore store;
  /** Touched only inside ordered {@code executeBlocking} tasks of this context (see {@link #onJournal}). */
  private UsageJournal journal;

  private final ArrayDeque<UsageRecord> buffer = new ArrayDeque<>();
  /** Spool batches waiting for a write slot; each is answered once stored (see {@link #store}). */
  private final ArrayDeque<Message<Object>> toStore = new ArrayDeque<>();
  /** Mirrors for the meters, which are read from the scrape thread. */
  private volatile int bufferDepth;
  private volatile long journalPending;
  private volatile long journalBytes;
  private LossLog lossLog;
  private long corruptSeen;
  private final int maxWritesInFlight;
  private final int replayRecords;
  private int writesInFlight;
  private final Set<Future<Void>> directWrites = new HashSet<>();
  private boolean journalStepRunning;
  private Future<Void> journalStep = Future.succeededFuture();
  private boolean stopping;
  private boolean writesFailing;
  private String lastError;
  private int failures;
  private long retryAtMs;
  private Future<JsonObject> rollup;

  private MessageConsumer<Object> consumer;
  private MessageConsumer<Object> rollupConsumer;
  private MessageConsumer<JsonObject> quotaConsumer;
  private long flushTimer = -1;
  private long rollupTimer = -1;

  private Counter written;
  private Counter duplicates;
  private Counter journaled;
  private Counter deadLetters;
  private Counter corrupt;
  private Counter dropped;
  private Timer flushTime;

  public UsageVerticle(NodeContext node) {
    this.node = node;
    this.config = node.config().usage();
    // leave half the shared pool to the other users of the node (control API, auth)
    this.maxWritesInFlight = Math.max(1, Math.min(MAX_WRITES_IN_FLIGHT, node.config().postgres().maxConnections() / 2));
    this.replayRecords = Math.max(config.batchSize(), REPLAY_RECORDS);
  }

  @Override
  public Future<?> start() {
    store = new UsageStore(node.postgres().pool());
    registerMeters(node.meters());
    Path dir = node.config().dataDir().resolve(JOURNAL_DIR);
    lossLog = new LossLog(LOG, "usage journal " + dir);
    return vertx.executeBlocking(() -> UsageJournal.open(dir, JOURNAL_SEGMENT_BYTES, config.journalFsync(), config.journalMaxBytes()), true)
        .compose(opened -> {
          journal = opened;
          journalPending = opened.pendingRecords();
          journalBytes = opened.diskBytes();
          countCorrupt(opened.corruptSkips());
          if (journalPending > 0) {
            LOG.info("usage journal {} holds {} events from before the restart; replaying", dir, journalPending);
          }
          consumer = vertx.eventBus().consumer(Addresses.USAGE_RECORD, this::receive);
          rollupConsumer = vertx.eventBus().localConsumer(Addresses.USAGE_ROLLUP, msg -> runRollup()
              .onSuccess(msg::reply)
              .onFailure(e -> msg.fail(500, e.getMessage())));
          quotaConsumer = vertx.eventBus().consumer(Addresses.USAGE_QUOTA_USED, this::answerQuotaUsed);
          flushTimer = vertx.setPeriodic(config.flushInterval().toMillis(), id -> kick(true));
          rollupTimer = vertx.setPeriodic(ROLLUP_INTERVAL_MS, id -> runRollup()
              .onFailure(e -> LOG.warn("usage rollup failed, retrying in {} s: {}", ROLLUP_INTERVAL_MS / 1000, e.getMessage())));
          // tryComplete: the check may already have timed out (a busy loop) when this runs
          node.readiness().register("usage", promise -> context.runOnContext(v -> promise.tryComplete(Status.OK(readiness()))));
          kick(true);
          return consumer.completion().compose(v -> rollupConsumer.completion()).compose(v -> quotaConsumer.completion());
        });
  }

  /**
   * {@code {project, plan, from}} in, {@code {used}} out: a quota counter Redis lost is rebuilt from this; with
   * {@code credits: true}, {@code {topped_up, spent}} out: a credit balance Redis lost is rebuilt from that.
   */
  private void answerQuotaUsed(Message<JsonObject> msg) {
    JsonObject body = msg.body();
    Instant from;
    try {
      from = Instant.parse(body.getString("from"));
    } catch (RuntimeException e) {
      msg.fail(400, "from: an ISO-8601 instant is required");
      return;
    }
    String project = body.getString("project");
    String plan = body.getString("plan");
    if (project == null || plan == null) {
      msg.fail(400, "project and plan are required");
      return;
    }
    if (body.getBoolean("credits", false)) {
      store.credits(project, plan, from)
          .onSuccess(msg::reply)
          .onFailure(e -> msg.fail(503, "usage store: " + e.getMessage()));
      return;
    }
    store.quotaUsed(project, plan, from)
        .onSuccess(used -> msg.reply(new JsonObject().put("used", used)))
        .onFailure(e -> msg.fail(503, "usage store: " + e.getMessage()));
  }

  private void registerMeters(MeterRegistry meters) {
    Gauge.builder(UsageMetrics.BUFFER_DEPTH, this, v -> v.bufferDepth).strongReference(true)
        .description("usage events held in memory").register(meters);
    Gauge.builder(UsageMetrics.JOURNAL_PENDING, this, v -> v.journalPending).strongReference(true)
        .description("usage events in the on-disk journal waiting for Postgres").register(meters);
    Gauge.builder(UsageMetrics.JOURNAL_BYTES, this, v -> v.journalBytes).strongReference(true).tag(UsageMetrics.JOURNAL_TAG, "usage")
        .description("bytes on disk of a usage journal").register(meters);
    Gauge.builder(UsageMetrics.JOURNAL_MAX_BYTES, config, UsageConfig::journalMaxBytes).strongReference(true)
        .tag(UsageMetrics.JOURNAL_TAG, "usage").description("usage.journal_max_bytes: the bound of a usage journal").register(meters);
    written = Counter.builder(UsageMetrics.EVENTS_WRITTEN).description("usage events inserted into Postgres").register(meters);
    duplicates = Counter.builder(UsageMetrics.EVENTS_DUPLICATE).description("usage events whose request id was already stored").register(meters);
    journaled = Counter.builder(UsageMetrics.EVENTS_JOURNALED).description("usage events appended to the journal").register(meters);
    deadLetters = Counter.builder(UsageMetrics.DEAD_LETTERS).description("usage events stored as dead letters").register(meters);
    corrupt = Counter.builder(UsageMetrics.JOURNAL_CORRUPT).description("corrupt journal regions skipped").register(meters);
    dropped = Counter.builder(UsageMetrics.EVENTS_DROPPED).description("usage events lost: neither Postgres nor the journal took them")
        .register(meters);
    flushTime = Timer.builder(UsageMetrics.FLUSH).description("time to write one batch to Postgres").register(meters);
  }

  // --- intake ------------------------------------------------------------------------------------

  private void receive(Message<Object> message) {
    if (UsageSpool.ACK_STORED.equals(message.headers().get(UsageSpool.ACK_HEADER))) {
      toStore.addLast(message);
      kick(false);
      return;
    }
    for (UsageRecord record : UsageRecord.allFromBus(message.body(), node.nodeId())) {
      buffer.addLast(record);
    }
    if (message.replyAddress() != null) {
      // the edge only sends; a caller that asks anyway is answered at once, never kept waiting on Postgres
      message.reply(null);
    }
    if (buffer.size() >= config.bufferSize()) {
      // the writes in flight are too slow: memory is bounded, the disk is not
      spill();
    } else if (buffer.size() >= config.batchSize()) {
      kick(false);
    }
    bufferDepth = buffer.size();
  }

  private List<UsageRecord> take(int max) {
    List<UsageRecord> head = new ArrayList<>(Math.min(max, buffer.size()));
    while (head.size() < max && !buffer.isEmpty()) {
      head.add(buffer.pollFirst());
    }
    bufferDepth = buffer.size();
    return head;
  }

  private void spill() {
    appendToJournal(take(Integer.MAX_VALUE)).onComplete(ar -> kick(false));
  }

  // --- writing -------------------------------------------------------------------------------------

  /**
   * Starts what can start now. While writes work: up to {@link #maxWritesInFlight} direct inserts of {@code batch_size}
   * events (full batches only, unless {@code tick}, the flush interval, says to write whatever is there), and beside
   * them one {@link #journalStep} at a time while the journal holds a backlog. While writes fail: journal steps only.
   */
  private void kick(boolean tick) {
    if (stopping) {
      return;
    }
    // spool batches first: their senders keep them until answered
    while (!toStore.isEmpty() && (writesFailing || writesInFlight < maxWritesInFlight)) {
      store(toStore.pollFirst());
    }
    if ((writesFailing || journalPending > 0) && !journalStepRunning) {
      journalStepRunning = true;
      journalStep = journalStep().transform(ar -> {
        journalStepRunning = false;
        if (ar.failed()) {
          LOG.error("usage journal step failed", ar.cause());
        } else if (ar.result() && !stopping) {
          // let queued events in before the next step
          context.runOnContext(v -> kick(false));
        }
        return Future.succeededFuture();
      });
    }
    while (!writesFailing && writesInFlight < maxWritesInFlight && !buffer.isEmpty() && (tick || buffer.size() >= config.batchSize())) {
      directWrite(take(config.batchSize()));
    }
  }

  /** One batch straight to Postgres; on failure (or timeout) the batch goes to the journal instead. */
  private void directWrite(List<UsageRecord> batch) {
    writesInFlight++;
    Future<Void> done = write(batch).recover(e -> {
      writeFailed(e);
      return appendToJournal(batch);
    }).andThen(ar -> {
      writesInFlight--;
      kick(false);
    });
    directWrites.add(done);
    done.onComplete(ar -> directWrites.remove(done));
  }

  /**
   * A batch from a node's {@link UsageSpool}, already grouped there: written as it is, straight to Postgres (or to
   * the journal when Postgres fails), and answered only then, so the spool keeps the events until they are stored.
   * If even the journal fails, the answer is a failure and the spool sends them again later.
   */
  private void store(Message<Object> message) {
    List<UsageRecord> records = UsageRecord.allFromBus(message.body(), node.nodeId());
    writesInFlight++;
    Future<Void> stored = writesFailing ? journalAppend(records) : write(records).recover(e -> {
      writeFailed(e);
      return journalAppend(records);
    });
    Future<Void> answered = stored.transform(ar -> {
      writesInFlight--;
      if (ar.succeeded()) {
        message.reply(null);
      } else {
        message.fail(503, "usage: neither Postgres nor the journal took the events: " + ar.cause().getMessage());
      }
      kick(false);
      return Future.<Void>succeededFuture();
    });
    directWrites.add(answered);
    answered.onComplete(ar -> directWrites.remove(answered));
  }

  /**
   * While writes fail, appends the buffer to the journal; then, unless backing off, replays the journal's oldest
   * records. True when more is due now.
   */
  private Future<Boolean> journalStep() {
    Future<Void> appended = writesFailing && !buffer.isEmpty() ? appendToJournal(take(Integer.MAX_VALUE)) : Future.succeededFuture();
    return appended.compose(v -> System.currentTimeMillis() >= retryAtMs ? replayOne() : Future.succeededFuture(false));
  }

  /** Writes the journal's oldest batch and commits it; on failure the batch stays for the next attempt. */
  private Future<Boolean> replayOne() {
    return onJournal(j -> j.readBatch(replayRecords)).compose(batch -> {
      if (batch.isEmpty()) {
        writesResumed();
        return Future.succeededFuture(false);
      }
      List<UsageRecord> records = new ArrayList<>(batch.payloads().size());
      for (byte[] payload : batch.payloads()) {
        records.add(UsageRecord.fromJournal(payload, node.nodeId()));
      }
      return write(records)
          .compose(v -> commit(batch))
          .map(v -> {
            writesResumed();
            return journalPending > 0;
          })
          .recover(e -> {
            writeFailed(e);
            return Future.succeededFuture(false);
          });
    });
  }

  private Future<Void> commit(Batch batch) {
    return onJournal(j -> {
      j.commit(batch.end());
      return null;
    });
  }

  private Future<Void> write(List<UsageRecord> records) {
    List<UsageEvent> events = new ArrayList<>(records.size());
    List<DeadLetter> dead = new ArrayList<>();
    for (UsageRecord r : records) {
      if (r instanceof UsageEvent e) {
        events.add(e);
      } else {
        dead.add((DeadLetter) r);
      }
    }
    long start = System.nanoTime();
    return store.write(events, dead, node.nodeId())
        .timeout(WRITE_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .andThen(ar -> flushTime.record(System.nanoTime() - start, TimeUnit.NANOSECONDS))
        .map(result -> {
          written.increment(result.inserted());
          duplicates.increment(result.duplicates());
          if (result.deadLettered() > 0) {
            deadLetters.increment(result.deadLettered());
            LOG.warn("usage: {} events stored as dead letters (see usage_dead_letters)", result.deadLettered());
          }
          return null;
        });
  }

  private void writeFailed(Throwable e) {
    failures++;
    long backoff = Math.min(MAX_BACKOFF_MS, config.flushInterval().toMillis() << Math.min(failures - 1, 20));
    retryAtMs = System.currentTimeMillis() + backoff;
    lastError = String.valueOf(e.getMessage());
    if (!writesFailing) {
      LOG.warn("usage: writing to Postgres failed, events go to the journal and are retried with backoff: {}", lastError);
    }
    writesFailing = true;
  }

  private void writesResumed() {
    if (writesFailing) {
      LOG.info("usage: writes to Postgres resumed after {} failed attempts", failures);
    }
    writesFailing = false;
    failures = 0;
    retryAtMs = 0;
    lastError = null;
  }

  // --- journal -----------------------------------------------------------------------------------

  private record JournalResult<T>(T value, long pending, long diskBytes, long corruptSkips) {
  }

  /** Runs {@code op} on the journal off the event loop, one at a time in submission order, and mirrors its counts. */
  private <T> Future<T> onJournal(Function<UsageJournal, T> op) {
    return vertx.executeBlocking(() -> {
      T value = op.apply(journal);
      return new JournalResult<>(value, journal.pendingRecords(), journal.diskBytes(), journal.corruptSkips());
    }, true).map(r -> {
      journalPending = r.pending();
      journalBytes = r.diskBytes();
      countCorrupt(r.corruptSkips());
      return r.value();
    });
  }

  private void countCorrupt(long skipsSinceOpen) {
    if (skipsSinceOpen > corruptSeen) {
      corrupt.increment(skipsSinceOpen - corruptSeen);
      corruptSeen = skipsSinceOpen;
    }
  }

  /**
   * Appends to the journal. If even that fails (full at usage.journal_max_bytes, disk full, I/O error) with Postgres
   * unusable, the events are lost: counted and logged (once a minute), since holding them in memory would break the
   * buffer bound. Spool batches never come here: a refused one is answered with a failure and stays in its spool.
   */
  private Future<Void> appendToJournal(List<UsageRecord> records) {
    return journalAppend(records).recover(e -> {
      dropped.increment(records.size());
      lossLog.dropped(records.size(), "Postgres did not take them and the journal failed: " + e.getMessage(), System.nanoTime());
      return Future.succeededFuture();
    });
  }

  /** Appends to the journal; fails when the journal does. */
  private Future<Void> journalAppend(List<UsageRecord> records) {
    if (records.isEmpty()) {
      return Future.succeededFuture();
    }
    List<byte[]> payloads = new ArrayList<>(records.size());
    for (UsageRecord r : records) {
      payloads.add(r.journalText().getBytes(StandardCharsets.UTF_8));
    }
    return this.<Void>onJournal(j -> {
      j.append(payloads);
      return null;
    }).onSuccess(v -> journaled.increment(records.size()));
  }

  // --- rollups, readiness, stop -------------------------------------------------------------------

  /** The rollup and retention job; a call while it runs joins that run. */
  private Future<JsonObject> runRollup() {
    if (rollup == null) {
      rollup = store.rollup(config.retention())
          .onSuccess(r -> {
            if (r.getLong("rolled_up") > 0 || r.getLong("pruned") > 0) {
              LOG.debug("usage rollup: {}", r.encode());
            }
          })
          .andThen(ar -> rollup = null);
    }
    return rollup;
  }

  private JsonObject readiness() {
    JsonObject data = new JsonObject()
        .put("degraded", writesFailing || journalPending > 0)
        .put("postgres_writes", writesFailing ? "failing" : "ok")
        .put("buffer_depth", buffer.size())
        .put("journal_pending", journalPending)
        .put("journal_bytes", journalBytes)
        .put("journal_max_bytes", config.journalMaxBytes());
    if (lastError != null) {
      data.put("reason", lastError);
    }
    return data;
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(flushTimer);
    vertx.cancelTimer(rollupTimer);
    node.readiness().unregister("usage");
    return consumer.unregister()
        .eventually(() -> rollupConsumer.unregister())
        .eventually(() -> quotaConsumer.unregister())
        .eventually(() -> Future.join(new ArrayList<>(directWrites)).transform(ar -> journalStep))
        .transform(ar -> drainStored())
        .transform(ar -> drain())
        .eventually(() -> onJournal(j -> {
          j.close();
          return null;
        }))
        .onComplete(ar -> LOG.info("usage stopped: {} events wait in the journal", journalPending));
  }

  /** Spool batches that came in while stopping: to the journal (quick, no Postgres), then answered. */
  private Future<Void> drainStored() {
    List<Message<Object>> messages = new ArrayList<>(toStore);
    toStore.clear();
    List<UsageRecord> records = new ArrayList<>();
    messages.forEach(m -> records.addAll(UsageRecord.allFromBus(m.body(), node.nodeId())));
    return journalAppend(records).andThen(ar -> messages.forEach(m -> {
      if (ar.succeeded()) {
        m.reply(null);
      } else {
        m.fail(503, "usage: stopping, and the journal failed: " + ar.cause().getMessage());
      }
    })).otherwiseEmpty();
  }

  /** The last write: the buffer to Postgres, or to the journal when Postgres fails or a backlog is there already. */
  private Future<Void> drain() {
    List<UsageRecord> rest = take(Integer.MAX_VALUE);
    if (rest.isEmpty()) {
      return Future.succeededFuture();
    }
    if (writesFailing) {
      return appendToJournal(rest);
    }
    return write(rest).recover(e -> {
      writeFailed(e);
      return appendToJournal(rest);
    });
  }
}
