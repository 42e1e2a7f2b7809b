package io.ceiba.multihost;

import static io.ceiba.testkit.NetnsRig.Host.H1;
import static io.ceiba.testkit.NetnsRig.Host.H2;
import static io.ceiba.testkit.NetnsRig.Host.H3;
import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.NetnsRig;
import io.ceiba.testkit.NetnsRig.Host;
import io.ceiba.testkit.NetnsRig.HttpResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The natural multi-host registry on the network-namespace rig (issue 17 items 6 and 7): the same service on the
 * same local URL of every host ({@code http://127.0.0.1:9000} on host1, host2 and host3: three backends, a backend
 * being its node plus its URL), and a TCP service over a Redis primary on host1's loopback and its replica on
 * host2's ({@code 127.0.0.1:6379} on each), reachable from every host: a host without a healthy backend of its own
 * relays the connection through the backend's node's edge. Gated like {@link MultiHostIT} ({@code CEIBA_MULTIHOST}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CrossHostBackendsIT {

  private static final List<Host> HOSTS = List.of(Host.values());
  private static final Duration START = Duration.ofSeconds(150);
  private static final String URL = "http://127.0.0.1:9000";
  private static final int TCP_LISTEN = 6380;
  /** The redis-primary check interval; a swap must be followed within about one. */
  private static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);

  private static final String REGISTRY = """
      version: 1
      defaults:
        health: { path: /healthz, interval: 1s, timeout: 500ms, unhealthy_after: 2, healthy_after: 1 }
        timeouts: { connect: 1s, upstream: 5s }
      http:
        web:
          hosts: [web.test]
          backends:
            - { url: "http://127.0.0.1:9000", node: host1 }
            - { url: "http://127.0.0.1:9000", node: host2 }
            - { url: "http://127.0.0.1:9000", node: host3 }
      tcp:
        cache:
          listen: 6380
          backends:
            - { address: "127.0.0.1:6379", node: host1 }
            - { address: "127.0.0.1:6379", node: host2 }
          health: { kind: redis-primary, interval: 1s, timeout: 500ms, unhealthy_after: 1, healthy_after: 1 }
      """;

  /**
   * A client that stays connected through an edge's TCP listener: asks where it is ({@code CONFIG GET dir}), prints
   * the answer, then waits for the connection to be closed and prints {@code closed} (or {@code open} after 120 s).
   */
  private static final String HELD_CLIENT = """
      import socket, sys, time
      s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
      s.sendall(b"CONFIG GET dir\\r\\n")
      time.sleep(0.5)
      print(s.recv(4096).decode().replace("\\r\\n", " "), flush=True)
      s.settimeout(120)
      try:
          while s.recv(4096):
              pass
          print("closed", flush=True)
      except socket.timeout:
          print("open", flush=True)
      """;

  private final Vertx vertx = Vertx.vertx();
  private Optional<String> whyNotRun = Optional.empty();
  private NetnsRig rig;
  private Path state;
  private final Map<Host, Long> origins = new LinkedHashMap<>();

  @BeforeAll
  void startThreeHosts() throws Exception {
    whyNotRun = NetnsRig.whyNotRun("CrossHostBackendsIT");
    if (whyNotRun.isPresent()) {
      return;
    }
    rig = NetnsRig.up();
    state = Path.of("/tmp", rig.prefix());
    long start = System.nanoTime();
    rig.dbUp();
    for (Host host : HOSTS) {
      startOrigin(host);
    }
    // the primary on host1, its replica on host2; each listens on its host's loopback (the registry's address)
    // and on its eth0 address, which replication uses
    startRedis(H1, null);
    startRedis(H2, H1);
    rig.registry(REGISTRY);
    HOSTS.forEach(rig::startNode);
    for (Host host : HOSTS) {
      rig.awaitReady(host, START);
    }
    await(Duration.ofSeconds(60), "every host sees every web backend up and the cache primary on host1 up",
        () -> allHosts(host -> blocking(() -> backends(host)).map(b -> b != null
            && "true true true".equals(upOf(b, "web", "host1") + " " + upOf(b, "web", "host2") + " " + upOf(b, "web", "host3"))
            && "true false".equals(upOf(b, "cache", "host1") + " " + upOf(b, "cache", "host2")))));
    NetnsRig.figure(String.format("cross-host backends: rig up and converged in %.1f s", (System.nanoTime() - start) / 1e9));
  }

  @BeforeEach
  void onlyWhereTheRigRuns() {
    NetnsRig.assumeRuns(whyNotRun);
  }

  @AfterAll
  void tearDown() throws Exception {
    if (rig != null) {
      rig.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  @Order(1)
  void should_serve_the_same_local_url_on_every_host_and_take_out_only_the_host_whose_origin_stopped() throws Exception {
    for (Host host : HOSTS) {
      for (int i = 0; i < 3; i++) {
        HttpResult web = call(() -> rig.get(host.edge() + "/", "web.test", Map.of()));
        assertThat(web.status()).as("web.test through %s: %s", host, web).isEqualTo(200);
        assertThat(web.servedBy()).as("each host serves from its own 127.0.0.1:9000").isEqualTo(host.nodeId());
      }
    }
    String metrics = call(() -> rig.http("GET", H2.control() + "/metrics", Map.of(), null)).body();
    for (Host owner : HOSTS) {
      assertThat(metrics).contains("ceiba_backend_up{backend=\"" + URL + "\",backend_node=\"" + owner.nodeId()
          + "\",node=\"host2\",service=\"web\"} 1.0");
    }

    // host1's origin stops: only host1's backend goes down, in every host's view
    long stopped = System.nanoTime();
    stopOrigin(H1);
    Duration seen = await(Duration.ofSeconds(30), "every host sees web on host1 down and on host2 and host3 up",
        () -> allHosts(host -> blocking(() -> backends(host)).map(b -> b != null && !upOf(b, "web", "host1")
            && upOf(b, "web", "host2") && upOf(b, "web", "host3"))));
    NetnsRig.figure(String.format("same URL on three hosts: host1's origin stopped, every host's view had only host1's"
        + " backend down after %d ms", Duration.ofNanos(System.nanoTime() - stopped).toMillis()));
    for (int i = 0; i < 4; i++) {
      HttpResult relayed = call(() -> rig.get(H1.edge() + "/", "web.test", Map.of()));
      assertThat(relayed.status()).as("web.test through host1: %s", relayed).isEqualTo(200);
      assertThat(relayed.servedBy()).as("host1 relays to the other hosts' 127.0.0.1:9000").isIn("host2", "host3");
      for (Host other : List.of(H2, H3)) {
        assertThat(call(() -> rig.get(other.edge() + "/", "web.test", Map.of())).servedBy()).isEqualTo(other.nodeId());
      }
    }
    assertThat(call(() -> rig.http("GET", H3.control() + "/metrics", Map.of(), null)).body())
        .contains("ceiba_backend_up{backend=\"" + URL + "\",backend_node=\"host1\",node=\"host3\",service=\"web\"} 0.0")
        .contains("ceiba_backend_up{backend=\"" + URL + "\",backend_node=\"host2\",node=\"host3\",service=\"web\"} 1.0");
    assertThat(seen).isLessThan(Duration.ofSeconds(30));

    startOrigin(H1);
    await(Duration.ofSeconds(30), "host1 serves web from its own backend again",
        () -> blocking(() -> rig.get(H1.edge() + "/", "web.test", Map.of())).map(r -> "host1".equals(r.servedBy())));
  }

  @Test
  @Order(2)
  void should_relay_tcp_to_the_redis_primary_on_another_host_and_follow_a_role_swap() throws Exception {
    // every host reaches the primary on host1's loopback: host1 directly, host2 (its own is a replica) and host3
    // (no backend of its own) through host1's edge
    for (Host host : HOSTS) {
      assertThat(redisDirThrough(host)).as("a connection through %s", host).endsWith("/h1/redis");
    }
    assertThat(redisThrough(H3, "SET owner host1")).contains("OK");
    assertThat(redisThrough(H2, "GET owner")).contains("host1");

    // a peer relay needs the cluster's token: a client's guess gets no tunnel
    HttpResult forged = call(() -> rig.http("GET", H1.edge() + "/", Map.of("Host", "web.test", "Connection", "Upgrade",
        "Upgrade", "ceiba-tcp", "X-Ceiba-Peer", "guess", "X-Ceiba-Service", "cache", "X-Ceiba-Backend", "127.0.0.1:6379"), null));
    assertThat(forged.status()).as("forged relay: %s", forged).isNotEqualTo(101);

    // clients that stay connected to the primary: directly through host1, relayed through host2, three relayed
    // through host3 (relays of one node to one peer side by side)
    Map<String, Path> held = new LinkedHashMap<>();
    for (Host host : List.of(H1, H2, H3, H3, H3)) {
      String name = host.ns() + "-" + held.size();
      held.put(name, holdConnection(host, name));
    }
    for (Map.Entry<String, Path> h : held.entrySet()) {
      await(Duration.ofSeconds(10), "the held connection " + h.getKey() + " answered",
          () -> blocking(() -> Files.readString(h.getValue())).map(out -> out.contains("/h1/redis")));
    }

    // the roles swap, as a failover would: host2's replica is promoted, host1's primary follows it
    assertThat(redisCli(H2, "REPLICAOF", "NO", "ONE")).contains("OK");
    long swapped = System.nanoTime();
    assertThat(redisCli(H1, "REPLICAOF", H2.address(), "6379")).contains("OK");
    List<Future<Duration>> followed = new ArrayList<>();
    for (Host host : HOSTS) {
      followed.add(Eventually.until(vertx, Duration.ofSeconds(20), host.nodeId() + " sends new connections to host2's primary",
              () -> blocking(() -> redisDirThrough(host).endsWith("/h2/redis") && redisDirThrough(host).endsWith("/h2/redis")))
          .map(d -> Duration.ofNanos(System.nanoTime() - swapped)));
    }
    List<Duration> times = Future.all(followed).await(60, TimeUnit.SECONDS).list();
    for (int i = 0; i < HOSTS.size(); i++) {
      NetnsRig.figure(String.format("redis-primary across hosts: %s reached the new primary (host2) %d ms after the"
          + " swap (check interval %d ms)", HOSTS.get(i).nodeId(), times.get(i).toMillis(), CHECK_INTERVAL.toMillis()));
    }
    // one interval (±10% jitter), a check's timeout and the curl-free probes' own time, with room for a busy machine
    assertThat(times).allSatisfy(t -> assertThat(t).isLessThan(CHECK_INTERVAL.multipliedBy(3)));

    // the connections still open to the demoted primary were closed, relayed ones included
    for (Map.Entry<String, Path> h : held.entrySet()) {
      await(Duration.ofSeconds(10), "the held connection " + h.getKey() + " was closed",
          () -> blocking(() -> Files.readString(h.getValue())).map(out -> out.contains("closed")));
    }
    NetnsRig.figure(String.format("redis-primary across hosts: 5 connections held to the demoted primary (through"
        + " host1, host2, 3x host3) closed within %d ms of the swap", Duration.ofNanos(System.nanoTime() - swapped).toMillis()));
    assertThat(redisThrough(H1, "SET owner host2")).contains("OK");
    assertThat(redisCli(H1, "GET", "owner")).as("host1's redis now replicates host2's").contains("host2");
  }

  // ---- origins and Redis on the hosts' own loopback ---------------------------------------------------------

  private void startOrigin(Host host) throws Exception {
    String log = state.resolve(host.ns()).resolve("origin-9000.log").toString();
    String pid = inHost(host.ns(), "sh", "-c", "python3 " + Path.of("ops", "netns", "origin.py").toAbsolutePath() + " " + host.nodeId() + " 9000 >" + log
        + " 2>&1 </dev/null & echo $!").strip();
    origins.put(host, Long.parseLong(pid));
    await(Duration.ofSeconds(10), host + "'s origin listens",
        () -> blocking(() -> Files.exists(Path.of(log)) && Files.readString(Path.of(log)).contains("listening")));
  }

  private void stopOrigin(Host host) {
    ProcessHandle.of(origins.remove(host)).ifPresent(ProcessHandle::destroy);
  }

  private void startRedis(Host host, Host primary) throws Exception {
    Path dir = state.resolve(host.ns()).resolve("redis");
    Files.createDirectories(dir);
    List<String> command = new ArrayList<>(List.of("redis-server", "--bind", "127.0.0.1", host.address(), "--port", "6379",
        "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "yes", "--dir", dir.toString(),
        "--logfile", dir.resolve("redis.log").toString()));
    if (primary != null) {
      command.addAll(List.of("--replicaof", primary.address(), "6379"));
    }
    inHost(host.ns(), command.toArray(String[]::new));
    await(Duration.ofSeconds(10), host + "'s redis answers", () -> blocking(() -> redisCli(host, "PING").contains("PONG")));
  }

  /** redis-cli against the host's own 127.0.0.1:6379, inside its namespace. */
  private String redisCli(Host host, String... command) throws Exception {
    List<String> args = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", "6379"));
    args.addAll(List.of(command));
    return inHost(host.ns(), args.toArray(String[]::new));
  }

  /** A command on a new connection through {@code host}'s edge's TCP listener, from the client host. */
  private String redisThrough(Host host, String command) throws Exception {
    List<String> args = new ArrayList<>(List.of("redis-cli", "-h", host.address(), "-p", String.valueOf(TCP_LISTEN)));
    args.addAll(List.of(command.split(" ")));
    return inHost(NetnsRig.CLIENT, args.toArray(String[]::new));
  }

  /** Which host's Redis a new connection through {@code host} reaches: its data dir, {@code …/h1/redis}. */
  private String redisDirThrough(Host host) throws Exception {
    return redisThrough(host, "CONFIG GET dir").strip();
  }

  /** A client on the client host that keeps a connection through {@code host}'s listener; its output file. */
  private Path holdConnection(Host host, String name) throws Exception {
    Path script = state.resolve("held-client.py");
    Files.writeString(script, HELD_CLIENT);
    Path out = state.resolve("cl").resolve("held-" + name + ".out");
    inHost(NetnsRig.CLIENT, "sh", "-c", "python3 " + script + " " + host.address() + " " + TCP_LISTEN + " >" + out
        + " 2>&1 </dev/null &");
    return out;
  }

  /**
   * {@code command} inside namespace {@code ns} of the rig; its output. Output goes to a file: a process it leaves
   * running would hold a pipe open.
   */
  private String inHost(String ns, String... command) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", rig.prefix() + "-" + ns));
    full.addAll(List.of(command));
    Path out = Files.createTempFile("cross-host", ".out");
    try {
      Process process = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(out.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(String.join(" ", full) + " did not finish within 20 s");
      }
      String output = Files.readString(out, StandardCharsets.UTF_8);
      if (process.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", full) + " failed (exit " + process.exitValue() + "): " + output);
      }
      return output;
    } finally {
      Files.deleteIfExists(out);
    }
  }

  // ---- views -------------------------------------------------------------------------------------------------

  /** The backends of the node's own view ({@code /v1/cluster}, its entry), or null when it did not answer. */
  private List<JsonObject> backends(Host node) {
    HttpResult r = rig.control(node, "GET", "/v1/cluster", null);
    if (r.status() != 200) {
      return null;
    }
    for (Object n : r.json().getJsonArray("nodes")) {
      JsonObject entry = (JsonObject) n;
      if (node.nodeId().equals(entry.getString("id")) && entry.getJsonArray("backends") != null) {
        return entry.getJsonArray("backends").stream().map(JsonObject.class::cast).toList();
      }
    }
    return null;
  }

  private static boolean upOf(List<JsonObject> backends, String service, String node) {
    return backends.stream().filter(b -> service.equals(b.getString("service")) && node.equals(b.getString("node")))
        .findFirst().map(b -> b.getBoolean("up", false)).orElse(false);
  }

  // ---- plumbing ----------------------------------------------------------------------------------------------

  private Future<Boolean> allHosts(java.util.function.Function<Host, Future<Boolean>> check) {
    List<Future<Boolean>> checks = HOSTS.stream().map(check).toList();
    return Future.all(checks).map(all -> checks.stream().allMatch(Future::result));
  }

  private Duration await(Duration timeout, String what, Supplier<Future<Boolean>> check) throws Exception {
    try {
      return Eventually.until(vertx, timeout, what, check).await(timeout.toSeconds() + 30, TimeUnit.SECONDS);
    } catch (AssertionError e) {
      Map<String, String> logs = new LinkedHashMap<>();
      if (rig != null) {
        HOSTS.forEach(h -> logs.put(h.nodeId(), rig.nodeLogTail(h, 8)));
      }
      throw new AssertionError(e.getMessage() + "\nlast node log lines: " + logs, e);
    }
  }

  private <T> Future<T> blocking(Callable<T> call) {
    return vertx.executeBlocking(call, false);
  }

  private <T> T call(Callable<T> call) throws Exception {
    return blocking(call).await(30, TimeUnit.SECONDS);
  }
}
