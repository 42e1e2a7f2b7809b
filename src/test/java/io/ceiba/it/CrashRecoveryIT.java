package io.ceiba.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Ports;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node on the embedded default, crashed with SIGKILL the way an OOM kill or a power cut of the JVM does it:
 * its PostgreSQL is durable, does not outlive it for long, and the next start is ready within seconds, whether the
 * watchdog stopped the orphaned postmaster or the next start had to. A start that fails says why in one line.
 */
class CrashRecoveryIT {

  private static final Duration READY_WITHIN = Duration.ofSeconds(10);

  @TempDir
  Path dir;

  private final Vertx client = Vertx.vertx();
  private final int control = Ports.free();
  private final Map<String, String> env = Map.of("CEIBA_EDGE_PORT", String.valueOf(Ports.free()),
      "CEIBA_CONTROL_PORT", String.valueOf(control));

  @AfterEach
  void close() throws Exception {
    // a postmaster a failed test left behind must not outlive the run
    postmaster().ifPresent(ProcessHandle::destroyForcibly);
    client.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_run_a_durable_embedded_postgres_and_come_back_after_kill_9() throws Exception {
    Path configs = Files.createDirectories(dir.resolve("node-configs"));
    Files.copy(Path.of("node-configs/registry.yaml"), configs.resolve("registry.yaml"));
    try (JarProcess first = JarProcess.start(dir, env)) {
      awaitReady(first, Duration.ofSeconds(90));
      assertDurable();
      long pg = postmaster().orElseThrow().pid();
      first.kill();
      // the watchdog stops the orphan within about a second
      Eventually.until(client, Duration.ofSeconds(10), "the crashed node's PostgreSQL (pid " + pg + ") stopped by its watchdog",
          () -> io.vertx.core.Future.succeededFuture(ProcessHandle.of(pg).map(p -> !p.isAlive()).orElse(true))).await(15, TimeUnit.SECONDS);
    }
    try (JarProcess second = JarProcess.start(dir, env)) {
      Duration ready = awaitReady(second, READY_WITHIN);
      System.out.printf("restart after kill -9 (watchdog stopped PostgreSQL): ready in %d ms%n", ready.toMillis());
      // now the watchdog dies with the JVM: the postmaster is left running and the next start must deal with it
      long pg = postmaster().orElseThrow().pid();
      List<ProcessHandle> watchdogs = ProcessHandle.of(second.pid()).orElseThrow().descendants()
          .filter(p -> p.info().command().orElse("").endsWith("sh")).toList();
      assertThat(watchdogs).as("the postmaster's watchdog runs as a child of the JVM").isNotEmpty();
      watchdogs.forEach(ProcessHandle::destroyForcibly);
      second.kill();
      assertThat(ProcessHandle.of(pg).map(ProcessHandle::isAlive)).as("orphaned postmaster still running").contains(true);
    }
    try (JarProcess third = JarProcess.start(dir, env)) {
      Duration ready = awaitReady(third, READY_WITHIN);
      System.out.printf("restart after kill -9 of node and watchdog (orphaned PostgreSQL stopped at start): ready in %d ms%n",
          ready.toMillis());
      assertThat(third.output()).contains("outlived the node that started it: stopping it");
      assertDurable();
      assertThat(third.terminate(60)).as(third.output()).isZero();
    }
  }

  @Test
  void should_say_in_one_line_why_a_start_failed_and_exit_non_zero() throws Exception {
    Path configs = Files.createDirectories(dir.resolve("node-configs"));
    Files.copy(Path.of("node-configs/registry.yaml"), configs.resolve("registry.yaml"));
    // the embedded database's directory cannot be made: a file stands where it goes
    Files.createDirectories(dir.resolve("data"));
    Files.writeString(dir.resolve("data/postgres"), "not a directory");
    try (JarProcess node = JarProcess.start(dir, env)) {
      int exit = node.waitFor(90);
      String output = node.output();
      assertThat(exit).as(output).isEqualTo(3);
      assertThat(output).contains("failed to start").contains("data/postgres")
          .doesNotContain("RejectedExecutionException").doesNotContain("event executor terminated").doesNotContain("\tat ");
    }
  }

  private Duration awaitReady(JarProcess node, Duration within) throws Exception {
    ControlClient ops = new ControlClient(client, control, null);
    long start = System.nanoTime();
    try {
      Eventually.until(client, within, "node ready",
          () -> ops.get("/ready").map(r -> r.statusCode() == 200).otherwise(false)).await(within.toSeconds() + 10, TimeUnit.SECONDS);
    } catch (Exception | AssertionError e) {
      throw new AssertionError("not ready within " + within + ":\n" + node.output(), e);
    }
    // the poll's last answer may come after the deadline: the time since the start is the figure that counts
    Duration ready = Duration.ofNanos(System.nanoTime() - start);
    assertThat(ready).as("time to ready\n" + node.output()).isLessThanOrEqualTo(within);
    return ready;
  }

  /** The embedded postmaster of this test's data dir, from its pid file. */
  private Optional<ProcessHandle> postmaster() {
    Path pidFile = dir.resolve("data/postgres/postmaster.pid");
    try {
      return Files.isRegularFile(pidFile)
          ? ProcessHandle.of(Long.parseLong(Files.readAllLines(pidFile).get(0).trim())).filter(ProcessHandle::isAlive)
          : Optional.empty();
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  /** fsync, synchronous commit and full page writes on: committed keys and usage survive an OS crash. */
  private void assertDurable() throws Exception {
    List<String> pidFile = Files.readAllLines(dir.resolve("data/postgres/postmaster.pid"));
    int port = Integer.parseInt(pidFile.get(3).trim());
    SqlClient sql = PgBuilder.client().connectingTo(new PgConnectOptions().setHost("127.0.0.1").setPort(port)
        .setUser("postgres").setDatabase("postgres")).using(client).build();
    try {
      for (String setting : List.of("fsync", "synchronous_commit", "full_page_writes")) {
        Row row = sql.query("show " + setting).execute().await(10, TimeUnit.SECONDS).iterator().next();
        assertThat(row.getString(0)).as(setting).isEqualTo("on");
      }
    } finally {
      sql.close().await(10, TimeUnit.SECONDS);
    }
  }
}
