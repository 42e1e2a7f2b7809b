package io.ceiba.usage;

import io.ceiba.bus.Addresses;
import io.ceiba.config.NodeConfig;
import io.ceiba.config.Role;
import io.ceiba.config.UsageConfig;
import io.ceiba.usage.journal.Batch;
import io.ceiba.usage.journal.JournalFullException;
import io.ceiba.usage.journal.Position;
import io.ceiba.usage.journal.UsageJournal;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's write-ahead spool of usage events: what makes a usage event survive a crash of the node that served the
 * request, from the moment the edge records it until a usage role has stored it.
 *
 * <p>{@link #record} (any thread, never blocks: a queue offer and an atomic add) hands an event over. One writer thread
 * of its own (not an event loop) takes what arrived every {@code usage.spool_interval} (2 ms) and appends it to a
 * {@link UsageJournal} under {@code <data_dir>/usage-spool} with one {@code write} per group: from then on the event is
 * in the page cache and survives {@code kill -9} of the JVM ({@code usage.spool_fsync: every-batch} adds an
 * {@code fsync} per group for power loss). Then the events go on to a usage verticle on {@link Addresses#USAGE_RECORD}
 * (this node's, by reference, when it has the role; else any node's, as JSON) with the header
 * {@link #ACK_HEADER}{@code : stored}: the verticle answers once they are in Postgres or in its own journal. The spool
 * commits the journal position of the answered prefix (every {@link #COMMIT_INTERVAL_MS}); an unanswered batch is
 * sent again (inserts are idempotent by request id). At start, every record after the committed position is sent
 * again: the events of a crash that had not been acknowledged. What a crash can lose is what was still in memory, the
 * last group-commit window: counted through {@link SpoolCounters} and reported at the next start.
 *
 * <p>Memory is bounded by {@code usage.buffer_size}: beyond that (no usage role answers, or it is slower than the
 * edges) new events stay on disk only and are read back from the journal, a batch at a time, once the batches in
 * flight are answered; the same path replays what a restart found.
 *
 * <p>The disk is bounded by {@code usage.journal_max_bytes}. When the journal is full (or its disk fails), requests go
 * on being served: new events are kept in memory and sent on without crash safety while the memory bound allows, and
 * beyond that dropped, counted ({@code ceiba_usage_spool_dropped_total}) and logged at ERROR once a minute. Why not
 * refuse keyed requests instead: see docs/usage.md.
 *
 * <p>Threading: {@link #record} and {@link #flush} from any thread; the journal, the batches in flight and the commit
 * belong to the writer thread alone; event-bus sends and their answers run on one Vert.x context and reach the writer
 * through a queue.
 */
public final class UsageSpool implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(UsageSpool.class);

  public static final String DIR = "usage-spool";
  /** Header of a spool batch: the usage verticle answers once the events are stored, not on receipt. */
  public static final String ACK_HEADER = "ceiba-usage-ack";
  public static final String ACK_STORED = "stored";
  static final long SEGMENT_BYTES = 16L * 1024 * 1024;
  /** Acknowledged positions are written to the journal's checkpoint this often: a crash replays at most this much more. */
  static final long COMMIT_INTERVAL_MS = 200;
  /** A batch not answered by then is sent again (a late answer is harmless: stored ids are skipped). */
  static final long ACK_TIMEOUT_MS = 30_000;
  /** Retries back off up to this: at a start the node's own usage verticle deploys after the spool opens. */
  static final long MAX_RETRY_MS = 1_000;
  /** Batches in flight at once: a usage verticle writes four at a time. */
  static final int MAX_FLIGHTS = 8;
  /** Events per batch to another node's usage verticle: a cluster message stays small. */
  static final int REMOTE_BATCH = 500;
  /** How long the writer sleeps when nothing happens; an event or an answer wakes it at once. */
  private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  /**
   * @param groupCommitNanos  the writer's period while events arrive: the longest an event waits in memory
   * @param flushIntervalNanos a batch smaller than {@code batchSize} is sent after this long
   * @param memoryLimit       events held in memory (waiting or in flight) at most
   * @param localUsage        this node runs the usage role: batches stay on the node
   */
  record Settings(long groupCommitNanos, long flushIntervalNanos, int batchSize, int memoryLimit, boolean localUsage) {

    static Settings of(UsageConfig usage, boolean localUsage) {
      int batch = localUsage ? usage.batchSize() : Math.min(usage.batchSize(), REMOTE_BATCH);
      return new Settings(usage.spoolInterval().toNanos(), usage.flushInterval().toNanos(), batch,
          Math.max(usage.bufferSize(), (MAX_FLIGHTS + 1) * batch), localUsage);
    }
  }

  private final Vertx vertx;
  /** Where batches are sent and their answers arrive. */
  private final Context context;
  private final Settings settings;
  private final DeliveryOptions delivery;
  private final Path dir;
  private final SpoolCounters counters;
  private final Thread writer;

  // --- shared between threads
  private final ConcurrentLinkedQueue<UsageEvent> incoming = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Runnable> flushWaiters = new ConcurrentLinkedQueue<>();
  private volatile boolean sleeping;
  private volatile boolean closed;
  /** Mirror of the journal's pending records for the gauge, which the scrape thread reads. */
  private volatile long pending;

  // --- the writer thread's
  private final UsageJournal journal;
  private long appendedTotal;
  private final ArrayDeque<Group> unsent = new ArrayDeque<>();
  private int unsentEvents;
  private long unsentSinceNanos;
  private final ArrayDeque<Flight> flights = new ArrayDeque<>();
  private int eventsInFlight;
  /** New events go to disk only; batches are read back from the journal once the flights are answered. */
  private boolean backlog;
  private Position acknowledged;
  private Position committed;
  private long lastCommitNanos;
  private boolean failing;
  /** The last append was refused for want of room (logged once per episode). */
  private boolean full;
  /** The last append failed for another reason than the bound (a full or failing disk); read by /ready's disk check. */
  private volatile boolean diskFailing;
  /** Events carried in memory since the disk started failing: said once when it takes writes again. */
  private long unjournaledSinceFailing;
  /** The journal's size on disk when it was found full. */
  private long fullAtBytes;

  private final Counter replayed;
  private final Counter lost;
  private final Counter unjournaled;
  private final Counter acknowledgedEvents;
  private final Counter corrupt;
  private final Counter dropped;
  private final LossLog lossLog;
  private long corruptSeen;
  /** Mirror of the journal's bytes on disk for the gauge. */
  private volatile long diskBytes;

  /** One append: its events and the journal position after them (null when the journal refused them). */
  private record Group(List<UsageEvent> events, Position end) {
  }

  /** A batch sent to a usage verticle and not yet acknowledged; in journal order. */
  private static final class Flight {
    final Object body;
    final int size;
    /** Journal position after its last event; null when none of them is in the journal. */
    final Position end;
    boolean sending;
    boolean acked;
    int failures;
    long retryAtNanos;

    Flight(Object body, int size, Position end) {
      this.body = body;
      this.size = size;
      this.end = end;
    }
  }

  private record Answer(Flight flight, Throwable failure) {
  }

  private UsageSpool(Vertx vertx, Context context, Settings settings, Path dir, UsageJournal journal, SpoolCounters counters,
      MeterRegistry meters) {
    this.vertx = vertx;
    this.context = context;
    this.settings = settings;
    this.delivery = new DeliveryOptions().setLocalOnly(settings.localUsage()).setSendTimeout(ACK_TIMEOUT_MS)
        .addHeader(ACK_HEADER, ACK_STORED);
    this.dir = dir;
    this.journal = journal;
    this.counters = counters;
    Gauge.builder(UsageMetrics.SPOOL_PENDING, this, s -> s.pending).strongReference(true)
        .description("usage events in the spool not yet acknowledged by a usage role").register(meters);
    replayed = Counter.builder(UsageMetrics.SPOOL_REPLAYED)
        .description("usage events found unacknowledged in the spool at start and sent again").register(meters);
    lost = Counter.builder(UsageMetrics.SPOOL_LOST)
        .description("usage events lost in a crash before the spool wrote them (the last group-commit window)").register(meters);
    unjournaled = Counter.builder(UsageMetrics.SPOOL_UNJOURNALED)
        .description("usage events the spool could not write to disk (sent on without crash safety)").register(meters);
    acknowledgedEvents = Counter.builder(UsageMetrics.SPOOL_ACKNOWLEDGED)
        .description("usage events a usage role acknowledged as stored").register(meters);
    corrupt = Counter.builder(UsageMetrics.SPOOL_CORRUPT)
        .description("corrupt spool regions skipped (a torn write at a crash)").register(meters);
    dropped = Counter.builder(UsageMetrics.SPOOL_DROPPED)
        .description("usage events dropped: the spool's disk (full or failing) and its memory bound could not take them")
        .register(meters);
    Gauge.builder(UsageMetrics.JOURNAL_BYTES, this, s -> s.diskBytes).strongReference(true).tag(UsageMetrics.JOURNAL_TAG, "spool")
        .description("bytes on disk of a usage journal").register(meters);
    Gauge.builder(UsageMetrics.JOURNAL_MAX_BYTES, journal, UsageJournal::maxBytes).strongReference(true)
        .tag(UsageMetrics.JOURNAL_TAG, "spool").description("usage.journal_max_bytes: the bound of a usage journal").register(meters);
    lossLog = new LossLog(LOG, "usage spool " + dir);
    diskBytes = journal.diskBytes();
    this.writer = new Thread(this::run, "ceiba-usage-spool");
    this.writer.setDaemon(true);
  }

  /**
   * The node's spool, or null when its edge records no usage (no edge role, or neither the usage role nor a cluster
   * to find one in). Opening reads the spool directory (blocking, so off the event loop) and reports what a crash
   * left: events to replay, events lost.
   */
  public static Future<UsageSpool> start(Vertx vertx, NodeConfig config, MeterRegistry meters) {
    boolean local = config.has(Role.USAGE);
    if (!config.has(Role.EDGE) || !(local || config.cluster().enabled())) {
      return Future.succeededFuture(null);
    }
    Context context = vertx.getOrCreateContext();
    Path dir = config.dataDir().resolve(DIR);
    Settings settings = Settings.of(config.usage(), local);
    return vertx.executeBlocking(() -> open(vertx, context, dir, settings, config.usage(), meters));
  }

  static UsageSpool open(Vertx vertx, Context context, Path dir, Settings settings, UsageConfig usage, MeterRegistry meters) {
    UsageJournal journal = UsageJournal.open(dir, SEGMENT_BYTES, usage.spoolFsync(), usage.journalMaxBytes());
    SpoolCounters counters;
    try {
      counters = SpoolCounters.open(dir);
    } catch (RuntimeException e) {
      journal.close();
      throw e;
    }
    UsageSpool spool = new UsageSpool(vertx, context, settings, dir, journal, counters, meters);
    spool.recover();
    spool.writer.start();
    return spool;
  }

  /** What the previous run left: unacknowledged records to send again, and events it lost. */
  private void recover() {
    long left = journal.pendingRecords();
    pending = left;
    countCorrupt();
    if (left > 0) {
      backlog = true;
      replayed.increment(left);
      LOG.info("usage spool {}: {} events were not acknowledged by a usage role before the restart; sending them again"
          + " (events already stored are skipped by request id)", dir, left);
    }
    if (counters.lostBefore() > 0) {
      lost.increment(counters.lostBefore());
      LOG.warn("usage spool {}: {} usage events were lost in a crash before the restart: recorded by the edge in the last"
          + " group-commit window but not yet written (ceiba_usage_spool_lost_total)", dir, counters.lostBefore());
    }
  }

  // --- any thread ------------------------------------------------------------------------------------

  /** Hands an event over; never blocks, never fails. */
  public void record(UsageEvent event) {
    counters.recorded();
    incoming.offer(event);
    if (sleeping) {
      sleeping = false;
      LockSupport.unpark(writer);
    }
  }

  /**
   * Sends everything recorded so far at once and completes on the caller's context once a usage role acknowledged
   * all of it; a stopping edge waits for this (with a deadline: what is not acknowledged stays in the spool).
   */
  public Future<Void> flush() {
    Promise<Void> done = Promise.promise();
    Context caller = vertx.getOrCreateContext();
    flushWaiters.add(() -> caller.runOnContext(v -> done.tryComplete()));
    LockSupport.unpark(writer);
    return done.future();
  }

  /** Events written to the spool and not yet acknowledged. */
  public long pending() {
    return pending;
  }

  /**
   * Stops the writer after a last round (what is still in memory goes to the journal) and closes the journal:
   * unacknowledged events wait there for the next start. Blocking.
   */
  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(writer);
    try {
      writer.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    journal.close();
    counters.close();
    LOG.info("usage spool stopped: {} events wait in {} for a usage role", pending, dir);
  }

  // --- the writer thread -------------------------------------------------------------------------------

  private void run() {
    while (true) {
      boolean last = closed;
      boolean busy;
      try {
        busy = step(last);
      } catch (RuntimeException | Error e) {
        LOG.error("usage spool step failed", e);
        busy = false;
      }
      if (last) {
        return;
      }
      if (busy) {
        LockSupport.parkNanos(settings.groupCommitNanos());
      } else {
        sleeping = true;
        if (incoming.isEmpty() && answers.isEmpty() && !closed) {
          LockSupport.parkNanos(IDLE_PARK_NANOS);
        }
        sleeping = false;
      }
    }
  }

  /** One round; true when events arrived (the next round comes after a group-commit interval). */
  private boolean step(boolean last) {
    long now = System.nanoTime();
    boolean arrived = false;
    List<UsageEvent> group;
    while (!(group = drain()).isEmpty()) {
      append(group, now);
      arrived = true;
    }
    handleAnswers(now);
    commit(now, last);
    if (!last) {
      send(now);
    }
    if (!flushWaiters.isEmpty() && unsent.isEmpty() && flights.isEmpty() && !backlog && incoming.isEmpty()) {
      Runnable waiter;
      while ((waiter = flushWaiters.poll()) != null) {
        waiter.run();
      }
    }
    pending = journal.pendingRecords();
    diskBytes = journal.diskBytes();
    countCorrupt();
    return arrived;
  }

  private void countCorrupt() {
    long skips = journal.corruptSkips();
    if (skips > corruptSeen) {
      corrupt.increment(skips - corruptSeen);
      corruptSeen = skips;
    }
  }

  private List<UsageEvent> drain() {
    List<UsageEvent> group = new ArrayList<>();
    UsageEvent event;
    while (group.size() < settings.batchSize() && (event = incoming.poll()) != null) {
      group.add(event);
    }
    return group;
  }

  /** True while the spool's disk refuses writes (full or failing), not counting the journal's own bound. */
  public boolean diskWritesFailing() {
    return diskFailing;
  }

  /** Writes a group to the journal (one system call) and keeps it for sending, unless only the disk is to keep it. */
  private void append(List<UsageEvent> group, long now) {
    List<byte[]> payloads = new ArrayList<>(group.size());
    for (UsageEvent event : group) {
      payloads.add(event.journalText().getBytes(StandardCharsets.UTF_8));
    }
    appendedTotal += group.size();
    Position end;
    try {
      end = journal.append(payloads);
      counters.appended(appendedTotal);
      if (diskFailing) {
        diskFailing = false;
        LOG.info("usage spool {} takes writes again; {} events went on in memory without crash safety meanwhile", dir,
            unjournaledSinceFailing);
        unjournaledSinceFailing = 0;
      }
      // room again only once acknowledged segments were deleted (appends alone only grow the journal): near the
      // bound a small group fits where the next one does not, and the full/room lines would alternate
      if (full && journal.diskBytes() < fullAtBytes) {
        full = false;
        LOG.info("usage spool {} has room again ({} of {} bytes)", dir, journal.diskBytes(), journal.maxBytes());
      }
    } catch (RuntimeException e) {
      if (e instanceof JournalFullException && !full) {
        full = true;
        fullAtBytes = journal.diskBytes();
        LOG.warn("usage spool {} is full ({} of {} bytes, usage.journal_max_bytes): no usage role has acknowledged its"
            + " events; new events go on in memory without crash safety up to usage.buffer_size, beyond that they are"
            + " dropped (ceiba_usage_spool_dropped_total)", dir, journal.diskBytes(), journal.maxBytes());
      }
      counters.appended(appendedTotal); // handled: on their way in memory, or dropped and counted below
      if (eventsInFlight + unsentEvents + group.size() > settings.memoryLimit()) {
        // neither the disk nor memory can take them: the request was served, its usage event is lost, loudly
        dropped.increment(group.size());
        lossLog.dropped(group.size(), e.getMessage(), now);
        return;
      }
      // not crash-safe now, but still on its way: a full or failing disk must not lose what memory can carry
      unjournaled.increment(group.size());
      if (!(e instanceof JournalFullException)) {
        unjournaledSinceFailing += group.size();
        if (!diskFailing) {
          // once per failing spell: a full disk fails every group, and a line each would flood the log
          diskFailing = true;
          LOG.warn("usage spool: events cannot be written to {} ({}): they go on in memory without crash safety until"
              + " the disk takes writes again (ceiba_usage_spool_unjournaled_total, /ready's disk check)", dir, e.getMessage());
        }
      }
      end = null;
    }
    if (backlog && end != null) {
      return; // read back from the journal once the batches before it are acknowledged
    }
    if (unsent.isEmpty()) {
      unsentSinceNanos = now;
    }
    unsent.add(new Group(group, end));
    unsentEvents += group.size();
    if (eventsInFlight + unsentEvents > settings.memoryLimit() && unsent.stream().allMatch(g -> g.end() != null)) {
      // the usage role does not keep up (or none answers): memory stays bounded, the disk keeps the rest
      LOG.warn("usage spool: {} events wait for a usage role; further events are kept on disk until it catches up",
          eventsInFlight + unsentEvents);
      unsent.clear();
      unsentEvents = 0;
      backlog = true;
    }
  }

  private void handleAnswers(long now) {
    Answer answer;
    while ((answer = answers.poll()) != null) {
      Flight flight = answer.flight();
      flight.sending = false;
      if (answer.failure() == null) {
        flight.acked = true;
        acknowledgedEvents.increment(flight.size);
        if (failing) {
          failing = false;
          LOG.info("usage spool: a usage role acknowledges events again");
        }
      } else {
        flight.failures++;
        flight.retryAtNanos = now + TimeUnit.MILLISECONDS.toNanos(Math.min(MAX_RETRY_MS, 100L << Math.min(flight.failures, 10)));
        if (!failing) {
          failing = true;
          LOG.warn("usage spool: no usage role acknowledged {} events, sending them again with backoff: {}", flight.size,
              answer.failure().getMessage());
        }
      }
    }
    while (!flights.isEmpty() && flights.peekFirst().acked) {
      Flight done = flights.pollFirst();
      eventsInFlight -= done.size;
      if (done.end != null) {
        acknowledged = done.end;
      }
    }
  }

  /** Checkpoints the acknowledged prefix: at most every {@link #COMMIT_INTERVAL_MS}, at once before a backlog read. */
  private void commit(long now, boolean force) {
    if (acknowledged == null || acknowledged.equals(committed)) {
      return;
    }
    boolean due = force || (backlog && flights.isEmpty()) || now - lastCommitNanos >= TimeUnit.MILLISECONDS.toNanos(COMMIT_INTERVAL_MS);
    if (!due) {
      return;
    }
    try {
      journal.commit(acknowledged);
      committed = acknowledged;
      lastCommitNanos = now;
    } catch (RuntimeException e) {
      LOG.warn("usage spool: cannot checkpoint {} (events acknowledged since the last checkpoint are sent again after a"
          + " restart): {}", dir, e.getMessage());
    }
  }

  private void send(long now) {
    for (Flight flight : flights) {
      if (!flight.sending && !flight.acked && now - flight.retryAtNanos >= 0) {
        dispatch(flight);
      }
    }
    if (backlog) {
      if (flights.isEmpty()) {
        readBack();
      }
      return;
    }
    boolean flushing = !flushWaiters.isEmpty();
    while (!unsent.isEmpty() && flights.size() < MAX_FLIGHTS
        && (flushing || unsentEvents >= settings.batchSize() || now - unsentSinceNanos >= settings.flushIntervalNanos())) {
      List<UsageEvent> events = new ArrayList<>();
      Position end = null;
      while (!unsent.isEmpty() && (events.isEmpty() || events.size() + unsent.peekFirst().events().size() <= settings.batchSize())) {
        Group group = unsent.pollFirst();
        events.addAll(group.events());
        end = group.end() != null ? group.end() : end;
      }
      unsentEvents -= events.size();
      unsentSinceNanos = now;
      Flight flight = new Flight(settings.localUsage() ? new UsageEvent.Batch(events) : toJson(events), events.size(), end);
      flights.addLast(flight);
      eventsInFlight += flight.size;
      dispatch(flight);
    }
  }

  /** The oldest batch on disk, once everything before it is acknowledged and committed; leaves the backlog when done. */
  private void readBack() {
    if (acknowledged != null && !acknowledged.equals(committed)) {
      return; // the checkpoint failed: readBatch would return acknowledged records again
    }
    Batch batch = journal.readBatch(settings.batchSize());
    if (batch.isEmpty()) {
      backlog = false;
      LOG.info("usage spool: every event on disk is acknowledged");
      return;
    }
    JsonArray body = new JsonArray();
    for (byte[] payload : batch.payloads()) {
      String text = new String(payload, StandardCharsets.UTF_8);
      try {
        body.add(new JsonObject(text));
      } catch (DecodeException e) {
        body.add(text); // the usage verticle dead-letters it
      }
    }
    Flight flight = new Flight(body, body.size(), batch.end());
    flights.addLast(flight);
    eventsInFlight += flight.size;
    dispatch(flight);
  }

  private static JsonArray toJson(List<UsageEvent> events) {
    JsonArray array = new JsonArray(new ArrayList<>(events.size()));
    events.forEach(e -> array.add(e.toJson()));
    return array;
  }

  private void dispatch(Flight flight) {
    flight.sending = true;
    context.runOnContext(v -> vertx.eventBus().request(Addresses.USAGE_RECORD, flight.body, delivery).onComplete(ar -> {
      answers.add(new Answer(flight, ar.failed() ? ar.cause() : null));
      LockSupport.unpark(writer);
    }));
  }
}
