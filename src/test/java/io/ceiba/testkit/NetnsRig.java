package io.ceiba.testkit;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * The multi-host rig of {@code ops/netns/rig.sh}, driven from a test: three node hosts, a database host and a
 * client host, each a network namespace of its own behind one bridge (198.18.0.0/24), nothing of it in the
 * machine's own namespace. The test JVM stays in the machine's namespace, so every request a test sends goes
 * through {@code curl} started inside a namespace (the client host unless said otherwise).
 *
 * <p>Every call blocks (processes are started and waited for): call it through {@code executeBlocking}
 * from a Vert.x context.
 */
public final class NetnsRig implements AutoCloseable {

  /** A node host and the addresses rig.sh gives it. */
  public enum Host {
    H1, H2, H3;

    /** The host's name in rig.sh ({@code h1}). */
    public String ns() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** The id of the node it runs ({@code host1}), as registries name it in {@code node:}. */
    public String nodeId() {
      return "host" + (ordinal() + 1);
    }

    public String address() {
      return "198.18.0.1" + (ordinal() + 1);
    }

    public String edge() {
      return "http://" + address() + ":8080";
    }

    public String control() {
      return "http://" + address() + ":9090";
    }
  }

  /** The admin token of rig.sh's node configs. */
  public static final String TOKEN = "rig-token";
  /** Where the client namespace's requests come from; rig.sh's name for it. */
  public static final String CLIENT = "cl";
  /** How long a control API call may take: more than one node's answer to PUT /v1/registry may (5 s). */
  private static final int CONTROL_MAX_SECONDS = 12;

  /**
   * {@code CEIBA_MULTIHOST=required} (CI) fails the suite when the rig cannot run here; {@code skip} skips it
   * even where it could; anything else runs it where it can and reports it skipped elsewhere.
   */
  private static final String MODE_VARIABLE = "CEIBA_MULTIHOST";
  private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(150);
  private static final String NODE_JAVA_OPTS = "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";

  private final String prefix;
  private final Path state;
  private final Path script;
  private final Path logs;
  private final Thread downOnExit;
  private boolean closed;

  private NetnsRig(String prefix) {
    this.prefix = prefix;
    this.state = Path.of("/tmp", prefix);
    this.script = Path.of("ops", "netns", "rig.sh").toAbsolutePath();
    this.logs = Path.of("target", "multihost", prefix).toAbsolutePath();
    // a test JVM stopped half-way (Ctrl-C, a timeout) still removes its namespaces and processes
    this.downOnExit = new Thread(() -> script("down"), "netns-rig-down");
  }

  /**
   * Why {@code suite} cannot run here (not root, no {@code ip netns}, a tool missing, or
   * {@code CEIBA_MULTIHOST=skip}), printed, or empty when it can. With {@code CEIBA_MULTIHOST=required} (CI) a
   * reason fails instead. A suite that gets a reason skips every test with it ({@link #assumeRuns}): reported as
   * skipped tests, never as a pass.
   */
  public static Optional<String> whyNotRun(String suite) {
    String mode = Optional.ofNullable(System.getenv(MODE_VARIABLE)).orElse("");
    Optional<String> missing = mode.equals("skip") ? Optional.of(MODE_VARIABLE + "=skip") : unavailable();
    if (missing.isEmpty()) {
      return missing;
    }
    String message = suite + " NOT RUN: the multi-host rig (ops/netns/rig.sh) cannot run here: " + missing.get()
        + ". It needs root, iproute2 with 'ip netns', iptables, tc, curl, python3, redis-server and PostgreSQL's"
        + " server binaries (.ci/run installs them).";
    System.out.println(message);
    System.err.println(message);
    toTerminal(message);
    if (mode.equals("required")) {
      throw new AssertionError(message + " " + MODE_VARIABLE + "=required: failing instead of skipping.");
    }
    return Optional.of(message);
  }

  /**
   * Failsafe sends a test's output to a report file and its console summary says only "Skipped: 3": whoever runs
   * {@code mvn verify} at a terminal sees the reason there too.
   */
  private static void toTerminal(String message) {
    try (var tty = new java.io.FileOutputStream("/dev/tty")) {
      tty.write(("\n" + message + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      // no terminal (CI, an IDE): the report file and the skipped count say it
    }
  }

  /** Skips the calling test (a JUnit assumption) when {@code whyNotRun} gave a reason. */
  public static void assumeRuns(Optional<String> whyNotRun) {
    Assumptions.assumeTrue(whyNotRun.isEmpty(), () -> whyNotRun.orElse(""));
  }

  /** Brings a rig up (after removing rigs whose owner process is gone); call only when {@link #whyNotRun} is empty. */
  public static NetnsRig up() {
    NetnsRig rig = new NetnsRig("cb" + ProcessHandle.current().pid());
    rig.script("sweep");
    rig.mustScript("up");
    Runtime.getRuntime().addShutdownHook(rig.downOnExit);
    return rig;
  }

  /** Why namespaces cannot be made here, or empty when they can. */
  static Optional<String> unavailable() {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return Optional.of("not Linux");
    }
    Result uid = run(List.of("id", "-u"), Duration.ofSeconds(10));
    if (!uid.output().strip().equals("0")) {
      return Optional.of("not root (uid " + uid.output().strip() + ")");
    }
    for (String tool : List.of("ip", "iptables", "tc", "curl", "python3", "redis-server", "redis-cli", "runuser")) {
      if (run(List.of("sh", "-c", "command -v " + tool), Duration.ofSeconds(10)).exit() != 0) {
        return Optional.of(tool + " is not installed");
      }
    }
    if (run(List.of("sh", "-c", "ls /usr/lib/postgresql/*/bin/postgres"), Duration.ofSeconds(10)).exit() != 0) {
      return Optional.of("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/postgres) are not installed");
    }
    Result netns = run(List.of("ip", "netns", "list"), Duration.ofSeconds(10));
    if (netns.exit() != 0) {
      return Optional.of("'ip netns' does not work: " + netns.output().strip());
    }
    return Optional.empty();
  }

  public String prefix() {
    return prefix;
  }

  /** PostgreSQL (database {@code ceiba}) and Redis on the database host, reached by the nodes over the bridge. */
  public void dbUp() {
    mustScript("db-up");
  }

  /** An origin on {@code host}'s own loopback answering {@code {"host": "<node id>", "port": …}} on each port. */
  public void origin(Host host, int... ports) {
    List<String> args = new ArrayList<>(List.of("origin", host.ns()));
    for (int port : ports) {
      args.add(String.valueOf(port));
    }
    mustScript(args.toArray(String[]::new));
  }

  /** The registry file every node host starts with (each host has its own copy, as separate machines would). */
  public void registry(String yaml) {
    try {
      Path file = Files.createTempFile(Path.of("target"), "multihost-registry", ".yaml");
      Files.writeString(file, yaml);
      mustScript("registry", file.toAbsolutePath().toString());
      Files.delete(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public void startNode(Host host) {
    mustScript("node-start", host.ns());
  }

  /** Until the node's {@code /ready} answers 200 (asked from the client host), or fails naming its log. */
  public void awaitReady(Host host, Duration timeout) {
    mustScript("node-wait", host.ns(), String.valueOf(timeout.toSeconds()));
  }

  /** SIGTERM and wait for the exit. */
  public void stopNode(Host host) {
    mustScript("node-stop", host.ns());
  }

  /** SIGKILL: a crash. */
  public void killNode(Host host) {
    mustScript("node-kill", host.ns());
  }

  /** SIGKILL, the data dir emptied, started again: a host that came back blank. */
  public void rebootNode(Host host) {
    mustScript("node-reboot", host.ns());
  }

  /** The host's switch port up or down (down: its packets vanish, as with a pulled cable). */
  public void link(Host host, boolean up) {
    mustScript("link", host.ns(), up ? "up" : "down");
  }

  /** Each packet in or out of the host's link dropped with this probability (0 removes the rule). */
  public void loss(Host host, double probability) {
    mustScript("loss", host.ns(), String.format(Locale.ROOT, "%.3f", probability));
  }

  /** A token-bucket rate on the host's link both ways ({@code "1mbit"}), or {@code "off"}. */
  public void slow(Host host, String rate) {
    mustScript("slow", host.ns(), rate);
  }

  /** An HTTP request sent from the client host. */
  public HttpResult http(String method, String url, Map<String, String> headers, String body) {
    return httpFrom(CLIENT, method, url, headers, body);
  }

  /** GET with a {@code Host} header from the client host. */
  public HttpResult get(String url, String hostHeader, Map<String, String> headers) {
    Map<String, String> all = new LinkedHashMap<>(headers);
    all.put("Host", hostHeader);
    return http("GET", url, all, null);
  }

  /** A control API call with the admin token, from the client host. */
  public HttpResult control(Host node, String method, String path, String jsonBody) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Authorization", "Bearer " + TOKEN);
    if (jsonBody != null) {
      headers.put("Content-Type", "application/json");
    }
    // longer than the edge's 3 s: PUT /v1/registry waits up to 5 s for each node's answer (AdminApi.APPLY_TIMEOUT_MS)
    return httpFrom(CLIENT, method, node.control() + path, headers, jsonBody, CONTROL_MAX_SECONDS);
  }

  /**
   * An HTTP request sent by {@code curl} inside namespace {@code fromNs} (rig.sh's host name: cl, h1, …); a
   * request that got no answer has status 0 and curl's error as its body.
   */
  public HttpResult httpFrom(String fromNs, String method, String url, Map<String, String> headers, String body) {
    return httpFrom(fromNs, method, url, headers, body, 3);
  }

  private HttpResult httpFrom(String fromNs, String method, String url, Map<String, String> headers, String body, int maxSeconds) {
    List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", prefix + "-" + fromNs,
        "curl", "-sS", "-i", "--max-time", String.valueOf(maxSeconds), "-X", method));
    headers.forEach((name, value) -> command.addAll(List.of("-H", name + ": " + value)));
    if (body != null) {
      command.addAll(List.of("--data-binary", body));
    }
    command.add(url);
    Result result = run(command, Duration.ofSeconds(maxSeconds + 7));
    return result.exit() == 0 ? HttpResult.parse(result.output()) : new HttpResult(0, Map.of(), result.output().strip());
  }

  /**
   * A WebSocket conversation from the client host ({@code ops/netns/wsclient.py}): upgrade with this {@code Host},
   * send {@code message} {@code count} times; the answers, one a line, or the client's error when it failed.
   */
  public WebSocketResult webSocket(String url, String hostHeader, String message, int count) {
    Result result = run(List.of("ip", "netns", "exec", prefix + "-" + CLIENT, "python3",
        script.resolveSibling("wsclient.py").toString(), url, hostHeader, message, String.valueOf(count)), Duration.ofSeconds(20));
    return new WebSocketResult(result.exit() == 0, result.output().strip().lines().toList());
  }

  /** What {@link #webSocket} saw: whether every message was answered, and the answers (or the error). */
  public record WebSocketResult(boolean ok, List<String> lines) {
  }

  /**
   * Sends every request of {@code urls} (GET) from the client host at once, {@code parallel} at a time, in one
   * {@code curl --parallel}; their statuses in order, 0 for a request that got no answer.
   */
  public List<Integer> statuses(List<String> urls, Map<String, String> headers, int parallel) {
    List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", prefix + "-" + CLIENT,
        "curl", "-s", "--no-progress-meter", "--parallel", "--parallel-immediate", "--parallel-max", String.valueOf(parallel), "--max-time", "10"));
    headers.forEach((name, value) -> command.addAll(List.of("-H", name + ": " + value)));
    // each transfer writes "<index> <status>": --parallel finishes them in any order
    command.addAll(List.of("-w", "%{urlnum} %{http_code}\\n"));
    for (String url : urls) {
      command.addAll(List.of("-o", "/dev/null", url));
    }
    Result result = run(command, Duration.ofSeconds(60));
    Integer[] statuses = new Integer[urls.size()];
    java.util.Arrays.fill(statuses, 0);
    for (String line : result.output().strip().split("\\n")) {
      String[] parts = line.strip().split(" ");
      if (parts.length == 2 && parts[0].matches("\\d+") && parts[1].matches("\\d{3}")) {
        statuses[Integer.parseInt(parts[0])] = Integer.parseInt(parts[1]);
      }
    }
    return List.of(statuses);
  }

  /**
   * Keep-alive GET load from the client host ({@code ops/netns/load.py}): {@code connections} loops against {@code url}
   * with this {@code Host}, each reopening its connection only after an answer that closed it, until
   * {@link Load#stop()}. At most 10 minutes, whatever happens to the test.
   */
  public Load load(String url, String hostHeader, int connections) throws IOException {
    Path dir = Files.createTempDirectory(Files.createDirectories(logs), "load");
    Path stop = dir.resolve("stop");
    Path progress = dir.resolve("progress");
    Path out = dir.resolve("out.json");
    Process process = new ProcessBuilder("ip", "netns", "exec", prefix + "-" + CLIENT, "python3",
        script.resolveSibling("load.py").toString(), url, hostHeader, String.valueOf(connections), stop.toString(),
        progress.toString(), "600")
        .redirectErrorStream(true).redirectOutput(out.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    return new Load(process, stop, progress, out);
  }

  /** Load running from the client host: how far it got, and what it saw once stopped. */
  public static final class Load implements AutoCloseable {
    private final Process process;
    private final Path stop;
    private final Path progress;
    private final Path out;

    private Load(Process process, Path stop, Path progress, Path out) {
      this.process = process;
      this.stop = stop;
      this.progress = progress;
      this.out = out;
    }

    /** Requests answered so far (any status); updated twice a second. */
    public long answered() {
      try {
        return Files.exists(progress) ? Long.parseLong(Files.readString(progress).strip()) : 0;
      } catch (IOException | NumberFormatException e) {
        return 0; // replaced between the check and the read: the next poll reads it
      }
    }

    /**
     * Ends the load after the requests in flight and returns its summary: {@code requests} answered,
     * {@code statuses} (status to count), {@code errors} (requests with no answer) and {@code samples}.
     */
    public JsonObject stop() throws IOException, InterruptedException {
      Files.writeString(stop, "stop");
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("load.py did not stop within 30 s: " + Files.readString(out));
      }
      String output = Files.readString(out).strip();
      String last = output.substring(output.lastIndexOf('\n') + 1);
      if (process.exitValue() != 0 || !last.startsWith("{")) {
        throw new IllegalStateException("load.py failed (exit " + process.exitValue() + "): " + output);
      }
      return new JsonObject(last);
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  /** The node's log so far (for failure messages). */
  public String nodeLogTail(Host host, int lines) {
    try (Stream<String> all = Files.lines(state.resolve(host.ns()).resolve("node.log"))) {
      List<String> list = all.toList();
      return String.join("\n", list.subList(Math.max(0, list.size() - lines), list.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Prints a measured figure and appends it to {@code target/multihost/figures.txt}. */
  public static void figure(String line) {
    System.out.println("[multihost] " + line);
    try {
      Path file = Path.of("target", "multihost", "figures.txt");
      Files.createDirectories(file.getParent());
      Files.writeString(file, java.time.Instant.now() + " " + line + "\n", StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      System.out.println("[multihost] cannot write figures.txt: " + e.getMessage());
    }
  }

  /** Keeps the node logs under {@code target/multihost/<prefix>/}, then tears the rig down. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      for (Host host : Host.values()) {
        Path dir = state.resolve(host.ns());
        if (Files.isDirectory(dir)) {
          Files.createDirectories(logs.resolve(host.ns()));
          try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches(".*\\.(log|log\\.1|yaml)")).toList()) {
              Files.copy(f, logs.resolve(host.ns()).resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
          }
        }
      }
    } catch (IOException e) {
      System.out.println("[multihost] could not keep the node logs: " + e.getMessage());
    }
    mustScript("down");
    try {
      Runtime.getRuntime().removeShutdownHook(downOnExit);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down: the hook runs or ran anyway
    }
  }

  private Result script(String... args) {
    List<String> command = new ArrayList<>(List.of("bash", script.toString()));
    command.addAll(List.of(args));
    Map<String, String> env = Map.of("RIG_PREFIX", prefix, "RIG_STATE", state.toString(),
        "RIG_JAR", Path.of(System.getProperty("ceiba.jar", "target/ceiba.jar")).toAbsolutePath().toString(),
        "JAVA_OPTS", NODE_JAVA_OPTS);
    return run(command, SCRIPT_TIMEOUT, env);
  }

  private void mustScript(String... args) {
    Result result = script(args);
    if (result.exit() != 0) {
      throw new IllegalStateException("rig.sh " + String.join(" ", args) + " failed (exit " + result.exit() + "):\n"
          + result.output());
    }
  }

  record Result(int exit, String output) {
  }

  private static Result run(List<String> command, Duration timeout) {
    return run(command, timeout, Map.of());
  }

  /**
   * Output goes to a file, not a pipe: a process the command leaves running (a node, an origin) would hold a
   * pipe open and a read would never end.
   */
  private static Result run(List<String> command, Duration timeout, Map<String, String> env) {
    Path out = null;
    try {
      out = Files.createTempFile("netns-rig", ".out");
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      builder.environment().keySet().removeIf(k -> k.startsWith("CEIBA_") || k.equals("DATABASE_URL") || k.equals("REDIS_URL"));
      builder.environment().putAll(env);
      Process process = builder.start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        return new Result(-1, String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s");
      }
      return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      return new Result(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException e) {
          // a temporary file left behind in target/ is harmless
        }
      }
    }
  }

  /** A response as curl saw it: status, headers (names in lower case; the last of a repeated one) and body. */
  public record HttpResult(int status, Map<String, String> headers, String body) {

    static HttpResult parse(String raw) {
      String rest = raw;
      // skip interim responses (100 Continue): the final head is the last one before the body
      while (rest.startsWith("HTTP/") && rest.matches("(?s)HTTP/\\S+ 1\\d\\d.*")) {
        int end = rest.indexOf("\r\n\r\n");
        rest = end < 0 ? "" : rest.substring(end + 4);
      }
      int end = rest.indexOf("\r\n\r\n");
      String head = end < 0 ? rest : rest.substring(0, end);
      String body = end < 0 ? "" : rest.substring(end + 4);
      String[] lines = head.split("\r\n");
      String[] statusLine = lines[0].split(" ");
      int status = statusLine.length > 1 && statusLine[1].matches("\\d{3}") ? Integer.parseInt(statusLine[1]) : 0;
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) {
          headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
      }
      return new HttpResult(status, headers, body);
    }

    public JsonObject json() {
      return new JsonObject(body);
    }

    /** The {@code error.code} of a Ceiba JSON error, or null. */
    public String errorCode() {
      try {
        JsonObject error = json().getJsonObject("error");
        return error == null ? null : error.getString("code");
      } catch (RuntimeException e) {
        return null;
      }
    }

    /** Which host's origin answered (the rig's origins put it in their JSON body), or null. */
    public String servedBy() {
      try {
        return status == 200 ? json().getString("host") : null;
      } catch (RuntimeException e) {
        return null;
      }
    }
  }
}
