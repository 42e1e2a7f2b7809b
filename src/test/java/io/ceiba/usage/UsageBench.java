package io.ceiba.usage;

import io.ceiba.bus.Addresses;
import io.ceiba.node.CeibaNode;
import io.ceiba.store.pg.Migrations;
import io.ceiba.store.pg.PostgresUrl;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TestPostgres;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not part of the suite (the name matches neither surefire's nor failsafe's patterns); run it with
 * {@code mvn -o -q test -Dtest=UsageBench -Dsurefire.failIfNoSpecifiedTests=false} and read the figures it prints
 * (in {@code target/surefire-reports/io.ceiba.usage.UsageBench-output.txt}); {@code -Dbench.batches=100,500} and
 * {@code -Dbench.buffer=10000} change the batch sizes and the buffer size, {@code -Dbench.pipeline=false} measures the store only.
 * Two measurements per batch size, against the test Postgres of this machine:
 * <ol>
 *   <li>store: {@link UsageStore#insert} of 100 000 events (the first 40 000 warm up), one batch after the other on one connection, and the CPU the
 *   client spent on them (its event loops: building the arrays, encoding, socket I/O);</li>
 *   <li>pipeline: a node with role usage receives 30 000 events/s on its bus for 5 s (a bit above the edge's measured
 *   peak of about 28 000 req/s, see README) with the default buffer_size; reported are the events/s written, the
 *   highest buffer depth seen and how many events overflowed into the journal.</li>
 * </ol>
 */
class UsageBench {

  private static final int[] BATCH_SIZES = Arrays.stream(System.getProperty("bench.batches", "100,500,1000").split(","))
      .mapToInt(Integer::parseInt).toArray();
  private static final int STORE_EVENTS = 100_000;
  private static final int RATE = 30_000;
  private static final int SECONDS = 5;

  private final Vertx vertx = Vertx.vertx();

  @Test
  void measure(@TempDir Path dir) throws Exception {
    try {
      List<String> lines = new ArrayList<>();
      for (int batch : BATCH_SIZES) {
        double[] store = storeRate(batch);
        lines.add(String.format("batch_size %4d | store insert: %7.0f events/s, client CPU %.2f us/event", batch, store[0], store[1]));
      }
      for (int batch : Boolean.parseBoolean(System.getProperty("bench.pipeline", "true")) ? BATCH_SIZES : new int[0]) {
        lines.add(String.format("batch_size %4d | pipeline: %s", batch, pipeline(dir.resolve("b" + batch), batch)));
      }
      System.out.println("\n=== usage benchmark (" + Runtime.getRuntime().availableProcessors() + " cores) ===");
      lines.forEach(System.out::println);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  // ids as the edge makes them (UUIDs): their length is most of what an insert encodes
  private static final String PROJECT = java.util.UUID.randomUUID().toString();
  private static final String KEY_ID = java.util.UUID.randomUUID().toString();

  private static JsonObject event(String id, Instant time) {
    return new JsonObject().put("request_id", id).put("time", time.toString()).put("project", PROJECT).put("key_id", KEY_ID)
        .put("plan", "pro").put("service", "api").put("status", 200).put("latency_ms", 3L).put("bytes_in", 120L)
        .put("bytes_out", 900L).put("node", "node1");
  }

  /** CPU time used so far by the event loops (where the Postgres client encodes, writes and reads), in ns. */
  private static long eventLoopCpuNanos() {
    var threads = java.lang.management.ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null && info.getThreadName().startsWith("vert.x-eventloop")) {
        sum += Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
      }
    }
    return sum;
  }

  /** @return events/s written, and the client's CPU per event in µs (the array build, encoding and socket I/O) */
  private double[] storeRate(int batch) throws Exception {
    String url = TestPostgres.newDatabase();
    Migrations.migrate(PostgresUrl.parse(url));
    Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(1)).connectingTo(PostgresUrl.parse(url).connectOptions())
        .using(vertx).build();
    try {
      UsageStore store = new UsageStore(pool);
      Instant now = Instant.now();
      List<List<UsageEvent>> batches = new ArrayList<>();
      for (int b = 0; b < STORE_EVENTS / batch; b++) {
        List<UsageEvent> events = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
          events.add(UsageEvent.fromJson(event(java.util.UUID.randomUUID().toString(), now)));
        }
        batches.add(events);
      }
      // warm-up, 40% of the events: prepares the statement and lets the JIT compile the encoding (with 10 000 events,
      // the first batch size measured took three times the CPU per event of the next)
      int warm = batches.size() * 2 / 5;
      Future<Integer> warming = Future.succeededFuture(0);
      for (List<UsageEvent> events : batches.subList(0, warm)) {
        warming = warming.compose(n -> store.insert(events));
      }
      warming.await(60, TimeUnit.SECONDS);
      long start = System.nanoTime();
      long cpuStart = eventLoopCpuNanos();
      Future<Integer> chain = Future.succeededFuture(0);
      for (List<UsageEvent> events : batches.subList(warm, batches.size())) {
        chain = chain.compose(n -> store.insert(events).map(k -> n + k));
      }
      int written = chain.await(120, TimeUnit.SECONDS);
      double seconds = (System.nanoTime() - start) / 1e9;
      return new double[] {written / seconds, (eventLoopCpuNanos() - cpuStart) / 1e3 / written};
    } finally {
      pool.close().await(10, TimeUnit.SECONDS);
    }
  }

  private String pipeline(Path dir, int batch) throws Exception {
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(1));
    TestNodes.Spec spec = TestNodes.write(dir, "node1", null, null, registry,
        "roles: [usage, control]\nusage: { batch_size: " + batch + ", buffer_size: " + System.getProperty("bench.buffer", "10000") + " }\n");
    CeibaNode node = TestNodes.start(spec);
    try {
      Pool db = PgBuilder.pool().connectingTo(node.context().postgres().url().connectOptions()).using(vertx).build();
      Eventually.until(vertx, Duration.ofSeconds(60), "schema", () -> db.query("select count(*) from usage_events").execute()
          .map(r -> true)).await(70, TimeUnit.SECONDS);
      int total = RATE * SECONDS;
      int perTick = RATE / 100;
      double[] maxDepth = {0};
      Promise<Void> sent = Promise.promise();
      int[] next = {0};
      Instant now = Instant.now();
      long start = System.nanoTime();
      vertx.setPeriodic(10, id -> {
        // catch up on ticks the timer missed, so the rate holds
        long due = Math.min(total, (System.nanoTime() - start) / 10_000_000L * perTick + perTick);
        while (next[0] < due) {
          node.vertx().eventBus().send(Addresses.USAGE_RECORD, event("p" + batch + "-" + next[0]++, now));
        }
        maxDepth[0] = Math.max(maxDepth[0], node.context().meters().find(UsageMetrics.BUFFER_DEPTH).gauge().value());
        if (next[0] >= total) {
          vertx.cancelTimer(id);
          sent.complete();
        }
      });
      sent.future().await(60, TimeUnit.SECONDS);
      double sendSeconds = (System.nanoTime() - start) / 1e9;
      Eventually.until(vertx, Duration.ofSeconds(120), "all written", () -> db.query("select count(*) from usage_events").execute()
          .map(r -> r.iterator().next().getLong(0) == total)).await(130, TimeUnit.SECONDS);
      double allSeconds = (System.nanoTime() - start) / 1e9;
      double journaled = node.context().meters().find(UsageMetrics.EVENTS_JOURNALED).counter().count();
      var flush = node.context().meters().find(UsageMetrics.FLUSH).timer();
      db.close().await(10, TimeUnit.SECONDS);
      return String.format("%d events offered at %.0f/s, all written after %.2f s (%.0f events/s), max buffer depth %.0f"
              + " of " + node.config().usage().bufferSize() + ", journaled %.0f, mean flush %.1f ms", total, total / sendSeconds, allSeconds, total / allSeconds,
          maxDepth[0], journaled, flush.mean(TimeUnit.MILLISECONDS));
    } finally {
      TestNodes.stopQuietly(node);
    }
  }
}
