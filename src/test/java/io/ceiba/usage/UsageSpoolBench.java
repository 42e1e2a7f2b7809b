package io.ceiba.usage;

import io.ceiba.bus.Addresses;
import io.ceiba.bus.LocalObjectCodec;
import io.ceiba.config.UsageConfig;
import io.ceiba.usage.journal.FsyncPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not part of the suite; run it with {@code mvn -o -q test -Dtest=UsageSpoolBench -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dbench.fsync=every-batch} for the power-loss setting) and read
 * {@code target/surefire-reports/io.ceiba.usage.UsageSpoolBench-output.txt}: the CPU a spooled event costs, on the
 * recording (edge) threads and on the spool's writer thread, at 10 000 events/s from two threads for 10 s (the first
 * 3 s warm up), with a usage role that acknowledges at once.
 */
class UsageSpoolBench {

  @TempDir
  Path dir;

  @Test
  void measure() throws Exception {
    Vertx vertx = Vertx.vertx();
    vertx.eventBus().registerDefaultCodec(UsageEvent.Batch.class, new LocalObjectCodec<>(UsageEvent.Batch.class));
    vertx.eventBus().consumer(Addresses.USAGE_RECORD, msg -> msg.reply(null)).completion().await(5, TimeUnit.SECONDS);
    FsyncPolicy fsync = "every-batch".equals(System.getProperty("bench.fsync")) ? FsyncPolicy.EVERY_BATCH : FsyncPolicy.NONE;
    UsageConfig defaults = UsageConfig.defaults();
    UsageConfig usage = new UsageConfig(defaults.flushInterval(), defaults.batchSize(), defaults.bufferSize(), defaults.retention(),
        defaults.journalFsync(), defaults.spoolInterval(), fsync, defaults.journalMaxBytes());
    UsageSpool spool = UsageSpool.open(vertx, vertx.getOrCreateContext(), dir, UsageSpool.Settings.of(usage, true), usage,
        new SimpleMeterRegistry());
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long writerId = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("ceiba-usage-spool"))
        .findFirst().orElseThrow().getId();
    long[] producerCpu = new long[2];
    long[] counted = new long[2];
    long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    long end = warmupEnd + TimeUnit.SECONDS.toNanos(7);
    long[] writerAtWarmup = new long[1];
    Thread[] producers = new Thread[2];
    for (int p = 0; p < 2; p++) {
      int me = p;
      producers[p] = new Thread(() -> {
        long n = 0;
        long next = System.nanoTime();
        long cpuAtWarmup = -1;
        while (System.nanoTime() < end) {
          // 5 000 events/s per thread, in bursts of 50 every 10 ms
          for (int i = 0; i < 50; i++) {
            long t0 = threads.getCurrentThreadCpuTime();
            spool.record(new UsageEvent("bench-" + me + "-" + n, Instant.now(), "prj_bench", "key_bench", "basic", "api", 200,
                3, 120, 2048, "node1"));
            if (cpuAtWarmup >= 0) {
              producerCpu[me] += threads.getCurrentThreadCpuTime() - t0;
              counted[me]++;
            }
            n++;
          }
          if (cpuAtWarmup < 0 && System.nanoTime() >= warmupEnd) {
            cpuAtWarmup = 0;
            if (me == 0) {
              writerAtWarmup[0] = threads.getThreadCpuTime(writerId);
            }
          }
          next += 10_000_000;
          java.util.concurrent.locks.LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
        }
      });
      producers[p].start();
    }
    for (Thread t : producers) {
      t.join();
    }
    long writerCpu = threads.getThreadCpuTime(writerId) - writerAtWarmup[0];
    long events = counted[0] + counted[1];
    spool.flush().await(30, TimeUnit.SECONDS);
    System.out.printf("spool (fsync %s): %d events measured; recording thread %.2f us/event (includes the CPU-time probe),"
        + " writer thread %.2f us/event (%.1f%% of a core at 10 000 events/s)%n", fsync, events,
        (producerCpu[0] + producerCpu[1]) / 1000.0 / events, writerCpu / 1000.0 / events, writerCpu / 1e9 / 7 * 100);
    spool.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }
}
