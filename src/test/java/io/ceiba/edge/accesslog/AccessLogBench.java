package io.ceiba.edge.accesslog;

import static net.logstash.logback.argument.StructuredArguments.kv;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import java.io.FileOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What one access line costs the process in CPU, all threads together (the event loops that make it and whoever
 * writes it): the logback path the edge used before (a {@code kv} object per field, an event per line, the
 * {@code AsyncAppender} of the old shipped configs, made to wait rather than drop here, in front of an appender that
 * writes and flushes each line) against the
 * edge's own ({@link AccessLine} into per-thread batches, {@link AccessLogWriter}), both writing to a file from two
 * threads at once, as two edge instances do. Not part of the suite (the name matches neither surefire's nor
 * failsafe's patterns): {@code mvn -o -q test -Dtest=AccessLogBench -Dsurefire.failIfNoSpecifiedTests=false}, figures
 * in {@code target/surefire-reports/io.ceiba.edge.accesslog.AccessLogBench-output.txt}.
 */
class AccessLogBench {

  private static final int THREADS = 2;
  private static final int LINES = 300_000;
  private static final int ROUNDS = 4;
  private static final String[] PATTERNS = new String[24];

  static {
    for (int n = 0; n < PATTERNS.length; n++) {
      PATTERNS[n] = String.join(" ", Collections.nCopies(n, "{}"));
    }
  }

  private interface Lines {
    void run(int thread) throws Exception;
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** CPU ns per line of the whole process, and the lines found in the file afterwards. */
  private static void measure(String name, Path file, Lines lines, Runnable drain) throws Exception {
    long cpu0 = cpuNanos();
    long wall0 = System.nanoTime();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int id = t;
      Thread thread = new Thread(() -> {
        try {
          lines.run(id);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      thread.join();
    }
    drain.run();
    long cpu = cpuNanos() - cpu0;
    long wall = System.nanoTime() - wall0;
    long written;
    try (var stream = Files.lines(file)) {
      written = stream.count();
    }
    System.out.printf("%-8s %6.0f ns CPU per line made, %6.0f per line written; %5.0f ms; %d of %d lines written%n", name,
        (double) cpu / (THREADS * LINES), (double) cpu / Math.max(1, written), wall / 1e6, written, THREADS * LINES);
    Files.delete(file);
  }

  /** A proxied GET's fields after its request id: text ones, then numbers. */
  private static final String[] TEXT = {"node", "bench", "client", "127.0.0.1", "method", "GET", "path", "/", "host", "app.local",
      "service", "app", "backend", "http://127.0.0.1:28080"};
  private static final Object[] NUMBERS = {"status", 200L, "bytes_in", 0L, "bytes_out", 101L, "ms", 1L, "upstream_ms", 1L};

  private static void fields(AccessFields f, int i) {
    f.field("request_id", "01a2515c-fb84-7937-9d3e-" + (100000000000L + i));
    for (int k = 0; k < TEXT.length; k += 2) {
      f.field(TEXT[k], TEXT[k + 1]);
    }
    for (int k = 0; k < NUMBERS.length; k += 2) {
      f.field((String) NUMBERS[k], (long) (Long) NUMBERS[k + 1]);
    }
  }

  /** The access line as the edge wrote it before this change: a kv argument per field, an event through logback. */
  private static void before(Logger access, int i) {
    List<Object> f = new ArrayList<>(20);
    f.add(kv("request_id", "01a2515c-fb84-7937-9d3e-" + (100000000000L + i)));
    for (int k = 0; k < TEXT.length; k += 2) {
      f.add(kv(TEXT[k], TEXT[k + 1]));
    }
    for (int k = 0; k < NUMBERS.length; k += 2) {
      f.add(kv((String) NUMBERS[k], NUMBERS[k + 1]));
    }
    access.info(PATTERNS[f.size()], f.toArray());
  }

  @Test
  void line_cost() throws Exception {
    for (int round = 0; round < ROUNDS; round++) {
      Path logbackFile = Files.createTempFile("access-logback", ".log");
      LoggerContext context = new LoggerContext();
      context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
      PatternLayoutEncoder encoder = new PatternLayoutEncoder();
      encoder.setContext(context);
      encoder.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{24} %mdc{node} - %msg%n");
      encoder.start();
      FileAppender<ILoggingEvent> file = new FileAppender<>();
      file.setContext(context);
      file.setFile(logbackFile.toString());
      file.setEncoder(encoder);
      file.start();
      AsyncAppender async = new AsyncAppender();
      async.setContext(context);
      async.setQueueSize(16384);
      async.setDiscardingThreshold(0);
      async.setNeverBlock(false); // the shipped config dropped lines when full: here every line is written, to count its cost
      async.addAppender(file);
      async.start();
      Logger access = context.getLogger("ceiba.access");
      access.setAdditive(false);
      access.addAppender(async);
      measure("logback", logbackFile, t -> {
        for (int i = 0; i < LINES; i++) {
          before(access, i);
        }
      }, context::stop);
      context.getStatusManager().getCopyOfStatusList().stream().filter(st -> st.getLevel() > 0).forEach(System.out::println);

      Path ownFile = Files.createTempFile("access-own", ".log");
      try (FileOutputStream out = new FileOutputStream(ownFile.toFile())) {
        AccessLogWriter writer = new AccessLogWriter(out, 1L << 30, "bench-writer"); // no drop: the producers here outrun any disk
        measure("own", ownFile, t -> {
          AccessLine line = new AccessLine(AccessLine.Format.TEXT, ZoneOffset.UTC);
          LineBuffer batch = new LineBuffer(36 * 1024);
          int lines = 0;
          for (int i = 0; i < LINES; i++) {
            fields(line.begin(), i);
            line.end(System.currentTimeMillis(), batch);
            lines++;
            if (batch.length() >= 32 * 1024 || i == LINES - 1) {
              if (writer.offer(batch.array(), batch.length(), lines)) {
                batch.takeArray();
              } else {
                batch.reset();
              }
              lines = 0;
            }
          }
        }, () -> {
          try {
            writer.drained().get(60, TimeUnit.SECONDS);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
        writer.close();
      }
    }
  }
}
