package io.ceiba.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 18: {@code kill -9} of the embedded PostgreSQL alone, under keyed load, at random moments. The node notices,
 * starts it again on the same port and data directory (within 10 s), keeps serving keyed requests meanwhile (keys from
 * the edge cache, usage to the journal), and afterwards the usage API counts exactly the requests admitted.
 */
class EmbeddedPostgresKillIT extends KeyedJarScenario {

  private static final int KILLS = Integer.getInteger("ceiba.pgkill.kills", 3);
  private static final int CONNECTIONS = 6;
  private static final Duration BACK_WITHIN = Duration.ofSeconds(10);

  private long postmasterPid() throws Exception {
    return Long.parseLong(Files.readAllLines(dir.resolve("data/postgres/postmaster.pid")).get(0).trim());
  }

  /** Whether {@code /ready} shows PostgreSQL answering (it is not required for an edge node already ready). */
  private Future<Boolean> postgresUp(ControlClient control) {
    return control.get("/ready").map(r -> new JsonObject(r.bodyAsString()).getJsonArray("checks").stream()
        .map(o -> (JsonObject) o).anyMatch(c -> "postgres".equals(c.getString("id")) && "UP".equals(c.getString("status"))))
        .otherwise(false);
  }

  @Test
  void should_restart_a_killed_embedded_postgresql_and_count_every_admitted_request() throws Exception {
    Path config = keyedNodeConfig("pgkill", "");
    ControlClient control = new ControlClient(client, controlPort, TestNodes.TOKEN);
    List<Long> backMs = new ArrayList<>();
    JarProcess node = JarProcess.start(dir, Map.of(), "--config", config.toString());
    try {
      Eventually.until(client, Duration.ofSeconds(90), "node ready",
          () -> control.get("/ready").map(r -> r.statusCode() == 200).otherwise(false)).await(100, TimeUnit.SECONDS);
      ControlClient.KeyedProject project = control.newProjectWithKey("pgkill").await(10, TimeUnit.SECONDS);
      HttpClient http = client.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(2000),
          new PoolOptions().setHttp1MaxSize(CONNECTIONS));
      KeyedLoad load = new KeyedLoad(http, client.getOrCreateContext(), project.key(), edgePort, CONNECTIONS);
      load.start();
      for (int kill = 1; kill <= KILLS; kill++) {
        long from = load.ok.get();
        long waitFor = from + 50 + random.nextInt(400);
        Eventually.until(client, Duration.ofSeconds(20), "keyed load running",
            () -> Future.succeededFuture(load.ok.get() >= waitFor)).await(25, TimeUnit.SECONDS);
        long pid = postmasterPid();
        new ProcessBuilder("kill", "-9", Long.toString(pid)).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
        Eventually.until(client, Duration.ofSeconds(5), "postmaster " + pid + " gone",
            () -> Future.succeededFuture(ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true))).await(10, TimeUnit.SECONDS);
        long killedAt = System.nanoTime();
        try {
          Eventually.until(client, BACK_WITHIN.plusSeconds(5), "PostgreSQL back (a new postmaster, /ready shows it up)",
              () -> postgresUp(control).map(up -> up && newPostmaster(pid))).await(20, TimeUnit.SECONDS);
        } catch (Exception | AssertionError e) {
          throw new AssertionError("kill " + kill + " of postmaster " + pid + ": not back\n" + node.output()
              + "\nPostgreSQL processes and listeners:\n" + processesAndListeners()
              + "\npostgres-startup.log:\n" + tail(dir.resolve("data/postgres-startup.log"))
              + "\nPostgreSQL's log:\n" + tail(dir.resolve("data/postgres/log/postgresql-"
              + java.time.LocalDate.now(java.time.ZoneOffset.UTC).getDayOfWeek().getDisplayName(java.time.format.TextStyle.SHORT, java.util.Locale.ROOT) + ".log")), e);
        }
        backMs.add((System.nanoTime() - killedAt) / 1_000_000);
        System.out.printf("pg kill %d (pid %d): back in %d ms; %d keyed requests admitted so far, %d other answers%n",
            kill, pid, backMs.get(backMs.size() - 1), load.ok.get(), load.other.get());
      }
      // a little traffic after the last restart, then the count
      long last = load.ok.get();
      Eventually.until(client, Duration.ofSeconds(20), "requests after the last restart",
          () -> Future.succeededFuture(load.ok.get() >= last + 100)).await(25, TimeUnit.SECONDS);
      assertThat(load.running()).as("every request loop still running: no request failed").isEqualTo(CONNECTIONS);
      long admitted = load.stop();
      http.close().await(10, TimeUnit.SECONDS);
      assertThat(load.other.get()).as("answers other than 200 while PostgreSQL was down").isZero();
      String id = project.id();
      try {
        Eventually.until(client, Duration.ofSeconds(60), "usage total equals the " + admitted + " admitted requests",
            () -> control.usageTotal(id).map(total -> total == admitted)).await(70, TimeUnit.SECONDS);
      } catch (Exception | AssertionError e) {
        throw new AssertionError("usage total " + control.usageTotal(id).await(10, TimeUnit.SECONDS) + ", admitted " + admitted
            + "\n" + node.output(), e);
      }
      System.out.printf("%d kills of the embedded PostgreSQL: %d requests admitted, all counted; back within %s ms%n",
          KILLS, admitted, backMs);
      // what the node said about each restart (leftover processes waited for, PostgreSQL's own refusals)
      node.output().lines().filter(l -> l.contains("EmbeddedPostgresSupervisor") || l.contains("LeftoverServerProcesses")
          || l.contains("FATAL")).forEach(System.out::println);
      assertThat(backMs).allSatisfy(ms -> assertThat(ms).isLessThanOrEqualTo(BACK_WITHIN.toMillis()));
      // the key and its project survived every restart
      assertThat(control.get("/v1/projects/" + id).await(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(node.terminate(60)).as(node.output()).isZero();
    } finally {
      node.close();
    }
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (Exception e) {
      return "(" + e + ")";
    }
  }

  private static String processesAndListeners() {
    try {
      Process ps = new ProcessBuilder("sh", "-c", "ps -eo pid,ppid,stat,etime,args | grep [p]ostgres; ss -ltnp | grep postgres")
          .redirectErrorStream(true).start();
      String out = new String(ps.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      ps.waitFor(10, TimeUnit.SECONDS);
      return out;
    } catch (Exception e) {
      return "(ps failed: " + e + ")";
    }
  }

  private boolean newPostmaster(long killed) {
    try {
      return postmasterPid() != killed;
    } catch (Exception e) {
      return false;
    }
  }
}
