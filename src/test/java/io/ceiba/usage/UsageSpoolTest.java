package io.ceiba.usage;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ceiba.bus.Addresses;
import io.ceiba.bus.LocalObjectCodec;
import io.ceiba.config.UsageConfig;
import io.ceiba.testkit.Eventually;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The spool on a real file system and a real event bus, with a consumer standing in for the usage verticle (which
 * needs Postgres; UsageIT and the crash test run the real one). A "crash image" is a copy of the spool directory taken
 * while the spool runs: what the page cache holds, which is what {@code kill -9} leaves behind.
 */
class UsageSpoolTest {

  private static final UsageSpool.Settings SETTINGS = new UsageSpool.Settings(TimeUnit.MILLISECONDS.toNanos(2),
      TimeUnit.MILLISECONDS.toNanos(50), 100, 1000, true);

  @TempDir
  Path dir;

  private final Vertx vertx = Vertx.vertx();
  private final List<UsageSpool> open = new ArrayList<>();
  /** Times each request id was delivered to the stand-in usage role. */
  private final Map<String, AtomicInteger> stored = new ConcurrentHashMap<>();

  UsageSpoolTest() {
    vertx.eventBus().registerDefaultCodec(UsageEvent.Batch.class, new LocalObjectCodec<>(UsageEvent.Batch.class));
  }

  @AfterEach
  void close() throws Exception {
    open.forEach(UsageSpool::close);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private UsageSpool open(Path spoolDir, UsageSpool.Settings settings, MeterRegistry meters) {
    UsageSpool spool = UsageSpool.open(vertx, vertx.getOrCreateContext(), spoolDir, settings, UsageConfig.defaults(), meters);
    open.add(spool);
    return spool;
  }

  private UsageSpool open(Path spoolDir) {
    return open(spoolDir, SETTINGS, new SimpleMeterRegistry());
  }

  /** The usage role: stores (counts) each batch and acknowledges it, as the usage verticle does once in Postgres. */
  private MessageConsumer<Object> usageRole(boolean acknowledge) {
    return vertx.eventBus().consumer(Addresses.USAGE_RECORD, (Message<Object> msg) -> {
      assertThat(msg.headers().get(UsageSpool.ACK_HEADER)).isEqualTo(UsageSpool.ACK_STORED);
      if (acknowledge) {
        for (UsageRecord record : UsageRecord.allFromBus(msg.body(), "test")) {
          stored.computeIfAbsent(((UsageEvent) record).requestId(), id -> new AtomicInteger()).incrementAndGet();
        }
        msg.reply(null);
      }
    });
  }

  private static UsageEvent event(String id) {
    return new UsageEvent(id, Instant.parse("2026-05-01T12:00:00Z"), "p1", "k1", "basic", "api", 200, 3, 10, 20, "node1");
  }

  private static void recordFromTwoThreads(UsageSpool spool, String prefix, int each) throws InterruptedException {
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int thread = t;
      Thread writer = new Thread(() -> {
        for (int i = 0; i < each; i++) {
          spool.record(event(prefix + thread + "-" + i));
        }
      });
      writer.start();
      threads.add(writer);
    }
    for (Thread t : threads) {
      t.join();
    }
  }

  /** What {@code kill -9} would leave: the files as the page cache holds them now. */
  private Path crashImage(Path spoolDir, String name) throws IOException {
    Path image = dir.resolve(name);
    Files.createDirectories(image);
    try (Stream<Path> files = Files.list(spoolDir)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.copy(file, image.resolve(file.getFileName()));
      }
    }
    return image;
  }

  private void await(String what, java.util.function.BooleanSupplier condition) throws Exception {
    Eventually.until(vertx, Duration.ofSeconds(10), what, () -> Future.succeededFuture(condition.getAsBoolean()))
        .await(15, TimeUnit.SECONDS);
  }

  @Test
  void should_have_every_recorded_event_on_disk_within_a_group_commit_window_and_replay_it_after_a_crash() throws Exception {
    MessageConsumer<Object> silent = usageRole(false); // takes batches, never acknowledges
    silent.completion().await(5, TimeUnit.SECONDS);
    UsageSpool spool = open(dir.resolve("spool"));
    recordFromTwoThreads(spool, "a", 1000);
    // the writer groups what arrived every 2 ms: well within this the 2000 events are in the journal
    await("2000 events written", () -> spool.pending() == 2000);

    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    Path image = crashImage(dir.resolve("spool"), "crash");
    silent.unregister().await(5, TimeUnit.SECONDS);
    usageRole(true).completion().await(5, TimeUnit.SECONDS);
    UsageSpool restarted = open(image, SETTINGS, meters);
    await("2000 events replayed and acknowledged", () -> stored.size() == 2000 && restarted.pending() == 0);
    assertThat(meters.counter(UsageMetrics.SPOOL_REPLAYED).count()).isEqualTo(2000);
    assertThat(meters.counter(UsageMetrics.SPOOL_LOST).count()).isZero();
  }

  @Test
  void should_commit_acknowledged_events_so_that_a_crash_replays_none_of_them() throws Exception {
    usageRole(true).completion().await(5, TimeUnit.SECONDS);
    UsageSpool spool = open(dir.resolve("spool"));
    recordFromTwoThreads(spool, "b", 500);
    await("1000 events acknowledged and committed", () -> stored.size() == 1000 && spool.pending() == 0);
    assertThat(stored.values()).allMatch(n -> n.get() == 1);

    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    open(crashImage(dir.resolve("spool"), "crash"), SETTINGS, meters);
    assertThat(meters.counter(UsageMetrics.SPOOL_REPLAYED).count()).isZero();
    assertThat(meters.counter(UsageMetrics.SPOOL_LOST).count()).isZero();
  }

  @Test
  void should_keep_events_until_a_usage_role_answers_and_hold_only_a_bounded_number_in_memory() throws Exception {
    // nobody listens: every send fails (no handlers); memory holds 200 at most, the rest waits on disk
    UsageSpool spool = open(dir.resolve("spool"), new UsageSpool.Settings(TimeUnit.MILLISECONDS.toNanos(2),
        TimeUnit.MILLISECONDS.toNanos(20), 50, 200, true), new SimpleMeterRegistry());
    recordFromTwoThreads(spool, "c", 1500);
    await("3000 events written", () -> spool.pending() == 3000);

    usageRole(true).completion().await(5, TimeUnit.SECONDS);
    await("3000 events acknowledged", () -> stored.size() == 3000 && spool.pending() == 0);
    spool.flush().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_replay_the_intact_records_of_a_torn_tail_and_not_carry_the_tear_into_the_next_start() throws Exception {
    MessageConsumer<Object> silent = usageRole(false);
    silent.completion().await(5, TimeUnit.SECONDS);
    UsageSpool spool = open(dir.resolve("spool"));
    recordFromTwoThreads(spool, "d", 50);
    await("100 events written", () -> spool.pending() == 100);
    Path image = crashImage(dir.resolve("spool"), "crash");
    // the crash came in the middle of a write: the last record is cut short
    Path segment;
    try (Stream<Path> files = Files.list(image)) {
      segment = files.filter(f -> f.getFileName().toString().startsWith("segment-") && f.toFile().length() > 0).findFirst().orElseThrow();
    }
    try (RandomAccessFile file = new RandomAccessFile(segment.toFile(), "rw")) {
      file.setLength(file.length() - 5);
    }

    silent.unregister().await(5, TimeUnit.SECONDS);
    usageRole(true).completion().await(5, TimeUnit.SECONDS);
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    UsageSpool restarted = open(image, SETTINGS, meters);
    await("99 intact events replayed", () -> stored.size() == 99 && restarted.pending() == 0);
    assertThat(meters.counter(UsageMetrics.SPOOL_REPLAYED).count()).isEqualTo(99);
    assertThat(meters.counter(UsageMetrics.SPOOL_CORRUPT).count()).isEqualTo(1);
    restarted.close();
    open.remove(restarted);
    try (Stream<Path> files = Files.list(image)) {
      assertThat(files.map(f -> f.getFileName().toString())).as("the torn segment is gone once its records are acknowledged")
          .doesNotContain(segment.getFileName().toString());
    }
    SimpleMeterRegistry again = new SimpleMeterRegistry();
    open(image, SETTINGS, again);
    assertThat(again.counter(UsageMetrics.SPOOL_REPLAYED).count()).isZero();
    assertThat(again.counter(UsageMetrics.SPOOL_CORRUPT).count()).as("no corrupt tail carried over").isZero();
  }

  @Test
  void should_stay_within_its_disk_bound_carry_what_memory_allows_and_drop_the_rest_counted_and_logged_once() throws Exception {
    // no usage role acknowledges: the spool fills its (small) bound, then memory (1000 events), then drops
    AtomicBoolean usageUp = new AtomicBoolean(false);
    vertx.eventBus().consumer(Addresses.USAGE_RECORD, (Message<Object> msg) -> {
      if (!usageUp.get()) {
        msg.fail(503, "usage role down");
        return;
      }
      for (UsageRecord record : UsageRecord.allFromBus(msg.body(), "test")) {
        stored.computeIfAbsent(((UsageEvent) record).requestId(), id -> new AtomicInteger()).incrementAndGet();
      }
      msg.reply(null);
    }).completion().await(5, TimeUnit.SECONDS);
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger logger = (Logger) LoggerFactory.getLogger(UsageSpool.class);
    logger.addAppender(log);
    UsageConfig d = UsageConfig.defaults();
    long bound = 64 * 1024;
    UsageConfig small = new UsageConfig(d.flushInterval(), d.batchSize(), d.bufferSize(), d.retention(), d.journalFsync(),
        d.spoolInterval(), d.spoolFsync(), bound);
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    UsageSpool spool = UsageSpool.open(vertx, vertx.getOrCreateContext(), dir.resolve("bounded"), SETTINGS, small, meters);
    open.add(spool);
    try {
      int recorded = 5000;
      for (int i = 0; i < recorded; i++) {
        spool.record(event("full-" + i));
      }
      double[] dropped = new double[1];
      await("every event on disk, carried in memory or dropped", () -> {
        dropped[0] = meters.counter(UsageMetrics.SPOOL_DROPPED).count();
        return spool.pending() + meters.counter(UsageMetrics.SPOOL_UNJOURNALED).count() + dropped[0] == recorded;
      });
      double onDisk = meters.get(UsageMetrics.JOURNAL_BYTES).tag(UsageMetrics.JOURNAL_TAG, "spool").gauge().value();
      assertThat(onDisk).isPositive().isLessThanOrEqualTo(bound);
      assertThat(meters.get(UsageMetrics.JOURNAL_MAX_BYTES).tag(UsageMetrics.JOURNAL_TAG, "spool").gauge().value()).isEqualTo(bound);
      assertThat(meters.counter(UsageMetrics.SPOOL_UNJOURNALED).count()).as("memory carries up to its bound")
          .isPositive().isLessThanOrEqualTo(SETTINGS.memoryLimit());
      assertThat(dropped[0]).isPositive();
      assertThat(log.list).filteredOn(e -> e.getLevel() == Level.ERROR).singleElement()
          .satisfies(e -> assertThat(e.getFormattedMessage()).contains("usage events dropped", "is full"));
      assertThat(log.list).filteredOn(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("is full ("))
          .hasSize(1);

      // the usage role comes back: everything that was not dropped arrives, and the spool empties
      usageUp.set(true);
      await("every kept event stored", () -> stored.size() == recorded - (int) dropped[0] && spool.pending() == 0);
      assertThat(stored.values()).allMatch(n -> n.get() == 1);
    } finally {
      logger.detachAppender(log);
    }
  }

  @Test
  void should_count_the_events_a_crash_took_from_the_last_group_commit_window() {
    Path spoolDir = dir.resolve("counters");
    SpoolCounters before = SpoolCounters.open(createDirectories(spoolDir));
    for (int i = 0; i < 7; i++) {
      before.recorded();
    }
    before.appended(4); // the writer had taken four when the process died; three were still in memory
    SpoolCounters after = SpoolCounters.open(spoolDir);
    assertThat(after.lostBefore()).isEqualTo(3);
    assertThat(SpoolCounters.open(spoolDir).lostBefore()).as("reported once").isZero();
  }

  private static Path createDirectories(Path path) {
    try {
      return Files.createDirectories(path);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
